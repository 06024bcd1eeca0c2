"""Runner for ``points`` (core/tests/conformance/points.rs) through ``siyu.PointsModel``."""

from __future__ import annotations

from typing import Any, List, Optional

import siyu
from conformance_support import field

from .common import events, model, req, schema


def run(file: Any, case: Any) -> Any:
    m = siyu.PointsModel(model(file, case), schema(file, case))
    zone = field(file, case, "zone")
    if zone is not None:
        siyu.parse_zone(zone)  # the Rust runner reads the zone before any op
    op = field(file, case, "op") or ""
    if op == "model":
        return {"valid": True}
    if op == "ledger":
        ledger: Any = field(file, case, "ledger")
        step_errors: List[Optional[str]] = []
        for step in field(file, case, "steps") or []:
            try:
                if "event" in step:
                    ledger = m.apply_event(ledger, step["event"], zone)["ledger"]
                elif "redeem" in step:
                    ledger = m.redeem(ledger, step["redeem"], step["at"], step.get("reference") or "")["ledger"]
                elif "expire" in step:
                    ledger = m.expire(ledger, step["expire"])
                else:
                    raise AssertionError(f"unknown step {step!r}")
                step_errors.append(None)
            except siyu.SiyuError as err:
                step_errors.append(err.code)
        return {**m.summary(ledger, req(file, case, "now")), "step_errors": step_errors}
    if op == "events":
        now = req(file, case, "now")
        return m.summary(m.apply_events(None, events(file, case), now, zone), now)
    if op == "tier":
        evs = events(file, case)
        state: Any = field(file, case, "initial")
        ledger = None
        out = []
        for at in field(file, case, "evaluations") or []:
            ledger = m.apply_events(ledger, evs, at, zone)
            o = m.evaluate_tier(ledger, evs, at, state)
            out.append(o)
            state = o["state"]
        return {"evaluations": out}
    if op == "engagement":
        return {"score": m.engagement(events(file, case), req(file, case, "now"))}
    raise AssertionError(f"unknown points op {op!r}")
