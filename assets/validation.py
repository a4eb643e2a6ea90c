"""Row-level contract enforcement: split a frame into rows that honour its contract and rows that don't.

A bad row must never sink a whole load, and a good row must never be stored unchecked. Pandera
reports failures per row where it can; a problem with the frame itself (a missing or unexpected
column) has no row to blame and stops the load with a `ContractError` instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
import pandera.errors as pa_errors
import pandera.pandas as pa

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
    for _ in range(_MAX_PASSES):
        try:
            valid = contract.validate(remaining, lazy=True)
        except pa_errors.SchemaErrors as errors:
            cases = errors.failure_cases
            row_cases = cases[cases["index"].notna()]
            if row_cases.empty:
                raise ContractError(_describe_frame_failures(contract, cases)) from None
            coercion_cases = row_cases[row_cases["check"].astype(str).str.startswith(_COERCE_CHECK)]
            if not coercion_cases.empty:
                row_cases = coercion_cases
            for index, case in zip(row_cases["index"].astype(int), row_cases.itertuples(), strict=True):
                reason = _describe_case(contract, case)
                if reason not in reasons[index]:
                    reasons[index].append(reason)
            remaining = remaining.drop(index=row_cases["index"].astype(int).unique())
            continue
        rejected = original.loc[sorted(reasons)].copy()
        rejected["reason"] = ["; ".join(reasons[index]) for index in rejected.index]
        return ValidatedRows(valid=valid.reset_index(drop=True), rejected=rejected)
    raise ContractError(f"{contract.__name__}: rows still failing after {_MAX_PASSES} validation passes")


def _require_zone_aware_times(frame: pd.DataFrame, contract: type[pa.DataFrameModel]) -> None:
    """Refuse naive datetimes where the contract wants UTC: coercion would silently assume a zone."""
    for name, column in contract.to_schema().columns.items():
        wants_zone = isinstance(column.dtype.type, pd.DatetimeTZDtype)
        if wants_zone and name in frame and pd.api.types.is_datetime64_dtype(frame[name].dtype):
            raise ContractError(
                f"{contract.__name__} contract broken, nothing written: column {name!r} holds naive "
                "timestamps; expected timezone-aware UTC times"
            )


def _describe_case(contract: type[pa.DataFrameModel], case: object) -> str:
    """One failure as '<field>: expected <check>, got <value>' (or the frame-wide rule it breaks)."""
    check = str(case.check)
    if check == "multiple_fields_uniqueness":
        key = ", ".join(contract.Config.unique)
        return f"duplicate key ({key})"
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
