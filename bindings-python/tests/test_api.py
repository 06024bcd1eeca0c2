"""The dict/JSON API: schema, rule sets, compile, evaluate, explain."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any, Dict, List

import pytest

import siyu

SCHEMA: Dict[str, Any] = {
    "traits": {"city": "string", "age": "integer"},
    "events": {
        "purchase": {"properties": {"amount": "float", "category": "string"}},
        "message_opened": {"properties": {"channel": "string"}},
    },
    "tag_groups": {"lifecycle": {"exclusive": True}},
}

RULES = """
segment milk_buyer: count(purchase where category = "milk_powder", within 30d) >= 3
segment shanghai: city = "Shanghai"
segment loyal_shanghai: in_segment(milk_buyer) and in_segment(shanghai) and not has_tag("churn_warning")
"""

NOW = "2026-03-01T00:00:00Z"


def purchases(n: int, category: str = "milk_powder") -> List[Dict[str, Any]]:
    return [
        {
            "id": f"e{i}",
            "name": "purchase",
            "timestamp": f"2026-02-{10 + i:02d}T08:00:00Z",
            "properties": {"amount": 100.0 + i, "category": category},
        }
        for i in range(n)
    ]


PROFILE: Dict[str, Any] = {"id": "u1", "traits": {"city": "Shanghai", "age": 31}}


@pytest.fixture(scope="module")
def compiled() -> siyu.CompiledRuleSet:
    return siyu.CompiledRuleSet(siyu.RuleSet.parse(RULES), siyu.Schema.from_json(SCHEMA))


def test_rule_names_in_declaration_order(compiled: siyu.CompiledRuleSet) -> None:
    assert compiled.rule_names == ["milk_buyer", "shanghai", "loyal_shanghai"]


def test_evaluate_with_dicts(compiled: siyu.CompiledRuleSet) -> None:
    got = compiled.evaluate(PROFILE, purchases(3), NOW)
    assert got == {"milk_buyer": True, "shanghai": True, "loyal_shanghai": True}
    assert list(got) == compiled.rule_names
    two = compiled.evaluate(PROFILE, purchases(2), NOW)
    assert two == {"milk_buyer": False, "shanghai": True, "loyal_shanghai": False}


def test_evaluate_inputs_as_json_text_datetime_and_native(compiled: siyu.CompiledRuleSet) -> None:
    schema = siyu.Schema.from_json(json.dumps(SCHEMA))
    expected = compiled.evaluate(PROFILE, purchases(3), NOW)
    as_text = compiled.evaluate(json.dumps(PROFILE), json.dumps(purchases(3)), NOW)
    aware = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    as_datetime = compiled.evaluate(PROFILE, purchases(3), aware)
    native = compiled.evaluate(
        siyu.Profile.from_json(PROFILE, schema), siyu.EventLog.from_json(purchases(3), schema), NOW
    )
    assert as_text == as_datetime == native == expected


def test_window_excludes_old_events(compiled: siyu.CompiledRuleSet) -> None:
    later = "2026-04-30T00:00:00Z"
    assert compiled.evaluate(PROFILE, purchases(3), later)["milk_buyer"] is False


def test_tags_and_missing_traits(compiled: siyu.CompiledRuleSet) -> None:
    tagged = dict(PROFILE, tags=[{"name": "churn_warning", "source": "rule", "added_at": "2026-02-01T00:00:00Z"}])
    assert compiled.evaluate(tagged, purchases(3), NOW)["loyal_shanghai"] is False
    # A missing trait makes the comparison unknown, so the rule does not match.
    assert compiled.evaluate({"id": "u2"}, None, NOW)["shanghai"] is False


def test_explain_tree_and_html(compiled: siyu.CompiledRuleSet) -> None:
    exp = compiled.explain(PROFILE, purchases(2), NOW, "milk_buyer")
    assert isinstance(exp, dict) and isinstance(exp, siyu.Explanation)
    assert exp.rule == "milk_buyer" and exp.matched is False
    assert exp.root.truth == "false"
    assert "2" in (exp.root.observed or "")
    html = exp._repr_html_()
    assert "milk_buyer" in html and "not a member" in html
    assert "milk_buyer: not a member" in str(exp)


def test_explain_unknown_rule_is_invalid_argument(compiled: siyu.CompiledRuleSet) -> None:
    with pytest.raises(siyu.SiyuError) as info:
        compiled.explain(PROFILE, [], NOW, "no_such_rule")
    assert info.value.code in {"INVALID_ARGUMENT", "UNKNOWN_SEGMENT"}


def test_rule_set_text_and_json_round_trip() -> None:
    rules = siyu.RuleSet.parse(RULES)
    assert rules.names == ["milk_buyer", "shanghai", "loyal_shanghai"]
    again = siyu.RuleSet.parse(rules.to_text())
    assert again.to_dict() == rules.to_dict()
    from_json = siyu.RuleSet.from_json(rules.to_json())
    assert from_json.to_text() == rules.to_text()
    from_dict = siyu.RuleSet.from_json({"rules": [{"name": "x", "expr": 'city = "Beijing"'}]})
    assert from_dict.names == ["x"]


def test_compile_accepts_text_and_dicts() -> None:
    c = siyu.CompiledRuleSet('segment bj: city = "Beijing"', SCHEMA)
    assert c.evaluate({"id": "u", "traits": {"city": "Beijing"}}, [], NOW) == {"bj": True}


def test_syntax_error_has_position() -> None:
    with pytest.raises(siyu.RuleSyntaxError) as info:
        siyu.RuleSet.parse("segment a: city = \nsegment b: (")
    err = info.value
    assert err.code == "RULE_SYNTAX"
    assert err.position is not None and err.position[0] >= 1 and err.position[1] >= 1


def test_unknown_trait_suggests() -> None:
    with pytest.raises(siyu.UnknownTraitError) as info:
        siyu.CompiledRuleSet('segment a: ciyt = "Shanghai"', SCHEMA)
    assert info.value.suggestion == "city"
    assert info.value.position is not None


def test_segment_cycle() -> None:
    with pytest.raises(siyu.SegmentCycleError):
        siyu.CompiledRuleSet("segment a: in_segment(b)\nsegment b: in_segment(a)", SCHEMA)


def test_invalid_profile_and_event(compiled: siyu.CompiledRuleSet) -> None:
    with pytest.raises(siyu.InvalidProfileError) as info:
        compiled.evaluate({"id": "u", "traits": {"age": "old"}}, [], NOW)
    assert info.value.path == "traits.age"
    with pytest.raises(siyu.InvalidEventError):
        compiled.evaluate(PROFILE, [{"id": "e", "name": "purchse", "timestamp": NOW}], NOW)
    with pytest.raises(siyu.InvalidTimeError):
        compiled.evaluate(PROFILE, [], "yesterday")
    with pytest.raises(siyu.InvalidTimeZoneError):
        compiled.evaluate(PROFILE, [], NOW, default_zone="Mars/Olympus")


def test_evaluation_in_threads_is_consistent(compiled: siyu.CompiledRuleSet) -> None:
    # The GIL is released during evaluation; concurrent calls must agree.
    results: List[Dict[str, bool]] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        r = compiled.evaluate(PROFILE, purchases(n % 5), NOW)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    assert sum(r["milk_buyer"] for r in results) == sum(1 for i in range(20) if i % 5 >= 3)
