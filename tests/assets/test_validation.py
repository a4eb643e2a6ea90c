"""The key check that replaces pandera's: same verdicts, on text, numbers, times and nulls."""

import numpy as np
import pandas as pd

from assets.contracts import OhlcvTable
from assets.validation import duplicate_rows, validate_rows


def test_every_copy_of_a_repeated_key_is_marked():
    frame = pd.DataFrame(
        {
            "name": pd.array(["a", "b", "a", "a", None, None], dtype=pd.StringDtype("pyarrow")),
            "number": [1, 1, 1, 2, 3, 3],
            "ts": pd.Timestamp("2024-01-01", tz="UTC"),
        }
    )
    marked = duplicate_rows(frame, ["name", "number", "ts"])
    np.testing.assert_array_equal(marked, [True, False, True, False, True, True])
    np.testing.assert_array_equal(marked, frame.duplicated(keep=False).to_numpy())


def test_keys_are_judged_after_coercion():
    bars = pd.DataFrame(
        {
            "symbol": "BTC-USD",
            "interval": "1d",
            # The same day written twice: once as text, once as a time.
            "ts": ["2024-01-01T00:00:00+00:00", pd.Timestamp("2024-01-01", tz="UTC")],
            "open": 100.0,
            "high": 110.0,
            "low": 90.0,
            "close": 105.0,
            "volume": 1.0,
            "source": "test",
        }
    )
    rows = validate_rows(bars, OhlcvTable)
    assert rows.valid.empty
    assert all("duplicate key (symbol, interval, ts)" in reason for reason in rows.rejected["reason"])


def test_a_clean_frame_keeps_its_rows_and_order():
    ts = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    bars = pd.DataFrame(
        {"symbol": "BTC-USD", "interval": "1d", "ts": ts, "open": 1.0, "high": 2.0, "low": 0.5}
        | {"close": 1.5, "volume": 1.0, "source": "test"}
    )
    rows = validate_rows(bars, OhlcvTable)
    assert rows.rejected.empty
    assert rows.valid["ts"].tolist() == ts.tolist()
    assert rows.valid.index.tolist() == [0, 1, 2, 3]
