//! Journey engine: restore + step + persist of one 6-node journey instance
//! (the replenishment example), the cycle a host runs per wake-up.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use siyu_core::journey::{Input, JourneyDefinition, JourneyEngine, Policies, UserState};
use siyu_core::value::parse_timestamp;
use siyu_core::{EventLog, Profile, Schema};
use std::hint::black_box;

fn load(name: &str) -> String {
    let path = format!(
        "{}/../core/journeys/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("example journey")
}

fn bench(c: &mut Criterion) {
    let schema = Schema::from_json(&load("schema")).unwrap();
    let def = JourneyDefinition::from_json(&load("replenishment")).unwrap();
    let policies = Policies::from_json_value(&serde_json::json!({
        "default_zone": "Asia/Shanghai",
        "caps": [{"channel": "*", "per_day": 3}],
        "quiet_hours": {"start": "22:00", "end": "08:00"}
    }))
    .unwrap();
    let engine = JourneyEngine::new(schema.clone(), vec![def], policies).unwrap();
    let profile = Profile::from_json_value(
        &serde_json::json!({"id": "u1", "time_zone": "Asia/Shanghai", "consents": [
            {"channel": "wechat", "purpose": "marketing", "status": "granted", "at": "2026-01-01T00:00:00Z"}]}),
        &schema,
    )
    .unwrap();
    let events = EventLog::default();
    // Bring one instance to the day-7 wait (probiotics message next).
    let purchase = siyu_core::Event::from_json_value(
        &serde_json::json!({"id": "p1", "name": "purchase", "timestamp": "2026-03-02T02:00:00Z",
            "properties": {"order_id": "o1", "category": "milk_powder"}}),
        &schema,
    )
    .unwrap();
    let t = |s| parse_timestamp(s).unwrap();
    let s = engine
        .step(
            &UserState::new(),
            &profile,
            &events,
            &Input::Event(purchase),
            t("2026-03-02T02:00:00Z"),
        )
        .unwrap()
        .state;
    let s = engine
        .step(
            &s,
            &profile,
            &events,
            &Input::Tick,
            t("2026-03-05T04:00:00Z"),
        )
        .unwrap()
        .state;
    let blob = s.to_bytes();
    let due = s.instances[0].due.unwrap();
    let mut g = c.benchmark_group("journey");
    g.throughput(Throughput::Elements(1));
    g.bench_function("restore_step_persist", |b| {
        b.iter(|| {
            let st = UserState::from_bytes(black_box(&blob)).unwrap();
            let r = engine
                .step_owned(st, &profile, &events, &Input::Tick, due)
                .unwrap();
            black_box(r.state.to_bytes())
        })
    });
    g.bench_function("restore_tick_persist_idle", |b| {
        let early = due - chrono::Duration::hours(1);
        b.iter(|| {
            let st = UserState::from_bytes(black_box(&blob)).unwrap();
            let r = engine
                .step_owned(st, &profile, &events, &Input::Tick, early)
                .unwrap();
            black_box(r.state.to_bytes())
        })
    });
    g.finish();
    simulation(c, &schema);
}

/// A synthetic population (the sample population generator is not in core yet):
/// each user adds the brand, views furniture, buys milk powder twice and
/// replies once over a year, through all six example journeys.
fn simulation(c: &mut Criterion, schema: &Schema) {
    let names = [
        "welcome",
        "group_activation",
        "browse_abandonment",
        "win_back",
        "replenishment",
        "churn_warning",
    ];
    let defs = names
        .iter()
        .map(|n| JourneyDefinition::from_json(&load(n)).unwrap())
        .collect();
    let policies = Policies::from_json_value(&serde_json::json!({
        "default_zone": "Asia/Shanghai",
        "caps": [{"channel": "*", "per_day": 2}],
        "quiet_hours": {"start": "22:00", "end": "08:00"}
    }))
    .unwrap();
    let engine = JourneyEngine::new(schema.clone(), defs, policies).unwrap();
    let users: Vec<(Profile, EventLog)> = (0..1_000)
        .map(|i| {
            let day = |d: i64| {
                let t = parse_timestamp("2026-01-01T02:00:00Z").unwrap()
                    + chrono::Duration::days(d)
                    + chrono::Duration::minutes(i * 7 % 600);
                siyu_core::value::format_timestamp(&t)
            };
            let d0 = i % 200;
            let p = Profile::from_json_value(
                &serde_json::json!({"id": format!("u{i}"), "time_zone": "Asia/Shanghai",
                    "traits": {"last_interaction_at": day(d0 + 60)},
                    "scores": {"churn_risk": (i % 10) as f64 / 10.0},
                    "consents": [{"channel": "wechat", "purpose": "marketing", "status": "granted", "at": "2025-01-01T00:00:00Z"},
                                 {"channel": "wechat", "purpose": "service", "status": "granted", "at": "2025-01-01T00:00:00Z"}]}),
                schema,
            )
            .unwrap();
            let ev = |k: i64, name: &str, d: i64, props: serde_json::Value| {
                serde_json::json!({"id": format!("u{i}e{k}"), "name": name, "timestamp": day(d), "properties": props})
            };
            let log = EventLog::from_json_value(
                &serde_json::json!([
                    ev(0, "friend_added", d0, serde_json::json!({})),
                    ev(1, "page_viewed", d0 + 2, serde_json::json!({"category": "children_furniture"})),
                    ev(2, "purchase", d0 + 10, serde_json::json!({"order_id": "a", "category": "milk_powder"})),
                    ev(3, "message_replied", d0 + 12, serde_json::json!({})),
                    ev(4, "purchase", d0 + 40, serde_json::json!({"order_id": "b", "category": "milk_powder"})),
                ]),
                schema,
            )
            .unwrap();
            (p, log)
        })
        .collect();
    let from = parse_timestamp("2026-01-01T00:00:00Z").unwrap();
    let to = parse_timestamp("2027-01-01T00:00:00Z").unwrap();
    let mut g = c.benchmark_group("journey_simulation");
    g.sample_size(10);
    g.throughput(Throughput::Elements(users.len() as u64));
    g.bench_function("1k_users_year_six_journeys", |b| {
        b.iter(|| black_box(siyu_core::journey::simulate(&engine, &users, from, to).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
