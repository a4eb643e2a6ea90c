"""The recurrent and S-Mamba baselines: shapes, sizes, and S-Mamba reading the target's own token."""

import pytest
import torch

from models.recurrent import RecurrentForecaster
from models.registry import ModelVariant, build_forecaster
from models.smamba import SMamba


@pytest.mark.parametrize(
    ("cell", "bidirectional", "parameters"),
    # 3 x 100 units; the paper lists these sizes truncated to thousands: 204k, 569k and 153k.
    [("lstm", False, 204_901), ("lstm", True, 569_801), ("gru", False, 153_701)],
)
def test_recurrent_sizes_match_the_paper(cell, bidirectional, parameters):
    model = RecurrentForecaster(6, cell, bidirectional=bidirectional)
    assert sum(p.numel() for p in model.parameters()) == parameters
    assert model(torch.randn(4, 6, 14)).shape == (4,)


def test_smamba_forecast_comes_from_the_target_token():
    torch.manual_seed(0)
    model = SMamba(num_features=6, window=14, target_index=4).eval()
    sample = torch.randn(1, 6, 14)
    with torch.no_grad():
        before = model(sample)
        assert before.shape == (1,)
        # The variates mix, so other tokens matter too; but the forecast is read off token 4.
        model.target_index = 0
        assert not torch.equal(model(sample), before)


def test_smamba_normalises_each_window_so_its_level_moves_the_forecast_one_for_one():
    """With S-Mamba's per-window normalisation, shifting a window's target variate by c shifts the
    forecast by c and scaling it scales the forecast; without it, neither holds."""
    torch.manual_seed(0)
    sample = torch.randn(3, 6, 14)
    shifted, scaled = sample.clone(), sample.clone()
    shifted[:, 4] += 1000.0
    scaled[:, 4] *= 50.0
    for use_norm in (True, False):
        model = SMamba(num_features=6, window=14, target_index=4, use_norm=use_norm).eval()
        with torch.no_grad():
            base, moved, grown = model(sample), model(shifted), model(scaled)
        if use_norm:
            torch.testing.assert_close(moved, base + 1000.0, rtol=1e-6, atol=1e-3)
            torch.testing.assert_close(grown, base * 50.0, rtol=1e-4, atol=1e-3)
        else:
            assert not torch.allclose(moved, base + 1000.0, atol=1.0)


@pytest.mark.parametrize(("with_volume", "features"), [(False, 5), (True, 6)])
def test_the_registered_smamba_has_the_papers_settings(with_volume, features):
    """d_model 128, d_state 32, d_ff 128, dropout 0.1, 2 layers, as the registry builds it for Table IV."""
    forecaster = build_forecaster(ModelVariant("smamba", with_volume), "paper")
    model = forecaster.build(features, 14, 4)
    assert len(model.layers) == 2
    for layer in model.layers:
        for mamba in (layer.forward_mamba, layer.backward_mamba):
            assert (mamba.d_model, mamba.d_state) == (128, 32)
        assert [m.out_features for m in layer.feed_forward if isinstance(m, torch.nn.Linear)] == [128, 128]
    rates = {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == {0.1}
    # Variates are tokens, so the size does not depend on their number (Table IV: 325,889 both ways).
    assert sum(p.numel() for p in model.parameters()) == 325_889
