"""The paper's trading experiment on stored forecasts: each model * strategy * fee over a split.

A split's forecasts become a bar series the engine can trade: the decision bars are the days whose
close each forecast was made at (`previous_close`), followed by the last forecast day itself, so the
account starts with $100 at the first decision and is valued at the split's last close, exactly as
the published `trade()` does. Open, high and low come from the stored OHLCV when given (for stops
and next-open fills), else the bars are close-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.engine import BacktestResult, Bars, EngineConfig, run_backtest
from backtest.metrics import performance
from backtest.sizing import (
    buy_and_hold,
    classifier_policy,
    forecast_class_probabilities,
    kelly_exposure,
    return_error_spread,
)
from backtest.strategies import Strategy, exposure, smart, smart_with_short, vanilla

PAPER_FEES_BPS = (0.0, 10.0)  # no fee, and 0.1% per trade
EVALUATED_SPLITS = ("val", "test")
BUY_AND_HOLD = "buy_and_hold"
CLASSIFIER_THRESHOLD = 0.6
CLASSIFIER_BAND = 0.01


@dataclass(frozen=True)
class ForecastTrack:
    """One model's forecasts over one split as tradable bars, plus what sizing rules need."""

    bars: Bars
    forecast: np.ndarray  # per decision bar; NaN on the final valuation bar
    error_spread: float  # the model's return-error spread on the training split


# A strategy and the signal it trades, built from the track.
SignalRule = Callable[[ForecastTrack], tuple[Strategy, np.ndarray]]

STRATEGY_RULES: dict[str, SignalRule] = {
    "vanilla": lambda track: (vanilla(), track.forecast),
    "smart": lambda track: (smart(), track.forecast),
    "smart_w_short": lambda track: (smart_with_short(), track.forecast),
    "classifier": lambda track: (
        exposure("classifier"),
        classifier_policy(
            forecast_class_probabilities(
                track.forecast, track.bars.close, track.error_spread, CLASSIFIER_BAND
            ),
            CLASSIFIER_THRESHOLD,
        ),
    ),
    "kelly": lambda track: (exposure("kelly"), kelly_exposure(track.forecast, track.bars.close)),
    BUY_AND_HOLD: lambda track: (exposure(BUY_AND_HOLD), buy_and_hold(len(track.bars))),
}
PAPER_STRATEGIES = ("vanilla", "smart", "smart_w_short")


def forecast_track(
    split_rows: pd.DataFrame, error_spread: float = np.nan, ohlc: pd.DataFrame | None = None
) -> ForecastTrack:
    """`split_rows`: one model's `predictions` rows of one split (ts, previous_close, actual, predicted).

    `error_spread` (see `training_error_spread`) is needed by the classifier rule only.
    """
    rows = split_rows.sort_values("ts")
    target_ts = pd.DatetimeIndex(rows["ts"])
    steps = np.diff(target_ts.asi8)
    if len(steps) and np.any(steps != steps[0]):
        raise ValueError("forecast_track: the split's forecasts must be for consecutive bars")
    step = pd.Timedelta(steps[0] if len(steps) else 86_400 * 10**9)
    ts = target_ts[:1] - step
    ts = ts.append(target_ts)
    close = np.r_[rows["previous_close"].to_numpy(float), rows["actual"].to_numpy(float)[-1:]]
    bars = Bars.from_closes(ts, close)
    if ohlc is not None:
        known = ohlc.set_index("ts").reindex(ts)
        if known[["open", "high", "low"]].notna().all().all():
            bars = Bars(ts, *(known[column].to_numpy(float) for column in ("open", "high", "low")), close)
    forecast = np.r_[rows["predicted"].to_numpy(float), np.nan]
    return ForecastTrack(bars, forecast, error_spread)


def training_error_spread(model_rows: pd.DataFrame) -> float:
    """The spread of one model's return errors on its training split (for class probabilities)."""
    train = model_rows[model_rows["split"] == "train"]
    return return_error_spread(*(train[c].to_numpy(float) for c in ("predicted", "actual", "previous_close")))


def run_strategy(track: ForecastTrack, rule: str, config: EngineConfig) -> BacktestResult:
    strategy, signal = STRATEGY_RULES[rule](track)
    return run_backtest(track.bars, signal, strategy, config)


def backtest_predictions(
    predictions: pd.DataFrame,
    ohlc: pd.DataFrame | None = None,
    rules: tuple[str, ...] = tuple(STRATEGY_RULES),
    fees_bps: tuple[float, ...] = PAPER_FEES_BPS,
    splits: tuple[str, ...] = EVALUATED_SPLITS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every model * split * rule * fee: a summary row each, and the equity curves.

    Buy-and-hold does not depend on the model, so it is reported once per split and fee.
    """
    summaries, curves = [], []
    held: set[tuple[str, str]] = set()  # (symbol, split) whose buy-and-hold is already reported
    for (model, symbol), rows in predictions.groupby(["model", "symbol"], sort=True):
        spread = training_error_spread(rows)
        for split in splits:
            split_rows = rows[rows["split"] == split]
            if split_rows.empty:
                continue
            track = forecast_track(split_rows, spread, ohlc)
            for rule in rules:
                if rule == BUY_AND_HOLD:
                    if (symbol, split) in held:
                        continue
                    held.add((symbol, split))
                owner = "" if rule == BUY_AND_HOLD else model
                for fee in fees_bps:
                    result = run_strategy(track, rule, EngineConfig(fee_bps=fee))
                    key = {"model": owner, "symbol": symbol, "split": split, "strategy": rule, "fee_bps": fee}
                    summaries.append({**key, **performance(result).as_dict()})
                    curves.append(pd.DataFrame({**key, "ts": track.bars.ts, "equity": result.equity[1:]}))
    return pd.DataFrame(summaries), pd.concat(curves, ignore_index=True)


def balance_table(
    summary: pd.DataFrame, strategies: tuple[str, ...] = (*PAPER_STRATEGIES, BUY_AND_HOLD)
) -> pd.DataFrame:
    """The paper's Table VI layout: final balance per model and strategy, by split and fee.

    Columns read `<split> $ (fee <bps> bps)`, then the test split's max drawdown at no fee.
    """
    rows = summary[summary["strategy"].isin(strategies)].copy()
    rows["column"] = rows["split"] + " $ (fee " + rows["fee_bps"].map("{:g}".format) + " bps)"
    balances = rows.pivot_table(
        index=["model", "strategy"], columns="column", values="final_balance", sort=False
    )
    no_fee_test = rows[(rows["split"] == "test") & (rows["fee_bps"] == 0)]
    drawdown = no_fee_test.set_index(["model", "strategy"])["max_drawdown"] * 100
    table = balances.join(drawdown.rename("test max DD %")).reset_index()
    order = {name: index for index, name in enumerate(strategies)}
    table = table.assign(_benchmark=table["model"] == "", _order=table["strategy"].map(order))
    table = table.sort_values(["_benchmark", "model", "_order"]).drop(columns=["_benchmark", "_order"])
    table["model"] = table["model"].replace("", "-")
    return table.reset_index(drop=True)
