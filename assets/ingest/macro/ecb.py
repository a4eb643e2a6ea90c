"""ECB euro reference rates: the offline daily file and the ECB Data Portal (SDMX REST API).

A rate is stamped with the moment the ECB publishes it, not with its day. The rates are a snapshot
taken at about 14:15 CET; since 1 July 2016 the ECB publishes them "at around 16:00 CET" on each
TARGET business day, before that at around 14:30 CET (ECB press release of 7 December 2015). So
`released_at` is 16:00 Europe/Berlin on the rate's day, 15:00 UTC in winter and 14:00 UTC in
summer: the publication time now, and a safe late bound for the 2015-2016 rows. Anything that
joins on `released_at` never sees a rate in the hours between its day's midnight and publication.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from io import StringIO
from pathlib import Path

import pandas as pd

from assets.contracts import MacroTable
from assets.ingest.http import HttpClient, HttpSourceError
from assets.ingest.macro.frame import macro_frame, parse_days, read_text_table, wall_clock_in_utc

ECB_FX_FILE = "ecb_eur_fx_daily_2015_2026.csv.gz"
FILE_CURRENCIES = ("USD", "JPY", "GBP", "CHF", "CNY")
PUBLICATION_TIME = pd.Timedelta(hours=16)
PUBLICATION_ZONE = "Europe/Berlin"
# The columns of the Data Portal's `format=csvdata` answer that we use (it has ~30 more).
SDMX_COLUMNS = ("CURRENCY", "TIME_PERIOD", "OBS_VALUE")


def read_ecb_daily(path: Path) -> pd.DataFrame:
    """The wide offline file (date, then units of each currency per EUR) as one `macro` row per rate."""
    raw = read_text_table(path, ("date", *FILE_CURRENCIES), path.name)
    rates = raw.melt(id_vars="date", value_vars=list(FILE_CURRENCIES), var_name="currency")
    return _rates_frame(rates["currency"], rates["date"], rates["value"])


def fetch_ecb_rates(
    client: HttpClient, base_url: str, currencies: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """Daily reference rates (units per EUR) for each currency between `start` and `end`, inclusive.

    One request per currency (`EXR/D.<CCY>.EUR.SP00.A`), so a failure names the series it hit. The
    API answers 404 when the range holds no observation; that currency then contributes no rows.
    """
    period = {"format": "csvdata", "startPeriod": start.isoformat(), "endPeriod": end.isoformat()}
    frames = []
    for currency in currencies:
        url = f"{base_url}/service/data/EXR/D.{currency}.EUR.SP00.A"
        try:
            text = client.get_text(url, params=period)
        except HttpSourceError as error:
            if error.status == 404:  # the ECB's answer for a range without observations (a weekend)
                continue
            raise
        try:
            raw = read_text_table(StringIO(text), SDMX_COLUMNS, url)
        except ValueError as error:  # also pandas' parser errors: no header, ragged rows
            raise HttpSourceError(
                f"{url} answered with unusable CSV ({error}); expected SDMX csvdata: {text[:200]!r}"
            ) from None
        frames.append(_rates_frame(raw["CURRENCY"], raw["TIME_PERIOD"], raw["OBS_VALUE"]))
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=list(MacroTable.to_schema().columns))
    )


def _rates_frame(currency: pd.Series, day: pd.Series, value: pd.Series) -> pd.DataFrame:
    """Rates as `ECB:EUR<CCY>` rows. An empty value is a day without a rate (a holiday), not a bad row."""
    quoted = value != ""
    currency, day, value = currency[quoted], day[quoted], value[quoted]
    released_at = wall_clock_in_utc(parse_days(day), PUBLICATION_TIME, PUBLICATION_ZONE)
    return macro_frame("ECB:EUR" + currency, day, value, released_at, "ecb")
