"""The extrapolation script: which test windows leave the training range, a row's figures, and the
script end to end on one small variant with the quick profile."""

import numpy as np

from models.forecasters import PersistenceForecaster
from models.samples import build_window_samples
from orchestration import extrapolation
from orchestration.settings import Settings
from orchestration.table_iv import paper_daily_bars


def test_only_test_windows_reach_above_the_training_close(settings: Settings):
    samples = build_window_samples(paper_daily_bars(settings.data_dir), with_volume=True)
    beyond = extrapolation.beyond_training_close(samples)
    assert beyond[samples.in_split("train")].sum() == 0 and beyond[samples.in_split("val")].sum() == 0
    assert beyond[samples.in_split("test")].sum() == 110
    # BTC first closed above its 2021 high (67,566.83 on 2021-11-08) on 2024-03-04: the next day's
    # window is the first to hold that close
    assert samples.ts[beyond][0].strftime("%Y-%m-%d") == "2024-03-05"


def test_persistence_row_splits_its_errors_and_never_moves(settings: Settings):
    samples = build_window_samples(paper_daily_bars(settings.data_dir), with_volume=False)
    row = extrapolation.extrapolation_row("persistence", PersistenceForecaster(), samples)
    assert round(row["RMSE"], 1) == 1568.5 == round(row["RMSE, timestamps held"], 1)
    assert round(row["val RMSE"], 1) == 568.3 == round(row["val RMSE, timestamps held"], 1)
    # 240 windows inside and 110 beyond recombine into the whole split's mean squared error
    combined = np.sqrt((240 * row["RMSE inside"] ** 2 + 110 * row["RMSE beyond"] ** 2) / 350)
    assert np.isclose(combined, row["RMSE"])
    assert row["RMSE beyond"] > row["RMSE inside"]
    assert row["move % inside"] == row["move % beyond"] == row["below last close %"] == 0


def test_script_reports_each_model_beside_persistence(tmp_path, monkeypatch, capsys):
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv("MAMBAQUANT_ARTIFACTS", str(artifacts))
    monkeypatch.setattr("sys.argv", ["extrapolation", "--profile", "quick", "--models", "gru-v"])
    extrapolation.main()
    assert "| gru-v |" in capsys.readouterr().out
    written = (artifacts / "reports" / "extrapolation.md").read_text()
    assert written.startswith(
        "Test split 2023-10-01..2024-09-14 (350 samples), profile `quick`. 110 of 350 test windows hold a "
        "close above the training split's highest (67,566.83); the close itself moved +0.521 % a day on "
        "average inside the range and -0.289 % beyond it."
    )
    persistence = (
        "| persistence | 1,568.500 | 1,360.350 | 1,946.872 | 0.000 | 0.000 | 0.000 | 1,568.500 "
        "| 568.349 | 568.349 |"
    )
    assert persistence in written
    assert "| gru-v |" in written
    assert (artifacts / "checkpoints" / "quick" / "gru-v.pt").is_file()
