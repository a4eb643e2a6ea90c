"""FRED series as first published (ALFRED "initial release only"), stamped with when they became public.

Asking for the current values would hand a backtest revisions nobody had at the time, so the
request uses `output_type=4` over every vintage (`realtime_start=1776-07-04`,
`realtime_end=9999-12-31`, FRED's own bounds): one row per observation, carrying the value of
its first release and, in `realtime_start`, the day that release appeared.

That day has no time: a release can land at 08:30 ET (BLS), 10:00, 14:00 (FOMC) or whenever
FRED ingests it. `released_at` is therefore the end of that day in St. Louis, the Fed's own
time zone (midnight after it, America/Chicago), capped at the moment of the download, since a
value we hold was public by then at the latest. Joins as of `released_at` may lose part of a
day but never see a value early.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

import pandas as pd

from assets.ingest.http import HttpClient, HttpSourceError
from assets.ingest.macro.frame import macro_frame, parse_days, wall_clock_in_utc

FRED_API_KEY_ENV = "FRED_API_KEY"
INITIAL_RELEASE_ONLY = 4
ALL_VINTAGES = {"realtime_start": "1776-07-04", "realtime_end": "9999-12-31"}
MISSING_VALUE = "."  # FRED's marker for "no value for this date"
OBSERVATION_FIELDS = ("realtime_start", "date", "value")
RELEASE_DAY_ZONE = "America/Chicago"


@dataclass(frozen=True)
class FredObservations:
    """The `macro` rows of one series, and how many observations FRED marked missing (skipped)."""

    frame: pd.DataFrame
    missing: int


def fetch_fred_series(
    client: HttpClient,
    base_url: str,
    series_id: str,
    start: date,
    end: date,
    api_key: str | None = None,
) -> FredObservations:
    """First releases of `series_id` for observation dates `start`..`end` as `FRED:<id>` rows.

    The API key is `api_key` or else the `FRED_API_KEY` environment variable. FRED's "." values
    are no observation at all, so they are counted, not quarantined; any other value stays text
    for the contract to judge.
    """
    key = api_key or os.environ.get(FRED_API_KEY_ENV)
    if not key:
        raise ValueError(
            f"FRED API key missing: pass api_key or set the environment variable {FRED_API_KEY_ENV} "
            "(a free key from https://fredaccount.stlouisfed.org/apikeys)"
        )
    url = f"{base_url}/fred/series/observations"
    params = {
        "series_id": series_id,
        "api_key": key,
        "file_type": "json",
        "observation_start": start.isoformat(),
        "observation_end": end.isoformat(),
        "output_type": INITIAL_RELEASE_ONLY,
        **ALL_VINTAGES,
    }
    raw = _observations(url, client.get_json(url, params=params))
    downloaded_at = pd.Timestamp.now(tz="UTC")
    missing = raw["value"] == MISSING_VALUE
    raw = raw[~missing]
    end_of_release_day = wall_clock_in_utc(
        parse_days(raw["realtime_start"]), pd.Timedelta(days=1), RELEASE_DAY_ZONE
    )
    released_at = end_of_release_day.mask(end_of_release_day > downloaded_at, downloaded_at)
    frame = macro_frame(f"FRED:{series_id}", raw["date"], raw["value"], released_at, "fred")
    return FredObservations(frame=frame, missing=int(missing.sum()))


def _observations(url: str, payload: object) -> pd.DataFrame:
    """The answer's observations as text columns, or a clear error if it is not what FRED sends."""
    observations = payload.get("observations") if isinstance(payload, dict) else None
    if not isinstance(observations, list):
        raise HttpSourceError(
            f"{url}: expected a JSON object with an 'observations' list, got {str(payload)[:200]!r}"
        )
    for observation in observations:
        if not isinstance(observation, dict) or not set(OBSERVATION_FIELDS) <= observation.keys():
            raise HttpSourceError(
                f"{url}: expected observations with fields {list(OBSERVATION_FIELDS)}, got {observation!r}"
            )
    return pd.DataFrame.from_records(observations, columns=list(OBSERVATION_FIELDS)).astype(str)
