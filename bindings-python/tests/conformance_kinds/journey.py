"""Runner for ``journey`` vectors through the public ``siyu`` journey API.

Mirrors core/tests/conformance/journey.rs (format: conformance/README.md, section
``journey``). Run cases carry their expectations per step, so this kind checks
its cases itself: :func:`run_case` returns ``None`` on a pass, else why it failed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Dict, List, Optional

import siyu
from conformance_support import field, matches, tolerance

_REASON = re.compile(r"^([a-z_]+): ")


def error_json(err: siyu.SiyuError) -> Dict[str, Any]:
    """The error's JSON form plus ``reason``: the journey validation sub-code
    (the message prefix before ``": "`` when it is lower-case letters and ``_``)."""
    out = err.to_dict()
    m = _REASON.match(err.message)
    if m:
        out["reason"] = m.group(1)
    return out


def _check_error(expected: Any, err: siyu.SiyuError) -> Optional[str]:
    problem = matches(expected, error_json(err), 0.0, "error")
    return None if problem is None else f"{problem} (error was: {err})"


def _engine(file: Any, case: Any) -> siyu.JourneyEngine:
    return siyu.JourneyEngine(
        field(file, case, "journeys") or [],
        field(file, case, "schema") or {},
        field(file, case, "policies"),
    )


def _expect(file: Any, case: Any, actual: Any) -> Optional[str]:
    if "expect_error" in case:
        return f"expected error {json.dumps(case['expect_error'])}, got {json.dumps(actual)}"
    if "expect" not in case:
        return "case has neither expect nor expect_error"
    return matches(case["expect"], actual, tolerance(file, case), "expect")


def _event_is_valid(event: Any, schema: siyu.Schema) -> bool:
    try:
        siyu.EventLog.from_json([event], schema)
    except siyu.SiyuError:
        return False
    return True


def _run_steps(file: Any, case: Any) -> Optional[str]:
    if "steps" not in case:
        _engine(file, case)  # must fail: the caller checks expect_error
        return _expect(file, case, {})
    engine = _engine(file, case)
    schema = engine.schema
    tol = tolerance(file, case)
    profile: Any = field(file, case, "profile") or {"id": "u1"}
    history: List[Any] = list(field(file, case, "events") or [])
    state: Any = field(file, case, "state")
    for i, step in enumerate(case["steps"]):
        if "profile" in step:
            profile = step["profile"]
        inp = step.get("input") or {"type": "tick"}
        # As the Rust runner: a valid event input joins the history from now on,
        # even when the step itself then fails.
        if isinstance(inp, dict) and inp.get("type") == "event" and _event_is_valid(inp.get("event"), schema):
            history.append(inp["event"])
        try:
            r = engine.step(state, profile, history, inp, step["now"])
        except siyu.SiyuError as err:
            if "expect_error" not in step:
                return f"steps[{i}]: unexpected error: {err}"
            problem = _check_error(step["expect_error"], err)
            if problem:
                return f"steps[{i}]: {problem}"
            continue
        if "expect_error" in step:
            return f"steps[{i}]: expected an error, got success"
        assert isinstance(r.state, dict)
        # Invariants every runner checks: the state round-trips through the
        # binary form, and stepping from the binary form gives the same answer.
        packed = siyu.encode_journey_state(r.state)
        if siyu.decode_journey_state(packed) != r.state:
            return f"steps[{i}]: state does not round-trip through the binary form"
        if state is not None:
            rb = engine.step(siyu.encode_journey_state(state), profile, history, inp, step["now"])
            assert isinstance(rb.state, bytes)
            if (rb.effects, rb.notices, rb.next_wake) != (r.effects, r.notices, r.next_wake) or (
                siyu.decode_journey_state(rb.state) != r.state
            ):
                return f"steps[{i}]: stepping from the binary state answers differently"
        actual = {
            "effects": r.effects,
            "notices": r.notices,
            "next_wake": r.next_wake,
            "instances": r.state.get("instances", []),
            "state": r.state,
        }
        if "expect" in step:
            problem = matches(step["expect"], actual, tol, "expect")
            if problem:
                return f"steps[{i}]: {problem}"
        state = r.state
    return None


def _run(file: Any, case: Any) -> Optional[str]:
    op = field(file, case, "op") or "run"
    if op == "run":
        return _run_steps(file, case)
    if op == "validate":
        schema = field(file, case, "schema")
        report = siyu.validate_journey(case["journey"], schema)
        return _expect(file, case, dataclasses.asdict(report))
    if op == "engine":
        engine = _engine(file, case)
        reports = {k: dataclasses.asdict(v) for k, v in engine.reports().items()}
        return _expect(file, case, {"reports": reports})
    if op == "hash":
        version = case.get("version")
        h = siyu.bucket_hash(case["seed"], case["value"], 2 if version is None else int(version))
        return _expect(file, case, {"hash": h})
    if op == "encode":
        data = siyu.encode_journey_state(case["state"])
        canonical = siyu.decode_journey_state(data)
        if siyu.encode_journey_state(canonical) != data:
            return "binary round trip changed the state"
        instances = [
            {"bytes_hex": b.hex(), "size": len(b)}
            for b in siyu.journeys.encode_journey_instances(case["state"])
        ]
        return _expect(
            file,
            case,
            {"bytes_hex": data.hex(), "size": len(data), "instances": instances, "json": canonical},
        )
    if op == "decode":
        text = case["bytes_hex"]
        data = bytes.fromhex(text[: len(text) // 2 * 2])
        return _expect(file, case, {"json": siyu.decode_journey_state(data)})
    if op == "migrate":
        engine = _engine(file, case)
        m = engine.migrate(
            case["state"], case["map"], field(file, case, "now"), dry_run=bool(case.get("dry_run"))
        )
        return _expect(file, case, {"moves": m.moves, "state": m.state})
    return f"unknown journey op {op!r}"


def run_case(file: Any, case: Any) -> Optional[str]:
    """None when the case passes, else why it failed."""
    try:
        return _run(file, case)
    except siyu.SiyuError as err:
        if "expect_error" in case:
            return _check_error(case["expect_error"], err)
        return f"unexpected error: {err}"
    except Exception as err:  # a bug in the binding or the runner: report, keep going
        return f"raised {type(err).__name__}: {err}"
