"""The per-call fast path (a dict profile without events) gives the same answers and
the same errors as the JSON text path, and falls back for values JSON cannot hold."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import siyu

SCHEMA = {"traits": {"age": "integer", "city": "string", "seen": "timestamp", "likes": "string_list"}, "events": {}}
RULES = 'segment a: age >= 18 and city in ["Shanghai"]\nsegment b: seen within last 30d or likes contains "x"'
NOW = "2026-03-18T04:00:00Z"


@pytest.mark.parametrize(
    "profile",
    [
        {"id": "u", "traits": {"age": 30, "city": "Shanghai"}},
        {"id": "u", "traits": {"age": 3.0, "city": None, "likes": ["x"]}},
        {"id": "u"},
        {"id": "u", "traits": {"seen": "2026-03-10T00:00:00Z"}, "time_zone": "Asia/Shanghai"},
        {"id": "u", "traits": {"seen": dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc)}},
        {"id": "u", "traits": {"age": (1 << 70)}},
    ],
)
def test_fast_path_equals_the_json_text_path(profile: dict) -> None:
    compiled = siyu.CompiledRuleSet(RULES, SCHEMA)
    text = json.dumps(profile, default=lambda v: v.isoformat())
    try:
        want = compiled._inner.evaluate(text, "[]", NOW)
    except siyu.SiyuError as e:
        with pytest.raises(type(e)) as got:
            compiled.evaluate(profile, None, NOW)
        assert (got.value.code, got.value.path, str(got.value)) == (e.code, e.path, str(e))
        return
    assert list(compiled.evaluate(profile, None, NOW).values()) == want


@pytest.mark.parametrize(
    "profile",
    [{"id": "u", "traits": {"agee": 1}}, {"id": "u", "traits": {"age": "x"}}, {"traits": {}}, {"id": 5}],
)
def test_fast_path_errors_are_the_documents_errors(profile: dict) -> None:
    compiled = siyu.CompiledRuleSet(RULES, SCHEMA)
    with pytest.raises(siyu.SiyuError) as want:
        compiled._inner.evaluate(json.dumps(profile), "[]", NOW)
    with pytest.raises(type(want.value)) as got:
        compiled.evaluate(profile, None, NOW)
    assert (got.value.code, got.value.path) == (want.value.code, want.value.path)
