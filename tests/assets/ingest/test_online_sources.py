"""Each ingest asset with its online source switched on, over real HTTP to a local server.

The responses are the recorded-format fixtures under tests/fixtures (fabricated, not real data);
what is tested is the whole path: settings → resource → loader → contract → DuckDB → metadata.
"""

from dataclasses import replace
from pathlib import Path

import pandas as pd
from dagster import materialize

from assets.ingest.dex.assets import dex_bars, dex_trades
from assets.ingest.macro.assets import macro
from assets.ingest.market.ohlcv import ohlcv
from assets.ingest.sentiment.assets import fear_greed, sentiment_items, sentiment_series
from assets.ingest.solana.pools import ORCA_SOL_USDC
from assets.ingest.solana.swaps import extract_swaps
from assets.warehouse import read_table
from orchestration.resources import WarehouseResource, build_resources
from orchestration.settings import OnlineSources, Settings
from tests.assets.ingest.solana import rpc_fixtures
from tests.http_server import ScriptedResponse

FIXTURES = Path(__file__).parents[2] / "fixtures"


def _fixture(path: str) -> str:
    return (FIXTURES / path).read_text()


def _online(settings: Settings, **sources: object) -> Settings:
    return replace(settings, sources=OnlineSources(**sources))


def _query(settings: Settings, sql: str) -> pd.DataFrame:
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        return read_table(conn, sql)


def test_binance_klines_continue_the_offline_file(settings, http_server):
    http_server.script("/api/v3/klines", ScriptedResponse(_fixture("binance/klines_btcusdt_1h_page1.json")))
    settings = _online(settings, binance_url=http_server.url)
    assert materialize([ohlcv], resources=build_resources(settings)).success
    counts = _query(settings, "SELECT source, count(*) AS n FROM ohlcv GROUP BY source ORDER BY source")
    assert counts["source"].tolist() == ["binance", "binance-api", "yahoo"]
    assert http_server.requests[0].query["startTime"] == [
        str(int(pd.Timestamp("2022-06-15", tz="UTC").value // 10**6))
    ]


def test_ecb_and_fred_apis_add_their_own_rows(settings, http_server, monkeypatch):
    base = "/service/data/EXR/D.{}.EUR.SP00.A"
    http_server.script(base.format("USD"), _fixture("macro/ecb_exr_d_usd.csv"))
    http_server.script(base.format("JPY"), _fixture("macro/ecb_exr_d_jpy.csv"))
    for currency in ("GBP", "CHF", "CNY"):
        http_server.script(base.format(currency), ScriptedResponse("No results found.", 404))
    http_server.script(
        "/fred/series/observations", ScriptedResponse(_fixture("macro/fred_cpiaucsl_initial_release.json"))
    )
    monkeypatch.setenv("FRED_API_KEY", "test-key")
    settings = _online(
        settings,
        ecb_url=http_server.url,
        fred_url=http_server.url,
        fred_series=("CPIAUCSL",),
        has_fred_api_key=True,
    )
    result = materialize([macro], resources=build_resources(settings))
    assert result.success
    sources = _query(settings, "SELECT DISTINCT source FROM macro ORDER BY source")["source"].tolist()
    assert sources == ["bls", "ecb", "ecb-api", "fred"]
    fred = _query(settings, "SELECT * FROM macro WHERE series_id = 'FRED:CPIAUCSL' ORDER BY period_start")
    assert (fred["released_at"] > fred["period_start"]).all()
    fred_request = next(r for r in http_server.requests if r.path == "/fred/series/observations")
    assert fred_request.query["api_key"] == ["test-key"] and fred_request.query["output_type"] == ["4"]


def test_feeds_cryptopanic_and_fear_greed_fill_the_sentiment_tables(settings, http_server, monkeypatch):
    http_server.script("/rss", ScriptedResponse(_fixture("sentiment/rss2_feed.xml").encode()))
    http_server.script("/atom", ScriptedResponse(_fixture("sentiment/atom_feed.xml").encode()))
    http_server.script("/fng/", ScriptedResponse(_fixture("sentiment/fear_greed.json")))
    monkeypatch.setenv("CRYPTOPANIC_TOKEN", "test-token")
    pages = [_fixture("sentiment/cryptopanic_page1.json"), _fixture("sentiment/cryptopanic_page2.json")]
    http_server.script("/api/v1/posts/", *(ScriptedResponse(page) for page in pages))
    settings = _online(
        settings,
        feed_urls=(f"{http_server.url}/rss", f"{http_server.url}/atom"),
        cryptopanic_url=f"{http_server.url}/api/v1",
        has_cryptopanic_token=True,
        fear_greed_url=http_server.url,
    )
    result = materialize([sentiment_items, sentiment_series, fear_greed], resources=build_resources(settings))
    assert result.success
    items = _query(settings, "SELECT source, count(*) AS n FROM sentiment_items GROUP BY source")
    assert set(items["source"]) >= {"127.0.0.1"} and items["n"].sum() > 0
    series = _query(settings, "SELECT * FROM sentiment_series WHERE source = 'all'")
    assert series["item_count"].sum() == 2 * items["n"].sum()  # every item once per interval (1h, 1d)
    assert len(_query(settings, "SELECT * FROM fear_greed")) == 3


def _solana_day(server) -> None:
    """One signature page (a buy, a sell, then a record before the day) and the batch of both transactions."""
    names = ["whirlpool_sell", "whirlpool_buy"]
    records = [rpc_fixtures.record_of(name) for name in names]
    records.append(rpc_fixtures.record("2" * 88, 1, records[-1]["blockTime"] - 86_400))
    batch = [{**rpc_fixtures.response(name), "id": index} for index, name in enumerate(names)]
    server.script("/rpc", {"jsonrpc": "2.0", "result": records, "id": 0}, batch)


def test_dex_day_from_rpc_then_its_bars(settings, http_server):
    _solana_day(http_server)
    day = pd.Timestamp(rpc_fixtures.tx("whirlpool_buy")["blockTime"], unit="s", tz="UTC").date().isoformat()
    settings = _online(settings, solana_rpc_url=f"{http_server.url}/rpc", dex_pools=(ORCA_SOL_USDC.name,))
    result = materialize([dex_trades, dex_bars], resources=build_resources(settings), partition_key=day)
    assert result.success
    trades = _query(settings, "SELECT side FROM dex_trades ORDER BY block_time")
    assert sorted(trades["side"]) == ["buy", "sell"]
    bars = _query(settings, "SELECT interval, trade_count FROM dex_bars WHERE interval = '1d'")
    assert bars["trade_count"].tolist() == [2]
    loads = result.asset_materializations_for_node("dex_trades")[0].metadata["loads"].value
    assert "skipped_failed" in loads


def test_dex_day_from_trade_files_quarantines_a_bad_row(settings, tmp_path):
    trades = pd.DataFrame(
        [
            row
            for name in ("whirlpool_buy", "whirlpool_sell")
            for row in extract_swaps(rpc_fixtures.tx(name), ORCA_SOL_USDC)
        ]
    )
    trades.loc[1, "price"] = -1.0
    folder = tmp_path / "trades"
    folder.mkdir()
    trades.assign(block_time=trades["block_time"].map(pd.Timestamp.isoformat)).to_csv(
        folder / "export.csv", index=False
    )
    day = trades["block_time"].iloc[0].date().isoformat()
    settings = _online(settings, trade_files_dir=folder, dex_pools=(ORCA_SOL_USDC.name,))
    result = materialize([dex_trades], resources=build_resources(settings), partition_key=day)
    assert result.success
    assert len(_query(settings, "SELECT * FROM dex_trades")) == 1
    reason = _query(settings, "SELECT reason FROM quarantine WHERE table_name = 'dex_trades'")["reason"].iloc[
        0
    ]
    assert "price: expected greater_than(0)" in reason


def test_without_a_dex_source_the_partition_fails_with_the_setting_to_change(settings):
    result = materialize(
        [dex_trades], resources=build_resources(settings), partition_key="2024-06-01", raise_on_error=False
    )
    assert not result.success
    assert "MAMBAQUANT_SOLANA_RPC_URL" in result.failure_data_for_node("dex_trades").error.message


def test_unknown_pool_names_are_refused(settings):
    settings = _online(settings, solana_rpc_url="http://127.0.0.1:9", dex_pools=("no-such-pool",))
    result = materialize(
        [dex_trades], resources=build_resources(settings), partition_key="2024-06-01", raise_on_error=False
    )
    assert "unknown DEX pool(s) ['no-such-pool']" in result.failure_data_for_node("dex_trades").error.message
