//! Property tests for rule-driven tags: applying the rules twice at the same
//! instant equals applying them once, and tags of non-rule sources survive.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use siyu_core::lifecycle::default_schema;
use siyu_core::tagging::{CompiledTagRules, TagRuleSet};
use siyu_core::value::parse_timestamp;
use siyu_core::{Event, EventLog, Profile, Tag, TagSource, Value, Zone};
use std::collections::BTreeMap;

const RULES: &str = r#"{"rules": [
  {"id": "has_kids", "tag": "has_kids", "group": "family", "policy": "sticky", "ttl": "20d",
   "when": "any(page_viewed where category = \"kids_furniture\", within 30d)"},
  {"id": "interest", "tag": "interest:{category}", "group": "interest",
   "when": "any(consulted, within 10d)", "values_from": {"event": "consulted", "within": "10d"}},
  {"id": "active", "tag": "active", "group": "activity", "when": "count(message_opened, within 7d) >= 3"},
  {"id": "warm", "tag": "warm", "group": "activity", "when": "count(message_opened, within 30d) >= 1", "ttl": "5d"},
  {"id": "big", "tag": "big_spender", "when": "sum(purchase.amount, within 60d) >= 500", "policy": "sticky"}
]}"#;

fn rules() -> CompiledTagRules {
    TagRuleSet::from_json(RULES)
        .and_then(|r| r.compile(&default_schema()))
        .expect("tag rules compile")
}

fn now() -> DateTime<Utc> {
    parse_timestamp("2026-03-01T00:00:00Z").expect("valid")
}

fn event() -> impl Strategy<Value = (u8, u8, i64)> {
    (0u8..4, 0u8..3, 0i64..60 * 24)
}

fn make_event(i: usize, (kind, cat, hours_ago): (u8, u8, i64)) -> Event {
    let cats = ["kids_furniture", "milk_powder", "toys"];
    let mut properties = BTreeMap::new();
    let name = match kind {
        0 => {
            properties.insert("category".into(), Value::String(cats[cat as usize].into()));
            "page_viewed"
        }
        1 => {
            properties.insert("category".into(), Value::String(cats[cat as usize].into()));
            "consulted"
        }
        2 => "message_opened",
        _ => {
            properties.insert("amount".into(), Value::Float(f64::from(cat) * 200.0));
            "purchase"
        }
    };
    Event {
        id: format!("e{i}"),
        name: name.into(),
        timestamp: now() - Duration::hours(hours_ago),
        properties,
    }
}

fn tag() -> impl Strategy<Value = (u8, u8, Option<i64>, i64)> {
    (
        0u8..8,
        0u8..4,
        proptest::option::of(-240i64..240),
        1i64..2000,
    )
}

fn make_tag((name, source, expires_in_h, added_h): (u8, u8, Option<i64>, i64)) -> Tag {
    let (n, g) = [
        ("has_kids", Some("family")),
        ("interest:toys", Some("interest")),
        ("interest:diapers", Some("interest")),
        ("active", Some("activity")),
        ("warm", Some("activity")),
        ("vip_care", Some("activity")),
        ("big_spender", None),
        ("imported_segment", None),
    ][name as usize];
    Tag {
        name: n.into(),
        group: g.map(String::from),
        source: [
            TagSource::Rule,
            TagSource::Manual,
            TagSource::Import,
            TagSource::Staff,
        ][source as usize],
        added_at: now() - Duration::hours(added_h),
        expires_at: expires_in_h.map(|h| now() + Duration::hours(h)),
    }
}

fn profile(tags: Vec<(u8, u8, Option<i64>, i64)>) -> Profile {
    let mut p = Profile::new("u1");
    for t in tags {
        let t = make_tag(t);
        if !p.tags.iter().any(|x| x.name == t.name) {
            p.tags.push(t);
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn applying_twice_equals_applying_once(
        evs in prop::collection::vec(event(), 0..25),
        tags in prop::collection::vec(tag(), 0..5),
    ) {
        let rules = rules();
        let events = EventLog::new(evs.into_iter().enumerate().map(|(i, e)| make_event(i, e)).collect());
        let mut p = profile(tags);
        rules.apply(&mut p, &events, now(), Zone::utc()).expect("apply");
        let once = p.clone();
        let diff = rules.apply(&mut p, &events, now(), Zone::utc()).expect("apply");
        prop_assert!(diff.is_empty(), "second diff not empty: {diff:?}");
        prop_assert_eq!(p, once);
    }

    #[test]
    fn non_rule_tags_are_never_removed(
        evs in prop::collection::vec(event(), 0..25),
        tags in prop::collection::vec(tag(), 0..5),
    ) {
        let rules = rules();
        let events = EventLog::new(evs.into_iter().enumerate().map(|(i, e)| make_event(i, e)).collect());
        let mut p = profile(tags);
        let before: Vec<Tag> = p.tags.iter().filter(|t| t.source != TagSource::Rule).cloned().collect();
        let diff = rules.apply(&mut p, &events, now(), Zone::utc()).expect("apply");
        for t in &before {
            prop_assert!(p.tags.contains(t), "lost {t:?}");
        }
        // Exclusive groups hold at most one tag afterwards.
        for g in ["family", "activity"] {
            let n = p.tags.iter().filter(|t| t.group.as_deref() == Some(g) && t.is_live(now())).count();
            let manual_conflict = before.iter().filter(|t| t.group.as_deref() == Some(g)).count() > 1;
            prop_assert!(n <= 1 || manual_conflict, "group {g} has {n} tags after {diff:?}");
        }
    }
}
