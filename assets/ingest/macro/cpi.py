"""US CPI-U, all items, seasonally adjusted (BLS series CUSR0000SA0), with a release time never too early.

The offline file gives each month's index but not when it was published, so `released_at` is a
safe upper bound unless the real release is known:

* Rule: 08:30 America/New_York on the last day of the month after the reference month. The BLS
  publishes CPI for month M at 08:30 ET in month M+1, usually mid-month but not always: January
  2015 came out on 26 February 2015 and February 2015 on 24 March 2015 (BLS news releases
  USDL-15-0281 and USDL-15-0477), so any "15th of M+1" rule would leak. Even the shutdown-delayed
  releases of 2013 (September 2013 on 30 October) and 2025 (below) stayed within M+1. The price is
  staleness, not leakage: a value is typically used two weeks after it was public.
* Overrides (`RELEASE_DAY_OVERRIDES`), the verified releases of the 1 October - 12 November 2025
  US government shutdown:
  - September 2025: published Friday 24 October 2025, 08:30 ET, rescheduled from 15 October
    (BLS notice "September 2025 CPI Release Rescheduled", bls.gov/bls/092025-cpi-reschedule-notice.htm).
  - October 2025: never released on its own. BLS could not collect October survey data and
    cancelled the report; the few October values it could rebuild from non-survey sources were
    published with November's data on 18 December 2025 (BLS statement of 21 November 2025, as
    reported by Reuters). The offline file has no October 2025 row; should one appear, it can
    have been public no earlier than 18 December, whereas the rule would say 30 November.
  - November 2025: published 18 December 2025, 08:30 ET, moved from 10 December (same statement).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from assets.ingest.macro.frame import macro_frame, parse_days, read_text_table, wall_clock_in_utc

CPI_FILE = "us_cpi_u_sa_monthly_2015_2026.csv"
SERIES_ID = "BLS:CUSR0000SA0"
RELEASE_TIME = pd.Timedelta(hours=8, minutes=30)
RELEASE_ZONE = "America/New_York"
# Reference month -> day of the verified release (08:30 New York time), where it beats the rule.
RELEASE_DAY_OVERRIDES = {
    "2025-09": "2025-10-24",
    "2025-10": "2025-12-18",
    "2025-11": "2025-12-18",
}


def read_cpi_monthly(path: Path) -> pd.DataFrame:
    """The monthly file (date = first of the month, cpi_u_sa) as `macro` rows."""
    raw = read_text_table(path, ("date", "cpi_u_sa"), path.name)
    return macro_frame(SERIES_ID, raw["date"], raw["cpi_u_sa"], cpi_released_at(raw["date"]), "bls")


def cpi_released_at(period_day: pd.Series) -> pd.Series:
    """When each month's CPI was public (UTC): its verified release if known, else the rule's bound."""
    month = parse_days(period_day).dt.to_period("M")
    last_day_of_next_month = (month + 2).dt.to_timestamp() - pd.Timedelta(days=1)
    verified_day = parse_days(month.astype(str).map(RELEASE_DAY_OVERRIDES))
    release_day = verified_day.where(verified_day.notna(), last_day_of_next_month)
    return wall_clock_in_utc(release_day, RELEASE_TIME, RELEASE_ZONE)
