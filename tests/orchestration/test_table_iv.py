"""The Table IV script end to end on one small variant with the quick profile."""

import pytest

from orchestration import table_iv
from orchestration.settings import Settings


def test_table_lists_persistence_the_model_and_the_paper(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MAMBAQUANT_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setattr("sys.argv", ["table_iv", "--profile", "quick", "--models", "gru-v"])
    table_iv.main()
    out = capsys.readouterr().out
    assert "| persistence | 1,568.500 |  | 1.973 |  | 1,091.899 |" in out
    assert "| gru-v |" in out and "| 1,978.000 | " in out  # the paper's GRU-v RMSE beside ours
    written = (tmp_path / "artifacts" / "reports" / "table_iv.md").read_text()
    assert written.startswith("Test split 2023-10-01..2024-09-14 (350 samples), profile `quick`")
    assert "gru-v" in written and "beats persistence" in written
    assert (tmp_path / "artifacts" / "checkpoints" / "quick" / "gru-v.pt").is_file()


def test_unknown_model_names_are_refused(settings: Settings):
    with pytest.raises(ValueError, match="unknown model 'transformer-v'"):
        table_iv.reproduce(["transformer-v"], "quick", settings, table_iv.paper_daily_bars(settings.data_dir))


def test_the_command_line_takes_each_model_and_seed_once_out_of_the_choices(monkeypatch, capsys):
    argv = ["table_vi", "--models", "persistence", "gru-v", "gru-v", "cryptomamba-time-v"]
    monkeypatch.setattr("sys.argv", argv)
    assert table_iv.parse_arguments("").models == ["persistence", "gru-v", "cryptomamba-time-v"]
    argv = ["seed_spread", "--models", "gru-v", "cryptomamba", "--seeds", "5", "23", "5"]
    monkeypatch.setattr("sys.argv", argv)
    args = table_iv.parse_arguments("", seeds=[23], choices=table_iv.NEURAL_VARIANTS)
    assert (args.models, args.seeds) == (["gru-v", "cryptomamba"], [5, 23])
    monkeypatch.setattr("sys.argv", ["seed_spread", "--models", "arima"])  # no seed to vary
    with pytest.raises(SystemExit):
        table_iv.parse_arguments("", seeds=[23], choices=table_iv.NEURAL_VARIANTS)
    assert "invalid choice: 'arima'" in capsys.readouterr().err
