"""Runners for ``lifecycle`` and ``tags`` (core/tests/conformance/{lifecycle,tags}.rs)."""

from __future__ import annotations

from typing import Any, Dict, List

import siyu
from conformance_support import field

from .common import events, model, profile, req, schema


def run_lifecycle(file: Any, case: Any) -> Any:
    lc = siyu.Lifecycle(model(file, case), schema(file, case))
    op = field(file, case, "op") or "evaluate"
    zone = field(file, case, "default_zone")
    if op == "compile":
        return {"stages": lc.rule_names}
    if op == "evaluate":
        o = lc.evaluate(
            profile(file, case), events(file, case), req(file, case, "now"),
            previous=field(file, case, "previous"), default_zone=zone,
        )
        out = {k: o[k] for k in ("matched", "rule", "reason", "held", "transition")}
        out.update(stage=o["state"]["stage"], since=o["state"]["since"])
        return out
    if op == "replay":
        days = lc.replay(
            profile(file, case), events(file, case), req(file, case, "from"), req(file, case, "to"),
            default_zone=zone, initial=field(file, case, "initial"),
        )
        return {
            "stages": [d["stage"] for d in days],
            "transitions": [d["transition"] for d in days if d.get("transition") is not None],
            "days": days,
        }
    raise AssertionError(f"unknown lifecycle op {op!r}")


def run_tags(file: Any, case: Any) -> Any:
    sch = schema(file, case)
    tag_rules = field(file, case, "tag_rules")
    if tag_rules is None:
        raise AssertionError("case needs `tag_rules`")
    rules = siyu.TagRules(tag_rules, sch)
    current: Any = profile(file, case)
    evs = events(file, case)
    zone = field(file, case, "default_zone")
    steps = field(file, case, "steps")
    out: List[Dict[str, Any]] = []
    for now in steps if steps is not None else [req(file, case, "now")]:
        r = rules.apply(current, evs, now, zone)
        current = r["profile"]
        tags = current.get("tags") or []
        # Idempotence: a second application at the same instant changes nothing.
        again = rules.apply(current, evs, now, zone)
        current = again["profile"]
        empty = not any(again["diff"][k] for k in ("added", "removed", "expired"))
        out.append({**r["diff"], "tag_names": sorted(t["name"] for t in tags), "tags": tags, "reapply_empty": empty})
    return {"steps": out} if steps is not None else out[0]
