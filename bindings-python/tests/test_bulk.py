"""Bulk evaluation over Arrow tables: pyarrow, polars and pandas inputs agree with
per-profile evaluation; nulls, empty tables, column mapping and type errors."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import siyu

SCHEMA: Dict[str, Any] = {
    "traits": {"city": "string", "age": "integer", "score": "float", "birthday": "date"},
    "events": {
        "purchase": {"properties": {"amount": "float", "category": "string"}},
        "page_viewed": {"properties": {"category": "string"}},
    },
}
RULES = """
segment milk_buyer: count(purchase where category = "milk_powder", within 30d) >= 2
segment shanghai: city = "Shanghai"
segment adult: age >= 18
segment big_spender: sum(purchase.amount, within 30d) > 500
"""
NOW = "2026-03-01T00:00:00Z"
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def compiled() -> siyu.CompiledRuleSet:
    return siyu.CompiledRuleSet(RULES, SCHEMA)


def profiles_table() -> pa.Table:
    return pa.table(
        {
            "id": ["u1", "u2", "u3", "u4"],
            "city": ["Shanghai", "Beijing", None, "Shanghai"],
            "age": pa.array([31, 17, None, 40], pa.int32()),
            "score": [1.5, None, 2.0, 0.0],
            "birthday": pa.array([dt.date(1995, 3, 4), None, None, dt.date(1986, 1, 1)], pa.date32()),
        }
    )


def events_table() -> pa.Table:
    rows = [
        ("u1", "purchase", dt.datetime(2026, 2, 20, tzinfo=UTC), 300.0, "milk_powder"),
        ("u1", "purchase", dt.datetime(2026, 2, 25, tzinfo=UTC), 250.0, "milk_powder"),
        ("u2", "purchase", dt.datetime(2026, 2, 25, tzinfo=UTC), 50.0, "milk_powder"),
        ("u2", "page_viewed", dt.datetime(2026, 2, 26, tzinfo=UTC), None, "toys"),
        ("u4", "purchase", dt.datetime(2025, 12, 1, tzinfo=UTC), 900.0, "milk_powder"),
        ("ghost", "purchase", dt.datetime(2026, 2, 25, tzinfo=UTC), 1.0, "x"),
    ]
    cols = list(zip(*rows))
    return pa.table(
        {
            "user_id": list(cols[0]),
            "name": list(cols[1]),
            "timestamp": pa.array(cols[2], pa.timestamp("ms", tz="UTC")),
            "amount": list(cols[3]),
            "category": list(cols[4]),
        }
    )


def per_profile(compiled: siyu.CompiledRuleSet) -> List[Dict[str, Any]]:
    """The same data through the per-profile dict API (the reference answer)."""
    ev = events_table().to_pylist()
    out = []
    for p in profiles_table().to_pylist():
        traits = {k: v for k, v in p.items() if k != "id" and v is not None}
        events = [
            {
                "id": f"{p['id']}-{i}",
                "name": e["name"],
                "timestamp": e["timestamp"],
                "properties": {k: e[k] for k in ("amount", "category") if e[k] is not None},
            }
            for i, e in enumerate(ev)
            if e["user_id"] == p["id"]
        ]
        row: Dict[str, Any] = {"id": p["id"]}
        row.update(compiled.evaluate({"id": p["id"], "traits": traits}, events, NOW))
        out.append(row)
    return out


def test_pyarrow_matches_per_profile(compiled: siyu.CompiledRuleSet) -> None:
    table = compiled.evaluate_table(profiles_table(), events_table(), now=NOW)
    assert isinstance(table, pa.Table)
    assert table.column_names == ["id", *compiled.rule_names]
    assert table.to_pylist() == per_profile(compiled)
    assert table.schema.metadata[b"siyu.unmatched_events"] == b"1"


def test_polars_and_pandas_and_reader_agree(compiled: siyu.CompiledRuleSet) -> None:
    expected = compiled.evaluate_table(profiles_table(), events_table(), now=NOW)
    from_polars = compiled.evaluate_table(
        pl.from_arrow(profiles_table()), pl.from_arrow(events_table()), now=NOW
    )
    from_pandas = compiled.evaluate_table(
        profiles_table().to_pandas(), events_table().to_pandas(), now=NOW
    )
    reader = pa.RecordBatchReader.from_batches(
        events_table().schema, events_table().to_batches(max_chunksize=2)
    )
    from_reader = compiled.evaluate_table(profiles_table(), reader, now=NOW)
    for t in (from_polars, from_pandas, from_reader):
        assert t.to_pylist() == expected.to_pylist()


def test_thread_count_does_not_change_output(compiled: siyu.CompiledRuleSet) -> None:
    one = compiled.evaluate_table(profiles_table(), events_table(), now=NOW, threads=1)
    many = compiled.evaluate_table(profiles_table(), events_table(), now=NOW, threads=3)
    assert one.to_pylist() == many.to_pylist()


def test_empty_tables(compiled: siyu.CompiledRuleSet) -> None:
    empty = profiles_table().slice(0, 0)
    table = compiled.evaluate_table(empty, events_table().slice(0, 0), now=NOW)
    assert table.num_rows == 0 and table.column_names == ["id", *compiled.rule_names]
    no_events = compiled.evaluate_table(profiles_table(), None, now=NOW)
    assert no_events.column("milk_buyer").to_pylist() == [False] * 4
    assert no_events.column("adult").to_pylist() == [True, False, False, True]


def test_column_mapping(compiled: siyu.CompiledRuleSet) -> None:
    profiles = profiles_table().rename_columns(["uid", "home_city", "age", "score", "birthday"])
    events = events_table().rename_columns(["customer", "event", "ts", "amount", "category"])
    table = compiled.evaluate_table(
        profiles,
        events,
        now=dt.datetime(2026, 3, 1, tzinfo=UTC),
        id_column="uid",
        traits={"home_city": "city", "age": "age"},
        user_id_column="customer",
        event_name_column="event",
        timestamp_column="ts",
        properties=["amount", "category"],
    )
    assert table.column_names[0] == "uid"
    expected = compiled.evaluate_table(profiles_table(), events_table(), now=NOW)
    assert table.column("shanghai").to_pylist() == expected.column("shanghai").to_pylist()
    assert table.column("milk_buyer").to_pylist() == expected.column("milk_buyer").to_pylist()


def test_wrong_column_type_names_the_column(compiled: siyu.CompiledRuleSet) -> None:
    bad = profiles_table().set_column(2, "age", pa.array(["31", "17", None, "40"]))
    with pytest.raises(siyu.TypeMismatchError) as info:
        compiled.evaluate_table(bad, None, now=NOW)
    assert "`age`" in str(info.value) and info.value.path == "profiles.age"
    bad_ts = events_table().set_column(2, "timestamp", pa.array([1, 2, 3, 4, 5, 6]))
    with pytest.raises(siyu.TypeMismatchError) as info2:
        compiled.evaluate_table(profiles_table(), bad_ts, now=NOW)
    assert "`timestamp`" in str(info2.value)


def test_missing_and_unknown_columns(compiled: siyu.CompiledRuleSet) -> None:
    with pytest.raises(siyu.InvalidArgumentError) as info:
        compiled.evaluate_table(profiles_table(), None, now=NOW, id_column="user")
    assert "no column `user`" in str(info.value)
    extra = profiles_table().append_column("ciyt", pa.array(["a", "b", "c", "d"]))
    with pytest.raises(siyu.UnknownTraitError) as info2:
        compiled.evaluate_table(extra, None, now=NOW)
    assert info2.value.suggestion == "city"


def test_unknown_event_and_duplicate_ids(compiled: siyu.CompiledRuleSet) -> None:
    events = events_table().set_column(1, "name", pa.array(["purchse"] * 6))
    with pytest.raises(siyu.UnknownEventError) as info:
        compiled.evaluate_table(profiles_table(), events, now=NOW)
    assert info.value.suggestion == "purchase"
    dup = pa.concat_tables([profiles_table(), profiles_table().slice(0, 1)])
    with pytest.raises(siyu.InvalidProfileError) as info2:
        compiled.evaluate_table(dup, None, now=NOW)
    assert "u1" in str(info2.value)


def test_naive_timestamps_read_as_utc(compiled: siyu.CompiledRuleSet) -> None:
    events = events_table()
    naive = events.set_column(2, "timestamp", events.column("timestamp").cast(pa.timestamp("us")))
    a = compiled.evaluate_table(profiles_table(), naive, now=NOW)
    b = compiled.evaluate_table(profiles_table(), events, now=NOW)
    assert a.to_pylist() == b.to_pylist()


def test_not_a_table_is_invalid_argument(compiled: siyu.CompiledRuleSet) -> None:
    with pytest.raises(siyu.InvalidArgumentError):
        compiled.evaluate_table([{"id": "u1"}], None, now=NOW)


def test_one_million_users(compiled: siyu.CompiledRuleSet) -> None:
    n = 1_000_000
    ids = pa.array([f"u{i}" for i in range(n)])
    cities = pa.array(["Shanghai", "Beijing", "Shenzhen", None] * (n // 4))
    ages = pa.array([i % 90 for i in range(n)], pa.int64())
    profiles = pa.table({"id": ids, "city": cities, "age": ages})
    table = compiled.evaluate_table(profiles, None, now=NOW)
    assert table.num_rows == n
    assert table.column("id")[n - 1].as_py() == f"u{n - 1}"
    assert table.column("shanghai").to_pylist().count(True) == n // 4
    assert table.column("adult").to_pylist().count(True) == sum(1 for i in range(n) if i % 90 >= 18)


def test_bad_values_of_unmatched_rows_are_ignored_and_matched_ones_reported(
    compiled: siyu.CompiledRuleSet,
) -> None:
    # Batches are first read without row checks and checked in one pass; a bad
    # value anywhere sends them through the exact checks, which look at the
    # rows of known users only (row 5 is the user "ghost").
    events = events_table()
    good = compiled.evaluate_table(profiles_table(), events, now=NOW)
    amounts = events.column("amount").to_pylist()
    ghost_nan = events.set_column(3, "amount", pa.array(amounts[:5] + [float("nan")]))
    assert compiled.evaluate_table(profiles_table(), ghost_nan, now=NOW).to_pylist() == good.to_pylist()
    ghost_late = events.set_column(
        2, "timestamp", pa.array(list(events.column("timestamp").to_pylist()[:5]) + [None], pa.timestamp("ms", tz="UTC"))
    )
    assert compiled.evaluate_table(profiles_table(), ghost_late, now=NOW).to_pylist() == good.to_pylist()
    u1_nan = events.set_column(3, "amount", pa.array([float("inf")] + amounts[1:]))
    with pytest.raises(siyu.SiyuError) as info:
        compiled.evaluate_table(profiles_table(), u1_nan, now=NOW)
    assert "amount" in str(info.value) and "finite" in str(info.value)
    # A property on an event that does not declare it: ignored for "ghost",
    # reported for a known user.
    cats = events.column("category").to_pylist()
    names = events.column("name").to_pylist()
    ghost_undeclared = events.set_column(1, "name", pa.array(names[:5] + ["page_viewed"]))
    ghost_undeclared = ghost_undeclared.set_column(3, "amount", pa.array(amounts[:5] + [5.0]))
    assert compiled.evaluate_table(profiles_table(), ghost_undeclared, now=NOW).to_pylist() == good.to_pylist()
    u2_undeclared = events.set_column(3, "amount", pa.array(amounts[:3] + [5.0] + amounts[4:]))
    with pytest.raises(siyu.SiyuError) as info2:
        compiled.evaluate_table(profiles_table(), u2_undeclared, now=NOW)
    assert "events[3].amount" in (info2.value.path or "") + str(info2.value)
    assert cats  # the category column is untouched by these cases


def test_integer_ids_come_back_as_decimal_text(compiled: siyu.CompiledRuleSet) -> None:
    # Ids in order without gaps, shuffled, and sparse take three different
    # lookups; the answers per id and the id text are the same.
    def run(ids: List[int]) -> Dict[str, Dict[str, bool]]:
        profiles = pa.table({"id": pa.array(ids, pa.int64()), "city": ["Shanghai"] * len(ids)})
        ev = pa.table(
            {
                "user_id": pa.array([ids[0], ids[0], ids[-1], 10**15], pa.int64()),
                "name": ["purchase"] * 4,
                "timestamp": pa.array([dt.datetime(2026, 2, 25, tzinfo=UTC)] * 4, pa.timestamp("us", tz="UTC")),
                "amount": [300.0, 250.0, 600.0, 1.0],
                "category": ["milk_powder", "milk_powder", "toys", "x"],
            }
        )
        out = compiled.evaluate_table(profiles, ev, now=NOW)
        assert out.schema.field("id").type == pa.string()
        assert out.schema.metadata[b"siyu.unmatched_events"] == b"1"
        # A bad value in the unmatched row sends the batch through the exact
        # checks, which find the same owners and ignore it.
        bad = ev.set_column(3, "amount", pa.array([300.0, 250.0, 600.0, float("nan")]))
        assert compiled.evaluate_table(profiles, bad, now=NOW).to_pylist() == out.to_pylist()
        return {r.pop("id"): r for r in out.to_pylist()}

    ordered = run([-2, -1, 0, 1, 2])
    assert list(ordered) == ["-2", "-1", "0", "1", "2"]
    assert ordered["-2"]["milk_buyer"] and ordered["-2"]["big_spender"]
    assert ordered["2"]["big_spender"] and not ordered["2"]["milk_buyer"]
    shuffled = run([-2, 1, 0, -1, 2])
    assert shuffled == {k: ordered[k] for k in shuffled}
    extremes = run([-(2**63), 7, 2**63 - 1])
    assert list(extremes) == [str(-(2**63)), "7", str(2**63 - 1)]
    assert extremes[str(-(2**63))]["milk_buyer"] and extremes[str(2**63 - 1)]["big_spender"]
