"""The layering API: lifecycle stages, tag rules, points/tiers, merge and erasure."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any, Dict, List

import pytest

import siyu

NOW = "2026-03-20T00:00:00Z"


def purchase(i: int, day: str, amount: float = 100.0) -> Dict[str, Any]:
    return {
        "id": f"p{i}",
        "name": "purchase",
        "timestamp": f"{day}T10:00:00Z",
        "properties": {"amount": amount, "category": "sofa", "items": 1, "order_id": f"o{i}"},
    }


# --- lifecycle ---------------------------------------------------------------


def test_default_lifecycle_classifies_a_first_purchase_with_its_reason() -> None:
    lc = siyu.Lifecycle()
    assert "stage__first_purchase" in lc.rule_names
    out = lc.evaluate({"id": "u1"}, [purchase(1, "2026-03-10")], NOW)
    assert out["state"]["stage"] == "first_purchase"
    assert out["rule"] == "stage__first_purchase"
    reason = out["reason"]
    assert isinstance(reason, siyu.Explanation) and reason.matched
    assert "count(purchase)" in str(reason)
    # No purchase at all: the model's default stage, decided by no rule.
    nobody = lc.evaluate({"id": "u2"}, [], NOW)
    assert nobody["state"]["stage"] == lc.model()["default_stage"]
    assert nobody["rule"] is None


def test_lifecycle_accepts_json_text_native_objects_and_datetimes() -> None:
    lc = siyu.Lifecycle("default", siyu.sample_schema())
    events = [purchase(1, "2026-03-01"), purchase(2, "2026-03-15")]
    from_dicts = lc.evaluate({"id": "u1"}, events, NOW)
    schema = siyu.sample_schema()
    from_text = lc.evaluate(
        json.dumps({"id": "u1"}),
        json.dumps(events),
        dt.datetime(2026, 3, 20, 8, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )
    native = lc.evaluate(siyu.Profile.from_json({"id": "u1"}, schema), siyu.EventLog.from_json(events, schema), NOW)
    assert from_dicts["state"] == from_text["state"] == native["state"]
    assert from_dicts["state"]["stage"] == "repeat"


def test_previous_state_gives_a_transition() -> None:
    lc = siyu.Lifecycle()
    first = lc.evaluate({"id": "u1"}, [purchase(1, "2026-03-01")], "2026-03-02T00:00:00Z")
    assert first["state"]["stage"] == "first_purchase"
    later = lc.evaluate(
        {"id": "u1"},
        [purchase(1, "2026-03-01"), purchase(2, "2026-03-19")],
        NOW,
        previous=first["state"],
    )
    assert later["state"]["stage"] == "repeat"
    assert later["transition"]["from"] == "first_purchase"
    assert later["transition"]["to"] == "repeat"
    # Staying in a stage keeps its "since" and makes no transition.
    again = lc.evaluate({"id": "u1"}, [purchase(1, "2026-03-01")], "2026-03-03T00:00:00Z", previous=first["state"])
    assert again["transition"] is None
    assert again["state"]["since"] == first["state"]["since"]


def test_replay_gives_the_stage_of_every_day() -> None:
    lc = siyu.Lifecycle()
    days = lc.replay({"id": "u1"}, [purchase(1, "2026-03-10")], "2026-03-08", dt.date(2026, 3, 12))
    assert [d["date"] for d in days] == [f"2026-03-{d:02d}" for d in range(8, 13)]
    default = lc.model()["default_stage"]
    # Day D is evaluated at the start of D + 1: the purchase on the 10th counts from the 10th.
    assert [d["stage"] for d in days] == [default, default, "first_purchase", "first_purchase", "first_purchase"]
    changes = [d for d in days if d["transition"] is not None]
    assert len(changes) == 1 and changes[0]["date"] == "2026-03-10"


def test_lifecycle_errors_are_typed() -> None:
    with pytest.raises(siyu.InvalidModelError) as err:
        siyu.Lifecycle({"default_stage": "nope", "stages": [{"name": "new", "rule": "count(purchase) >= 1"}]})
    assert err.value.code == "INVALID_MODEL"
    assert err.value.path == "default_stage"
    with pytest.raises(siyu.UnknownEventError) as unknown:
        siyu.Lifecycle({"default_stage": "a", "stages": [{"name": "a", "rule": "count(purchse) >= 1"}]})
    assert unknown.value.suggestion == "purchase"
    with pytest.raises(siyu.InvalidStateError):
        siyu.Lifecycle().evaluate({"id": "u1"}, [], NOW, previous={"stage": 3})
    with pytest.raises(siyu.InvalidArgumentError):  # to before from
        siyu.Lifecycle().replay({"id": "u1"}, [], "2026-03-10", "2026-03-01")


# --- tags --------------------------------------------------------------------

TAG_RULES = {
    "rules": [
        {
            "id": "has_kids",
            "tag": "has_kids",
            "group": "family",
            "when": 'any(page_viewed where category = "kids_furniture", within 90d)',
            "policy": "sticky",
            "ttl": "180d",
        },
        {"id": "warm", "tag": "warm", "group": "activity", "when": "count(message_opened, within 30d) >= 1", "policy": "live"},
    ]
}

VIEW = {
    "id": "v1",
    "name": "page_viewed",
    "timestamp": "2026-03-01T00:00:00Z",
    "properties": {"category": "kids_furniture", "page": "p/1"},
}


def test_tag_rules_add_then_are_idempotent() -> None:
    rules = siyu.TagRules(TAG_RULES)
    profile = {"id": "u1", "tags": [{"name": "vip", "source": "manual", "added_at": "2026-01-01T00:00:00Z"}]}
    original = copy.deepcopy(profile)
    first = rules.apply(profile, [VIEW], NOW)
    assert profile == original  # inputs are not modified
    added = first["diff"]["added"]
    assert [a["tag"] for a in added] == ["has_kids"]
    assert added[0]["expires_at"] == "2026-09-16T00:00:00Z"  # 180 days after NOW
    names = sorted(t["name"] for t in first["profile"]["tags"])
    assert names == ["has_kids", "vip"]  # the manual tag stays
    again = rules.apply(first["profile"], [VIEW], NOW)
    assert again["diff"] == {"added": [], "removed": [], "expired": []}
    # Sticky: the tag stays after the view leaves the 90-day window, until its TTL.
    later = rules.apply(first["profile"], [VIEW], "2026-07-01T00:00:00Z")
    assert later["diff"]["removed"] == [] and later["diff"]["expired"] == []
    expired = rules.apply(first["profile"], [VIEW], "2026-09-16T00:00:00Z")
    assert [e["tag"] for e in expired["diff"]["expired"]] == ["has_kids"]


def test_tag_rules_from_json_text_match_dicts() -> None:
    from_text = siyu.TagRules(json.dumps(TAG_RULES), json.dumps(json.loads(siyu.sample_schema().to_json())))
    assert from_text.apply({"id": "u1"}, [VIEW], NOW) == siyu.TagRules(TAG_RULES).apply({"id": "u1"}, [VIEW], NOW)


def test_tag_rule_errors_are_typed() -> None:
    bad_group = {"rules": [dict(TAG_RULES["rules"][0], group="famly")]}  # type: ignore[call-overload]
    with pytest.raises(siyu.SiyuError) as err:
        siyu.TagRules(bad_group)
    assert err.value.code == "UNKNOWN_TAG_GROUP"
    assert (err.value.path, err.value.suggestion) == ("rules[0].group", "family")
    with pytest.raises(siyu.InvalidModelError):
        siyu.TagRules({"rules": [{"id": "x", "tag": "x", "when": "true", "policy": "forever"}]})


# --- points ------------------------------------------------------------------


def check_in(i: int, at: str) -> Dict[str, Any]:
    return {"id": f"c{i}", "name": "check_in", "timestamp": at}


def test_points_ledger_earns_caps_redeems_and_summarises() -> None:
    m = siyu.PointsModel()
    earned = m.apply_event(None, purchase(1, "2026-03-01", amount=1234.0))
    assert [e["points"] for e in earned["entries"]] == [123]  # 1 point per 10 yuan
    ledger = earned["ledger"]
    ledger = m.apply_event(ledger, check_in(1, "2026-03-02T08:00:00Z"))["ledger"]
    capped = m.apply_event(ledger, check_in(2, "2026-03-02T20:00:00Z"))  # once a day
    assert capped["entries"] == []
    summary = m.summary(capped["ledger"], NOW)
    assert summary["balance"] == 128 and summary["lifetime"] == 128
    assert summary["level"] == "Lv1"
    before = copy.deepcopy(capped["ledger"])
    with pytest.raises(siyu.InvalidArgumentError) as err:
        m.redeem(capped["ledger"], 1000, NOW, "order-9")
    assert err.value.code == "INVALID_ARGUMENT"
    assert capped["ledger"] == before
    spent = m.redeem(capped["ledger"], 100, NOW, "order-9")
    assert m.summary(spent["ledger"], NOW)["balance"] == 28
    # Earned points expire 365 days later (FIFO lots).
    assert m.summary(m.expire(spent["ledger"], "2027-03-02T10:00:00Z"), "2027-03-02T10:00:00Z")["balance"] < 28


def test_points_apply_events_tiers_and_engagement() -> None:
    m = siyu.PointsModel(json.dumps(m_doc()), siyu.sample_schema())  # the model as JSON text
    events: List[Dict[str, Any]] = [purchase(i, f"2026-02-{i + 1:02d}", amount=600.0) for i in range(2)]
    ledger = m.apply_events(None, events, NOW)
    assert m.summary(ledger, NOW)["lifetime"] == 120
    tier = m.evaluate_tier(ledger, events, NOW)
    assert tier["tier"] == "silver"  # spend 1200 ≥ 1000
    assert "member_price" in tier["benefits"]
    assert tier["change"]["kind"] == "upgrade"
    # Kept state: re-evaluating changes nothing.
    again = m.evaluate_tier(ledger, events, NOW, state=tier["state"])
    assert again["tier"] == "silver" and again["change"] is None
    score = m.engagement(events, NOW)
    assert 0 < score <= 100
    assert m.engagement(events, "2027-03-20T00:00:00Z") < score  # decays


def m_doc() -> Dict[str, Any]:
    return siyu.PointsModel().model()


def test_points_model_errors_are_typed() -> None:
    doc = m_doc()
    doc.pop("tiers")
    no_tiers = siyu.PointsModel(doc)
    with pytest.raises(siyu.InvalidArgumentError):
        no_tiers.evaluate_tier(None, [], NOW)
    with pytest.raises(siyu.InvalidStateError):
        siyu.PointsModel().summary({"version": 99, "lifetime": 0, "lots": [], "entries": []}, NOW)
    bad = m_doc()
    bad["rules"][0]["event"] = "purchse"
    with pytest.raises(siyu.SiyuError) as err:
        siyu.PointsModel(bad)
    assert err.value.code in ("UNKNOWN_EVENT", "INVALID_MODEL")


# --- identity merge and erasure ---------------------------------------------

SCHEMA = {
    "traits": {"city": {"type": "string"}, "phone": {"type": "string", "personal": True}},
    "events": {"purchase": {"properties": {"amount": "float"}}},
}


def test_merge_keeps_the_primary_and_fills_gaps() -> None:
    out = siyu.merge_profiles(
        SCHEMA,
        {"id": "a", "traits": {"city": "Shanghai"}, "identities": {"wechat": ["wx_a"]}},
        {"id": "b", "traits": {"city": "Beijing", "phone": "138"}, "identities": {"phone": ["138"]}},
        secondary_events=[{"id": "e1", "name": "purchase", "timestamp": NOW, "properties": {"amount": 5}}],
    )
    profile = out["profile"]
    assert profile["id"] == "a"
    assert profile["traits"] == {"city": "Shanghai", "phone": "138"}
    assert set(profile["identities"]) == {"wechat", "phone"}
    assert [e["id"] for e in out["events"]] == ["e1"]
    assert out["changes"]["secondary_id"] == "b"
    with pytest.raises(siyu.SiyuError) as err:
        siyu.merge_profiles(SCHEMA, {"id": "a"}, {"id": "a"})
    assert (err.value.code, err.value.path) == ("INVALID_MERGE", "secondary.id")


def test_erase_removes_personal_data_and_reports_fields() -> None:
    schema = siyu.Schema.from_json(SCHEMA)
    profile = {"id": "a", "traits": {"city": "Shanghai", "phone": "138"}, "identities": {"phone": ["138"]}}
    out = siyu.erase(schema, profile, [])
    assert out["profile"]["traits"] == {"city": "Shanghai"}
    assert not out["profile"].get("identities")
    assert "138" not in json.dumps(out["erased"])  # the report names fields, never values
    everything = siyu.erase(schema, json.dumps(profile), "[]", {"all_traits": True, "replacement_id": "x"})
    assert everything["profile"]["id"] == "x" and not everything["profile"].get("traits")
    with pytest.raises(siyu.InvalidJsonError):
        siyu.erase(schema, profile, [], {"forget_everything": True})
