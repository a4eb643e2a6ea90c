"""Partition writes against a real DuckDB file: atomic, idempotent, quarantine kept per partition."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from assets import warehouse
from assets.validation import ValidatedRows
from assets.warehouse import Partition, SchemaDriftError, read_table, replace_partition, row_count


def _rows(symbol: str, values: list[float], rejected: int = 0) -> ValidatedRows:
    valid = pd.DataFrame(
        {
            "symbol": symbol,
            "ts": pd.date_range("2024-01-01", periods=len(values), freq="D", tz="UTC"),
            "value": values,
        }
    )
    bad = pd.DataFrame({"symbol": [symbol] * rejected, "value": [float("nan")] * rejected})
    return ValidatedRows(valid=valid, rejected=bad.assign(reason="value: expected not_nullable"))


@pytest.fixture
def conn(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def test_rewriting_a_partition_replaces_it_and_leaves_others(conn):
    replace_partition(conn, "t", _rows("A", [1.0, 2.0]), Partition({"symbol": "A"}))
    replace_partition(conn, "t", _rows("B", [5.0]), Partition({"symbol": "B"}))
    replace_partition(conn, "t", _rows("A", [3.0, 4.0, 6.0]), Partition({"symbol": "A"}))
    stored = read_table(conn, "SELECT symbol, value FROM t ORDER BY symbol, ts")
    assert stored.values.tolist() == [["A", 3.0], ["A", 4.0], ["A", 6.0], ["B", 5.0]]


def test_rerun_is_idempotent(conn):
    for _ in range(2):
        replace_partition(conn, "t", _rows("A", [1.0, 2.0], rejected=1), Partition({"symbol": "A"}))
    assert row_count(conn, "t") == 2
    assert row_count(conn, "quarantine") == 1


def test_quarantine_keeps_the_row_as_json_with_its_reason(conn):
    replace_partition(conn, "t", _rows("A", [1.0], rejected=2), Partition({"symbol": "A"}))
    stored = read_table(conn, "SELECT table_name, partition_key, row_json, reason FROM quarantine")
    assert stored.iloc[0].tolist() == [
        "t",
        "symbol=A",
        '{"symbol": "A", "value": null}',
        "value: expected not_nullable",
    ]
    assert len(stored) == 2


def test_crash_after_delete_leaves_previous_rows(conn, monkeypatch):
    replace_partition(conn, "t", _rows("A", [1.0, 2.0]), Partition({"symbol": "A"}))

    def crash(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(warehouse, "_insert", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        replace_partition(conn, "t", _rows("A", [9.0]), Partition({"symbol": "A"}))
    assert read_table(conn, "SELECT value FROM t ORDER BY ts")["value"].tolist() == [1.0, 2.0]


def test_table_that_drifted_from_its_contract_is_not_written(conn):
    replace_partition(conn, "t", _rows("A", [1.0]), Partition({"symbol": "A"}))
    drifted = ValidatedRows(
        valid=_rows("A", [2.0]).valid.rename(columns={"value": "price"}), rejected=_rows("A", []).rejected
    )
    with pytest.raises(
        SchemaDriftError, match=r"missing in the table \['price'\].*not in the contract \['value'\]"
    ):
        replace_partition(conn, "t", drifted, Partition({"symbol": "A"}))
    assert row_count(conn, "t") == 1


def test_empty_partition_mapping_replaces_the_whole_table(conn):
    replace_partition(conn, "t", _rows("A", [1.0]), Partition({"symbol": "A"}))
    replace_partition(conn, "t", _rows("B", [2.0]), Partition())
    assert read_table(conn, "SELECT symbol FROM t")["symbol"].tolist() == ["B"]


def test_time_range_partition_replaces_only_its_days(conn):
    day = Partition(
        {"symbol": "A"}, "ts", pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-03", tz="UTC")
    )
    replace_partition(conn, "t", _rows("A", [1.0, 2.0, 3.0]), Partition({"symbol": "A"}))
    second_day = _rows("A", [0.0, 20.0]).valid.iloc[[1]]
    replace_partition(conn, "t", ValidatedRows(second_day, _rows("A", []).rejected), day)
    assert read_table(conn, "SELECT value FROM t ORDER BY ts")["value"].tolist() == [1.0, 20.0, 3.0]
    assert day.label == "symbol=A/ts=2024-01-02T00:00:00+00:00..2024-01-03T00:00:00+00:00"


def test_rows_outside_the_partition_are_refused(conn):
    day = Partition({}, "ts", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC"))
    with pytest.raises(ValueError, match="1 row\\(s\\) for 't' fall outside partition ts=2024-01-01"):
        replace_partition(conn, "t", _rows("A", [1.0, 2.0]), day)
    assert row_count(conn, "t") == 0
