"""Runner for ``rfm`` (core/tests/conformance/rfm.rs) through ``siyu.rfm``."""

from __future__ import annotations

from typing import Any

import siyu
from conformance_support import field

from .common import events, profile, req, schema


def run(file: Any, case: Any) -> Any:
    op = field(file, case, "op") or ""
    if op == "values":
        return {"values": siyu.rfm.values(
            events(file, case), req(file, case, "now"),
            config=field(file, case, "config"), schema=schema(file, case),
        )}
    if op == "fit":
        return siyu.rfm.fit(req(file, case, "population"), field(file, case, "method") or "quantile")
    if op == "score":
        return {"scores": siyu.rfm.score(req(file, case, "thresholds"), req(file, case, "values"))}
    if op == "segment":
        return {"segment": siyu.rfm.segment(req(file, case, "scores"), field(file, case, "map"))}
    if op == "profile":
        sch = schema(file, case)
        evs = events(file, case)
        now = req(file, case, "now")
        out = siyu.rfm.apply(
            profile(file, case), evs, now, req(file, case, "thresholds"),
            config=field(file, case, "config"), map=field(file, case, "map"),
            group=field(file, case, "group"), schema=sch,
        )
        rules = field(file, case, "rules")
        if out.get("values") is not None and rules is not None:
            compiled = siyu.CompiledRuleSet(rules, sch)
            out["rules"] = compiled.evaluate(out["profile"], evs, now)
        return out
    raise AssertionError(f"unknown rfm op {op!r}")
