//! Rule compilation and per-profile evaluation (issue 2 §8; results in
//! docs/benchmarks.md). Run: `cargo bench -p siyu-benches --bench rules`.

use criterion::{criterion_group, criterion_main, Criterion};
use siyu_core::rules::{CompiledRuleSet, EvalInput, RuleSet};
use siyu_core::value::parse_timestamp;
use siyu_core::{Event, EventLog, Profile, Schema, Value};
use std::hint::black_box;

const SCHEMA: &str = r#"{
  "traits": {"age": "integer", "city": "string", "last_seen": "timestamp", "birthday": "date"},
  "events": {
    "purchase": {"properties": {"amount": "float", "category": "string"}},
    "page_viewed": {"properties": {"category": "string"}},
    "message_opened": {"properties": {"channel": "string"}},
    "check_in": {}
  },
  "tag_groups": {"rfm": {"exclusive": true}}
}"#;

/// The issue's reference rule: five clauses, two windowed aggregates.
const FIVE_CLAUSE: &str = r#"segment five_clause: age >= 18 and city in ["Shanghai", "Beijing"] and count(purchase where category = "milk", within 30d) >= 3 and sum(purchase.amount, during last month) > 100 and not has_tag("churn_warning")"#;

/// The churn-warning rule of DOMAIN.md §4.
const CHURN: &str = "segment churn_warning: days_since(last_seen) >= 30 and none(message_opened, within 72h) and weeks_without(page_viewed) >= 3";

const HIGH_VALUE: &str = r#"segment high_value: sum(purchase.amount, within 90d) >= 500 or (count(purchase, during last 3 months) >= 5 and has_consent("wechat", "marketing"))"#;

const TEN_RULES: &str = r#"
segment new_user: days_since(last_seen) < 7 and count(purchase) = 0
segment activated: any(page_viewed, within 7d) or any(message_opened, within 7d)
segment first_purchase: count(purchase) = 1
segment repeat_buyer: count(purchase, within 90d) >= 2
segment loyal: count(purchase, during last 3 months) >= 5 and in_segment(repeat_buyer)
segment milk_fans: count(purchase where category = "milk", within 30d) >= 3 and not has_tag("churn_warning")
segment churn_warning: days_since(last_seen) >= 30 and none(message_opened, within 72h) and weeks_without(page_viewed) >= 3
segment high_value: sum(purchase.amount, within 90d) >= 500 or avg(purchase.amount) > 200
segment birthday_soon: anniversary(birthday) within next 7d
segment vip_city: city in ["Shanghai", "Beijing", "Shenzhen"] and has_tag_in_group("rfm") and not in_segment(churn_warning)
"#;

/// A deterministic profile with 200 events over the 180 days before `now`
/// (a linear congruential generator with a fixed seed).
fn profile_and_events(schema: &Schema) -> (Profile, EventLog) {
    let profile = Profile::from_json(
        r#"{"id": "u1", "time_zone": "Asia/Shanghai",
            "traits": {"age": 31, "city": "Shanghai", "last_seen": "2026-02-20T09:00:00Z", "birthday": "1994-03-14"},
            "tags": [{"name": "champion", "group": "rfm", "source": "rule", "added_at": "2026-01-01T00:00:00Z"}],
            "consents": [{"channel": "wechat", "purpose": "marketing", "status": "granted", "at": "2025-06-01T00:00:00Z"}]}"#,
        schema,
    )
    .expect("valid profile");
    let now = parse_timestamp("2026-03-10T12:00:00Z").expect("valid now");
    let mut state: u64 = 0x5eed_0001;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let categories = ["milk", "toys", "diapers", "furniture"];
    let events = (0..200)
        .map(|i| {
            let age_secs = (next() % (180 * 86_400)) as i64;
            let kind = next() % 10;
            let category = categories[(next() % 4) as usize].to_string();
            let mut properties = std::collections::BTreeMap::new();
            let name = match kind {
                0..=2 => {
                    properties.insert(
                        "amount".into(),
                        Value::Float((next() % 50_000) as f64 / 100.0),
                    );
                    properties.insert("category".into(), Value::String(category));
                    "purchase"
                }
                3..=6 => {
                    properties.insert("category".into(), Value::String(category));
                    "page_viewed"
                }
                7..=8 => "message_opened",
                _ => "check_in",
            };
            Event {
                id: format!("e{i}"),
                name: name.into(),
                timestamp: now - chrono_secs(age_secs),
                properties,
            }
        })
        .collect();
    (profile, EventLog::new(events))
}

fn chrono_secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

fn bench_rules(c: &mut Criterion) {
    let schema = Schema::from_json(SCHEMA).expect("valid schema");
    let (profile, events) = profile_and_events(&schema);
    let now = parse_timestamp("2026-03-10T12:00:00Z").expect("valid now");
    let input = EvalInput::new(&profile, &events, now);

    let ten = RuleSet::parse(TEN_RULES).expect("ten rules parse");
    c.bench_function("compile/10_rules", |b| {
        b.iter(|| CompiledRuleSet::compile(black_box(&ten), &schema).expect("compiles"))
    });
    c.bench_function("compile/10_rules_from_text", |b| {
        b.iter(|| CompiledRuleSet::compile_text(black_box(TEN_RULES), &schema).expect("compiles"))
    });
    let five = RuleSet::parse(FIVE_CLAUSE).expect("parses");
    c.bench_function("compile/five_clause", |b| {
        b.iter(|| CompiledRuleSet::compile(black_box(&five), &schema).expect("compiles"))
    });

    for (name, text) in [
        ("five_clause", FIVE_CLAUSE),
        ("churn_warning", CHURN),
        ("high_value", HIGH_VALUE),
    ] {
        let compiled = CompiledRuleSet::compile_text(text, &schema).expect("compiles");
        c.bench_function(&format!("evaluate_200_events/{name}"), |b| {
            b.iter(|| compiled.evaluate(black_box(&input)).expect("evaluates"))
        });
    }
    for (name, text) in [
        ("p_age", "segment x: age >= 18"),
        ("p_in", r#"segment x: city in ["Shanghai", "Beijing"]"#),
        (
            "p_count30",
            r#"segment x: count(purchase where category = "milk", within 30d) >= 3"#,
        ),
        (
            "p_count30_nofilter",
            r#"segment x: count(purchase, within 30d) >= 3"#,
        ),
        (
            "p_sum_lastmonth",
            "segment x: sum(purchase.amount, during last month) > 100",
        ),
        (
            "p_sum_30d",
            "segment x: sum(purchase.amount, within 30d) > 100",
        ),
        ("p_tag", r#"segment x: not has_tag("churn_warning")"#),
    ] {
        let compiled = CompiledRuleSet::compile_text(text, &schema).expect("compiles");
        c.bench_function(&format!("piece/{name}"), |b| {
            b.iter(|| compiled.evaluate(black_box(&input)).expect("evaluates"))
        });
    }
    let all = CompiledRuleSet::compile(&ten, &schema).expect("compiles");
    c.bench_function("evaluate_200_events/10_rules", |b| {
        b.iter(|| all.evaluate(black_box(&input)).expect("evaluates"))
    });
}

criterion_group!(benches, bench_rules);
criterion_main!(benches);
