//! CPU-time measurements of the journey engine for a shared, loaded machine
//! (wall-clock benches overstate the cost there): this thread's CPU time comes
//! from `/proc/thread-self/schedstat` (Linux), so time spent waiting for a core
//! does not count.
//!
//! `cargo run --release -p siyu-benches --example journey_cpu [cycles] [users]`
//! runs `cycles` restore + step + persist cycles (default 2 000 000) and the
//! first `users` users of the sample population (default 100 000) through the
//! six example journeys for its year, and prints per-core throughput. The
//! firing cycle is also run as a host looping over users would: one scratch
//! state and output buffer reused (`UserState::read_bytes` / `write_bytes`).

#[path = "../src/journey_setup.rs"]
mod setup;

use siyu_core::journey::{simulate, Input, UserState};
use std::hint::black_box;
use std::time::Instant;

/// CPU time of this thread in nanoseconds.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux only)")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let cycles: u64 = args
        .next()
        .map_or(2_000_000, |a| a.parse().expect("cycles"));
    let users: usize = args.next().map_or(100_000, |a| a.parse().expect("users"));

    let setup::Cycle {
        engine,
        profile,
        events,
        blob,
        due,
    } = setup::cycle();
    for (name, at) in [("firing", due), ("idle", due - chrono::Duration::hours(1))] {
        let (c0, w0) = (cpu_ns(), Instant::now());
        for _ in 0..cycles {
            let st = UserState::from_bytes(black_box(&blob)).unwrap();
            let r = engine
                .step_owned(st, &profile, &events, &Input::Tick, at)
                .unwrap();
            black_box(r.state.to_bytes());
        }
        let cpu = (cpu_ns() - c0) as f64 / 1e9;
        println!(
            "cycle {name}: {cycles} cycles, {cpu:.3} s CPU ({:.3} s wall): {:.0} ns/cycle, {:.2} M cycles/s per core",
            w0.elapsed().as_secs_f64(),
            cpu * 1e9 / cycles as f64,
            cycles as f64 / cpu / 1e6
        );
    }

    // The same firing cycle as a host looping over users would run it: one
    // scratch state and one output buffer, reused.
    let (mut scratch, mut out) = (UserState::new(), Vec::new());
    let (c0, w0) = (cpu_ns(), Instant::now());
    for _ in 0..cycles {
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
    }
    let cpu = (cpu_ns() - c0) as f64 / 1e9;
    println!(
        "cycle firing (scratch state): {cycles} cycles, {cpu:.3} s CPU ({:.3} s wall): {:.0} ns/cycle, {:.2} M cycles/s per core",
        w0.elapsed().as_secs_f64(),
        cpu * 1e9 / cycles as f64,
        cycles as f64 / cpu / 1e6
    );

    let schema = setup::sample_journey_schema();
    let engine = setup::six_journeys(&schema);
    let gen = setup::sample();
    let (from, to) = (gen.config().start, gen.config().end);
    let users = users.min(gen.config().users);
    let (mut gen_cpu, mut sim_cpu, mut steps, mut messages) = (0u64, 0u64, 0u64, 0u64);
    let w0 = Instant::now();
    for lo in (0..users).step_by(1_000) {
        let c0 = cpu_ns();
        let chunk = setup::sample_users(&gen, lo, (lo + 1_000).min(users));
        let c1 = cpu_ns();
        let r = simulate(&engine, &chunk, from, to).unwrap();
        sim_cpu += cpu_ns() - c1;
        gen_cpu += c1 - c0;
        steps += r.steps;
        messages += r.messages_per_day.values().sum::<u64>();
    }
    println!(
        "sample year: {users} users, {steps} steps, {messages} messages; simulate {:.2} s CPU ({:.0} users/s per core), generating the users {:.2} s CPU, {:.1} s wall in all",
        sim_cpu as f64 / 1e9,
        users as f64 / (sim_cpu as f64 / 1e9),
        gen_cpu as f64 / 1e9,
        w0.elapsed().as_secs_f64()
    );
}
