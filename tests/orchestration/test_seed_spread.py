"""The seed-spread script end to end: two seeds of one small variant with the quick profile."""

import pandas as pd

from orchestration import seed_spread


def test_each_seed_trains_apart_and_the_spread_counts_the_seeds_that_beat_persistence(
    tmp_path, monkeypatch, capsys
):
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv("MAMBAQUANT_ARTIFACTS", str(artifacts))
    argv = ["seed_spread", "--profile", "quick", "--models", "gru-v", "--seeds", "23", "5"]
    monkeypatch.setattr("sys.argv", argv)
    seed_spread.main()
    out = capsys.readouterr().out
    # persistence never calls a direction and never moves: the yardsticks are the price's own
    assert "| persistence |  | 1,568.500 | 1.973 | 1,091.899 | 0.000 | 0.000 | 0.000 |" in out
    assert "| gru-v | 23 |" in out and "| gru-v | 5 |" in out
    # the profile's own seed keeps Table IV's checkpoint; another seed never overwrites it
    assert (artifacts / "checkpoints" / "quick" / "gru-v.pt").is_file()
    assert (artifacts / "checkpoints" / "quick" / "seed-5" / "gru-v.pt").is_file()
    written = (artifacts / "reports" / "seed_spread.md").read_text()
    assert written.startswith(
        "Test split 2023-10-01..2024-09-14 (350 samples), profile `quick`, seeds 23 5; "
        "the close rose on 52.3 % of test days and moved 1.987 % a day"
    )
    assert "| gru-v | 2 |" in written and " of 2 |" in written


def test_the_spread_summarises_each_model_over_its_seeds():
    runs = pd.DataFrame(
        {
            "model": ["persistence", "a", "a", "a"],
            "RMSE": [10.0, 9.0, 11.0, 13.0],
            "MAPE %": [1.0, 0.9, 1.1, 1.3],
            "MAE": [8.0, 7.0, 9.0, 11.0],
            "direction %": [0.0, 50.0, 55.0, 60.0],
            "beats persistence": ["", "yes", "NO", "NO"],
        }
    )
    spread = seed_spread.seed_spread(runs).iloc[0]
    assert spread["model"] == "a" and spread["seeds"] == 3
    assert (spread["mean RMSE"], spread["std RMSE"], spread["min RMSE"], spread["max RMSE"]) == (11, 2, 9, 13)
    assert spread["beats persistence"] == "1 of 3" and spread["mean direction %"] == 55
