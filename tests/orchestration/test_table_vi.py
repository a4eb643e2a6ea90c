"""The Table VI script end to end on the baselines with the quick profile."""

from orchestration import table_vi


def test_table_shows_buy_and_hold_and_the_paper_reference(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MAMBAQUANT_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setattr("sys.argv", ["table_vi", "--profile", "quick", "--models", "persistence", "arima"])
    table_vi.main()
    out = capsys.readouterr().out
    # Buy-and-hold: val and test at fee 0 and 10 bps, the test drawdown, and the paper's figure.
    assert "| - | buy_and_hold | 136.93 | 136.80 | 222.51 | 222.28 | 26.18 | 222.51 |" in out
    assert "| persistence | vanilla | 100.00 | 100.00 | 100.00 | 100.00 | 0.00 |  |" in out
    assert "| arima | smart |" in out
    assert "buy_and_hold" in (tmp_path / "artifacts" / "reports" / "table_vi.md").read_text()
