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
