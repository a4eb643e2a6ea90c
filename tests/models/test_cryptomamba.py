"""CryptoMamba as published (parameter count, shapes) and the time-axis variant's streaming step."""

import pytest
import torch

from models.cryptomamba import CryptoMamba


def test_published_parameter_count():
    assert CryptoMamba(num_features=6).parameter_count() == 136_952  # the paper's volume variant
    assert CryptoMamba(num_features=5).parameter_count() == 136_951


@pytest.mark.parametrize("scan_axis", ["features", "time"])
def test_one_forecast_per_sample(scan_axis):
    model = CryptoMamba(num_features=6, scan_axis=scan_axis)
    assert model(torch.randn(3, 6, 14)).shape == (3,)


def test_feature_scan_needs_the_window_as_first_width():
    with pytest.raises(ValueError, match="hidden_dims\\[0\\] must be 14"):
        CryptoMamba(num_features=6, window=14, hidden_dims=(16, 32, 1))


def test_streaming_a_window_day_by_day_gives_the_window_forecast():
    torch.manual_seed(0)
    model = CryptoMamba(
        num_features=6, hidden_dims=(8, 4, 1), blocks_per_stage=2, d_state=4, scan_axis="time"
    )
    model = model.double().eval()
    window = torch.randn(2, 6, 14, dtype=torch.float64)
    with torch.no_grad():
        stream = model.allocate_stream(batch_size=2)
        for day in range(14):
            streamed = model.step(window[:, :, day], stream)
        torch.testing.assert_close(streamed, model(window), rtol=1e-10, atol=1e-12)


def test_the_faithful_variant_does_not_stream():
    with pytest.raises(ValueError, match="only the time-axis variant streams"):
        CryptoMamba(num_features=6).allocate_stream(batch_size=1)
