//! Lifecycle, tags and RFM benches (docs/benchmarks.md, "Lifecycle, tags, RFM").
//!
//! * `lifecycle/profile_200_events`: the default lifecycle model + 20 tag rules +
//!   RFM values, scores and 11-segment lookup for one profile with 200 events.
//! * `rfm/batch_1m`: fitting quintile thresholds and scoring 1 000 000 profiles
//!   from synthetic R/F/M columns (deterministic LCG data).

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use siyu_core::lifecycle::{default_schema, LifecycleModel};
use siyu_core::rfm::{score_columns, RfmConfig, RfmThresholds, ScoreMethod, SegmentMap};
use siyu_core::tagging::TagRuleSet;
use siyu_core::value::parse_timestamp;
use siyu_core::{EvalInput, Event, EventLog, Profile, Value};
use std::collections::BTreeMap;
use std::hint::black_box;

/// A deterministic linear congruential generator (no randomness in benches).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn now() -> DateTime<Utc> {
    parse_timestamp("2026-03-31T00:00:00Z").expect("valid")
}

fn events(n: usize) -> EventLog {
    let names = [
        "friend_added",
        "group_joined",
        "message_sent",
        "message_opened",
        "message_replied",
        "page_viewed",
        "consulted",
        "coupon_claimed",
        "purchase",
        "referral",
        "check_in",
    ];
    let cats = ["milk_powder", "toys", "kids_furniture", "diapers", "books"];
    let mut rng = Lcg(42);
    let evs = (0..n)
        .map(|i| {
            let name = names[(rng.next() % names.len() as u64) as usize];
            let mut properties = BTreeMap::new();
            let cat = cats[(rng.next() % cats.len() as u64) as usize];
            match name {
                "purchase" => {
                    properties.insert("amount".into(), Value::Float((rng.next() % 800) as f64));
                    properties.insert("category".into(), Value::String(cat.into()));
                }
                "page_viewed" | "consulted" => {
                    properties.insert("category".into(), Value::String(cat.into()));
                }
                _ => {}
            }
            Event {
                id: format!("e{i}"),
                name: name.into(),
                timestamp: now() - Duration::minutes((rng.next() % (400 * 24 * 60)) as i64),
                properties,
            }
        })
        .collect();
    EventLog::new(evs)
}

fn tag_rules() -> TagRuleSet {
    let cats = ["milk_powder", "toys", "kids_furniture", "diapers", "books"];
    let mut rules = Vec::new();
    for c in cats {
        rules.push(format!(
            r#"{{"tag": "viewed_{c}", "when": "any(page_viewed where category = \"{c}\", within 30d)"}}"#
        ));
        rules.push(format!(
            r#"{{"tag": "bought_{c}", "policy": "sticky", "ttl": "90d", "when": "count(purchase where category = \"{c}\", within 90d) >= 1"}}"#
        ));
    }
    rules.push(r#"{"tag": "interest:{category}", "group": "interest", "when": "any(consulted, within 30d)", "values_from": {"event": "consulted", "within": "30d"}}"#.into());
    rules.push(r#"{"tag": "active", "group": "activity", "when": "count(message_opened, within 7d) >= 3"}"#.into());
    rules.push(
        r#"{"tag": "warm", "group": "activity", "when": "count(message_opened, within 30d) >= 1"}"#
            .into(),
    );
    rules.push(
        r#"{"tag": "big_spender", "when": "sum(purchase.amount, within 365d) >= 5000"}"#.into(),
    );
    rules.push(r#"{"tag": "checker", "when": "count(check_in, within 14d) >= 5"}"#.into());
    rules.push(r#"{"tag": "referrer", "when": "any(referral)", "policy": "sticky"}"#.into());
    rules.push(
        r#"{"tag": "coupon_hunter", "when": "count(coupon_claimed, within 60d) >= 3"}"#.into(),
    );
    rules.push(r#"{"tag": "silent", "when": "none(message_replied, within 30d)"}"#.into());
    rules.push(r#"{"tag": "group_member", "when": "any(group_joined)"}"#.into());
    rules.push(r#"{"tag": "frequent", "when": "count(purchase, within 30d) >= 3"}"#.into());
    assert_eq!(rules.len(), 20);
    TagRuleSet::from_json(&format!(r#"{{"rules": [{}]}}"#, rules.join(","))).expect("rules")
}

fn bench_profile(c: &mut Criterion) {
    let schema = default_schema();
    let lifecycle = LifecycleModel::default_model()
        .compile(&schema)
        .expect("model");
    let tags = tag_rules().compile(&schema).expect("tags");
    let rfm = RfmConfig::default();
    let thresholds = RfmThresholds::fit_columns(
        ScoreMethod::Quantile,
        &[1.0, 10.0, 30.0, 90.0, 200.0],
        &[1.0, 2.0, 3.0, 5.0, 8.0],
        &[50.0, 200.0, 500.0, 1500.0, 5000.0],
    )
    .expect("thresholds");
    let map = SegmentMap::standard_11();
    let profile = Profile::new("u1");
    let log = events(200);
    c.bench_function("lifecycle/profile_200_events", |b| {
        b.iter(|| {
            let input = EvalInput::new(&profile, &log, now());
            let stage = lifecycle.classify(&input, None).expect("stage");
            let diff = tags.diff(&input).expect("tags");
            let seg = rfm
                .values(&log, now())
                .map(|v| map.segment(&thresholds.score(&v)).map(str::len));
            black_box((stage, diff, seg))
        })
    });
    // The parts, to see where the time goes.
    let input = EvalInput::new(&profile, &log, now());
    c.bench_function("lifecycle/parts/stage", |b| {
        b.iter(|| black_box(lifecycle.classify(&input, None).expect("stage")))
    });
    c.bench_function("lifecycle/parts/tags_20", |b| {
        b.iter(|| black_box(tags.diff(&input).expect("tags")))
    });
    c.bench_function("lifecycle/parts/tags_20_rules_only", |b| {
        b.iter(|| black_box(tags.rules().evaluate(&input).expect("rules")))
    });
    c.bench_function("lifecycle/parts/rfm_segment", |b| {
        b.iter(|| {
            black_box(
                rfm.values(&log, now())
                    .map(|v| map.segment(&thresholds.score(&v)).map(str::len)),
            )
        })
    });
}

fn bench_batch(c: &mut Criterion) {
    let n = 1_000_000;
    let mut rng = Lcg(7);
    let r: Vec<f64> = (0..n).map(|_| (rng.next() % 365) as f64).collect();
    let f: Vec<f64> = (0..n).map(|_| (1 + rng.next() % 20) as f64).collect();
    let m: Vec<f64> = (0..n)
        .map(|_| (rng.next() % 100_000) as f64 / 10.0)
        .collect();
    let mut group = c.benchmark_group("rfm");
    group.sample_size(10);
    group.bench_function("batch_1m", |b| {
        b.iter(|| black_box(score_columns(ScoreMethod::Quantile, &r, &f, &m).expect("scores")))
    });
    group.finish();
}

criterion_group!(benches, bench_profile, bench_batch);
criterion_main!(benches);
