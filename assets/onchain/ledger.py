"""The `paper_ledger` asset: every book read back from chain into DuckDB, with its equity plotted.

The chain is the record: positions, PnL and equity are what the program computed from the
signals it accepted, so the ledger reads them rather than recomputing them off chain.
"""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import PaperLedgerTable
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema, markdown_metadata
from assets.plots import image_metadata, lines_figure
from assets.warehouse import Partition, read_table
from models.atomic import write_atomically
from onchain.client import Book
from onchain.paper import PaperUnits
from orchestration.resources import RiskGuardResource, TrainingResource, WarehouseResource

LEDGER_FIGURE = "paper_equity.png"


@asset(group_name="onchain", deps=["onchain_signals"], kinds={"solana", "duckdb"})
def paper_ledger(
    warehouse: WarehouseResource, risk_guard: RiskGuardResource, training: TrainingResource
) -> MaterializeResult:
    """Position, PnL, equity and halt flag of each traded book, as the program holds them now."""
    with warehouse.get_connection() as conn:
        symbols = read_table(
            conn,
            "SELECT DISTINCT symbol FROM signal_transactions WHERE cluster = ? ORDER BY symbol",
            [risk_guard.cluster],
        )["symbol"]
    as_of = pd.Timestamp.now(tz="UTC")
    units = risk_guard.units()
    with risk_guard.open() as guard:
        books = {symbol: guard.book(symbol) for symbol in symbols}
    rows = [
        _ledger_row(book, units, as_of, risk_guard.cluster) for book in books.values() if book is not None
    ]
    if not rows:
        raise ValueError(
            f"no book on the {risk_guard.cluster!r} cluster: materialize `onchain_signals` first"
        )
    frame = pd.DataFrame(rows)
    with warehouse.get_connection() as conn:
        stored = store_load(
            conn,
            "paper_ledger",
            frame,
            PaperLedgerTable,
            Partition({"as_of": as_of, "cluster": risk_guard.cluster}),
        )
        totals = table_totals(conn, "paper_ledger")
        history = read_table(
            conn,
            "SELECT as_of, symbol, equity FROM paper_ledger WHERE cluster = ? ORDER BY as_of",
            [risk_guard.cluster],
        )
    curves = {symbol: group.set_index("as_of")["equity"] for symbol, group in history.groupby("symbol")}
    figure = lines_figure(
        curves, f"Paper equity on the {risk_guard.cluster} cluster", "read at", "equity (USD)"
    )
    write_atomically(training.report(LEDGER_FIGURE), lambda file: file.write(figure))
    return MaterializeResult(
        metadata={
            **stored,
            **totals,
            "dagster/column_schema": column_schema(PaperLedgerTable),
            "books": markdown_metadata(frame.drop(columns=["as_of", "cluster"])),
            "halted": ", ".join(frame.loc[frame["halted"], "symbol"]) or "none",
            "equity_curve": image_metadata(figure, "paper equity per book, as read from chain"),
        }
    )


def _ledger_row(book: Book, units: PaperUnits, as_of: pd.Timestamp, cluster: str) -> dict[str, object]:
    return {
        "as_of": as_of,
        "cluster": cluster,
        "symbol": book.symbol,
        "position_lots": book.position,
        "position": book.position * units.lot_size,
        "avg_entry": units.price_usd(book.avg_entry),
        "realized_pnl": units.usd(book.realized_pnl),
        "equity": units.usd(book.equity),
        "high_water_mark": units.usd(book.high_water_mark),
        "day_start_equity": units.usd(book.day_start_equity),
        "capital": units.usd(book.capital),
        "halted": book.halted,
        "last_sequence": book.last_sequence,
        "last_signal_ts": pd.Timestamp(book.last_signal_ts, unit="s", tz="UTC"),
    }
