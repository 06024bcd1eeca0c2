"""Python conformance runner: runs the shared vectors through the public ``siyu`` API.

Prints ``conformance[python]: N passed, M failed`` (with ``, K skipped`` appended
when vectors of kinds not yet exposed in Python exist) and fails if M > 0.
Every other case must answer exactly as the Rust runner does, errors included.
Per-kind runners of the layering kinds live in ``conformance_kinds/``.
Vector format: conformance/README.md.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections import Counter
from typing import Any, Callable, Dict, List, Mapping, Optional, Set

import pyarrow as pa

import siyu
from conformance_kinds import RUNNERS as KIND_RUNNERS
from conformance_kinds import journey as journey_kind
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


# --- clv and analytics: tables in/out, converted to and from the vectors' JSON ---

_UNIT_FREQ = {"days": "D", "weeks": "W"}


def _freq(unit: Any) -> str:
    # The vectors name units as the core does; the Python API takes lifetimes' freq codes.
    if unit not in _UNIT_FREQ:
        raise AssertionError(f"unknown unit {unit!r}")
    return _UNIT_FREQ[unit]


def _rows(table: Any) -> List[Dict[str, Any]]:
    """A pyarrow table as a list of row dicts (dates as ``YYYY-MM-DD``)."""
    out = []
    for row in table.to_pylist():
        out.append({k: (v.isoformat() if isinstance(v, _dt.date) else v) for k, v in row.items()})
    return out


def _floats(values: Any) -> pa.Array:
    return pa.array([float(v) for v in values or []], pa.float64())


def _strings(values: Any) -> pa.Array:
    return pa.array(list(values), pa.string())


def _table(rows: Any, columns: Mapping[str, Callable[[Any], Any]]) -> pa.Table:
    """Vector row objects as a table with typed columns (also when there are no rows)."""
    rows = rows or []
    return pa.table({name: make([r.get(name) for r in rows]) for name, make in columns.items()})


_TXN_COLUMNS = {"customer_id": _strings, "timestamp": _strings, "value": _floats}
_EVENT_COLUMNS = {"user_id": _strings, "name": _strings, "timestamp": _strings}


def _purchase_model(params: Any) -> Any:
    doc = dict(params)
    model = doc.pop("model", None)
    classes = {"bgnbd": siyu.clv.BGNBD, "mbgnbd": siyu.clv.MBGNBD, "paretonbd": siyu.clv.ParetoNBD}
    if model not in classes:
        raise AssertionError(f"unknown purchase model {model!r}")
    return classes[model].from_params(**doc)


def _customer_columns(customers: Any, *keys: str) -> List[pa.Array]:
    return [_floats([c.get(k) for c in customers or []]) for k in keys]


def run_clv(file: Any, case: Any) -> Any:
    def f(key: str) -> Any:
        return field(file, case, key)

    op = f("op")
    if op in ("summarize", "calibration_holdout"):
        txns = _table(f("transactions"), _TXN_COLUMNS)
        opts = dict(freq=_freq(f("unit") or "weeks"), zone=f("zone") or "UTC", decimals=f("decimals"))
        if op == "summarize":
            out = siyu.clv.summary_from_transactions(
                txns, "customer_id", "timestamp", "value",
                observation_period_end=f("observation_end"), **opts,
            )
        else:
            out = siyu.clv.calibration_and_holdout_data(
                txns, "customer_id", "timestamp", f("calibration_end"), f("observation_end"),
                "value", **opts,
            )
        return {"customers": _rows(out)}
    if op == "fit":
        model_name = f("model")
        model: Any
        penalizer = f("penalizer") or 0.0
        if model_name == "gammagamma":  # columns as float64 (the core reads f64 columns)
            model = siyu.clv.GammaGamma(penalizer).fit(_floats(f("frequency")), _floats(f("monetary_value")))
        else:
            classes = {"bgnbd": siyu.clv.BGNBD, "mbgnbd": siyu.clv.MBGNBD, "paretonbd": siyu.clv.ParetoNBD}
            if model_name not in classes:
                raise AssertionError(f"unknown model {model_name!r}")
            model = classes[model_name](penalizer).fit(
                _floats(f("frequency")), _floats(f("recency")), _floats(f("T"))
            )
        info = model.info
        assert info is not None
        return {
            "params": model.params,
            "log_likelihood": info.log_likelihood,
            "customers": info.customers,
        }
    if op == "predict":
        model = _purchase_model(f("params"))
        t = float(f("t"))
        x, tx, big_t = _customer_columns(f("customers"), "frequency", "recency", "T")
        p_alive: Any = model.conditional_probability_alive(x, tx, big_t)
        cond: Any = model.conditional_expected_number_of_purchases_up_to_time(t, x, tx, big_t)
        ll: Any = model.log_likelihood(x, tx, big_t)
        rows = [
            {"p_alive": float(a), "conditional_expected_purchases": float(c), "log_likelihood": float(l)}
            for a, c, l in zip(p_alive, cond, ll)
        ]
        return {"expected_purchases": model.expected_number_of_purchases_up_to_time(t), "rows": rows}
    if op == "spend":
        model = siyu.clv.GammaGamma.from_params(**f("params"))
        x, m = _customer_columns(f("customers"), "frequency", "monetary_value")
        values: Any = model.conditional_expected_average_value(x, m)
        # The Python API has no mean_spend(); the Gamma-Gamma prior mean is the
        # expected average value of a customer without repeat purchases (x = 0).
        mean_spend = model.conditional_expected_average_value(0.0, 0.0)
        return {"mean_spend": mean_spend, "rows": [{"expected_average_value": float(v)} for v in values]}
    if op == "clv":
        purchase, spend = siyu.clv.load_value_model(f("model"))
        if purchase is None or spend is None:
            raise siyu.InvalidArgumentError("CLV needs a purchase and a spend model")
        x, tx, big_t, m = _customer_columns(f("customers"), "frequency", "recency", "T", "monetary_value")
        clv_values: Any = spend.customer_lifetime_value(
            purchase, x, tx, big_t, m, time=int(f("months")),
            discount_rate=float(f("discount_rate")), freq=_freq(f("unit")),
        )
        return {"clv": [float(v) for v in clv_values]}
    if op == "model_document":
        purchase, spend = siyu.clv.load_value_model(f("document"))
        return {"document": json.loads(siyu.clv.value_model_json(purchase, spend))}
    raise AssertionError(f"unknown clv op {op!r}")


def _events_table(file: Any, case: Any) -> pa.Table:
    return _table(field(file, case, "events"), _EVENT_COLUMNS)


def run_analytics(file: Any, case: Any) -> Any:
    def f(key: str) -> Any:
        return field(file, case, key)

    an = siyu.analytics
    op = f("op")
    if op == "retention":
        kwargs = dict(
            activity_events=f("activity_events"), granularity=f("granularity"),
            periods=f("periods"), zone=f("zone") or "UTC", end=f("end"),
        )
        events = _events_table(file, case)
        rates = an.retention_matrix(events, f("cohort_event"), values="rate", **kwargs).to_pylist()
        counts = an.retention_matrix(events, f("cohort_event"), values="count", **kwargs).to_pylist()
        periods = [f"period_{k}" for k in range(int(f("periods")))]
        cohorts = [
            {
                "cohort": r["cohort"].isoformat(),
                "size": r["size"],
                "retained": [c[p] for p in periods],
                "rates": [r[p] for p in periods],
            }
            for r, c in zip(rates, counts)
        ]
        # The table form drops the granularity, which the core echoes from the request.
        return {"granularity": f("granularity"), "cohorts": cohorts}
    if op == "active_users":
        out = an.active_users(
            _events_table(file, case), f("from"), f("to"),
            activity_events=f("activity_events"), zone=f("zone") or "UTC",
        )
        return {"days": _rows(out)}
    if op == "repeat_purchase_rate":
        return dataclasses.asdict(an.repeat_purchase_rate(_events_table(file, case), f("purchase_event")))
    if op == "funnel":
        out = an.funnel(_events_table(file, case), f("steps"), f("window_seconds") or 0)
        return {"steps": _rows(out)}
    if op == "k_factor":
        return dataclasses.asdict(an.k_factor(f("users"), f("invites"), f("conversions")))
    if op == "channel_conversion":
        touches = _table(f("touches"), {"user_id": _strings, "channel": _strings, "timestamp": _strings})
        out = an.channel_conversion(
            touches, _events_table(file, case), f("conversion_event"), window=f("window_seconds")
        )
        return {"channels": _rows(out)}
    if op == "z_test":
        return dataclasses.asdict(an.two_proportion_z_test(f("control"), f("variant")))
    if op == "chi_square":
        return dataclasses.asdict(an.chi_square_test(f("arms")))
    if op == "bayes":
        prior_alpha = f("prior_alpha")
        prior_beta = f("prior_beta")
        return dataclasses.asdict(
            an.beta_binomial_beats_control(
                f("control"), f("variant"),
                1.0 if prior_alpha is None else prior_alpha,
                1.0 if prior_beta is None else prior_beta,
            )
        )
    if op == "sample_size":
        return {"per_arm": an.sample_size_per_arm(f("baseline"), f("mde"), f("alpha"), f("power"))}
    if op == "frequent_pairs":
        items = _table(f("items"), {"basket_id": _strings, "item": _strings})
        return {"rules": _rows(an.frequent_pairs(items, f("min_support"), f("min_confidence")))}
    if op == "sequential_rules":
        out = an.sequential_rules(
            _events_table(file, case), f("window_seconds") or 0, f("min_support"), f("min_confidence")
        )
        return {"rules": _rows(out)}
    if op == "send_time":
        weight = f("weight")
        report = an.best_send_hours(
            _events_table(file, case), f("open_event"), zones=f("zones"),
            default_zone=f("default_zone") or "UTC", weight=5.0 if weight is None else weight,
        )
        return {
            "weight": report.weight,
            "population": list(report.population),
            "population_best_hour": report.population_best_hour,
            "users": _rows(report.users),
        }
    raise AssertionError(f"unknown analytics op {op!r}")


RUNNERS: Dict[str, Callable[[Any, Any], Any]] = {
    "segment": run_segment,
    "rules_text": run_rules_text,
    "error": run_error,
    "clv": run_clv,
    "analytics": run_analytics,
    **KIND_RUNNERS,
}

# Kinds whose core API is not exposed in Python yet. Their vectors are counted
# and reported as skipped (never silently passed); unknown kinds fail.
NOT_YET_EXPOSED: Set[str] = set()

# Kinds whose runner checks whole cases itself (expectations per step):
# ``run_case(file, case)`` returns None on a pass, else why it failed.
CASE_RUNNERS: Dict[str, Callable[[Any, Any], Optional[str]]] = {
    "journey": journey_kind.run_case,
}


def run_case(kind: str, file: Any, case: Any) -> Optional[str]:
    """None when the case passes, else why it failed."""
    if kind in CASE_RUNNERS:
        return CASE_RUNNERS[kind](file, case)
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
        print(f"conformance[python]: skipped (kinds not yet exposed in Python): {kinds}")
        line += f", {total_skipped} skipped"
    print(line)
    assert failed == 0, line
    assert passed > 0, "no conformance vector ran"
