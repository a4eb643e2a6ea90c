"""Row-level contract enforcement: split a frame into rows that honour its contract and rows that don't.

A bad row must never sink a whole load, and a good row must never be stored unchecked. Pandera
reports failures per row where it can; a problem with the frame itself (a missing or unexpected
column) has no row to blame and stops the load with a `ContractError` instead.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import duckdb
import numpy as np
import pandas as pd
import pandera.errors as pa_errors
import pandera.pandas as pa
import pyarrow as arrow

# A value that cannot be coerced (text in a numeric column) leaves its whole column uncoerced, so
# every other check of that pass ran on raw text and its verdicts are unreliable. Such a pass
# removes only the uncoercible rows; the next pass checks the rest properly.
_MAX_PASSES = 5
_COERCE_CHECK = "coerce_dtype"


class ContractError(ValueError):
    """The frame as a whole breaks its contract (no single row is to blame), so nothing is written."""


@dataclass(frozen=True)
class ValidatedRows:
    """Outcome of validating one load: rows to store and rows to quarantine with their reasons."""

    valid: pd.DataFrame
    rejected: pd.DataFrame  # the offending input rows plus a `reason` column


def validate_rows(frame: pd.DataFrame, contract: type[pa.DataFrameModel]) -> ValidatedRows:
    """Validate lazily; return the coerced valid rows and the rejected rows with reasons naming each field."""
    _require_zone_aware_times(frame, contract)
    original = frame.reset_index(drop=True)
    reasons: dict[int, list[str]] = defaultdict(list)
    remaining = original
    schema = _schema_without_key(contract)
    for _ in range(_MAX_PASSES):
        try:
            valid = schema.validate(remaining, lazy=True)
            failed: dict[int, list[str]] = {}
        except pa_errors.SchemaErrors as errors:
            failed, uncoercible = _row_failures(contract, errors.failure_cases)
            if uncoercible:
                _record(reasons, failed)
                remaining = remaining.drop(index=list(failed))
                continue
            valid = None
        for index in _duplicate_key_rows(_coerced(schema, remaining) if valid is None else valid, contract):
            failed.setdefault(index, []).append(f"duplicate key ({', '.join(contract.Config.unique)})")
        _record(reasons, failed)
        if valid is not None:
            # Dropping rows from a valid frame keeps it valid: every check is per row or about order.
            # A clean load skips the copy: it would cost as much as a check on a million rows.
            if reasons:
                valid = valid.drop(index=list(failed)).reset_index(drop=True)
            rejected = original.loc[sorted(reasons)].copy()
            rejected["reason"] = ["; ".join(reasons[index]) for index in rejected.index]
            return ValidatedRows(valid=valid, rejected=rejected)
        remaining = remaining.drop(index=list(failed))
    raise ContractError(f"{contract.__name__}: rows still failing after {_MAX_PASSES} validation passes")


@cache
def _schema_without_key(contract: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    """The contract's schema minus its key check, which `_duplicate_key_rows` runs faster.

    pandera hashes Arrow-backed text through Python objects; on a million trades that alone took
    longer than every other check together.
    """
    schema = copy.deepcopy(contract.to_schema())
    schema.unique = None
    return schema


def _row_failures(
    contract: type[pa.DataFrameModel], cases: pd.DataFrame
) -> tuple[dict[int, list[str]], bool]:
    """Reasons per failing row, and whether they are coercion failures (which void the other verdicts)."""
    row_cases = cases[cases["index"].notna()]
    if row_cases.empty:
        raise ContractError(_describe_frame_failures(contract, cases))
    coercion_cases = row_cases[row_cases["check"].astype(str).str.startswith(_COERCE_CHECK)]
    uncoercible = not coercion_cases.empty
    if uncoercible:
        row_cases = coercion_cases
    failed: dict[int, list[str]] = defaultdict(list)
    for index, case in zip(row_cases["index"].astype(int), row_cases.itertuples(), strict=True):
        reason = _describe_case(case)
        if reason not in failed[index]:
            failed[index].append(reason)
    return dict(failed), uncoercible


def _coerced(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame coerced to the contract's types where possible, for judging keys; else as it came.

    A column fails to coerce as a whole (no row named) when, say, one time lies past pandas' range;
    its rows are then rejected by their value checks, and the raw values are the best key we have.
    """
    try:
        return schema.coerce_dtype(frame)
    except pa_errors.SchemaErrors:
        return frame


def _record(reasons: dict[int, list[str]], failed: dict[int, list[str]]) -> None:
    for index, found in failed.items():
        reasons[index].extend(reason for reason in found if reason not in reasons[index])


def _duplicate_key_rows(coerced: pd.DataFrame, contract: type[pa.DataFrameModel]) -> list[int]:
    """Index of every row whose key (`Config.unique`) appears more than once.

    Judged on coerced values, so '1' and 1 are the same key. Every copy is rejected, as pandera's
    own check would: which duplicate is right cannot be told from the rows.
    """
    key = list(getattr(contract.Config, "unique", None) or [])
    if not key or coerced.empty:
        return []
    return [int(index) for index in coerced.index[duplicate_rows(coerced, key)]]


def duplicate_rows(frame: pd.DataFrame, key: list[str]) -> np.ndarray:
    """True for every row whose `key` columns equal another row's (all copies marked).

    DuckDB groups the key columns straight from Arrow memory; pandas' `duplicated` hashes
    Arrow-backed text through Python objects and took four times as long on a million trades.
    """
    keyed = arrow.Table.from_pandas(frame[key], preserve_index=False)
    keyed = keyed.append_column(_ROW_NUMBER, arrow.array(np.arange(len(frame))))
    columns = ", ".join(f'"{column}"' for column in key)
    with duckdb.connect() as conn:
        conn.register("keyed_rows", keyed)
        repeated = conn.execute(
            f"SELECT unnest(list({_ROW_NUMBER})) AS row_number FROM keyed_rows "
            f"GROUP BY {columns} HAVING count(*) > 1"
        ).fetchnumpy()["row_number"]
    duplicated = np.zeros(len(frame), dtype=bool)
    duplicated[repeated] = True
    return duplicated


_ROW_NUMBER = "__row_number"


def _require_zone_aware_times(frame: pd.DataFrame, contract: type[pa.DataFrameModel]) -> None:
    """Refuse naive datetimes where the contract wants UTC: coercion would silently assume a zone."""
    for name, column in contract.to_schema().columns.items():
        wants_zone = isinstance(column.dtype.type, pd.DatetimeTZDtype)
        if wants_zone and name in frame and pd.api.types.is_datetime64_dtype(frame[name].dtype):
            raise ContractError(
                f"{contract.__name__} contract broken, nothing written: column {name!r} holds naive "
                "timestamps; expected timezone-aware UTC times"
            )


def _describe_case(case: object) -> str:
    """One failure as '<field>: expected <check>, got <value>' (or the frame-wide rule it breaks)."""
    check = str(case.check)
    if check.startswith(_COERCE_CHECK):
        expected = check.removeprefix(f"{_COERCE_CHECK}(").removesuffix(")")
        return f"{case.column}: expected a value of type {expected}, got {case.failure_case!r}"
    if case.schema_context == "Column":
        return f"{case.column}: expected {check}, got {case.failure_case!r}"
    return f"expected {check}"


def _describe_frame_failures(contract: type[pa.DataFrameModel], cases: pd.DataFrame) -> str:
    """Frame-level failures (missing or unexpected columns first, since they explain the rest)."""
    layout = cases[cases["check"].isin(_LAYOUT_CHECKS)]
    shown = layout if not layout.empty else cases
    lines = [
        _LAYOUT_CHECKS.get(case.check, f"{case.column}: {case.check}") + f" {case.failure_case!r}"
        for case in shown.drop_duplicates(["column", "check", "failure_case"]).itertuples()
    ]
    return f"{contract.__name__} contract broken, nothing written: " + "; ".join(lines)


_LAYOUT_CHECKS = {"column_in_dataframe": "missing column", "column_in_schema": "unexpected column"}
