"""`CompiledRuleSet.matcher(rule, now)(traits)` and the dict fast path of
`evaluate` (traits lent to the core, ADR 0014) give the same answers and the same
errors as the JSON text path, over many varied dicts: wrong types, missing keys,
None, unknown keys, nested values, big numbers, NaN, datetimes, sets."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import siyu

SCHEMA = {
    "traits": {
        "age": "integer",
        "ltv": "float",
        "city": "string",
        "vip": "boolean",
        "birthday": "date",
        "seen": "timestamp",
        "likes": "string_list",
    },
    "events": {"purchase": {"properties": {"amount": "float"}}},
}
RULES = "\n".join(
    [
        'segment adult_in_city: age >= 18 and city in ["Shanghai", "Beijing"]',
        "segment missing_age: age is missing",
        "segment not_vip: not vip",
        "segment rich: ltv > 100 or in_segment(adult_in_city)",
        "segment recent: seen within last 30d",
        "segment birthday_soon: anniversary(birthday) within next 30d",
        'segment likes_x: likes contains "x" and length(likes) >= 2',
        'segment city_a: lower(city) starts_with "sh" and not (age < 30)',
        "segment buyer: count(purchase) >= 1 or has_tag(\"vip\")",
        "segment ratio: ltv / age > 2",
    ]
)
NOW = "2026-03-18T04:00:00Z"

Outcome = Tuple[str, Any]


def outcome(f: Callable[[], Any]) -> Outcome:
    try:
        return ("ok", f())
    except siyu.SiyuError as e:
        return ("error", (type(e).__name__, e.code, e.path, str(e), e.suggestion))
    except (TypeError, ValueError) as e:  # json.dumps on keys it cannot write
        return ("error", (type(e).__name__, str(e)))


def reference(compiled: siyu.CompiledRuleSet, traits: Any) -> Outcome:
    """The JSON text path: no fast path involved."""

    def run() -> Dict[str, bool]:
        text = siyu._to_json({"id": "matcher", "traits": traits})
        flags = compiled._inner.evaluate(text, "[]", NOW)
        return dict(zip(compiled.rule_names, flags))

    return outcome(run)


VALUES: List[Callable[[random.Random], Any]] = [
    lambda r: None,
    lambda r: r.random() < 0.5,
    lambda r: r.randint(-5, 80),
    lambda r: r.choice([0, -1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64, 2**70]),
    lambda r: r.choice([0.0, -0.0, 3.0, 2.5, 150.25, 1e16, 2.0**53, math.nan, math.inf, -math.inf]),
    lambda r: r.choice(["Shanghai", "Beijing", "shenzhen", "", "x", "Shanghai\u00e9", "上海"]),
    lambda r: r.choice(["2026-03-20", "1990-03-25", "2026-02-30", "20260320"]),
    lambda r: r.choice(["2026-03-10T08:00:00+08:00", "2026-03-18T04:00:00.5Z", "2026-03-10 08:00", "2025-01-01T00:00:00Z"]),
    lambda r: r.choice([["x", "y"], ["x"], [], ["x", 1], ("x", "z"), ["x", None]]),
    lambda r: r.choice([{"x": 1}, {}, {"a": [1, {"b": None}]}, {1: "x"}]),
    lambda r: r.choice([dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc), dt.date(2026, 3, 20), {"x"}, frozenset()]),
    lambda r: r.choice([b"x", object()]),
]

VALID: Dict[str, Callable[[random.Random], Any]] = {
    "age": lambda r: r.choice([r.randint(0, 70), 30.0]),
    "ltv": lambda r: r.choice([r.randint(0, 300), r.random() * 300]),
    "city": lambda r: r.choice(["Shanghai", "Beijing", "Shenzhen", "shanghai", ""]),
    "vip": lambda r: r.random() < 0.5,
    "birthday": lambda r: r.choice(["1990-03-25", "2000-12-01", "2026-03-18"]),
    "seen": lambda r: r.choice(["2026-03-10T08:00:00+08:00", "2025-01-01T00:00:00Z", "2026-03-18T04:00:00Z"]),
    "likes": lambda r: r.choice([["x", "y"], ["x"], [], ["y"]]),
}

ODD_KEYS: List[Any] = ["aeg", "Age", "id", "traits", "", "zip", 1, ("age",)]


class Str(str):
    """A str subclass key (the fast path takes exact str keys only)."""


def varied(r: random.Random) -> Any:
    traits: Dict[Any, Any] = {k: f(r) for k, f in VALID.items() if r.random() < 0.7}
    if r.random() < 0.4:
        for _ in range(r.randint(1, 2)):
            key = r.choice(list(VALID) + ODD_KEYS)
            traits[key] = r.choice(VALUES)(r)
    if r.random() < 0.03:
        traits = {Str(k) if isinstance(k, str) else k: v for k, v in traits.items()}
    if r.random() < 0.03:
        return OrderedDict(reversed(list(traits.items())))
    return traits


def test_matcher_and_evaluate_equal_the_json_path_on_varied_dicts() -> None:
    compiled = siyu.CompiledRuleSet(RULES, SCHEMA)
    matchers = {name: compiled.matcher(name, NOW) for name in compiled.rule_names}
    r = random.Random(20261202)
    kinds = {"ok": 0, "error": 0}
    for _ in range(4000):
        traits = varied(r)
        want = reference(compiled, traits)
        kinds[want[0]] += 1
        if isinstance(traits, dict):
            got = outcome(lambda: compiled.evaluate({"id": "matcher", "traits": traits}, None, NOW))
            assert got == want, traits
        for name, m in matchers.items():
            want_one = want if want[0] == "error" else ("ok", want[1][name])
            assert outcome(lambda: m(traits)) == want_one, (name, traits)
            assert outcome(lambda: m.matches(traits)) == want_one, (name, traits)
    # Both outcomes are exercised.
    assert kinds["ok"] > 1500 and kinds["error"] > 500, kinds


def test_matcher_with_zone_and_datetime_now() -> None:
    compiled = siyu.CompiledRuleSet(RULES, SCHEMA)
    now = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    m = compiled.matcher("birthday_soon", now, default_zone="Asia/Shanghai")
    for birthday in ["1990-03-25", "1990-04-20", "1990-03-17", None]:
        traits = {"birthday": birthday}
        want = compiled.evaluate({"id": "u", "traits": traits}, None, now, "Asia/Shanghai")
        assert m(traits) == want["birthday_soon"]
    assert m.rule == "birthday_soon"
    assert m.now == "2026-03-18T04:00:00Z"
    assert "birthday_soon" in repr(m)


def test_matcher_errors() -> None:
    compiled = siyu.CompiledRuleSet(RULES, SCHEMA)
    with pytest.raises(siyu.InvalidArgumentError) as e:
        compiled.matcher("adult_in_cty", NOW)
    assert e.value.suggestion == "adult_in_city"
    with pytest.raises(siyu.InvalidTimeError):
        compiled.matcher("adult_in_city", "yesterday")
    m = compiled.matcher("adult_in_city", NOW)
    with pytest.raises(siyu.InvalidProfileError) as e:
        m({"age": "30", "city": 5})
    assert e.value.path == "traits.age"  # the first bad trait by name
    with pytest.raises(siyu.InvalidProfileError) as e:
        m({"agee": 30})
    assert e.value.suggestion == "age"
    with pytest.raises(TypeError):
        m(5)  # type: ignore[arg-type]


def test_matcher_missing_values_are_unknown() -> None:
    compiled = siyu.CompiledRuleSet(RULES, SCHEMA)
    adult = compiled.matcher("adult_in_city", NOW)
    not_vip = compiled.matcher("not_vip", NOW)
    missing = compiled.matcher("missing_age", NOW)
    assert adult({"age": 30, "city": "Beijing"}) is True
    assert adult({"age": 30}) is False  # unknown is not a member
    assert adult({"age": None, "city": "Beijing"}) is False
    assert not_vip({}) is False  # not unknown is unknown
    assert not_vip({"vip": False}) is True
    assert missing({}) is True and missing({"age": None}) is True and missing({"age": 1}) is False


def test_pre_built_profile_and_dict_agree() -> None:
    schema = siyu.Schema.from_json(SCHEMA)
    compiled = siyu.CompiledRuleSet(RULES, schema)
    r = random.Random(5)
    for _ in range(300):
        traits = {k: f(r) for k, f in VALID.items() if r.random() < 0.7}
        doc = {"id": "u", "traits": traits}
        native = siyu.Profile.from_json(doc, schema)
        assert compiled.evaluate(native, None, NOW) == compiled.evaluate(doc, None, NOW)
        for name in compiled.rule_names:
            assert compiled.matcher(name, NOW)(traits) == compiled.evaluate(native, None, NOW)[name]


def test_bad_now_after_profile_errors_as_the_json_path() -> None:
    compiled = siyu.CompiledRuleSet(RULES, SCHEMA)
    for traits in [{"age": "x"}, {"age": 3}]:
        doc = {"id": "u", "traits": traits}
        with pytest.raises(siyu.SiyuError) as want:
            compiled._inner.evaluate(json.dumps(doc), "[]", "not a time")
        with pytest.raises(type(want.value)) as got:
            compiled.evaluate(doc, None, "not a time")
        assert (got.value.code, got.value.path, str(got.value)) == (want.value.code, want.value.path, str(want.value))
