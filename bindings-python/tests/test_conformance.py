"""Python conformance runner: runs the shared vectors through the public ``siyu`` API.

Prints ``conformance[python]: N passed, M failed`` (with ``, K skipped`` appended
when vectors of kinds not yet exposed in Python exist) and fails if M > 0.
Vector format: conformance/README.md.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Callable, Dict, Optional

import siyu
from conformance_support import field, load, matches, tolerance, vector_files


def _schema(file: Any, case: Any) -> siyu.Schema:
    return siyu.Schema.from_json(field(file, case, "schema") or {})


def _rules(doc: Any) -> siyu.RuleSet:
    return siyu.RuleSet.parse(doc) if isinstance(doc, str) else siyu.RuleSet.from_json(doc)


def _check_error(expected: Any, err: siyu.SiyuError) -> Optional[str]:
    problem = matches(expected, err.to_dict(), 0.0, "error")
    return None if problem is None else f"{problem} (error was: {err})"


def run_segment(file: Any, case: Any) -> Any:
    """Compiles the rules, evaluates the profile; returns memberships and requested explanations."""
    compiled = siyu.CompiledRuleSet(_rules(field(file, case, "rules")), _schema(file, case))
    profile = field(file, case, "profile") or {"id": "p"}
    events = field(file, case, "events") or []
    now = field(file, case, "now")
    zone = field(file, case, "default_zone")
    actual: Dict[str, Any] = dict(compiled.evaluate(profile, events, now, zone))
    wanted = _explain_spec(file, case)
    if wanted:
        actual["explain"] = {
            rule: dict(compiled.explain(profile, events, now, rule, zone)) for rule in wanted
        }
    return actual


def _explain_spec(file: Any, case: Any) -> Dict[str, Any]:
    # As the Rust runner: a case-level "explain" maps rule names to expected explanations.
    spec = case.get("explain")
    return dict(spec) if isinstance(spec, dict) else {}


def _segment_expected(file: Any, case: Any) -> Any:
    expect = dict(case["expect"])
    spec = _explain_spec(file, case)
    if spec:
        expect["explain"] = spec
    return expect


def run_rules_text(file: Any, case: Any) -> Any:
    """Parses ``text`` (or reads ``json``) and reports the AST JSON and canonical text,
    checking on the way that printing is lossless and stable (as the Rust runner does)."""
    text = field(file, case, "text")
    if text is not None:
        rules = siyu.RuleSet.parse(text)
    else:
        rules = siyu.RuleSet.from_json(field(file, case, "json"))
    printed = rules.to_text()
    again = siyu.RuleSet.parse(printed)
    if again.to_dict() != rules.to_dict():
        raise AssertionError(f"printed text parses to a different tree: {printed!r}")
    if again.to_text() != printed:
        raise AssertionError(f"printing is not stable: {printed!r}")
    expected_json = (case.get("expect") or {}).get("json")
    if expected_json is not None:
        described = siyu.RuleSet.from_json(expected_json)
        if described.to_dict() != rules.to_dict():
            raise AssertionError("expected json describes a different tree than the parsed one")
    return {"json": rules.to_dict(), "text": printed}


def _first(file: Any, case: Any, *keys: str) -> Any:
    for k in keys:
        v = field(file, case, k)
        if v is not None:
            return v
    return None


def run_error(file: Any, case: Any) -> Any:
    """Calls the operation named by ``op``; the caller checks ``expect_error``."""
    op = field(file, case, "op")
    if op == "parse_rules":
        doc = _first(file, case, "text", "rules")
        return _rules(doc).to_dict()
    if op == "compile":
        siyu.CompiledRuleSet(_rules(field(file, case, "rules")), _schema(file, case))
        return {}
    if op == "profile":
        return siyu.Profile.from_json(field(file, case, "profile"), _schema(file, case)).to_dict()
    if op == "events":
        return siyu.EventLog.from_json(field(file, case, "events"), _schema(file, case)).to_list()
    if op == "zone":
        return siyu.parse_zone(_first(file, case, "zone", "name"))
    if op == "explain":
        compiled = siyu.CompiledRuleSet(_rules(field(file, case, "rules")), _schema(file, case))
        rule = field(file, case, "rule") or ""
        return dict(compiled.explain({"id": "p"}, [], "2026-01-01T00:00:00Z", rule))
    if op == "schema":
        return siyu.Schema.from_json(field(file, case, "schema")).to_dict()
    raise AssertionError(f"unknown error op {op!r}")


RUNNERS: Dict[str, Callable[[Any, Any], Any]] = {
    "segment": run_segment,
    "rules_text": run_rules_text,
    "error": run_error,
}

# Kinds whose core API is not exposed in Python yet. Their vectors are counted
# and reported as skipped (never silently passed); unknown kinds fail.
NOT_YET_EXPOSED = {
    "merge", "erasure", "tags", "lifecycle", "rfm", "points", "clv", "journey", "analytics",
}


def run_case(kind: str, file: Any, case: Any) -> Optional[str]:
    """None when the case passes, else why it failed."""
    runner = RUNNERS.get(kind)
    if runner is None:
        return f"unknown kind {kind!r}"
    tol = tolerance(file, case)
    try:
        actual = runner(file, case)
    except siyu.SiyuError as err:
        if "expect_error" in case:
            return _check_error(case["expect_error"], err)
        return f"unexpected error: {err}"
    except Exception as err:  # a bug in the binding or the runner: report, keep going
        return f"raised {type(err).__name__}: {err}"
    if "expect_error" in case:
        return f"expected error {json.dumps(case['expect_error'])}, got {json.dumps(actual)}"
    if "expect" not in case:
        return "case has neither expect nor expect_error"
    expected = _segment_expected(file, case) if kind == "segment" else case["expect"]
    return matches(expected, actual, tol, "result")


def test_conformance_vectors() -> None:
    passed = failed = 0
    skipped: Counter[str] = Counter()
    for path in vector_files():
        try:
            file = load(path)
        except (OSError, ValueError) as err:
            failed += 1
            print(f"FAIL {path}: not JSON: {err}")
            continue
        kind = file.get("kind", "") if isinstance(file, dict) else ""
        cases = file.get("cases") if isinstance(file, dict) else None
        if not cases:
            failed += 1
            print(f'FAIL {path}: no "cases"')
            continue
        if kind in NOT_YET_EXPOSED:
            skipped[kind] += len(cases)
            continue
        for i, case in enumerate(cases):
            problem = run_case(kind, file, case)
            if problem is None:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {path} case {i} ({case.get('name', '')}): {problem}")
    total_skipped = sum(skipped.values())
    line = f"conformance[python]: {passed} passed, {failed} failed"
    if total_skipped:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(skipped.items()))
        print(f"conformance[python]: kinds not yet exposed in Python: {kinds}")
        line += f", {total_skipped} skipped"
    print(line)
    assert failed == 0, line
    assert passed > 0, "no conformance vector ran"
