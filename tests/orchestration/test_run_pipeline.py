"""`make run`'s command end to end, into a persistent instance under a temporary DAGSTER_HOME."""

from dagster import DagsterInstance, DagsterRunStatus

from orchestration import run_pipeline


def test_main_materializes_everything_and_prints_the_summary(settings, monkeypatch, capsys):
    monkeypatch.setenv("MAMBAQUANT_WAREHOUSE", str(settings.warehouse_path))
    monkeypatch.setenv("DAGSTER_HOME", str(settings.dagster_home))
    assert run_pipeline.main() == 0
    out = capsys.readouterr().out
    assert "| ohlcv | ohlcv | 44478 | 0 |  |" in out  # Yahoo daily + Binance hourly
    assert "| cryptomamba_v_model | predictions | 2146 | 0 |  |" in out  # its own 1446 + 350 + 350 rows
    for asset in ("regimes", "tasks", "adaptation_report"):
        row = next(line for line in out.splitlines() if line.startswith(f"| {asset} |"))
        table, rows = row.split(" | ")[1:3]
        assert table and int(rows) > 0, row
    assert "dex_trades, dex_bars: not run (no DEX source configured" in out
    assert "| persistence | BTC-USD | test | 350 | 1,568.500 | 1.973 | 1,091.899 |" in out
    on_chain = out.split("signal pushed on chain, and the book read back (USD):\n")[1].splitlines()
    assert on_chain[0] == (
        "| symbol | target_lots | accepted | error_name | compute_units | position_lots | equity | halted |"
    )
    assert on_chain[2].startswith("| BTC-USD |") and "| True |" in on_chain[2]
    assert settings.warehouse_path.is_file()
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        [run] = instance.get_runs()
        assert (run.job_name, run.status) == ("pipeline_job", DagsterRunStatus.SUCCESS)
