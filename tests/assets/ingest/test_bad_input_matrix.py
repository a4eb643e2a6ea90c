"""Malformed input across every stream, each through its real ingest path into a warehouse that
already holds data.

Every case must end in a clear error or a quarantined row whose reason names the field and what
was expected, and the rows stored before must still be there, unchanged in number.
"""

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import materialize

from assets.contracts import DexTradesTable, FearGreedTable, MacroTable, OhlcvTable, SentimentItemsTable
from assets.evaluation.metrics import metrics
from assets.ingest.http import HttpClient, RetryPolicy
from assets.ingest.macro.fred import fetch_fred_series
from assets.ingest.market.binance import fetch_binance_klines
from assets.ingest.sentiment.feeds import parse_feed
from assets.ingest.solana.pools import ORCA_SOL_USDC
from assets.ingest.solana.rpc import SolanaRpc
from assets.ingest.solana.swaps import extract_swaps
from assets.ingest.solana.trade_files import read_trade_file
from assets.ingest.store import store_load
from assets.training.forecasts import forecast_asset
from assets.warehouse import Partition, row_count
from orchestration.definitions import INGEST_ASSETS
from orchestration.resources import build_resources
from orchestration.settings import Settings
from tests.assets.ingest.solana import rpc_fixtures
from tests.conftest import SHIPPED_DATA_DIR
from tests.http_server import ScriptedHttpServer, ScriptedResponse

MALFORMED_FEED = (Path(__file__).parents[2] / "fixtures" / "sentiment" / "malformed.xml").read_bytes()
START, END = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC")


@pytest.fixture(scope="module")
def stored_warehouse(tmp_path_factory) -> Path:
    """Ingested tables, persistence forecasts, metrics and a day of trades: what bad input must not harm."""
    folder = tmp_path_factory.mktemp("stored")
    settings = Settings(folder / "w.duckdb", SHIPPED_DATA_DIR, folder / "home")
    stored = [*INGEST_ASSETS, forecast_asset("persistence"), metrics]
    assert materialize(stored, resources=build_resources(settings)).success
    trades = pd.DataFrame(extract_swaps(rpc_fixtures.tx("whirlpool_buy"), ORCA_SOL_USDC))
    day = trades["block_time"].iloc[0].normalize()
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        partition = Partition({"pool": ORCA_SOL_USDC.address}, "block_time", day, day + pd.Timedelta(days=1))
        store_load(conn, "dex_trades", trades, DexTradesTable, partition)
    return settings.warehouse_path


@pytest.fixture
def conn(stored_warehouse: Path, tmp_path: Path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(stored_warehouse, copy)
    with duckdb.connect(str(copy)) as connection:
        yield connection


def _client() -> HttpClient:
    return HttpClient(timeout_s=0.3, retry=RetryPolicy(attempts=2, first_backoff_s=0), sleep=lambda _s: None)


def _bars(**changes: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "symbol": "ETH-USD",
            "interval": "1d",
            "ts": pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"),
            "open": 100.0,
            "high": 110.0,
            "low": 90.0,
            "close": 105.0,
            "volume": 1_000.0,
            "source": "matrix",
        }
    ).astype(object)
    for column, value in changes.items():
        frame.loc[2, column] = value
    return frame


def _ohlcv(frame: pd.DataFrame) -> Callable:
    return lambda conn, _server: store_load(conn, "ohlcv", frame, OhlcvTable, Partition({"source": "matrix"}))


def _trade(**changes: object) -> Callable:
    row = {**extract_swaps(rpc_fixtures.tx("whirlpool_sell"), ORCA_SOL_USDC)[0], **changes}
    frame = pd.DataFrame([row])
    return lambda conn, _server: store_load(
        conn, "dex_trades", frame, DexTradesTable, Partition({"signature": row["signature"]})
    )


def _macro(**changes: object) -> Callable:
    row = {
        "series_id": "TEST:X",
        "period_start": pd.Timestamp("2024-01-01", tz="UTC"),
        "value": 1.0,
        "released_at": pd.Timestamp("2024-02-01", tz="UTC"),
        "source": "matrix",
        **changes,
    }
    return lambda conn, _server: store_load(
        conn, "macro", pd.DataFrame([row]), MacroTable, Partition({"source": "matrix"})
    )


def _fear_greed(value: object) -> Callable:
    row = {
        "ts": START,
        "value": value,
        "classification": "Fear",
        "released_at": START + pd.Timedelta(hours=1),
    }
    return lambda conn, _server: store_load(
        conn, "fear_greed", pd.DataFrame([row]), FearGreedTable, Partition()
    )


def _item(**changes: object) -> Callable:
    row = {
        "source": "matrix",
        "item_id": "1",
        "published_at": START,
        "title": "t",
        "body": "",
        "url": "",
        "vader_compound": 0.1,
        "lm_polarity": 0.0,
        "lm_subjectivity": 0.0,
        **changes,
    }
    frame = pd.DataFrame([row])
    return lambda conn, _server: store_load(conn, "sentiment_items", frame, SentimentItemsTable, Partition())


def _served(path: str, *responses: object, call: Callable[[str], object]) -> Callable:
    def run(_conn, server: ScriptedHttpServer) -> None:
        server.script(path, *responses)
        call(server.url)

    return run


def _klines(base: str) -> object:
    return fetch_binance_klines(_client(), base, "BTCUSDT", "1h", START, END)


def _rpc(base: str) -> object:
    return SolanaRpc(f"{base}/rpc", _client()).get_transactions(["1" * 88])


def _trade_file(name: str, text: str) -> Callable:
    def run(_conn, _server) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_text(text)
            read_trade_file(path)

    return run


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable
    expected: str  # a regex over the error message or the quarantine reason
    quarantined: bool = False


NAIVE = pd.Series(pd.date_range("2024-01-01", periods=3, freq="D"))
CASES = [
    Case("nan price", _ohlcv(_bars(close=float("nan"))), r"close: expected not_nullable", True),
    Case("zero price", _ohlcv(_bars(open=0.0)), r"open: expected greater_than\(0\)", True),
    Case("negative price", _ohlcv(_bars(low=-1.0)), r"low: expected greater_than\(0\)", True),
    Case("high below low", _ohlcv(_bars(high=80.0)), r"expected high >= max\(open, close\)", True),
    Case(
        "negative volume", _ohlcv(_bars(volume=-5.0)), r"volume: expected greater_than_or_equal_to\(0\)", True
    ),
    Case(
        "duplicate key",
        _ohlcv(_bars(ts=pd.Timestamp("2024-01-02", tz="UTC"))),
        r"duplicate key \(symbol",
        True,
    ),
    Case(
        "out of order",
        _ohlcv(_bars(ts=pd.Timestamp("2023-12-01", tz="UTC"))),
        r"expected rows sorted by ts",
        True,
    ),
    Case(
        "text in numeric",
        _ohlcv(_bars(open="12,5")),
        r"open: expected a value of type 'float64', got '12,5'",
        True,
    ),
    Case(
        "future timestamp",
        _ohlcv(_bars(ts=pd.Timestamp("2999-01-01", tz="UTC"))),
        r"ts: expected ts not in the future",
        True,
    ),
    Case("unknown interval", _ohlcv(_bars(interval="7m")), r"interval: expected isin", True),
    Case("missing column", _ohlcv(_bars().drop(columns="close")), r"missing column 'close'"),
    Case("extra column", _ohlcv(_bars().assign(vwap=1.0)), r"unexpected column 'vwap'"),
    Case(
        "naive timestamps",
        _ohlcv(_bars().assign(ts=NAIVE)),
        r"'ts' holds naive timestamps; expected timezone-aware UTC",
    ),
    Case("price not quote/base", _trade(price=1.0), r"expected price == quote_amount / base_amount", True),
    Case("bad signature", _trade(signature="0OIl" * 20), r"signature: expected str_matches", True),
    Case("unknown side", _trade(side="hold"), r"side: expected isin", True),
    Case(
        "released before period",
        _macro(released_at=pd.Timestamp("2023-12-01", tz="UTC")),
        r"released_at >= period_start",
        True,
    ),
    Case("fear greed above 100", _fear_greed(150), r"value: expected less_than_or_equal_to\(100\)", True),
    Case(
        "score out of range",
        _item(vader_compound=3.0),
        r"vader_compound: expected less_than_or_equal_to\(1\)",
        True,
    ),
    Case(
        "truncated json",
        _served(
            "/api/v3/klines",
            ScriptedResponse('[[1704067200000, "4', headers={"Content-Type": "application/json"}),
            call=_klines,
        ),
        r"invalid JSON",
    ),
    Case(
        "api error body",
        _served(
            "/api/v3/klines", ScriptedResponse({"code": -1121, "msg": "Invalid symbol."}, 400), call=_klines
        ),
        r"HTTP 400.*Invalid symbol",
    ),
    Case(
        "persistent http 500",
        _served("/api/v3/klines", ScriptedResponse("down", 500), call=_klines),
        r"failed after 2 attempt\(s\): HTTP 500",
    ),
    Case(
        "timeout",
        _served("/api/v3/klines", ScriptedResponse([], delay_s=1.0), call=_klines),
        r"failed after 2 attempt\(s\): ReadTimeout",
    ),
    Case(
        "rpc error object",
        _served(
            "/rpc",
            [{"jsonrpc": "2.0", "id": 0, "error": {"code": -32005, "message": "Node is behind"}}],
            call=_rpc,
        ),
        r"getTransaction.*-32005.*Node is behind",
    ),
    Case(
        "malformed xml",
        lambda _c, _s: parse_feed(MALFORMED_FEED, "matrix"),
        r"malformed feed",
    ),
    Case(
        "missing fred key",
        lambda _c, _s: fetch_fred_series(
            _client(), "http://127.0.0.1:9", "CPIAUCSL", START.date(), END.date(), ""
        ),
        r"FRED_API_KEY",
    ),
    Case(
        "trade file missing columns",
        _trade_file("trades_matrix.csv", "signature,slot\nx,1\n"),
        r"missing columns \['instruction_index'",
    ),
    Case(
        "trade file naive times",
        _trade_file(
            "trades_naive.csv",
            ",".join(DexTradesTable.to_schema().columns)
            + "\n"
            + ",".join(["1"] * 3 + ["2024-01-01 00:00:00"] + ["x"] * 9)
            + "\n",
        ),
        r"block_time without a UTC offset",
    ),
]


STORED_TABLES = ("ohlcv", "macro", "predictions", "metrics", "dex_trades")


def _snapshot(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Copy every stored table aside, so the rows themselves can be compared afterwards."""
    for table in STORED_TABLES:
        conn.execute(f"CREATE TEMP TABLE before_{table} AS SELECT * FROM {table}")
    return {table: row_count(conn, table) for table in STORED_TABLES}


def _surviving(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many of the rows stored before are still there, value for value."""
    return {
        table: conn.execute(
            f"SELECT count(*) FROM (SELECT * FROM before_{table} INTERSECT ALL SELECT * FROM {table})"
        ).fetchall()[0][0]
        for table in STORED_TABLES
    }


def test_the_matrix_is_wide_enough():
    assert len({case.name for case in CASES}) >= 25


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_is_refused_or_quarantined_and_stored_rows_survive(case: Case, conn, monkeypatch):
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    before = _snapshot(conn)
    quarantined_before = row_count(conn, "quarantine")
    with ScriptedHttpServer() as server:
        if case.quarantined:
            case.run(conn, server)
            reasons = [reason for (reason,) in conn.execute("SELECT reason FROM quarantine").fetchall()]
            assert any(re.search(case.expected, reason) for reason in reasons), reasons
        else:
            with pytest.raises(Exception, match=case.expected):
                case.run(conn, server)
            assert row_count(conn, "quarantine") == quarantined_before
    assert _surviving(conn) == before
