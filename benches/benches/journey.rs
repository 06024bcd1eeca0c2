//! Journey engine: restore + step + persist of one 6-node journey instance
//! (the replenishment example), the cycle a host runs per wake-up; and a year
//! of the sample population through the six example journeys.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use siyu_core::journey::{Input, UserState};
use std::hint::black_box;

#[path = "../src/journey_setup.rs"]
#[allow(dead_code)]
mod setup;

fn bench(c: &mut Criterion) {
    let setup::Cycle {
        engine,
        profile,
        events,
        blob,
        due,
    } = setup::cycle();
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
    // A host restoring many users in a loop: one scratch state and one output
    // buffer, reused (`UserState::read_bytes` / `write_bytes`).
    g.bench_function("restore_step_persist_scratch", |b| {
        let (mut scratch, mut out) = (UserState::new(), Vec::new());
        b.iter(|| {
            scratch.read_bytes(black_box(&blob)).unwrap();
            let r = engine
                .step_owned(
                    std::mem::take(&mut scratch),
                    &profile,
                    &events,
                    &Input::Tick,
                    due,
                )
                .unwrap();
            out.clear();
            r.state.write_bytes(&mut out);
            scratch = r.state;
            black_box(&out);
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
    simulation(c);
}

/// The deterministic sample population (`siyu_core::sample`, seed 42) through
/// all six example journeys for its year. Criterion times the first 1 000
/// users; the full 100 000 is timed by `cargo run --release -p siyu-benches
/// --example journey_cpu` (too slow for repeated samples on a shared machine).
fn simulation(c: &mut Criterion) {
    let schema = setup::sample_journey_schema();
    let engine = setup::six_journeys(&schema);
    let gen = setup::sample();
    let users = setup::sample_users(&gen, 0, 1_000);
    let (from, to) = (gen.config().start, gen.config().end);
    let mut g = c.benchmark_group("journey_simulation");
    g.sample_size(10);
    g.throughput(Throughput::Elements(users.len() as u64));
    g.bench_function("sample_1k_users_year_six_journeys", |b| {
        b.iter(|| black_box(siyu_core::journey::simulate(&engine, &users, from, to).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
