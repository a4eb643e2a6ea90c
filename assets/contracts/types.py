"""Column types shared by the contracts."""

from typing import Annotated

import pandas as pd
from pandera.typing import Series

# Every timestamp in the warehouse is tz-aware UTC (DESIGN.md: never naive local time). Naive
# datetime columns are refused before validation; text is parsed by coercion, so readers hand
# over times as ISO strings with an explicit offset.
UtcTimestamp = Series[Annotated[pd.DatetimeTZDtype, "ns", "UTC"]]

# Text columns are Arrow-backed: regex and membership checks then run in Arrow's vectorized
# kernels instead of a Python call per value, and DuckDB reads them without conversion.
Text = Series[Annotated[pd.StringDtype, "pyarrow", pd.NA]]
