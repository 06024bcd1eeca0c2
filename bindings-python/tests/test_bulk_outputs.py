"""Bulk outputs (siyu.evaluate_table / evaluate_batches): every column equals the
per-profile call on the same data; pyarrow, polars and pandas inputs; empty
tables, nulls, wrong column types; progress with a fake tqdm; streaming of many
small batches equals the whole-table answer, and a violated order is a typed error."""

from __future__ import annotations

import datetime as dt
import random
import sys
import types
from typing import Any, Dict, List, Tuple

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import siyu

UTC = dt.timezone.utc
NOW = "2026-11-30T16:00:00Z"
NOW_DT = dt.datetime(2026, 11, 30, 16, tzinfo=UTC)
RULES = """
segment buyer: any(purchase)
segment shanghai: city = "Shanghai"
segment tagged_quiet: has_tag("quiet")
"""
TAG_RULES: Dict[str, Any] = {
    "rules": [
        {"tag": "interest:{category}", "group": "interest", "when": "any(consulted, within 60d)",
         "values_from": {"event": "consulted", "within": "60d"}},
        {"id": "big", "tag": "class:big", "group": "rfm_segment", "when": "sum(purchase.amount) > 600"},
        {"id": "buyer", "tag": "class:buyer", "group": "rfm_segment", "when": "any(purchase)"},
        {"id": "quiet", "tag": "quiet", "when": "none(message_opened, within 30d)"},
    ]
}
STAGES = ["prospect", "new", "first_purchase", "repeat", "at_risk", "dormant"]
CURRENT = ["quiet", "class:buyer", "class:big", "interest:toys"]


def population(n: int = 60, seed: int = 5) -> Tuple[pa.Table, pa.Table]:
    """Profiles (id, city, tags, previous stage) and events, users in id order."""
    rng = random.Random(seed)
    pids, cities, tags, stages, since = [], [], [], [], []
    ev: Dict[str, List[Any]] = {k: [] for k in ["user_id", "name", "timestamp", "amount", "category", "event_id"]}
    for u in range(n):
        uid = f"u{u:03d}"
        pids.append(uid)
        cities.append(rng.choice(["Shanghai", "Beijing", None]))
        tags.append(None if u % 7 == 0 else [t for k, t in enumerate(CURRENT) if (u >> k) & 1])
        has_stage = u % 3 != 0
        stages.append(STAGES[u % len(STAGES)] if has_stage else None)
        since.append(NOW_DT - dt.timedelta(days=u % 50) if has_stage else None)
        for k in range(rng.randrange(0, 9)):
            name = rng.choice(["purchase", "purchase", "consulted", "message_opened", "check_in"])
            ev["user_id"].append(uid)
            ev["name"].append(name)
            ev["timestamp"].append(NOW_DT - dt.timedelta(days=rng.randrange(0, 300), minutes=k))
            ev["amount"].append(round(rng.uniform(10, 400), 2) if name == "purchase" else None)
            ev["category"].append(rng.choice(["toys", "milk", "books"]) if name in ("purchase", "consulted") else None)
            ev["event_id"].append(f"{uid}-{k}")
    profiles = pa.table(
        {
            "id": pids,
            "city": cities,
            "tags": pa.array(tags, pa.list_(pa.string())),
            "stage": stages,
            "stage_since": pa.array(since, pa.timestamp("us", tz="UTC")),
        }
    )
    events = pa.table(
        {
            "user_id": ev["user_id"],
            "name": ev["name"],
            "timestamp": pa.array(ev["timestamp"], pa.timestamp("us", tz="UTC")),
            "amount": ev["amount"],
            "category": ev["category"],
            "event_id": ev["event_id"],
        }
    )
    return profiles, events


def sample_with_city() -> siyu.Schema:
    doc = siyu.sample_schema().to_dict()
    doc["traits"] = {"city": "string"}
    return siyu.Schema.from_json(doc)


@pytest.fixture(scope="module")
def defs() -> Dict[str, Any]:
    schema = sample_with_city()
    return {
        "segments": siyu.CompiledRuleSet(RULES, schema),
        "lifecycle": siyu.Lifecycle(schema=schema),
        "tag_rules": siyu.TagRules(TAG_RULES, schema=schema),
    }


def run(defs: Dict[str, Any], profiles: Any, events: Any, **kw: Any) -> pa.Table:
    return siyu.evaluate_table(
        profiles, events, now=NOW, **defs, rfm=True, event_id_column="event_id",
        tags_column="tags", stage_column="stage", stage_since_column="stage_since",
        traits=["city"], **kw,
    )


def per_user(profiles: pa.Table, events: pa.Table) -> List[Tuple[Dict[str, Any], List[Dict[str, Any]]]]:
    rows = events.to_pylist()
    out = []
    for p in profiles.to_pylist():
        groups = {r["tag"]: r.get("group") for r in TAG_RULES["rules"]}
        tags = []
        for t in p["tags"] or []:
            group = groups.get(t) or ("interest" if t.startswith("interest:") else None)
            tag = {"name": t, "source": "rule", "added_at": NOW}
            if group:
                tag["group"] = group
            tags.append(tag)
        profile = {"id": p["id"], "traits": {} if p["city"] is None else {"city": p["city"]}, "tags": tags}
        evs = []
        for e in rows:
            if e["user_id"] != p["id"]:
                continue
            props = {k: e[k] for k in ("amount", "category") if e[k] is not None}
            evs.append({"id": e["event_id"], "name": e["name"], "timestamp": e["timestamp"].isoformat(),
                        "properties": props})
        out.append((profile, evs))
    return out


def test_every_output_equals_the_per_profile_call(defs: Dict[str, Any]) -> None:
    profiles, events = population()
    table = run(defs, profiles, events)
    assert table.num_rows == profiles.num_rows
    assert table.column("id").to_pylist() == profiles.column("id").to_pylist()
    out = table.to_pylist()
    users = per_user(profiles, events)
    values = []
    for (profile, evs), row, prev in zip(users, out, profiles.to_pylist()):
        seg = defs["segments"].evaluate(profile, evs, NOW)
        assert {k: row[k] for k in seg} == seg
        previous = None if prev["stage"] is None else {"version": 1, "stage": prev["stage"],
                                                       "since": prev["stage_since"].isoformat()}
        stage = defs["lifecycle"].evaluate(profile, evs, NOW, previous)
        assert row["stage"] == stage["state"]["stage"], profile["id"]
        assert row["stage_rule"] == stage["rule"]
        assert row["stage_held"] == stage["held"]
        assert row["stage_changed"] == (stage["transition"] is not None)
        diff = defs["tag_rules"].apply(profile, evs, NOW)["diff"]
        assert row["tags_added"] == [c["tag"] for c in diff["added"]], profile["id"]
        assert row["tags_removed"] == [c["tag"] for c in diff["removed"] + diff["expired"]]
        v = siyu.rfm.values(evs, NOW)
        values.append(v)
        if v is None:
            assert row["rfm_r"] is None and row["rfm_segment"] is None
        else:
            assert (row["rfm_recency_days"], row["rfm_frequency"]) == (v["recency_days"], v["frequency"])
            assert row["rfm_monetary"] == pytest.approx(v["monetary"])
    buyers = [v for v in values if v is not None]
    fitted = siyu.rfm.fit(buyers)
    scored = iter(fitted["scores"])
    for row, v in zip(out, values):
        if v is not None:
            s = next(scored)
            assert [row["rfm_r"], row["rfm_f"], row["rfm_m"]] == s
            assert row["rfm_segment"] == siyu.rfm.segment(s)
    import json

    assert json.loads(table.schema.metadata[b"siyu.rfm_thresholds"]) == fitted["thresholds"]
    # The data exercises every output.
    assert {r["stage"] for r in out} >= {"prospect", "first_purchase"}
    assert any(r["tags_added"] for r in out) and any(r["tags_removed"] for r in out)
    changed = [r["stage_changed"] for r in out]
    assert any(changed) and not all(changed)


def test_polars_and_pandas_inputs_agree(defs: Dict[str, Any]) -> None:
    profiles, events = population(25)
    want = run(defs, profiles, events)
    assert run(defs, pl.from_arrow(profiles), pl.from_arrow(events)).equals(want)
    got = run(defs, profiles.to_pandas(), events.to_pandas())
    assert got.drop_columns(["stage_since"]).equals(want.drop_columns(["stage_since"]))


def test_only_some_outputs_and_no_events(defs: Dict[str, Any]) -> None:
    profiles, _ = population(10)
    t = siyu.evaluate_table(profiles.select(["id", "city"]), now=NOW, lifecycle=defs["lifecycle"])
    assert t.column_names == ["id", "stage", "stage_since", "stage_rule", "stage_held", "stage_changed"]
    assert set(t.column("stage").to_pylist()) == {"prospect"}
    t = siyu.evaluate_table(profiles.select(["id"]), now=NOW, rfm=True, schema=sample_with_city())
    assert t.column("rfm_segment").null_count == 10
    assert b"siyu.rfm_thresholds" not in t.schema.metadata


def test_empty_tables(defs: Dict[str, Any]) -> None:
    profiles, events = population(5)
    t = run(defs, profiles.slice(0, 0), events.slice(0, 0))
    assert t.num_rows == 0
    assert "tags_added" in t.column_names and "rfm_segment" in t.column_names


def test_wrong_column_types_name_the_column(defs: Dict[str, Any]) -> None:
    profiles, events = population(5)
    bad = profiles.set_column(2, "tags", pa.array([1, 2, 3, 4, 5]))
    with pytest.raises(siyu.TypeMismatchError, match="tags") as e:
        run(defs, bad, events)
    assert e.value.path == "profiles.tags"
    bad = profiles.set_column(4, "stage_since", pa.array(["x"] * 5))
    with pytest.raises(siyu.TypeMismatchError, match="stage_since"):
        run(defs, bad, events)
    bad = profiles.set_column(3, "stage", pa.array(["nope"] * 5)).set_column(
        4, "stage_since", pa.array([NOW_DT] * 5, pa.timestamp("us", tz="UTC")))
    with pytest.raises(siyu.InvalidStateError):
        run(defs, bad, events)
    with pytest.raises(siyu.InvalidArgumentError, match="stage_since_column"):
        siyu.evaluate_table(profiles, events, now=NOW, lifecycle=defs["lifecycle"], stage_column="stage",
                            traits=["city"])
    with pytest.raises(siyu.InvalidArgumentError, match="nothing to compute"):
        siyu.evaluate_table(profiles, events, now=NOW)
    with pytest.raises(siyu.InvalidArgumentError, match="nothing to compute"):
        siyu.evaluate_batches(profiles, events, now=NOW)


def test_progress_uses_tqdm_when_installed(defs: Dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    bars: List["FakeBar"] = []

    class FakeBar:
        def __init__(self, total: Any = None, unit: str = "", desc: str = "") -> None:
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def update(self, n: int) -> None:
            self.n += n

        def close(self) -> None:
            self.closed = True

    fake = types.ModuleType("tqdm")
    fake.tqdm = FakeBar  # type: ignore[attr-defined]
    auto = types.ModuleType("tqdm.auto")
    auto.tqdm = FakeBar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", fake)
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    profiles, events = population(20)
    want = run(defs, profiles, events)
    assert run(defs, profiles, events, progress=True).equals(want)
    assert (bars[0].total, bars[0].n, bars[0].closed) == (4, 4, True)
    thresholds = want.schema.metadata[b"siyu.rfm_thresholds"].decode()
    batches = list(stream(defs, profiles, events, 6, rfm={"thresholds": thresholds}, progress=True))
    assert bars[1].n == 20 and bars[1].closed and len(batches) == 4
    # Without tqdm, progress=True does nothing.
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    assert run(defs, profiles, events, progress=True).equals(want)
    assert len(bars) == 2


def stream(defs: Dict[str, Any], profiles: pa.Table, events: pa.Table, size: int, **kw: Any) -> Any:
    """Profiles in batches of `size` users, events split by the same user ranges."""
    ids = profiles.column("id").to_pylist()
    pbatches = profiles.to_batches(max_chunksize=size)
    ebatches = []
    user_ids = events.column("user_id").to_pylist()
    for k in range(0, len(ids), size):
        chunk = set(ids[k:k + size])
        part = events.filter(pa.array([u in chunk for u in user_ids])).combine_chunks()
        ebatches.append(pa.RecordBatch.from_pylist(part.to_pylist(), schema=events.schema))
    preader = pa.RecordBatchReader.from_batches(profiles.schema, pbatches)
    ereader = pa.RecordBatchReader.from_batches(events.schema, ebatches)
    return siyu.evaluate_batches(
        preader, ereader, now=NOW, **defs, event_id_column="event_id", tags_column="tags",
        stage_column="stage", stage_since_column="stage_since", traits=["city"], **kw,
    )


def test_streaming_many_small_batches_equals_the_whole_table(defs: Dict[str, Any]) -> None:
    profiles, events = population(47)
    whole = run(defs, profiles, events)
    thresholds = whole.schema.metadata[b"siyu.rfm_thresholds"].decode()
    batches = stream(defs, profiles, events, 5, rfm={"thresholds": thresholds})
    got = list(batches)
    assert len(got) == 10 and all(isinstance(b, pa.RecordBatch) for b in got)
    table = pa.Table.from_batches(got)
    assert table.equals(whole.replace_schema_metadata(None))
    assert batches.unmatched_events == 0
    # A whole events table (one batch) also satisfies the precondition.
    preader = pa.RecordBatchReader.from_batches(profiles.schema, profiles.to_batches(max_chunksize=8))
    one = siyu.evaluate_batches(preader, events, now=NOW, **defs, rfm={"thresholds": thresholds},
                                event_id_column="event_id", tags_column="tags", stage_column="stage",
                                stage_since_column="stage_since", traits=["city"])
    assert pa.Table.from_batches(list(one)).equals(whole.replace_schema_metadata(None))


def test_streaming_rejects_late_events_and_fitted_rfm(defs: Dict[str, Any]) -> None:
    profiles, events = population(12)
    preader = pa.RecordBatchReader.from_batches(profiles.schema, profiles.to_batches(max_chunksize=4))
    ids = events.column("user_id").to_pylist()
    # All events of u000 arrive with the second profile batch: too late.
    first = events.filter(pa.array([u != "u000" for u in ids]))
    late = events.filter(pa.array([u == "u000" for u in ids]))
    assert late.num_rows > 0
    ereader = pa.RecordBatchReader.from_batches(events.schema, first.to_batches() + late.to_batches())
    it = siyu.evaluate_batches(preader, ereader, now=NOW, segments=defs["segments"], traits=["city"],
                               event_id_column="event_id", tags_column="tags")
    next(it)
    with pytest.raises(siyu.InvalidArgumentError, match="u000") as e:
        list(it)
    assert e.value.path == "events.user_id"
    with pytest.raises(siyu.InvalidArgumentError, match="thresholds"):
        siyu.evaluate_batches(profiles, events, now=NOW, rfm=True, schema=sample_with_city())
