#!/usr/bin/env python3
"""Writes the `journey` conformance vectors (conformance/journey/*.json).

Every expectation below is written by hand from the semantics in
docs/journeys.md (not captured from the engine). Run from the repository root:
    python3 conformance/journey/gen_vectors.py
The six example journeys are read from core/journeys/ and inlined so that
vector files stay self-contained for every runner.
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "core", "journeys")
OUT = os.path.join(ROOT, "conformance", "journey")


def load(name):
    with open(os.path.join(EX, name + ".json")) as f:
        return json.load(f)


SCHEMA = load("schema")

# ---------------------------------------------------------------- helpers


def J(id, nodes, trigger=None, **kw):
    d = {"id": id, "version": kw.pop("version", 1),
         "trigger": trigger or {"type": "event", "event": "friend_added"}}
    d.update(kw)
    d["nodes"] = nodes
    return d


def msg(id, nxt=None, template=None, channel="wechat", purpose="marketing", **kw):
    n = {"id": id, "type": "message", "channel": channel,
         "template": template or id, "purpose": purpose}
    if nxt:
        n["next"] = nxt
    n.update(kw)
    return n


def wait(id, dur, nxt=None, **kw):
    n = {"id": id, "type": "wait", "duration": dur}
    if nxt:
        n["next"] = nxt
    n.update(kw)
    return n


def node(id, type, **kw):
    n = {"id": id, "type": type}
    n.update(kw)
    return n


def ev(id, name, ts, **props):
    e = {"id": id, "name": name, "timestamp": ts}
    if props:
        e["properties"] = props
    return {"type": "event", "event": e}


TICK = {"type": "tick"}


def st(now, input=None, **expect):
    s = {"now": now, "input": input or TICK}
    prof = expect.pop("profile", None)
    if prof:
        s["profile"] = prof
    err = expect.pop("expect_error", None)
    if err:
        s["expect_error"] = err
    if expect:
        s["expect"] = expect
    return s


def E(node, type="send_message", at=None, **kw):
    e = {"node": node, "type": type}
    if at:
        e["at"] = at
    e.update(kw)
    return e


def N(type, **kw):
    n = {"type": type}
    n.update(kw)
    return n


def GRANT(*channels, purpose="marketing", at="2026-01-01T00:00:00Z"):
    return [{"channel": c, "purpose": p, "status": "granted", "at": at}
            for c in channels for p in ([purpose] if isinstance(purpose, str) else purpose)]


PROFILE = {"id": "u1", "consents": GRANT("wechat", "wechat_group", "sms", purpose=["marketing", "service"])}


def case(name, **kw):
    c = {"name": name}
    c.update(kw)
    return c


def write(fname, description, cases, **shared):
    doc = {"kind": "journey", "description": description}
    doc.update(shared)
    doc["cases"] = cases
    with open(os.path.join(OUT, fname), "w") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return len(cases)


D = "2026-03-02"  # a Monday; the default zone is UTC unless a case says otherwise


def t(day, hms="00:00:00"):
    """2026-03-<day> at hms, UTC."""
    return f"2026-03-{day:02d}T{hms}Z"


total = 0


def fnv1a32(s):
    h = 0x811C9DC5
    for unit in s.encode("utf-16-le")[::2]:  # ASCII-only inputs here
        h ^= unit
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def gb_hash(seed, value):
    return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000


# ---------------------------------------------------------------- hash
with open("/work/shared/external/growthbook/cases.json") if os.path.exists(
        "/work/shared/external/growthbook/cases.json") else open(os.devnull) as f:
    txt = f.read()
gb = json.loads(txt)["hash"] if txt else []
hash_cases = [case(f"growthbook hash {s!r} {v!r} v{ver}", op="hash", seed=s, value=v, version=ver,
                   expect={"hash": exp}) for s, v, ver, exp in gb]
hash_cases.append(case("split seed welcome:ab for u1", op="hash", seed="j:ab", value="u1", version=2,
                       expect={"hash": gb_hash("j:ab", "u1")}))
total += write("hash.json",
               "GrowthBook hash(seed, value, version) used by random splits; the GrowthBook cases are copied "
               "from growthbook/growthbook packages/sdk-js/test/cases.json (MIT).", hash_cases)

# ---------------------------------------------------------------- validate
END = node("done", "end")


def V(name, journey, **kw):
    return case(name, op="validate", journey=journey, **kw)


def VE(name, journey, reason, path, code="INVALID_MODEL", **kw):
    err = {"code": code, "path": path}
    if reason:
        err["reason"] = reason
    err.update(kw)
    return case(name, op="validate", journey=journey, expect_error=err)


val = [
    VE("unknown node reference with suggestion", J("j", [msg("a", "wiat"), wait("wait", "1d")]),
       "unknown_node", "nodes[0].next", suggestion="wait"),
    VE("unknown start node", J("j", [msg("a")], start="nope"), "unknown_node", "start"),
    VE("unknown node in a split branch", J("j", [node("s", "split_random", branches=[
        {"name": "a", "weight": 1, "next": "x"}]), END]), "unknown_node", "nodes[0].branches[0].next"),
    VE("unreachable node", J("j", [msg("a"), msg("b")]), "unreachable_node", "nodes[1]"),
    VE("cycle without a wait", J("j", [node("a", "tags", add=["x"], next="b"), node("b", "tags", add=["y"], next="a")]),
       "cycle_without_wait", "nodes[0]"),
    VE("cycle through a split without a wait", J("j", [msg("a", "s"), node("s", "split_random", branches=[
        {"name": "x", "weight": 1, "next": "a"}, {"name": "y", "weight": 1, "next": "done"}]), END]),
       "cycle_without_wait", "nodes[0]"),
    VE("rule split missing on_false", J("j", [node("s", "split_rule", rule="true", on_true="done"), END]),
       "split_missing_branch", "nodes[0].on_false"),
    VE("rule split missing on_true", J("j", [node("s", "split_rule", rule="true", on_false="done"), END]),
       "split_missing_branch", "nodes[0].on_true"),
    VE("multi-way split missing default", J("j", [node("s", "split_multi", branches=[{"rule": "true", "next": "done"}]), END]),
       "split_missing_branch", "nodes[0].default"),
    VE("random split branch without target", J("j", [node("s", "split_random", branches=[
        {"name": "a", "weight": 1, "next": "done"}, {"name": "b", "weight": 1}]), END]),
       "split_missing_branch", "nodes[0].branches[1].next"),
    VE("message without purpose", J("j", [{"id": "m", "type": "message", "channel": "wechat", "template": "t"}]),
       "message_without_purpose", "nodes[0].purpose"),
    VE("duplicate node id", J("j", [msg("a", "a"), msg("a")]), "duplicate_node", "nodes[1].id"),
    VE("bad time of day", J("j", [node("w", "wait_until_time", time="25:00")]), "invalid_field", "nodes[0].time"),
    VE("bad weekday", J("j", [node("w", "wait_until_time", time="12:00", weekdays=["mon", "funday"])]),
       "invalid_field", "nodes[0].weekdays[1]"),
    VE("bad fallback zone", J("j", [node("w", "wait_until_time", time="12:00", fallback_zone="Mars/Base")]),
       "invalid_field", "nodes[0].fallback_zone"),
    VE("negative weight", J("j", [node("s", "split_random", branches=[{"name": "a", "weight": -1, "next": "done"}]), END]),
       "invalid_field", "nodes[0].branches[0].weight"),
    VE("all weights zero", J("j", [node("s", "split_random", branches=[{"name": "a", "weight": 0, "next": "done"}]), END]),
       "invalid_field", "nodes[0].branches"),
    VE("criterion with both event and rule", J("j", [msg("a")], exit=[{"event": "purchase", "rule": "true"}]),
       "invalid_field", "exit[0]"),
    VE("unknown filter operator", J("j", [msg("a")], trigger={"type": "event", "event": "purchase",
                                                           "filter": {"amount": {"approx": 3}}}),
       "invalid_field", "trigger.filter"),
    VE("unknown node type", J("j", [node("a", "teleport")]), "invalid_field", "nodes[0]"),
    VE("unknown node field", J("j", [wait("a", "1d", nxt=None, nxt_node="b")]), "invalid_field", "nodes[0]"),
    VE("bad duration", J("j", [wait("a", "7x")]), "invalid_field", "nodes[0]"),
    VE("bad journey id", J("my journey", [msg("a")]), "invalid_field", "id"),
    VE("max_entries zero", J("j", [msg("a")], max_entries=0), "invalid_field", "max_entries"),
    VE("a wait longer than 100 years", J("j", [wait("a", "5300w")]), "invalid_field", "nodes[0].duration"),
    VE("an offset beyond 100 years", J("j", [msg("a")], trigger={"type": "date", "trait": "birthday", "offset": "-40000d"}),
       "invalid_field", "trigger.offset"),
    VE("unknown event against the schema", J("j", [node("w", "wait_event", event="mesage_replied", timeout="1d")]),
       None, "nodes[0].event", code="UNKNOWN_EVENT", suggestion="message_replied"),
    VE("unknown trait against the schema", J("j", [node("w", "wait_until_date", trait="birthdy")]),
       None, "nodes[0].trait", code="UNKNOWN_TRAIT", suggestion="birthday"),
    V("loop of 6h waits sends 4 a day", J("j", [msg("a", "w"), wait("w", "6h", "a")]),
      expect={"max_messages_per_day": 4, "nodes": 2}),
    V("loop through a daily send time sends 2 a day", J("j", [msg("a", "w"), node("w", "wait_until_time", time="12:00", next="a")]),
      expect={"max_messages_per_day": 2}),
    V("event-driven loop is unbounded", J("j", [msg("a", "w"), node("w", "wait_event", event="message_replied", timeout="1d",
                                                                     on_event="a")]),
      expect={"max_messages_per_day": None}),
    V("timeout branch after 24h starts a new day", J("j", [msg("a", "w"), node("w", "wait_event", event="message_replied",
                                                                                 timeout="24h", on_timeout="b"), msg("b")]),
      expect={"max_messages_per_day": 1}),
]
for name, n in [("welcome", 2), ("group_activation", 1), ("browse_abandonment", 1), ("win_back", 1),
                ("replenishment", 1), ("churn_warning", 1)]:
    val.append(V(f"example {name} is valid", load(name), expect={"max_messages_per_day": n}))
total += write("validate.json",
               "Definition validation: error sub-codes (`reason`) with paths, schema checks, and the worst-case "
               "messages per day along any path.", val, schema=SCHEMA)

# ---------------------------------------------------------------- node types
ENTER = ev("e1", "friend_added", t(2, "10:00:00"))
T10 = t(2, "10:00:00")


def R(name, journeys, steps, **kw):
    return case(name, journeys=journeys, steps=steps, **kw)


def one(name, nodes, steps, **kw):
    jkw = kw.pop("jkw", {})
    return R(name, [J("j", nodes, **jkw)], steps, **kw)


ab = gb_hash("j:ab", "u1")
ab_branch = "a" if ab < 0.5 else "b"
nodes_cases = [
    one("message: effect with deterministic id at the due time", [msg("hello", template="hi")],
        [st(T10, ENTER, effects=[{"id": "j#1/hello/1", "type": "send_message", "journey": "j", "node": "hello",
                                  "channel": "wechat", "template": "hi", "purpose": "marketing", "at": T10}],
            notices=[N("entered", journey="j", at=T10), N("completed", journey="j", node="hello", at=T10)],
            next_wake=None, instances=[])]),
    one("tags: add and remove", [node("tg", "tags", add=["new_user"], remove=["lead"])],
        [st(T10, ENTER, effects=[{"id": "j#1/tg/1", "type": "update_tags", "add": ["new_user"], "remove": ["lead"]}])]),
    one("set_traits", [node("tr", "set_traits", traits={"city": "Hangzhou", "tier": 2})],
        [st(T10, ENTER, effects=[{"type": "set_traits", "traits": {"city": "Hangzhou", "tier": 2}}])]),
    one("task for staff", [node("tk", "task", assignee="store_staff", template="call_back")],
        [st(T10, ENTER, effects=[{"type": "create_task", "assignee": "store_staff", "template": "call_back"}])]),
    one("call host without awaiting, then continue",
        [node("c", "call", action="grant_coupon", params={"coupon": "X"}, next="m"), msg("m")],
        [st(T10, ENTER, effects=[{"id": "j#1/c/1", "type": "call_host", "action": "grant_coupon", "params": {"coupon": "X"}},
                                 {"id": "j#1/m/2", "type": "send_message"}], instances=[])]),
    one("call host awaiting outcome: delivered goes next",
        [node("c", "call", action="grant_coupon", next="ok", on_failure="bad"), msg("ok"), msg("bad")],
        [st(T10, ENTER, effects=[E("c", "call_host")], next_wake=t(3, "10:00:00"),
            instances=[{"node": "c", "pending": "j#1/c/1", "armed": True, "due": t(3, "10:00:00")}]),
         st(t(2, "10:05:00"), {"type": "outcome", "effect": "j#1/c/1", "status": "delivered"},
            effects=[E("ok", at=t(2, "10:05:00"))], instances=[])]),
    one("call host awaiting outcome: failed goes to on_failure",
        [node("c", "call", action="grant_coupon", next="ok", on_failure="bad"), msg("ok"), msg("bad")],
        [st(T10, ENTER), st(t(2, "10:05:00"), {"type": "outcome", "effect": "j#1/c/1", "status": "failed"},
                            effects=[E("bad")])]),
    one("call host awaiting outcome: no outcome within timeout counts as failure",
        [node("c", "call", action="grant_coupon", next="ok", on_failure="bad", timeout="1h"), msg("ok"), msg("bad")],
        [st(T10, ENTER, next_wake=t(2, "11:00:00")), st(t(2, "11:00:00"), effects=[E("bad", at=t(2, "11:00:00"))])]),
    one("outcome for an unknown effect changes nothing", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ENTER), st(t(2, "11:00:00"), {"type": "outcome", "effect": "nope", "status": "failed"},
                            effects=[], notices=[], instances=[{"node": "w"}])]),
    one("wait: absolute deadline, then the next node", [wait("w", "2h", "m"), msg("m")],
        [st(T10, ENTER, effects=[], next_wake=t(2, "12:00:00"),
            instances=[{"journey": "j", "version": 1, "seq": 1, "node": "w", "since": T10, "due": t(2, "12:00:00"),
                        "armed": True, "steps": 1, "entered_at": T10}]),
         st(t(2, "11:59:59"), effects=[], next_wake=t(2, "12:00:00")),
         st(t(2, "12:00:00"), effects=[E("m", at=t(2, "12:00:00"))], next_wake=None)]),
    one("wait_until_time skips disallowed weekdays",
        [node("w", "wait_until_time", time="09:00", weekdays=["mon", "tue", "wed", "thu", "fri"], next="m"), msg("m")],
        [st(t(6, "15:00:00"), ev("e1", "friend_added", t(6, "15:00:00")), next_wake=t(9, "09:00:00")),
         st(t(9, "09:00:00"), effects=[E("m", at=t(9, "09:00:00"))])]),
    one("wait_until_time in the user's zone",
        [node("w", "wait_until_time", time="12:00", next="m"), msg("m")],
        [st(t(2, "02:00:00"), ev("e1", "friend_added", t(2, "02:00:00")), next_wake=t(2, "04:00:00"))],
        profile={**PROFILE, "time_zone": "Asia/Shanghai"}),
    one("wait_until_time uses the fallback zone when the profile has none",
        [node("w", "wait_until_time", time="12:00", fallback_zone="+08:00", next="m"), msg("m")],
        [st(t(2, "05:00:00"), ev("e1", "friend_added", t(2, "05:00:00")), next_wake=t(3, "04:00:00"))]),
    one("wait_until_time at exactly the time waits for the next day",
        [node("w", "wait_until_time", time="12:00", next="m"), msg("m")],
        [st(t(2, "12:00:00"), ev("e1", "friend_added", t(2, "12:00:00")), next_wake=t(3, "12:00:00"))]),
    one("wait_until_date: date trait minus a day at a time",
        [node("w", "wait_until_date", trait="baby_birth_date", offset="-1d", time="09:00", next="m"), msg("m")],
        [st(T10, ENTER, next_wake=t(9, "09:00:00")), st(t(9, "09:00:00"), effects=[E("m", at=t(9, "09:00:00"))])],
        profile={**PROFILE, "traits": {"baby_birth_date": "2026-03-10"}}),
    one("wait_until_date: timestamp trait plus offset",
        [node("w", "wait_until_date", trait="last_interaction_at", offset="3d", next="m"), msg("m")],
        [st(T10, ENTER, next_wake=t(4, "08:00:00"))],
        profile={**PROFILE, "traits": {"last_interaction_at": "2026-03-01T08:00:00Z"}}),
    one("wait_until_date already past continues at once",
        [node("w", "wait_until_date", trait="baby_birth_date", next="m"), msg("m")],
        [st(T10, ENTER, effects=[E("m", at=T10)], instances=[])],
        profile={**PROFILE, "traits": {"baby_birth_date": "2026-03-01"}}),
    one("wait_until_date with a missing trait exits",
        [node("w", "wait_until_date", trait="baby_birth_date", next="m"), msg("m")],
        [st(T10, ENTER, effects=[], notices=[N("entered"), N("exited", node="w", reason="missing_trait")])]),
    one("wait_until_date with a missing trait takes the missing branch",
        [node("w", "wait_until_date", trait="baby_birth_date", next="m", missing="m2"), msg("m"), msg("m2")],
        [st(T10, ENTER, effects=[E("m2")])]),
    one("wait_event: the event arrives first",
        [node("w", "wait_event", event="message_replied", timeout="72h", on_event="thanks", on_timeout="nudge"),
         msg("thanks"), msg("nudge")],
        [st(T10, ENTER, next_wake=t(5, "10:00:00")),
         st(t(3, "10:00:00"), ev("r1", "message_replied", t(3, "10:00:00")), effects=[E("thanks", at=t(3, "10:00:00"))],
            instances=[])]),
    one("wait_event: the timeout comes first",
        [node("w", "wait_event", event="message_replied", timeout="72h", on_event="thanks", on_timeout="nudge"),
         msg("thanks"), msg("nudge")],
        [st(T10, ENTER), st(t(5, "10:00:00"), effects=[E("nudge", at=t(5, "10:00:00"))])]),
    one("wait_event: an event failing the filter is not the awaited one",
        [node("w", "wait_event", event="message_replied", filter={"channel": "sms"}, timeout="72h", on_event="thanks",
              on_timeout="nudge"), msg("thanks"), msg("nudge")],
        [st(T10, ENTER), st(t(3, "10:00:00"), ev("r1", "message_replied", t(3, "10:00:00"), channel="wechat"),
                            effects=[], instances=[{"node": "w"}]),
         st(t(3, "11:00:00"), ev("r2", "message_replied", t(3, "11:00:00"), channel="sms"), effects=[E("thanks")])]),
    one("wait_event: an event from before the wait started is ignored",
        [node("w", "wait_event", event="message_replied", timeout="72h", on_event="thanks", on_timeout="nudge"),
         msg("thanks"), msg("nudge")],
        [st(T10, ENTER), st(t(2, "11:00:00"), ev("r1", "message_replied", t(2, "09:00:00")), effects=[],
                            instances=[{"node": "w"}])]),
    one("split_random assigns by GrowthBook hash v2 and remembers the branch",
        [node("ab", "split_random", branches=[{"name": "a", "weight": 50, "next": "ma"},
                                              {"name": "b", "weight": 50, "next": "mb"}]), msg("ma"), msg("mb")],
        [st(T10, ENTER, effects=[E("m" + ab_branch)],
            notices=[N("entered"), N("assigned", node="ab", detail=ab_branch), N("completed")],
            state={"journeys": [{"journey": "j", "entries": 1, "assignments": [["ab", ab_branch]]}]})]),
    one("split_random keeps a stored assignment when weights change",
        [node("ab", "split_random", branches=[{"name": "a", "weight": 100, "next": "ma"},
                                              {"name": "b", "weight": 0, "next": "mb"}]), msg("ma"), msg("mb")],
        [st(T10, ENTER, effects=[E("mb")], notices=[N("entered"), N("completed")])],
        state={"format": 1, "journeys": [{"journey": "j", "entries": 0, "assignments": [["ab", "b"]]}]}),
    one("split_random with all weight on one branch",
        [node("ab", "split_random", branches=[{"name": "a", "weight": 0, "next": "ma"},
                                              {"name": "b", "weight": 3, "next": "mb"}]), msg("ma"), msg("mb")],
        [st(T10, ENTER, effects=[E("mb")])]),
    one("goal node records a conversion", [msg("m", "g"), node("g", "goal")],
        [st(T10, ENTER, notices=[N("entered"), N("converted", node="g", reason="g")], instances=[])]),
    one("end node completes", [msg("m", "x"), node("x", "end")],
        [st(T10, ENTER, notices=[N("entered"), N("completed", node="x")])]),
    one("goal criterion (event) converts a waiting instance", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ENTER), st(t(2, "12:00:00"), ev("p1", "purchase", t(2, "12:00:00"), amount=5.0),
                            notices=[N("converted", node="w", reason="bought")], effects=[], instances=[])],
        jkw={"goals": [{"id": "bought", "event": "purchase"}]}),
    one("exit criterion (event with filter) ends an instance", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ENTER),
         st(t(2, "11:00:00"), ev("p0", "purchase", t(2, "11:00:00"), category="toys"), notices=[], instances=[{"node": "w"}]),
         st(t(2, "12:00:00"), ev("p1", "purchase", t(2, "12:00:00"), category="milk_powder"),
            notices=[N("exited", node="w", reason="exit:bought_milk")], instances=[])],
        jkw={"exit": [{"id": "bought_milk", "event": "purchase", "filter": {"category": "milk_powder"}}]}),
    one("filter operators gte and in", [msg("m")],
        [st(T10, ev("p1", "purchase", T10, amount=50.0, category="toys"), effects=[]),
         st(t(2, "11:00:00"), ev("p2", "purchase", t(2, "11:00:00"), amount=150.0, category="books"), effects=[]),
         st(t(2, "12:00:00"), ev("p3", "purchase", t(2, "12:00:00"), amount=150.0, category="toys"), effects=[E("m")])],
        jkw={"trigger": {"type": "event", "event": "purchase",
                         "filter": {"amount": {"gte": 100}, "category": {"in": ["toys", "games"]}}}}),
]
total += write("nodes.json", "Every node type, goals and exit criteria, filters.", nodes_cases,
               schema=SCHEMA, profile=PROFILE)

# ---------------------------------------------------------------- time
W = [wait("w1", "1d", "m1"), msg("m1", "w2"), wait("w2", "1d", "m2"), msg("m2")]
waitev = [node("w", "wait_event", event="message_replied", timeout="1d", on_event="thanks", on_timeout="nudge"),
          msg("thanks"), msg("nudge")]
time_cases = [
    one("late host: overdue steps run in due order at their due times", W,
        [st(T10, ENTER, next_wake=t(3, "10:00:00")),
         st(t(5, "10:00:00"), effects=[E("m1", at=t(3, "10:00:00"), id="j#1/m1/2"), E("m2", at=t(4, "10:00:00"), id="j#1/m2/4")],
            notices=[N("completed", node="m2", at=t(4, "10:00:00"))], next_wake=None)]),
    one("calling at every wake-up gives the same effects", W,
        [st(T10, ENTER), st(t(3, "10:00:00"), effects=[E("m1", at=t(3, "10:00:00"), id="j#1/m1/2")], next_wake=t(4, "10:00:00")),
         st(t(4, "10:00:00"), effects=[E("m2", at=t(4, "10:00:00"), id="j#1/m2/4")])]),
    one("late policy skip beyond the grace", [wait("w1", "1d", "m1"), msg("m1", "m2", late={"policy": "skip", "grace": "1h"}), msg("m2")],
        [st(T10, ENTER), st(t(3, "12:00:00"), effects=[E("m2", at=t(3, "10:00:00"))],
                            notices=[N("skipped", node="m1", reason="late", at=t(3, "10:00:00")), N("completed", node="m2")])]),
    one("late policy skip within the grace fires", [wait("w1", "1d", "m1"), msg("m1", "m2", late={"policy": "skip", "grace": "1h"}), msg("m2")],
        [st(T10, ENTER), st(t(3, "10:30:00"), effects=[E("m1"), E("m2")])]),
    one("late policy exit", [wait("w1", "1d", "m1"), msg("m1", "m2", late={"policy": "exit"}), msg("m2")],
        [st(T10, ENTER), st(t(3, "10:00:01"), effects=[], notices=[N("exited", node="m1", reason="late")], instances=[])]),
    one("late policy skip on a wait continues past it",
        [wait("w1", "1d", "w2"), wait("w2", "1d", "m", late={"policy": "skip"}), msg("m")],
        [st(T10, ENTER), st(t(3, "11:00:00"), effects=[E("m", at=t(3, "10:00:00"))])]),
    one("clock going back is clamped, never replayed", [wait("w", "1h", "m"), msg("m")],
        [st(T10, ENTER),
         st(t(2, "09:00:00"), effects=[], notices=[N("clock_clamped", at=T10)], state={"last_now": T10}),
         st(t(2, "11:00:00"), effects=[E("m", at=t(2, "11:00:00"))])]),
    one("a late-delivered event before the timeout wins", waitev,
        [st(T10, ENTER), st(t(4, "00:00:00"), ev("r1", "message_replied", t(2, "20:00:00")), effects=[E("thanks", at=t(2, "20:00:00"))])]),
    one("a late-delivered event after the timeout loses", waitev,
        [st(T10, ENTER), st(t(4, "00:00:00"), ev("r1", "message_replied", t(3, "12:00:00")), effects=[E("nudge", at=t(3, "10:00:00"))])]),
    one("an event stamped after now is applied at now", [wait("w", "1h", "m"), msg("m")],
        [st(T10, ev("e1", "friend_added", t(2, "18:00:00")), notices=[N("entered", at=T10)], next_wake=t(2, "11:00:00"))]),
    one("duplicate event id is ignored", [msg("m")],
        [st(T10, ENTER, effects=[E("m", id="j#1/m/1")]),
         st(t(2, "11:00:00"), ev("e1", "friend_added", t(2, "11:00:00")), effects=[], notices=[N("duplicate", detail="e1")]),
         st(t(2, "12:00:00"), ev("e2", "friend_added", t(2, "12:00:00")), effects=[E("m", id="j#2/m/1")])],
        jkw={"reentry": {"mode": "cooldown", "cooldown": "0s"}}),
    case("de-duplication window is bounded", journeys=[J("j", [msg("m")], reentry={"mode": "cooldown", "cooldown": "0s"})],
         policies={"dedup_window": 2},
         steps=[st(T10, ENTER, effects=[E("m")]),
                st(t(2, "10:01:00"), ev("e2", "friend_added", t(2, "10:01:00")), effects=[E("m")]),
                st(t(2, "10:02:00"), ev("e3", "friend_added", t(2, "10:02:00")), effects=[E("m")], state={"seen": ["e2", "e3"]}),
                st(t(2, "10:03:00"), ev("e1", "friend_added", t(2, "10:03:00")), effects=[E("m", id="j#4/m/1")])]),
    R("same-instant effects follow journey priority",
      [J("low", [msg("m")], priority=1), J("high", [msg("m")], priority=9)],
      [st(T10, ENTER, effects=[E("m", journey="high"), E("m", journey="low")])]),
    R("next wake-up is the earliest across journeys",
      [J("a", [wait("w", "3d", "m"), msg("m")]), J("b", [wait("w", "5h", "m"), msg("m")])],
      [st(T10, ENTER, next_wake=t(2, "15:00:00"))]),
]
total += write("time.json", "Absolute deadlines, late calls and late policies, the clock going back, late events, "
                            "duplicates, ordering.", time_cases, schema=SCHEMA, profile=PROFILE)

# ---------------------------------------------------------------- policies
QH = {"quiet_hours": {"start": "21:00", "end": "08:00"}}
pol = [
    one("no consent: suppressed, the flow continues", [msg("m", "tg"), node("tg", "tags", add=["x"])],
        [st(T10, ENTER, effects=[E("tg", "update_tags")],
            notices=[N("entered"), N("suppressed", node="m", reason="no_consent", detail="wechat/m"), N("completed")])],
        profile={"id": "u1"}),
    one("consent revoked before the send time", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ENTER), st(t(3, "10:00:00"), effects=[], notices=[N("suppressed", reason="no_consent"), N("completed")])],
        profile={"id": "u1", "consents": [
            {"channel": "wechat", "purpose": "marketing", "status": "granted", "at": "2026-01-01T00:00:00Z"},
            {"channel": "wechat", "purpose": "marketing", "status": "revoked", "at": t(2, "12:00:00")}]}),
    one("consent for another purpose does not count", [msg("m", purpose="marketing")],
        [st(T10, ENTER, effects=[], notices=[N("entered"), N("suppressed", reason="no_consent"), N("completed")])],
        profile={"id": "u1", "consents": GRANT("wechat", purpose="service")}),
    one("consent is checked before quiet hours", [msg("m")],
        [st(t(2, "22:00:00"), ev("e1", "friend_added", t(2, "22:00:00")),
            notices=[N("entered"), N("suppressed", reason="no_consent"), N("completed")])],
        profile={"id": "u1"}, policies=QH),
    one("quiet hours defer to their end, same effect id", [msg("m")],
        [st(t(2, "22:00:00"), ev("e1", "friend_added", t(2, "22:00:00")), effects=[],
            notices=[N("entered"), N("deferred", node="m", reason="quiet_hours", until=t(3, "08:00:00"))],
            next_wake=t(3, "08:00:00"), instances=[{"node": "m", "due": t(3, "08:00:00")}]),
         st(t(3, "08:00:00"), effects=[E("m", id="j#1/m/1", at=t(3, "08:00:00"))])],
        policies=QH),
    one("quiet hours in the morning part", [msg("m")],
        [st(t(3, "06:00:00"), ev("e1", "friend_added", t(3, "06:00:00")), next_wake=t(3, "08:00:00"))], policies=QH),
    one("quiet hours drop", [msg("m", "tg"), node("tg", "tags", add=["x"])],
        [st(t(2, "22:00:00"), ev("e1", "friend_added", t(2, "22:00:00")), effects=[E("tg", "update_tags")],
            notices=[N("entered"), N("suppressed", reason="quiet_hours"), N("completed")])],
        policies={"quiet_hours": {"start": "21:00", "end": "08:00", "mode": "drop"}}),
    one("quiet hours limited to other channels", [msg("m")],
        [st(t(2, "22:00:00"), ev("e1", "friend_added", t(2, "22:00:00")), effects=[E("m")])],
        policies={"quiet_hours": {"start": "21:00", "end": "08:00", "channels": ["sms"]}}),
    one("quiet hours in the user's zone", [msg("m")],
        [st(t(2, "14:00:00"), ev("e1", "friend_added", t(2, "14:00:00")), next_wake=t(3, "00:00:00"))],
        profile={**PROFILE, "time_zone": "Asia/Shanghai"}, policies=QH),
    one("per-day cap per channel", [msg("m1", "w1"), wait("w1", "1h", "m2"), msg("m2", "w2"), wait("w2", "1d", "m3"), msg("m3")],
        [st(T10, ENTER, effects=[E("m1")]),
         st(t(2, "11:00:00"), effects=[], notices=[N("suppressed", node="m2", reason="frequency_cap", detail="wechat per_day 1")]),
         st(t(3, "11:00:00"), effects=[E("m3")])],
        policies={"caps": [{"channel": "wechat", "per_day": 1}]}),
    one("per-day cap counts calendar days in the user's zone", [msg("m1", "w1"), wait("w1", "2h", "m2"), msg("m2")],
        [st(t(2, "15:00:00"), ev("e1", "friend_added", t(2, "15:00:00")), effects=[E("m1")]),
         st(t(2, "17:00:00"), effects=[E("m2")])],
        profile={**PROFILE, "time_zone": "+08:00"}, policies={"caps": [{"channel": "*", "per_day": 1}]}),
    one("per-day cap on another channel does not apply", [msg("m1", "m2"), msg("m2", channel="sms")],
        [st(T10, ENTER, effects=[E("m1"), E("m2", channel="sms")])],
        policies={"caps": [{"channel": "wechat", "per_day": 1}]}),
    one("rolling window cap", [msg("m1", "w1"), wait("w1", "23h", "m2"), msg("m2", "w2"), wait("w2", "1h", "m3"), msg("m3")],
        [st(T10, ENTER, effects=[E("m1")]),
         st(t(3, "09:00:00"), effects=[], notices=[N("suppressed", node="m2", reason="frequency_cap", detail="* 24h max 1")]),
         st(t(3, "10:00:00"), effects=[E("m3")])],
        policies={"caps": [{"channel": "*", "window": "24h", "max": 1}]}),
    R("caps are shared across journeys; priority goes first",
      [J("low", [msg("m")], priority=1), J("high", [msg("m")], priority=9)],
      [st(T10, ENTER, effects=[E("m", journey="high")],
          notices=[N("entered", journey="high"), N("completed", journey="high"), N("entered", journey="low"),
                   N("suppressed", journey="low", reason="frequency_cap"), N("completed", journey="low")])],
      policies={"caps": [{"channel": "*", "per_day": 1}]}),
    one("a failed delivery frees its cap slot", [msg("m1", "w"), wait("w", "1h", "m2"), msg("m2")],
        [st(T10, ENTER, effects=[E("m1", id="j#1/m1/1")], state={"sends": [{"channel": "wechat", "effect": "j#1/m1/1"}]}),
         st(t(2, "10:30:00"), {"type": "outcome", "effect": "j#1/m1/1", "status": "failed"}, effects=[]),
         st(t(2, "11:00:00"), effects=[E("m2")])],
        policies={"caps": [{"channel": "wechat", "per_day": 1}]}),
    one("a deferred message is capped when it is finally due", [msg("m1", "m2"), msg("m2")],
        [st(t(2, "22:00:00"), ev("e1", "friend_added", t(2, "22:00:00")), notices=[N("entered"), N("deferred", node="m1")]),
         st(t(3, "09:00:00"), effects=[E("m1", at=t(3, "08:00:00"))],
            notices=[N("suppressed", node="m2", reason="frequency_cap"), N("completed")])],
        policies={**QH, "caps": [{"channel": "*", "per_day": 1}]}),
]
total += write("policy.json", "Consent at send time, quiet hours (defer/drop, zone, channels), frequency caps "
                              "(calendar day, rolling window, shared across journeys), failed deliveries.",
               pol, schema=SCHEMA, profile=PROFILE)

# ---------------------------------------------------------------- re-entry and triggers
ONE = [msg("m")]
re = [
    one("once: a second trigger is refused", ONE,
        [st(T10, ENTER), st(t(3, "10:00:00"), ev("e2", "friend_added", t(3, "10:00:00")), effects=[],
                            notices=[N("entry_skipped", reason="once")])]),
    one("cooldown: refused within, allowed after", ONE,
        [st(T10, ENTER),
         st(t(3, "10:00:00"), ev("e2", "friend_added", t(3, "10:00:00")), notices=[N("entry_skipped", reason="cooldown")]),
         st(t(4, "10:00:00"), ev("e3", "friend_added", t(4, "10:00:00")), effects=[E("m", id="j#2/m/1")],
            state={"journeys": [{"journey": "j", "entries": 2, "last_entry": t(4, "10:00:00")}]})],
        jkw={"reentry": {"mode": "cooldown", "cooldown": "2d"}}),
    one("cooldown: refused while an instance is active", [wait("w", "5d")],
        [st(T10, ENTER), st(t(4, "10:00:00"), ev("e2", "friend_added", t(4, "10:00:00")),
                            notices=[N("entry_skipped", reason="active")])],
        jkw={"reentry": {"mode": "cooldown", "cooldown": "1d"}}),
    one("concurrent per key", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ev("p1", "purchase", T10, order_id="o1")),
         st(t(2, "11:00:00"), ev("p2", "purchase", t(2, "11:00:00"), order_id="o2"),
            instances=[{"key": "o1", "seq": 1}, {"key": "o2", "seq": 2}]),
         st(t(2, "12:00:00"), ev("p3", "purchase", t(2, "12:00:00"), order_id="o1"),
            notices=[N("entry_skipped", key="o1", reason="active")]),
         st(t(3, "11:00:00"), effects=[E("m", key="o1", id="j#1#o1/m/2"), E("m", key="o2", id="j#2#o2/m/2")])],
        jkw={"trigger": {"type": "event", "event": "purchase"}, "reentry": {"mode": "concurrent", "key": "order_id"}}),
    one("concurrent: an event without the key property is refused", ONE,
        [st(T10, ev("p1", "purchase", T10, amount=3.0), notices=[N("entry_skipped", reason="missing_key")])],
        jkw={"trigger": {"type": "event", "event": "purchase"}, "reentry": {"mode": "concurrent", "key": "order_id"}}),
    one("max entries", ONE,
        [st(T10, ENTER), st(t(2, "11:00:00"), ev("e2", "friend_added", t(2, "11:00:00")), effects=[E("m")]),
         st(t(2, "12:00:00"), ev("e3", "friend_added", t(2, "12:00:00")), effects=[],
            notices=[N("entry_skipped", reason="max_entries")])],
        jkw={"reentry": {"mode": "cooldown", "cooldown": "0s"}, "max_entries": 2}),
    one("explicit entry with a key", ONE,
        [st(T10, {"type": "enter", "journey": "j", "key": "k1"}, effects=[E("m", key="k1", id="j#1#k1/m/1")])],
        jkw={"trigger": {"type": "explicit"}, "reentry": {"mode": "concurrent"}}),
    one("explicit entry of an unknown journey is an error", ONE,
        [st(T10, {"type": "enter", "journey": "nope"}, expect_error={"code": "INVALID_ARGUMENT", "path": "input.journey"})],
        jkw={"trigger": {"type": "explicit"}}),
    one("a bad input is an error", ONE,
        [st(T10, {"type": "teleport"}, expect_error={"code": "INVALID_ARGUMENT"})]),
    one("an event of an undeclared name is an error", ONE,
        [st(T10, ev("x", "purchse", T10), expect_error={"code": "INVALID_EVENT", "suggestion": "purchase"})]),
    one("annual date trigger: the day before a birthday at 09:00", ONE,
        [st(T10, TICK, effects=[], next_wake=t(4, "09:00:00")),
         st(t(4, "12:00:00"), effects=[E("m", at=t(4, "09:00:00"))], notices=[N("entered", at=t(4, "09:00:00")), N("completed")],
            next_wake="2027-03-04T09:00:00Z")],
        profile={**PROFILE, "traits": {"birthday": "1990-03-05"}},
        jkw={"trigger": {"type": "date", "trait": "birthday", "offset": "-1d", "time": "09:00", "annual": True},
             "reentry": {"mode": "cooldown", "cooldown": "300d"}}),
    one("date trigger never fires for instants before the first input", ONE,
        [st(T10, TICK, effects=[], notices=[], next_wake="2027-02-28T09:00:00Z")],
        profile={**PROFILE, "traits": {"birthday": "1990-03-01"}},
        jkw={"trigger": {"type": "date", "trait": "birthday", "offset": "-1d", "time": "09:00", "annual": True}}),
    one("one-off date trigger from a timestamp trait", ONE,
        [st(T10, TICK, next_wake=t(3, "08:00:00")), st(t(3, "08:00:00"), effects=[E("m", at=t(3, "08:00:00"))]),
         st(t(9, "08:00:00"), effects=[], next_wake=None)],
        profile={**PROFILE, "traits": {"last_interaction_at": "2026-02-01T08:00:00Z"}},
        jkw={"trigger": {"type": "date", "trait": "last_interaction_at", "offset": "30d"}}),
]
total += write("reentry.json", "Entry triggers (event, explicit, date) and re-entry policies (once, cooldown, "
                               "concurrent per key, max entries).", re, schema=SCHEMA, profile=PROFILE)

# ---------------------------------------------------------------- the six examples
SH = {**PROFILE, "time_zone": "Asia/Shanghai"}
EXPOL = {"default_zone": "Asia/Shanghai", "quiet_hours": {"start": "22:00", "end": "08:00"},
         "caps": [{"channel": "*", "per_day": 3}]}


def X(name, journey, steps, **kw):
    return case(name, journeys=[load(journey)], steps=steps, **kw)


GJ = lambda i, ts, g="g1": ev(i, "group_joined", ts, group_id=g)
GM = lambda i, ts, g="g1": ev(i, "group_message", ts, group_id=g)
PV = lambda i, ts, c="children_furniture": ev(i, "page_viewed", ts, category=c)
MILK = lambda i, ts, o: ev(i, "purchase", ts, order_id=o, category="milk_powder", amount=199.0)
GA = "group_activation#1#g1/"
examples = [
    X("group activation: silent 3 days → red packet; speaks → converted", "group_activation",
      [st(t(2, "02:00:00"), GJ("j1", t(2, "02:00:00")),
          effects=[{"id": GA + "new_member_pack/1", "type": "send_message", "channel": "wechat_group",
                    "template": "new_member_pack", "purpose": "service", "key": "g1"}],
          next_wake=t(5, "02:00:00")),
       st(t(5, "02:00:00"), effects=[{"id": GA + "red_packet/3", "type": "call_host", "action": "send_red_packet",
                                      "params": {"amount_cny": 2}},
                                     {"id": GA + "red_packet_msg/4", "template": "red_packet_nudge"}],
          next_wake=t(9, "02:00:00")),
       st(t(6, "03:00:00"), GM("m1", t(6, "03:00:00")), notices=[N("converted", node="active", reason="active")],
          instances=[])]),
    X("group activation: silent 7 days → staff greeting (host called once, late)", "group_activation",
      [st(t(2, "02:00:00"), GJ("j1", t(2, "02:00:00"))),
       st(t(10, "00:00:00"), effects=[E("red_packet", "call_host", at=t(5, "02:00:00")),
                                      E("red_packet_msg", at=t(5, "02:00:00")),
                                      E("staff_greeting", "create_task", at=t(9, "02:00:00"), assignee="group_owner")],
          notices=[N("completed", node="done", at=t(9, "02:00:00"))])]),
    X("group activation: speaks at once → no nudges", "group_activation",
      [st(t(2, "02:00:00"), GJ("j1", t(2, "02:00:00"))),
       st(t(2, "03:00:00"), GM("m1", t(2, "03:00:00")), effects=[], notices=[N("converted", reason="active")])]),
    X("group activation: one instance per group", "group_activation",
      [st(t(2, "02:00:00"), GJ("j1", t(2, "02:00:00"))),
       st(t(2, "03:00:00"), GJ("j2", t(2, "03:00:00"), "g2"), effects=[E("new_member_pack", key="g2")],
          instances=[{"key": "g1"}, {"key": "g2"}])]),
    X("browse abandonment: enquiry converts", "browse_abandonment",
      [st(t(2, "02:00:00"), PV("v1", t(2, "02:00:00")), next_wake=t(3, "02:00:00")),
       st(t(2, "06:00:00"), ev("q1", "enquiry", t(2, "06:00:00"), category="children_furniture"),
          notices=[N("converted", node="wait_enquiry", reason="enquired")])]),
    X("browse abandonment: no enquiry, no interaction → designer plan", "browse_abandonment",
      [st(t(2, "02:00:00"), PV("v1", t(2, "02:00:00"))),
       st(t(3, "02:00:00"), effects=[E("inspiration", template="furniture_inspiration_pictures")]),
       st(t(4, "02:00:00"), effects=[E("designer_offer"), E("designer_task", "create_task", assignee="designer")],
          notices=[N("completed", node="done")])]),
    X("browse abandonment: reply after inspiration ends it", "browse_abandonment",
      [st(t(2, "02:00:00"), PV("v1", t(2, "02:00:00"))), st(t(3, "02:00:00")),
       st(t(3, "05:00:00"), ev("r1", "message_replied", t(3, "05:00:00")), effects=[], notices=[N("completed", node="done")])]),
    X("browse abandonment: other categories do not enter; cooldown 7 days", "browse_abandonment",
      [st(t(2, "02:00:00"), PV("v0", t(2, "02:00:00"), "sofas"), notices=[]),
       st(t(2, "03:00:00"), PV("v1", t(2, "03:00:00")), notices=[N("entered")]),
       st(t(2, "04:00:00"), ev("q1", "enquiry", t(2, "04:00:00"))),
       st(t(5, "04:00:00"), PV("v2", t(5, "04:00:00")), notices=[N("entry_skipped", reason="cooldown")])]),
    X("win-back: 30 days quiet → care at noon on a workday → reply converts", "win_back",
      [st(t(2, "00:00:00"), TICK, next_wake=t(3, "02:00:00")),
       st(t(3, "02:00:00"), notices=[N("entered", at=t(3, "02:00:00"))], next_wake=t(3, "04:00:00")),
       st(t(3, "04:00:00"), effects=[E("care_msg", template="care_about_last_purchase")], next_wake=t(6, "04:00:00")),
       st(t(4, "01:00:00"), ev("r1", "message_replied", t(4, "01:00:00")), notices=[N("converted", node="replied", reason="replied")])],
      profile={**SH, "traits": {"last_interaction_at": "2026-02-01T02:00:00Z"}}),
    X("win-back: no reply → coupon granted → coupon message", "win_back",
      [st(t(2, "00:00:00")), st(t(3, "04:00:00"), effects=[E("care_msg", at=t(3, "04:00:00"))]),
       st(t(6, "04:00:00"), effects=[{"id": "win_back#1/grant_coupon/4", "type": "call_host", "action": "grant_coupon"}],
          next_wake=t(6, "05:00:00")),
       st(t(6, "04:10:00"), {"type": "outcome", "effect": "win_back#1/grant_coupon/4", "status": "delivered"},
          effects=[E("coupon_msg", template="exclusive_coupon", at=t(6, "04:10:00"))], notices=[N("completed")])],
      profile={**SH, "traits": {"last_interaction_at": "2026-02-01T02:00:00Z"}}),
    X("win-back: coupon grant fails → task for CRM ops", "win_back",
      [st(t(2, "00:00:00")), st(t(6, "04:00:00")),
       st(t(6, "04:10:00"), {"type": "outcome", "effect": "win_back#1/grant_coupon/4", "status": "failed"},
          effects=[E("coupon_failed", "create_task", assignee="crm_ops")])],
      profile={**SH, "traits": {"last_interaction_at": "2026-02-01T02:00:00Z"}}),
    X("win-back: a purchase converts", "win_back",
      [st(t(2, "00:00:00")), st(t(3, "04:00:00")),
       st(t(3, "09:00:00"), MILK("p1", t(3, "09:00:00"), "o1"), notices=[N("converted", node="wait_reply", reason="purchased")])],
      profile={**SH, "traits": {"last_interaction_at": "2026-02-01T02:00:00Z"}}),
    X("replenishment: day 3 noon tips, day 7 probiotics, day 15 consultant", "replenishment",
      [st(t(2, "02:00:00"), MILK("p1", t(2, "02:00:00"), "o1"), next_wake=t(5, "02:00:00")),
       st(t(5, "02:00:00"), effects=[], next_wake=t(5, "04:00:00")),
       st(t(5, "04:00:00"), effects=[E("bottle_tips", purpose="service", id="replenishment#1#o1/bottle_tips/3")],
          next_wake=t(9, "04:00:00")),
       st(t(9, "04:00:00"), effects=[E("probiotics")], next_wake=t(17, "04:00:00")),
       st(t(17, "04:00:00"), effects=[E("consultant", "create_task")], notices=[N("completed")])]),
    X("replenishment: one late call within the grace fires everything due", "replenishment",
      [st(t(2, "02:00:00"), MILK("p1", t(2, "02:00:00"), "o1")),
       st(t(10, "00:00:00"), effects=[E("bottle_tips", at=t(5, "04:00:00")), E("probiotics", at=t(9, "04:00:00"))],
          next_wake=t(17, "04:00:00"))]),
    X("replenishment: probiotics skipped when more than a day late", "replenishment",
      [st(t(2, "02:00:00"), MILK("p1", t(2, "02:00:00"), "o1")),
       st(t(12, "00:00:00"), effects=[E("bottle_tips", at=t(5, "04:00:00"))],
          notices=[N("skipped", node="probiotics", reason="late")])]),
    X("replenishment: a weekend day 3 waits for Monday noon", "replenishment",
      [st(t(5, "02:00:00"), MILK("p1", t(5, "02:00:00"), "o1")), st(t(8, "02:00:00"), next_wake=t(9, "04:00:00"))]),
    X("replenishment: repurchase converts the first order, the second starts", "replenishment",
      [st(t(2, "02:00:00"), MILK("p1", t(2, "02:00:00"), "o1")),
       st(t(4, "02:00:00"), MILK("p2", t(4, "02:00:00"), "o2"),
          notices=[N("converted", key="o1", reason="repurchased"), N("entered", key="o2")], instances=[{"key": "o2", "seq": 2}]),
       st(t(4, "03:00:00"), ev("p3", "purchase", t(4, "03:00:00"), order_id="o3", category="toys"), notices=[])]),
]
total += write("examples.json", "The example journeys of DOMAIN.md §5 (core/journeys/*.json) stepped through; welcome "
                                "and churn warning use rules and are in rules.json.",
               examples, schema=SCHEMA, profile=SH, policies=EXPOL)

# ---------------------------------------------------------------- journeys with rules
rules = [
    X("welcome: benefit claimed → live class; clicked milk content → consultation", "welcome",
      [st(t(2, "02:00:00"), ev("f1", "friend_added", t(2, "02:00:00")),
          effects=[E("welcome_msg", template="welcome_ebook", purpose="service"), E("tag_new", "update_tags", add=["new_user"])],
          next_wake=t(9, "02:00:00")),
       st(t(4, "02:00:00"), ev("b1", "benefit_claimed", t(4, "02:00:00")), effects=[]),
       st(t(9, "02:00:00"), effects=[E("live_invite", template="live_class_invite")], next_wake=t(23, "02:00:00")),
       st(t(12, "02:00:00"), ev("c1", "content_clicked", t(12, "02:00:00"), category="milk_powder")),
       st(t(23, "02:00:00"), effects=[E("consult_invite"), E("consult_task", "create_task", assignee="nutrition_consultant")],
          notices=[N("completed", node="done")])]),
    X("welcome: no benefit claimed → reminder; no milk clicks → done", "welcome",
      [st(t(2, "02:00:00"), ev("f1", "friend_added", t(2, "02:00:00"))),
       st(t(9, "02:00:00"), effects=[E("benefit_reminder"), E("live_invite")]),
       st(t(23, "02:00:00"), effects=[], notices=[N("completed", node="done")])]),
    X("welcome: milk clicks older than 14 days do not count", "welcome",
      [st(t(2, "02:00:00"), ev("f1", "friend_added", t(2, "02:00:00"))),
       st(t(3, "02:00:00"), ev("c1", "content_clicked", t(3, "02:00:00"), category="milk_powder")),
       st(t(23, "02:00:00"), effects=[E("benefit_reminder"), E("live_invite")], notices=[N("completed", node="done")])]),
    X("welcome: unsubscribing exits", "welcome",
      [st(t(2, "02:00:00"), ev("f1", "friend_added", t(2, "02:00:00"))),
       st(t(3, "02:00:00"), ev("u1", "unsubscribed", t(3, "02:00:00")), notices=[N("exited", reason="exit:unsubscribed")])]),
    X("churn warning: entering the segment → bot → staff → manager call", "churn_warning",
      [st(t(2, "02:00:00"), {"type": "profile_changed"}, notices=[]),
       st(t(2, "03:00:00"), {"type": "profile_changed"}, profile={**SH, "scores": {"churn_risk": 0.8}},
          effects=[E("level1_bot", template="bot_care", purpose="service")], state={"journeys": [{"in_segment": True}]}),
       st(t(4, "03:00:00"), effects=[E("level2_staff", "create_task", assignee="store_staff")]),
       st(t(7, "03:00:00"), effects=[E("level3_manager", "create_task", assignee="store_manager")], notices=[N("completed")])]),
    X("churn warning: a reply stops the escalation", "churn_warning",
      [st(t(2, "03:00:00"), {"type": "profile_changed"}, effects=[E("level1_bot")]),
       st(t(3, "03:00:00"), ev("r1", "message_replied", t(3, "03:00:00")), notices=[N("exited", reason="exit:replied")]),
       st(t(9, "03:00:00"), effects=[])],
      profile={**SH, "scores": {"churn_risk": 0.9}}),
    X("churn warning: staying in the segment does not re-enter", "churn_warning",
      [st(t(2, "03:00:00"), {"type": "profile_changed"}, notices=[N("entered"), ]),
       st(t(2, "04:00:00"), {"type": "profile_changed"}, notices=[])],
      profile={**SH, "scores": {"churn_risk": 0.9}}),
    one("split_rule on a trait", [node("s", "split_rule", rule="city = \"Hangzhou\"", on_true="hz", on_false="other"),
                                  msg("hz"), msg("other")],
        [st(T10, ENTER, effects=[E("hz")])], profile={**PROFILE, "traits": {"city": "Hangzhou"}}),
    one("split_rule: unknown (missing trait) takes on_false",
        [node("s", "split_rule", rule="city = \"Hangzhou\"", on_true="hz", on_false="other"), msg("hz"), msg("other")],
        [st(T10, ENTER, effects=[E("other")])]),
    one("split_multi: first matching branch wins",
        [node("s", "split_multi", branches=[{"rule": "city = \"Beijing\"", "next": "bj"},
                                            {"rule": "city exists", "next": "any"}], default="none"),
         msg("bj"), msg("any"), msg("none")],
        [st(T10, ENTER, effects=[E("any")])], profile={**PROFILE, "traits": {"city": "Hangzhou"}}),
    one("split_multi: default when nothing matches",
        [node("s", "split_multi", branches=[{"rule": "city = \"Beijing\"", "next": "bj"}], default="none"),
         msg("bj"), msg("none")],
        [st(T10, ENTER, effects=[E("none")])]),
    one("split_rule sees event inputs in its windows",
        [wait("w", "1d", "s"), node("s", "split_rule", rule="count(benefit_claimed, within 7d) >= 1", on_true="y", on_false="n"),
         msg("y"), msg("n")],
        [st(T10, ENTER), st(t(2, "12:00:00"), ev("b1", "benefit_claimed", t(2, "12:00:00"))),
         st(t(3, "10:00:00"), effects=[E("y")])]),
    one("exit criterion as a rule, checked on wake-up", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ENTER), st(t(3, "10:00:00"), profile={**PROFILE, "traits": {"city": "Hangzhou"}}, effects=[],
                            notices=[N("exited", node="w", reason="exit:moved", at=t(3, "10:00:00"))])],
        jkw={"exit": [{"id": "moved", "rule": "city = \"Hangzhou\""}]}),
    one("goal as a rule, checked on input", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ENTER), st(t(2, "11:00:00"), {"type": "profile_changed"}, profile={**PROFILE, "scores": {"ltv": 500}},
                            notices=[N("converted", reason="valuable")])],
        jkw={"goals": [{"id": "valuable", "rule": "score(\"ltv\") >= 100"}]}),
    case("a rule syntax error is reported with the journey path", op="run",
         journeys=[J("j", [node("s", "split_rule", rule="count(purchase >= ", on_true="m", on_false="m"), msg("m")])],
         expect_error={"code": "RULE_SYNTAX", "path": "journeys[0].nodes[0].rule"}),
    case("a rule naming an unknown trait is reported", op="engine",
         journeys=[J("j", [node("s", "split_rule", rule="ctiy = \"x\"", on_true="m", on_false="m"), msg("m")])],
         expect_error={"code": "UNKNOWN_TRAIT", "suggestion": "city"}),
    case("engine reports worst-case messages per day of all six examples", op="engine",
         journeys=[load(n) for n in ["welcome", "group_activation", "browse_abandonment", "win_back", "replenishment",
                                     "churn_warning"]],
         expect={"reports": {"welcome": {"max_messages_per_day": 2}, "group_activation": {"max_messages_per_day": 1},
                             "browse_abandonment": {"max_messages_per_day": 1}, "win_back": {"max_messages_per_day": 1},
                             "replenishment": {"max_messages_per_day": 1}, "churn_warning": {"max_messages_per_day": 1}}}),
    case("two versions of one journey with the same number are rejected", op="engine",
         journeys=[J("j", [msg("m")]), J("j", [msg("m")])], expect_error={"code": "DUPLICATE_NAME", "path": "journeys[1]"}),
]
total += write("rules.json", "Journeys whose splits, criteria and segment triggers use the rule language: the "
                             "welcome and churn-warning examples, rule/multi-way splits, rule goals and exits.",
               rules, schema=SCHEMA, profile=SH, policies=EXPOL)

# ---------------------------------------------------------------- state encodings


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v == 0:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def bstr(x):
    b = x.encode()
    return varint(len(b)) + b


def secs(ts):
    import datetime
    return int(datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())


def bts(ts):  # whole seconds only here
    s = secs(ts)
    z = (s << 1) ^ (s >> 63)
    return varint(z << 1)


def bdelta(a, b):
    d = secs(b) - secs(a)
    z = (d << 1) ^ (d >> 63)
    return varint(z << 1)


def inst_body(i):
    b = bstr(i["journey"]) + varint(i["version"]) + bstr(i.get("key", "")) + varint(i["seq"]) + bts(i["entered_at"])
    b += bstr(i["node"]) + bdelta(i["entered_at"], i["since"])
    flags = (1 if i.get("armed") else 0) | (2 if "due" in i else 0) | (4 if "pending" in i else 0)
    b += bytes([flags])
    if "due" in i:
        b += bdelta(i["since"], i["due"])
    b += varint(i["steps"])
    if "pending" in i:
        b += bstr(i["pending"])
    return b


def opt_ts(x):
    return b"\x00" if x is None else b"\x01" + bts(x)


def state_bytes(s):
    b = b"U\x01" + opt_ts(s.get("last_now"))
    b += varint(len(s.get("seen", []))) + b"".join(bstr(x) for x in s.get("seen", []))
    js = s.get("journeys", [])
    b += varint(len(js))
    for r in js:
        b += bstr(r["journey"]) + varint(r["entries"]) + opt_ts(r.get("last_entry")) + bytes([1 if r.get("in_segment") else 0])
        b += opt_ts(r.get("last_date")) + varint(len(r.get("assignments", [])))
        for n, br in r.get("assignments", []):
            b += bstr(n) + bstr(br)
    b += varint(len(s.get("instances", []))) + b"".join(inst_body(i) for i in s.get("instances", []))
    b += varint(len(s.get("sends", [])))
    for x in s.get("sends", []):
        b += bts(x["at"]) + bstr(x["channel"]) + bstr(x["effect"])
    return b


INST = {"journey": "welcome", "version": 1, "seq": 1, "entered_at": "2026-03-01T08:00:00Z", "node": "wait_7d",
        "since": "2026-03-01T08:00:00Z", "due": "2026-03-08T08:00:00Z", "armed": True, "steps": 3}
INST2 = {"journey": "replenishment", "version": 2, "key": "o-12345", "seq": 4, "entered_at": "2026-03-01T08:00:00Z",
         "node": "grant", "since": "2026-03-02T08:00:00Z", "due": "2026-03-02T09:00:00Z", "armed": True, "steps": 7,
         "pending": "replenishment#4#o-12345/grant/7"}
FULL = {"format": 1, "last_now": "2026-03-02T08:00:00Z", "seen": ["e1", "e2"],
        "journeys": [{"journey": "welcome", "entries": 1, "last_entry": "2026-03-01T08:00:00Z",
                      "assignments": [["ab", "b"]]},
                     {"journey": "churn_warning", "entries": 0, "in_segment": True}],
        "instances": [INST, INST2],
        "sends": [{"at": "2026-03-01T08:00:00Z", "channel": "wechat", "effect": "welcome#1/welcome_msg/1"}]}
EMPTY = {"format": 1}
enc = [
    case("empty state", op="encode", state=EMPTY, expect={"bytes_hex": state_bytes(EMPTY).hex(), "size": 7}),
    case("typical instance is compact", op="encode", state={"format": 1, "instances": [INST]},
         expect={"instances": [{"bytes_hex": (b"J\x01" + inst_body(INST)).hex(), "size": len(inst_body(INST)) + 2}]}),
    case("full state", op="encode", state=FULL,
         expect={"bytes_hex": state_bytes(FULL).hex(), "json": FULL,
                 "instances": [{"bytes_hex": (b"J\x01" + inst_body(INST)).hex()},
                               {"bytes_hex": (b"J\x01" + inst_body(INST2)).hex()}]}),
    case("frozen v1 blob decodes", op="decode", bytes_hex=state_bytes(FULL).hex(), expect={"json": FULL}),
    case("unsupported binary version", op="decode", bytes_hex="5509000000000000", expect_error={"code": "INVALID_STATE"}),
    case("truncated blob", op="decode", bytes_hex=state_bytes(FULL).hex()[:-6], expect_error={"code": "INVALID_STATE"}),
    case("trailing bytes", op="decode", bytes_hex=state_bytes(EMPTY).hex() + "00", expect_error={"code": "INVALID_STATE"}),
    case("not a state blob", op="decode", bytes_hex="4a0100", expect_error={"code": "INVALID_STATE"}),
    case("unsupported JSON format", op="encode", state={"format": 99}, expect_error={"code": "INVALID_STATE", "path": "format"}),
    case("JSON state with an unknown field", op="encode", state={"format": 1, "bogus": 1}, expect_error={"code": "INVALID_STATE"}),
]
total += write("state.json", "State encodings: the binary layout (docs/journeys.md) byte for byte, and the JSON form.", enc)

# ---------------------------------------------------------------- versions and migration
# only_v1 is reachable only through a zero-weight branch, so instances can sit there in tests
V1 = J("j", [node("s", "split_random", branches=[{"name": "x", "weight": 1, "next": "m1"}, {"name": "y", "weight": 0, "next": "only_v1"}]),
             msg("m1", "wait_a"), wait("wait_a", "2d", "m2"), msg("m2"), wait("only_v1", "1d")])
V2 = J("j", [msg("m1", "wait_b"), wait("wait_b", "2d", "m3"), msg("m3")], version=2)
AT_WAIT = {"journey": "j", "version": 1, "seq": 1, "entered_at": T10, "node": "wait_a", "since": T10,
           "due": t(4, "10:00:00"), "armed": True, "steps": 3}
AT_ONLY = {**AT_WAIT, "node": "only_v1", "key": "k2", "seq": 2, "due": t(3, "10:00:00")}
S1 = {"format": 1, "last_now": T10, "instances": [AT_WAIT]}
MAP = {"journey": "j", "from_version": 1, "to_version": 2, "nodes": {"wait_a": "wait_b"}}
mig = [
    case("dry run reports who would move where and changes nothing", op="migrate", state=S1, map=MAP, dry_run=True,
         expect={"moves": [{"seq": 1, "from_node": "wait_a", "to_node": "wait_b"}], "state": {"instances": [{"version": 1, "node": "wait_a"}]}}),
    case("same wait type keeps the deadline", op="migrate", state=S1, map=MAP,
         expect={"state": {"instances": [{"version": 2, "node": "wait_b", "due": t(4, "10:00:00"), "armed": True}]}}),
    case("another node type runs at the next step", op="migrate", state=S1,
         map={**MAP, "nodes": {"wait_a": "m3"}},
         expect={"state": {"instances": [{"version": 2, "node": "m3", "due": t(3, "00:00:00"), "armed": None}]}}),
    case("a node without counterpart: the dry run says so", op="migrate",
         state={"format": 1, "instances": [AT_WAIT, AT_ONLY]}, map=MAP, dry_run=True,
         expect={"moves": [{"to_node": "wait_b"}, {"from_node": "only_v1", "to_node": None,
                                                   "problem": "node `only_v1` has no counterpart in version 2"}]}),
    case("a node without counterpart: applying fails, nothing moves", op="migrate",
         state={"format": 1, "instances": [AT_WAIT, AT_ONLY]}, map=MAP,
         expect_error={"code": "INVALID_ARGUMENT", "path": "nodes.only_v1"}),
    case("a map naming an unknown new node is rejected", op="migrate", state=S1,
         map={**MAP, "nodes": {"wait_a": "nope"}}, expect_error={"code": "INVALID_ARGUMENT", "path": "nodes.wait_a"}),
    case("migrating to a version that is not loaded", op="migrate", state=S1,
         map={**MAP, "to_version": 3}, expect_error={"code": "INVALID_ARGUMENT", "path": "to_version"}),
    R("a pinned instance continues on its version while new users get the latest", [V1, V2],
      [st(t(2, "11:00:00"), ev("e9", "friend_added", t(2, "11:00:00")), effects=[],
          notices=[N("entry_skipped", reason="once")]),
       st(t(4, "10:00:00"), effects=[E("m2")])],
      state={**S1, "journeys": [{"journey": "j", "entries": 1}]}),
    R("new entries use the latest version", [V1, V2],
      [st(T10, ENTER, effects=[E("m1")], instances=[{"version": 2, "node": "wait_b"}])]),
    R("a migrated instance wakes on its new node", [V1, V2],
      [st(t(4, "10:00:00"), effects=[E("m3", at=t(4, "10:00:00"))])],
      state={"format": 1, "last_now": T10, "instances": [{**AT_WAIT, "version": 2, "node": "wait_b"}]}),
    R("an instance pinned to an unloaded version is an error", [V2],
      [st(T10, TICK, expect_error={"code": "INVALID_STATE"})], state=S1),
]
total += write("migrate.json", "Definition versions: pinning, migration maps, dry runs.", mig,
               journeys=[V1, V2], schema=SCHEMA, profile=PROFILE, now=t(3, "00:00:00"))

# ---------------------------------------------------------------- where (rule-language event filters)
WHERE_PROFILE = {**PROFILE, "traits": {"city": "Hangzhou"}}


def W(name, journey, reason=None, path=None, code="INVALID_MODEL", schema=True, **kw):
    """A validation case with the shared schema (or none)."""
    extra = {"schema": SCHEMA} if schema else {}
    if path is None:
        return case(name, op="validate", journey=journey, **extra, **kw)
    err = {"code": code, "path": path}
    if reason:
        err["reason"] = reason
    err.update(kw)
    return case(name, op="validate", journey=journey, expect_error=err, **extra)


def PT(w):
    return {"type": "event", "event": "purchase", "where": w}


wh = [
    one("where: and / in on the entry trigger", [msg("m")],
        [st(T10, ev("p1", "purchase", T10, amount=50.0, category="toys"), effects=[], notices=[]),
         st(t(2, "11:00:00"), ev("p2", "purchase", t(2, "11:00:00"), amount=150.0, category="books"), effects=[]),
         st(t(2, "12:00:00"), ev("p3", "purchase", t(2, "12:00:00"), amount=150.0, category="toys"),
            effects=[E("m")])],
        jkw={"trigger": PT('amount >= 100 and category in ["toys", "games"]')}),
    one("where: or and starts_with", [msg("m")],
        [st(T10, ev("p1", "purchase", T10, amount=50.0, category="toys"), effects=[]),
         st(t(2, "11:00:00"), ev("p2", "purchase", t(2, "11:00:00"), amount=10.0, category="milk_powder"),
            effects=[E("m")])],
        jkw={"trigger": PT('category starts_with "milk" or amount > 500')}),
    one("where: a comparison with a missing property is unknown and does not match, even negated", [msg("m")],
        [st(T10, ev("p1", "purchase", T10, category="toys"), effects=[], notices=[]),
         st(t(2, "11:00:00"), ev("p2", "purchase", t(2, "11:00:00"), amount=50.0), effects=[E("m")])],
        jkw={"trigger": PT("not (amount >= 100)")}),
    one("where: `is missing` tests absence", [msg("m")],
        [st(T10, ev("p1", "purchase", T10, amount=5.0), effects=[]),
         st(t(2, "11:00:00"), ev("p2", "purchase", t(2, "11:00:00"), category="toys"), effects=[E("m")])],
        jkw={"trigger": PT("amount is missing")}),
    one("where: trait.NAME reads the profile", [msg("m")],
        [st(T10, ev("p1", "purchase", T10, amount=5.0), effects=[]),
         st(t(2, "11:00:00"), ev("p2", "purchase", t(2, "11:00:00"), amount=5.0), profile=WHERE_PROFILE,
            effects=[E("m")])],
        jkw={"trigger": PT('trait.city = "Hangzhou" and amount > 0')}),
    one("where: integers compare with a float property",
        [msg("m")],
        [st(T10, ev("p1", "purchase", T10, amount=100.0), effects=[E("m")])],
        jkw={"trigger": PT("amount between 100 and 200")}),
    one("where: wait_event continues only on a matching event",
        [node("w", "wait_event", event="message_replied", where='channel = "sms"', timeout="72h",
              on_event="thanks", on_timeout="nudge"), msg("thanks"), msg("nudge")],
        [st(T10, ENTER), st(t(3, "10:00:00"), ev("r1", "message_replied", t(3, "10:00:00"), channel="wechat"),
                            effects=[], instances=[{"node": "w"}]),
         st(t(3, "11:00:00"), ev("r2", "message_replied", t(3, "11:00:00"), channel="sms"), effects=[E("thanks")])]),
    one("where: exit criterion", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ENTER),
         st(t(2, "11:00:00"), ev("p0", "purchase", t(2, "11:00:00"), category="toys"), notices=[],
            instances=[{"node": "w"}]),
         st(t(2, "12:00:00"), ev("p1", "purchase", t(2, "12:00:00"), category="milk_powder"),
            notices=[N("exited", node="w", reason="exit:bought_milk")], instances=[])],
        jkw={"exit": [{"id": "bought_milk", "event": "purchase", "where": 'category = "milk_powder"'}]}),
    one("where: goal criterion", [wait("w", "1d", "m"), msg("m")],
        [st(T10, ENTER),
         st(t(2, "11:00:00"), ev("p0", "purchase", t(2, "11:00:00"), amount=99.0), notices=[],
            instances=[{"node": "w"}]),
         st(t(2, "12:00:00"), ev("p1", "purchase", t(2, "12:00:00"), amount=100.0),
            notices=[N("converted", node="w", reason="big")], instances=[])],
        jkw={"goals": [{"id": "big", "event": "purchase", "where": "amount >= 100"}]}),
    R("where and the legacy filter document select the same events",
      [J("old", [msg("m")], trigger={"type": "event", "event": "purchase",
                                    "filter": {"amount": {"gte": 100}, "category": {"in": ["toys", "games"]}}}),
       J("new", [msg("m")], trigger=PT('amount >= 100 and category in ["toys", "games"]'))],
      [st(T10, ev("p1", "purchase", T10, amount=150.0, category="books"), effects=[]),
       st(t(2, "11:00:00"), ev("p2", "purchase", t(2, "11:00:00"), amount=150.0, category="games"),
          effects=[E("m", journey="new"), E("m", journey="old")])]),
    case("an engine is not built when a where names an unknown property",
         journeys=[J("j", [msg("m")], trigger=PT("amout >= 100"))],
         expect_error={"code": "UNKNOWN_PROPERTY", "path": "journeys[0].trigger.where", "suggestion": "amount",
                    "position": {"line": 1, "column": 1}}),
    W("where: valid with a schema", J("j", [msg("m")], trigger=PT("amount >= 100")),
      expect={"nodes": 1}),
    W("where: names are not checked without a schema", J("j", [msg("m")], trigger=PT("amout >= 100")),
      schema=False, expect={"nodes": 1}),
    W("where: syntax error with position", J("j", [msg("m")], trigger=PT("amount >= ")), None, "trigger.where",
      code="RULE_SYNTAX", position={"line": 1, "column": 11}),
    W("where: syntax error on a wait_event node, without a schema",
      J("j", [node("w", "wait_event", event="purchase", timeout="1d", where='category = "a" or or')]),
      None, "nodes[0].where", code="RULE_SYNTAX", schema=False, position={"line": 1, "column": 19}),
    W("where: unknown property with a suggestion",
      J("j", [msg("m")], trigger=PT('amount > 1 and categroy = "toys"')), None, "trigger.where",
      code="UNKNOWN_PROPERTY", suggestion="category", position={"line": 1, "column": 16}),
    W("where: unknown trait with a suggestion",
      J("j", [msg("m")], exit=[{"event": "purchase", "where": 'trait.cty = "x"'}]), None, "exit[0].where",
      code="UNKNOWN_TRAIT", suggestion="city"),
    W("where: a type mismatch", J("j", [msg("m")], trigger=PT('amount = "100"')), None, "trigger.where",
      code="TYPE_MISMATCH"),
    W("where: a filter must be a condition", J("j", [msg("m")], trigger=PT("amount")), None, "trigger.where",
      code="TYPE_MISMATCH"),
    W("where: aggregates are not allowed in an event filter",
      J("j", [msg("m")], goals=[{"event": "purchase", "where": "count(purchase) > 1"}]), None, "goals[0].where",
      code="TYPE_MISMATCH", schema=False, position={"line": 1, "column": 1}),
    W("where: not together with the legacy filter",
      J("j", [msg("m")], trigger={"type": "event", "event": "purchase", "where": "amount > 1",
                                  "filter": {"amount": {"gt": 1}}}), "invalid_field", "trigger.where"),
    W("where: only on an event criterion",
      J("j", [msg("m")], exit=[{"rule": "has_tag(\"x\")", "where": "amount > 1"}]), "invalid_field", "exit[0].where"),
]
for c in wh:
    if "op" not in c:
        c["schema"] = SCHEMA
total += write("where.json", "Event filters in the rule language (`where`): trigger, wait_event, goals and exit "
               "criteria; the legacy filter document; errors with code, path, position and suggestion.", wh,
               profile=PROFILE)

print(f"{total} journey cases")
