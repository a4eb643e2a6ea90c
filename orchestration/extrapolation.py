"""Where Table IV's models must extrapolate: their test forecasts inside and beyond the training range.

Run: `.venv/bin/python -m orchestration.extrapolation [--models cryptomamba-v gru-v ...]`.
The scaler sees the training split only (models/scaling.py), so later inputs can leave its range.
Two features do in the test year: the close (and open, high, low), in the windows that reach above
the training split's highest close, and the timestamp, which the published code feeds the models
too and which lies past the training split's last day in every validation and test window.

For each variant (trained, or resumed from its checkpoint, as `orchestration.table_iv` does) this
prints the test RMSE and the mean signed move of the forecast from the last close, separately for
the windows inside the training range and those beyond it, beside the price's own mean move. A
model whose forecasts sit below the last close where the price rose is biased, not just noisy. The
last columns score the forecasts again with each window's timestamps moved back to end on the last
training day, on the test split and on validation: how much of a model's error rides on the
extrapolated timestamp, and whether validation, the only split a model may be chosen on, would have
preferred the held timestamps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.markdown import markdown_table
from models.forecasters import Forecaster
from models.metrics import forecast_errors
from models.samples import WindowSamples
from models.training_range import closes_above, timestamps_held_at, training_end, training_high
from orchestration.settings import Settings
from orchestration.table_iv import (
    fitted_forecaster,
    paper_daily_bars,
    parse_arguments,
    publish,
    split_header,
)


def beyond_training_close(samples: WindowSamples) -> np.ndarray:
    """Per sample: does its window hold a close above the training split's highest close?"""
    return closes_above(samples, training_high(samples))


def mean_move_pct(previous: np.ndarray, value: np.ndarray) -> float:
    """Mean signed move from the last close, in percent of it (NaN for no samples)."""
    return float(np.mean(value / previous - 1) * 100) if len(value) else float("nan")


def extrapolation_row(name: str, forecaster: Forecaster, samples: WindowSamples) -> dict[str, object]:
    """One variant's test errors and mean moves, inside the training range and beyond it, and its test
    and validation errors with the timestamps held."""
    test, val = samples.in_split("test"), samples.in_split("val")
    beyond = beyond_training_close(samples)[test]
    inside = ~beyond
    actual, previous = samples.target[test], samples.previous_close[test]
    forecast = forecaster.predict(samples)
    held = forecaster.predict(timestamps_held_at(samples, training_end(samples)))
    predicted = forecast[test]
    return {
        "model": name,
        "RMSE": forecast_errors(actual, predicted).rmse,
        "RMSE inside": forecast_errors(actual[inside], predicted[inside]).rmse,
        "RMSE beyond": forecast_errors(actual[beyond], predicted[beyond]).rmse,
        "move % inside": mean_move_pct(previous[inside], predicted[inside]),
        "move % beyond": mean_move_pct(previous[beyond], predicted[beyond]),
        "below last close %": float(np.mean(predicted < previous) * 100),
        "RMSE, timestamps held": forecast_errors(actual, held[test]).rmse,
        "val RMSE": forecast_errors(samples.target[val], forecast[val]).rmse,
        "val RMSE, timestamps held": forecast_errors(samples.target[val], held[val]).rmse,
    }


def training_range_header(samples: WindowSamples) -> str:
    """How many test windows leave the training range, and how the price itself moved in each part."""
    test = samples.in_split("test")
    beyond = beyond_training_close(samples)[test]
    actual, previous = samples.target[test], samples.previous_close[test]
    highest = training_high(samples)
    move_inside = mean_move_pct(previous[~beyond], actual[~beyond])
    move_beyond = mean_move_pct(previous[beyond], actual[beyond])
    return (
        f"{beyond.sum()} of {len(beyond)} test windows hold a close above the training split's highest "
        f"({highest:,.2f}); the close itself moved {move_inside:+.3f} % a day on average inside the "
        f"range and {move_beyond:+.3f} % beyond it. Every validation and test window's timestamps lie "
        "past the training split's last day."
    )


def main() -> None:
    args = parse_arguments(__doc__)  # Table IV's variants by default, any of them on request
    settings = Settings.from_env()
    bars = paper_daily_bars(settings.data_dir)
    rows, header = [], ""
    for name in ["persistence", *args.models]:
        forecaster, _, samples = fitted_forecaster(name, args.profile, settings, bars)
        header = header or training_range_header(samples)
        rows.append(extrapolation_row(name, forecaster, samples))
        print(markdown_table(pd.DataFrame(rows[-1:])), flush=True)
    text = (
        f"{split_header(bars)}, profile `{args.profile}`. {header}\n\n"
        + markdown_table(pd.DataFrame(rows), float_format="{:,.3f}")
        + "\n"
    )
    publish(text, settings, "extrapolation.md")


if __name__ == "__main__":
    main()
