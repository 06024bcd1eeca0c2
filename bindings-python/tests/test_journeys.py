"""Journeys from Python: stepping the shipped example journeys, state forms,
migration, validation, simulation tables, Mermaid views and errors."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any, Dict, List

import pyarrow as pa
import pytest

import siyu

EXAMPLES = Path(__file__).resolve().parents[2] / "core" / "journeys"
SIX = ["welcome", "group_activation", "browse_abandonment", "win_back", "replenishment", "churn_warning"]


def example(name: str) -> Dict[str, Any]:
    doc: Dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return doc


SCHEMA = example("schema")


def consents(*purposes: str) -> List[Dict[str, str]]:
    return [
        {"channel": "wechat", "purpose": p, "status": "granted", "at": "2026-01-01T00:00:00Z"}
        for p in purposes
    ]


PROFILE = {"id": "u1", "consents": consents("service", "marketing")}


def friend_added(at: str, id: str = "e1") -> Dict[str, Any]:
    return {"type": "event", "event": {"id": id, "name": "friend_added", "timestamp": at}}


@pytest.fixture(scope="module")
def welcome() -> siyu.JourneyEngine:
    return siyu.JourneyEngine([example("welcome")], SCHEMA)


def test_the_six_examples_load_with_their_reports() -> None:
    engine = siyu.JourneyEngine([example(n) for n in SIX], siyu.Schema.from_json(SCHEMA))
    assert sorted(i for i, _ in engine.definitions) == sorted(SIX)
    reports = engine.reports()
    assert reports["welcome"].nodes == len(example("welcome")["nodes"])
    # Welcome sends at most two messages in one day (the reminder and the live invite).
    assert reports["welcome"].max_messages_per_day == 2
    trigger = engine.definition("win_back")["trigger"]  # canonical form: defaults filled in
    assert {k: trigger[k] for k in example("win_back")["trigger"]} == example("win_back")["trigger"]
    assert "welcome v1" in repr(engine)


def test_welcome_through_event_wait_tick_split_and_end(welcome: siyu.JourneyEngine) -> None:
    t0 = "2026-03-02T02:00:00Z"
    r = welcome.step(None, PROFILE, [], friend_added(t0), t0)
    assert [e["type"] for e in r.effects] == ["send_message", "update_tags"]
    assert r.effects[0]["template"] == "welcome_ebook" and r.effects[0]["at"] == t0
    assert r.effects[1]["add"] == ["new_user"]
    assert [n["type"] for n in r.notices] == ["entered"]
    assert r.next_wake == "2026-03-09T02:00:00Z"
    assert isinstance(r.state, dict)
    assert [(i["journey"], i["node"]) for i in r.instances] == [("welcome", "wait_7d")]
    html = r._repr_html_()
    assert "welcome_ebook" in html and "entered" in html and "2026-03-09T02:00:00Z" in html

    # The benefit is claimed while waiting; nothing is due yet.
    claimed = {"id": "e2", "name": "benefit_claimed", "timestamp": "2026-03-04T02:00:00Z"}
    history = [friend_added(t0)["event"]]
    r = welcome.step(r.state, PROFILE, history, {"type": "event", "event": claimed}, "2026-03-04T02:00:00Z")
    assert r.effects == [] and r.next_wake == "2026-03-09T02:00:00Z"
    history.append(claimed)

    # The wait ends: claimed → straight to the live-class invite, no reminder.
    r = welcome.step(r.state, PROFILE, history, "tick", "2026-03-09T02:00:00Z")
    assert [e["template"] for e in r.effects] == ["live_class_invite"]
    assert r.next_wake == "2026-03-23T02:00:00Z"

    # 14 days without a milk-powder click → done.
    r = welcome.step(r.state, PROFILE, history, None, "2026-03-23T02:00:00Z")
    assert r.effects == []
    assert [(n["type"], n.get("node")) for n in r.notices] == [("completed", "done")]
    assert r.instances == [] and r.next_wake is None
    # Re-entry "once": a second friend_added is refused.
    r = welcome.step(r.state, PROFILE, history, friend_added("2026-04-01T00:00:00Z", "e3"), "2026-04-01T00:00:00Z")
    assert [(n["type"], n.get("reason")) for n in r.notices] == [("entry_skipped", "once")]


def test_without_consent_messages_are_suppressed(welcome: siyu.JourneyEngine) -> None:
    t0 = "2026-03-02T02:00:00Z"
    r = welcome.step(None, {"id": "u2"}, [], friend_added(t0), t0)
    assert [e["type"] for e in r.effects] == ["update_tags"]
    assert [(n["type"], n.get("reason")) for n in r.notices] == [("entered", None), ("suppressed", "no_consent")]


def test_a_late_call_runs_everything_due_at_its_due_time(welcome: siyu.JourneyEngine) -> None:
    t0 = "2026-03-02T02:00:00Z"
    r = welcome.step(None, PROFILE, [], friend_added(t0), t0)
    # Called a month late: both waits elapsed; effects carry their due times.
    late = welcome.step(r.state, PROFILE, [friend_added(t0)["event"]], "tick", "2026-04-02T00:00:00Z")
    assert [(e["template"], e["at"]) for e in late.effects] == [
        ("benefit_reminder", "2026-03-09T02:00:00Z"),
        ("live_class_invite", "2026-03-09T02:00:00Z"),
    ]
    assert [n["type"] for n in late.notices] == ["completed"]
    assert late.notices[0]["at"] == "2026-03-23T02:00:00Z"
    # A clock going backwards is clamped, never replayed.
    back = welcome.step(late.state, PROFILE, [], "tick", "2026-03-01T00:00:00Z")
    assert [n["type"] for n in back.notices] == ["clock_clamped"]
    assert back.effects == []


def test_binary_state_round_trip_and_binary_stepping(welcome: siyu.JourneyEngine) -> None:
    t0 = "2026-03-02T02:00:00Z"
    as_dict = welcome.step(None, PROFILE, [], friend_added(t0), t0)
    as_bytes = welcome.step(None, PROFILE, [], friend_added(t0), t0, state_format="bytes")
    assert isinstance(as_bytes.state, bytes) and isinstance(as_dict.state, dict)
    assert siyu.decode_journey_state(as_bytes.state) == as_dict.state
    assert siyu.encode_journey_state(as_dict.state) == as_bytes.state
    assert siyu.encode_journey_state(json.dumps(as_dict.state)) == as_bytes.state
    assert len(as_bytes.state) < len(json.dumps(as_dict.state))
    assert as_bytes.instances == as_dict.instances
    # bytes in → bytes out; the same step from either form answers the same.
    nxt = "2026-03-09T02:00:00Z"
    from_bytes = welcome.step(bytearray(as_bytes.state), PROFILE, [], "tick", nxt)
    from_dict = welcome.step(as_dict.state, PROFILE, [], "tick", nxt)
    assert isinstance(from_bytes.state, bytes)
    assert (from_bytes.effects, from_bytes.notices) == (from_dict.effects, from_dict.notices)
    assert siyu.decode_journey_state(from_bytes.state) == from_dict.state
    # The input state is untouched by a step.
    assert siyu.decode_journey_state(as_bytes.state) == as_dict.state
    per_instance = siyu.journeys.encode_journey_instances(as_dict.state)
    assert len(per_instance) == 1 and all(isinstance(b, bytes) for b in per_instance)


def test_corrupt_or_unknown_state_versions_raise_invalid_state(welcome: siyu.JourneyEngine) -> None:
    empty = welcome.step(None, PROFILE, [], "tick", "2026-03-01T00:00:00Z").state
    assert isinstance(empty, dict) and "instances" not in empty
    good = siyu.encode_journey_state(empty)
    assert siyu.decode_journey_state(good) == empty
    with pytest.raises(siyu.InvalidStateError) as info:
        siyu.decode_journey_state(good[:-1] + b"\xff\xff")
    assert info.value.code == "INVALID_STATE"
    with pytest.raises(siyu.InvalidStateError):
        welcome.step(b"\x00garbage", PROFILE, [], "tick", "2026-03-02T00:00:00Z")
    with pytest.raises(siyu.InvalidStateError):
        welcome.step("{not json", PROFILE, [], "tick", "2026-03-02T00:00:00Z")
    with pytest.raises(siyu.InvalidStateError):
        siyu.encode_journey_state({"format": 99})


def test_step_inputs_and_profiles_as_native_objects(welcome: siyu.JourneyEngine) -> None:
    schema = siyu.Schema.from_json(SCHEMA)
    profile = siyu.Profile.from_json(PROFILE, schema)
    log = siyu.EventLog.from_json([], schema)
    t0 = dt.datetime(2026, 3, 2, 2, tzinfo=dt.timezone.utc)
    r = welcome.step(None, profile, log, friend_added("2026-03-02T02:00:00Z"), t0)
    assert r.next_wake == "2026-03-09T02:00:00Z"
    entered = welcome.step(None, profile, None, {"type": "enter", "journey": "welcome"}, t0)
    assert [n["type"] for n in entered.notices][0] == "entered"


def test_a_user_held_in_memory_follows_its_wake_ups(welcome: siyu.JourneyEngine) -> None:
    user = welcome.user(PROFILE)
    assert user.state == {} and user.state_bytes() is None and user.next_wake is None
    with pytest.raises(siyu.InvalidArgumentError):
        user.step()  # no wake-up announced yet
    t0 = "2026-03-02T02:00:00Z"
    user.step(friend_added(t0), t0)
    assert user.next_wake == "2026-03-09T02:00:00Z"
    assert [e["name"] for e in user.events] == ["friend_added"]
    assert "welcome@wait_7d" in repr(user)
    # A failed step changes nothing.
    before = user.state_bytes()
    with pytest.raises(siyu.InvalidArgumentError):
        user.step({"type": "outcome", "effect": "x", "status": "lost"}, t0)
    assert user.state_bytes() == before and len(user.events) == 1
    templates = []
    while user.next_wake is not None:
        templates += [e["template"] for e in user.step().effects]
    assert templates == ["benefit_reminder", "live_class_invite"]
    assert "instances" not in user.state
    # Resume from a persisted state: the same answers.
    resumed = welcome.user(PROFILE, [friend_added(t0)["event"]], state=before)
    r = resumed.step("tick", "2026-03-09T02:00:00Z")
    assert [e["template"] for e in r.effects] == ["benefit_reminder", "live_class_invite"]
    assert isinstance(r.state, dict)


def test_errors_have_classes_codes_and_paths(welcome: siyu.JourneyEngine) -> None:
    with pytest.raises(siyu.InvalidArgumentError) as info:
        welcome.step(None, PROFILE, [], {"type": "teleport"}, "2026-03-02T00:00:00Z")
    assert info.value.code == "INVALID_ARGUMENT" and info.value.path == "input"
    with pytest.raises(siyu.InvalidEventError) as ev:
        welcome.step(None, PROFILE, [], {"type": "event", "event": {"id": "x", "name": "nope", "timestamp": "2026-03-02T00:00:00Z"}}, "2026-03-02T00:00:00Z")
    assert ev.value.path == "input.event.name"
    with pytest.raises(siyu.InvalidTimeError):
        welcome.step(None, PROFILE, [], "tick", "yesterday")
    with pytest.raises(siyu.InvalidTimeError):
        welcome.step(None, PROFILE, [], "tick", dt.datetime(2026, 3, 2))  # naive
    with pytest.raises(siyu.InvalidProfileError):
        welcome.step(None, {"id": "u", "traits": {"city": 3}}, [], "tick", "2026-03-02T00:00:00Z")
    with pytest.raises(siyu.InvalidArgumentError) as bad_format:
        welcome.step(None, PROFILE, [], "tick", "2026-03-02T00:00:00Z", state_format="xml")
    assert bad_format.value.path == "state_format"
    with pytest.raises(siyu.InvalidArgumentError):
        welcome.mermaid("nope")


def test_invalid_definitions_raise_with_reason_and_path() -> None:
    broken = example("welcome")
    broken["nodes"][0]["next"] = "nowhere"
    with pytest.raises(siyu.InvalidModelError) as info:
        siyu.JourneyEngine([broken], SCHEMA)
    assert info.value.message.startswith("unknown_node: ")
    assert info.value.path is not None and info.value.path.startswith("journeys[0].nodes[0]")
    with pytest.raises(siyu.UnknownEventError):
        siyu.JourneyEngine([example("welcome")])  # empty schema: friend_added is unknown
    with pytest.raises(siyu.DuplicateNameError):
        siyu.JourneyEngine([example("welcome"), example("welcome")], SCHEMA)
    with pytest.raises(siyu.InvalidJsonError):
        siyu.JourneyEngine("[{", SCHEMA)
    with pytest.raises(siyu.InvalidModelError):
        siyu.JourneyEngine([example("welcome")], SCHEMA, policies={"caps": "many"})


def test_validate_journey_reports_worst_case_messages_per_day() -> None:
    report = siyu.validate_journey(example("welcome"), SCHEMA)
    assert report == siyu.journeys.ValidationReport(max_messages_per_day=2, nodes=11)
    assert siyu.validate_journey(json.dumps(example("replenishment"))).nodes == len(example("replenishment")["nodes"])
    chatty = {
        "id": "chatty", "version": 1, "trigger": {"type": "event", "event": "friend_added"},
        "nodes": [
            {"id": f"m{i}", "type": "message", "channel": "wechat", "template": "t",
             "purpose": "marketing", "next": f"m{i + 1}" if i < 2 else "end"}
            for i in range(3)
        ] + [{"id": "end", "type": "end"}],
    }
    assert siyu.validate_journey(chatty).max_messages_per_day == 3
    with pytest.raises(siyu.UnknownEventError):
        siyu.validate_journey(chatty, {"events": {}})
    cyclic = dict(chatty, nodes=[{"id": "a", "type": "tags", "add": ["x"], "next": "a"}])
    with pytest.raises(siyu.InvalidModelError) as info:
        siyu.validate_journey(cyclic)
    assert info.value.message.startswith("cycle_without_wait")


def test_migrate_dry_run_then_for_real() -> None:
    v1 = example("welcome")
    v2 = json.loads(json.dumps(v1))
    v2["version"] = 2
    for n in v2["nodes"]:
        if n["id"] == "wait_7d":
            n["id"] = "wait_week"
        if n.get("next") == "wait_7d":
            n["next"] = "wait_week"
    engine = siyu.JourneyEngine([v1], SCHEMA)
    t0 = "2026-03-02T02:00:00Z"
    state = engine.step(None, PROFILE, [], friend_added(t0), t0).state
    both = siyu.JourneyEngine([v1, v2], SCHEMA)
    m = {"journey": "welcome", "from_version": 1, "to_version": 2}
    plan = both.migrate(state, m, "2026-03-03T00:00:00Z", dry_run=True)
    assert not plan.clean and plan.moves[0]["from_node"] == "wait_7d" and "problem" in plan.moves[0]
    assert plan.state == state
    with pytest.raises(siyu.InvalidArgumentError):
        both.migrate(state, m, "2026-03-03T00:00:00Z")
    m["nodes"] = {"wait_7d": "wait_week"}
    plan = both.migrate(state, m, "2026-03-03T00:00:00Z", dry_run=True)
    assert plan.clean and plan.moves[0]["to_node"] == "wait_week"
    done = both.migrate(siyu.encode_journey_state(state), m, "2026-03-03T00:00:00Z")
    assert isinstance(done.state, bytes)
    inst = siyu.decode_journey_state(done.state)["instances"][0]
    assert (inst["version"], inst["node"]) == (2, "wait_week")
    # Same wait type: the deadline is kept.
    r = both.step(done.state, PROFILE, [], "tick", "2026-03-09T02:00:00Z")
    assert [e["template"] for e in r.effects] == ["benefit_reminder", "live_class_invite"]
    with pytest.raises(siyu.InvalidJsonError):
        both.migrate(state, {"journey": "welcome"}, "2026-03-03T00:00:00Z")


REPLENISH_PROFILES = [
    {"id": f"u{i}", "consents": consents("service", "marketing") if i % 2 == 0 else []}
    for i in range(6)
]
REPLENISH_EVENTS = [
    {"user_id": f"u{i}", "id": f"p{i}", "name": "purchase", "timestamp": "2026-03-02T02:00:00Z",
     "properties": {"order_id": f"o{i}", "category": "milk_powder"}}
    for i in range(6)
]


def _check_replenishment(report: siyu.SimulationReport) -> None:
    assert report.users == 6
    j = report.journeys["replenishment"]
    assert (j["entered"], j["completed"]) == (6, 6)
    # Three consenting users get two messages each; three are suppressed twice.
    assert sum(report.messages_per_day.values()) == 6
    assert report.suppressions == {"no_consent": 6}
    assert report.effects["create_task"] == 6
    table = report.nodes_table()
    assert table.column_names == ["journey", "node", "entered", "waiting", "exited", "converted", "completed"]
    assert table.schema.field("entered").type == pa.int64()
    rows = {(r["journey"], r["node"]): r for r in table.to_pylist()}
    # Every node of every journey is a row, in definition order, zeros included.
    nodes = [n["id"] for n in example("replenishment")["nodes"]]
    assert [r["node"] for r in table.to_pylist() if r["journey"] == "replenishment"] == nodes
    assert rows[("replenishment", nodes[0])]["entered"] == 6
    assert rows[("replenishment", "bottle_tips")]["entered"] == 6
    assert sum(r["completed"] for r in rows.values()) == 6
    assert rows[("welcome", "welcome_msg")]["entered"] == 0


def _engine_welcome_replenishment() -> siyu.JourneyEngine:
    return siyu.JourneyEngine([example("welcome"), example("replenishment")], SCHEMA)


def test_simulation_from_dicts_and_tables_agree() -> None:
    engine = _engine_welcome_replenishment()
    span = dict(start="2026-03-01T00:00:00Z", end="2026-04-01T00:00:00Z")
    from_dicts = siyu.simulate_journeys(engine, REPLENISH_PROFILES, REPLENISH_EVENTS, **span)
    _check_replenishment(from_dicts)
    pairs = [(p, [{k: v for k, v in e.items() if k != "user_id"} for e in REPLENISH_EVENTS if e["user_id"] == p["id"]])
             for p in REPLENISH_PROFILES]
    assert engine.simulate(pairs, **span).to_dict() == from_dicts.to_dict()
    schema = engine.schema
    natives = [(siyu.Profile.from_json(p, schema), siyu.EventLog.from_json(e, schema)) for p, e in pairs]
    assert siyu.simulate_journeys(engine, natives, **span).to_dict() == from_dicts.to_dict()
    for threads in (1, 4):
        again = siyu.simulate_journeys(engine, REPLENISH_PROFILES, REPLENISH_EVENTS, threads=threads, **span)
        assert again.to_dict() == from_dicts.to_dict()

    profiles = pa.table({"id": [p["id"] for p in REPLENISH_PROFILES]})
    events = pa.table({
        "user_id": [e["user_id"] for e in REPLENISH_EVENTS] + ["stranger"],
        "id": [e["id"] for e in REPLENISH_EVENTS] + ["x"],
        "name": ["purchase"] * 7,
        "timestamp": ["2026-03-02T02:00:00Z"] * 7,
        "order_id": [f"o{i}" for i in range(7)],
        "category": ["milk_powder"] * 7,
    })
    # Without consents in the table every message is suppressed; the flow is the same.
    from_tables = siyu.simulate_journeys(engine, profiles, events, event_id_column="id", **span)
    assert from_tables.unmatched_events == 1
    assert from_tables.journeys["replenishment"] == from_dicts.journeys["replenishment"]
    assert from_tables.suppressions == {"no_consent": 12}
    df = from_dicts.to_pandas()
    assert list(df.columns) == from_dicts.nodes_table().column_names
    pl_df = from_dicts.to_polars()
    assert pl_df.shape == (from_dicts.nodes_table().num_rows, 7)
    assert "Journey simulation" in from_dicts._repr_html_()


def test_simulation_argument_errors() -> None:
    engine = _engine_welcome_replenishment()
    with pytest.raises(siyu.InvalidArgumentError) as info:
        siyu.simulate_journeys(engine, REPLENISH_PROFILES, [{"id": "x"}], start="2026-03-01T00:00:00Z", end="2026-04-01T00:00:00Z")
    assert info.value.path == "events"
    with pytest.raises(siyu.InvalidArgumentError) as span:
        siyu.simulate_journeys(engine, REPLENISH_PROFILES, REPLENISH_EVENTS, start="2026-04-01T00:00:00Z", end="2026-03-01T00:00:00Z")
    assert span.value.path == "start"
    with pytest.raises(siyu.TypeMismatchError):
        siyu.simulate_journeys(engine, pa.table({"id": ["u1"], "city": [3]}), None, start="2026-03-01T00:00:00Z", end="2026-04-01T00:00:00Z")


def test_mermaid_text_and_notebook_views() -> None:
    engine = siyu.JourneyEngine([example(n) for n in SIX], SCHEMA)
    d = engine.mermaid("win_back")
    text = str(d)
    assert text.startswith("flowchart TD\n") and text == d.text
    assert 'entry(["date last_interaction_at 30d"])' in text
    assert 'n3 -->|"on_failure"| n5' in text
    assert d._repr_markdown_() == f"```mermaid\n{text}\n```"
    html = d._repr_html_()
    assert '<pre class="mermaid">' in html and "win_back" in html
    assert "&lt;br/&gt;" in siyu.journey_mermaid(example("welcome"))._repr_html_()
    assert str(siyu.journey_mermaid(json.dumps(example("welcome")))) == str(engine.mermaid("welcome"))
    with pytest.raises(siyu.InvalidModelError):
        siyu.journey_mermaid({"id": "x", "version": 1, "nodes": []})


def test_bucket_hash_is_deterministic() -> None:
    h = siyu.bucket_hash("seed", "u1")
    assert h is not None and 0.0 <= h < 1.0 and h == siyu.bucket_hash("seed", "u1", 2)
    assert siyu.bucket_hash("seed", "u1", 3) is None


def test_engine_is_shared_across_threads(welcome: siyu.JourneyEngine) -> None:
    results: Dict[int, Any] = {}

    def run(k: int) -> None:
        t0 = "2026-03-02T02:00:00Z"
        results[k] = welcome.step(None, dict(PROFILE, id=f"u{k}"), [], friend_added(t0, f"e{k}"), t0).next_wake

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results.values()) == {"2026-03-09T02:00:00Z"}
