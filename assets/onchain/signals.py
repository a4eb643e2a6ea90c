"""The `onchain_signals` asset: the newest signal of each symbol, pushed to the risk guard program.

Every transaction is recorded, accepted or not: a refusal (stale signal, too large, book halted)
is the risk guard doing its job, so it is data for the `signal_transactions` table, not a failed
run. A run fails only when the cluster cannot be reached or the config cannot be set up.
"""

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.contracts import SignalTransactionsTable
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema, markdown_metadata
from assets.warehouse import Partition, read_table
from onchain.keeper import RiskGuard
from onchain.paper import PaperUnits
from orchestration.resources import RiskGuardResource, SignalResource, WarehouseResource
from orchestration.settings import LOCAL_CLUSTER, MAX_DATA_AGE_ENV

NEWEST_SIGNALS_SQL = """
SELECT * FROM signals WHERE model = ? AND strategy = ?
QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY ts DESC, generated_at DESC) = 1
ORDER BY symbol
"""


@asset(group_name="onchain", deps=["signals"], kinds={"solana", "duckdb"})
def onchain_signals(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    signal_settings: SignalResource,
    risk_guard: RiskGuardResource,
) -> MaterializeResult:
    """Push each symbol's newest signal through the on-chain risk limits and record the transaction."""
    with warehouse.get_connection() as conn:
        newest = read_table(conn, NEWEST_SIGNALS_SQL, [signal_settings.model, signal_settings.strategy])
    if newest.empty:
        raise ValueError(
            f"no signals of model {signal_settings.model!r} with strategy {signal_settings.strategy!r}: "
            "materialize `signals` first"
        )
    if risk_guard.cluster != LOCAL_CLUSTER:
        now = pd.Timestamp.now(tz="UTC")
        refuse_stale_data(newest, now, risk_guard.max_data_age_hours, risk_guard.cluster)
    units, jitter = risk_guard.units(), risk_guard.jitter()
    with risk_guard.open() as guard:
        guard.ensure_config(risk_guard.limits())
        capital = units.quote_units(risk_guard.paper_capital_usd)
        rows = [
            _push(guard, units, signal, capital, jitter.wait(), context.run.run_id, risk_guard.cluster)
            for _, signal in newest.iterrows()
        ]
    frame = pd.DataFrame(rows)
    with warehouse.get_connection() as conn:
        stored = store_load(
            conn,
            "signal_transactions",
            frame,
            SignalTransactionsTable,
            Partition({"run_id": context.run.run_id}),
        )
        totals = table_totals(conn, "signal_transactions")
    refusals = frame.loc[~frame["accepted"], "error_name"]
    return MaterializeResult(
        metadata={
            **stored,
            **totals,
            "dagster/column_schema": column_schema(SignalTransactionsTable),
            "accepted": int(frame["accepted"].sum()),
            "rejected": len(refusals),
            "rejections": ", ".join(sorted(set(refusals))) or "none",
            "max_compute_units": int(frame["compute_units"].max()),
            "transactions": markdown_metadata(
                frame[
                    [
                        "symbol",
                        "target_lots",
                        "price",
                        "confidence_bps",
                        "accepted",
                        "error_name",
                        "compute_units",
                    ]
                ]
            ),
        }
    )


def refuse_stale_data(newest: pd.DataFrame, now: pd.Timestamp, max_age_hours: float, cluster: str) -> None:
    """Stop before a real cluster gets a signal made from old bars.

    The program judges a signal's age by when it was generated, which guards against a delayed
    transaction, not against stale inputs: with ingestion stopped, every nightly run would generate
    a fresh-looking signal from the same old bars. Age runs from the close of the newest bar (the
    open of the forecast bar, `ts`), so a run's hour after the daily close does not change which
    data passes. The local cluster replays the shipped history, so it is exempt.
    """
    age = now - pd.to_datetime(newest["ts"], utc=True)
    stale = newest.loc[age > pd.Timedelta(hours=max_age_hours)]
    if not stale.empty:
        described = ", ".join(
            f"{row.symbol} (newest bar closed {pd.Timestamp(row.ts):%Y-%m-%d %H:%M} UTC)"
            for row in stale.itertuples()
        )
        raise ValueError(
            f"not pushing to {cluster!r}: "
            f"signals made from bars that closed over {max_age_hours:g} hours ago: "
            f"{described}; ingestion has stopped or lags ({MAX_DATA_AGE_ENV} sets the limit)"
        )


def _push(
    guard: RiskGuard,
    units: PaperUnits,
    signal: pd.Series,
    capital_units: int,
    delay: float,
    run_id: str,
    cluster: str,
) -> dict[str, object]:
    book = guard.ensure_book(str(signal["symbol"]), capital_units)
    order = units.order(signal, book.equity)
    outcome = guard.push(order)
    return {
        "signature": outcome.signature,
        "run_id": run_id,
        "cluster": cluster,
        "program_id": str(guard.client.program_id),
        "symbol": order.market,
        "sequence": order.sequence,
        "signal_ts": pd.Timestamp(order.signal_ts, unit="s", tz="UTC"),
        "target_position": float(signal["target_position"]),
        "target_lots": order.target_lots,
        "price": float(signal["price"]),
        "price_units": order.price_units,
        "confidence_bps": order.confidence_bps,
        "jitter_secs": delay,
        "submitted_at": pd.Timestamp.now(tz="UTC"),
        "accepted": outcome.accepted,
        "error_name": outcome.error_name,
        "compute_units": outcome.compute_units,
    }
