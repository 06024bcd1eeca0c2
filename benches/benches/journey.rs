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
}

criterion_group!(benches, bench);
criterion_main!(benches);
