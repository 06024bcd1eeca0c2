//! Where the time of one restore + step + persist cycle goes: CPU time of
//! decoding, stepping and encoding separately, and heap allocations per part
//! (a counting global allocator). `cargo run --release -p siyu-benches
//! --example journey_breakdown [cycles] [only]`
//! (`only`: run just the parts whose name contains it, e.g. for `perf`).

// A counting global allocator needs `unsafe impl GlobalAlloc`; it only forwards.
#![allow(unsafe_code)]
#[path = "../src/journey_setup.rs"]
#[allow(dead_code)]
mod setup;

use siyu_core::journey::{Input, UserState};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux only)")
}

fn measure(name: &str, cycles: u64, mut f: impl FnMut()) {
    if let Some(only) = std::env::args().nth(2) {
        if !name.contains(&only) {
            return;
        }
    }
    let a0 = ALLOCS.load(Ordering::Relaxed);
    let c0 = cpu_ns();
    for _ in 0..cycles {
        f();
    }
    let ns = (cpu_ns() - c0) as f64 / cycles as f64;
    let allocs = (ALLOCS.load(Ordering::Relaxed) - a0) as f64 / cycles as f64;
    println!("{name:<28} {ns:7.0} ns  {allocs:5.1} allocs");
}

fn main() {
    let cycles: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().expect("cycles"));
    let setup::Cycle {
        engine,
        profile,
        events,
        blob,
        due,
    } = setup::cycle();
    println!("blob: {} bytes", blob.len());
    let st = UserState::from_bytes(&blob).unwrap();
    for (name, at) in [("firing", due), ("idle", due - chrono::Duration::hours(1))] {
        let r = engine
            .step_owned(st.clone(), &profile, &events, &Input::Tick, at)
            .unwrap();
        let out = r.state.to_bytes();
        measure(&format!("{name}: decode"), cycles, || {
            black_box(UserState::from_bytes(black_box(&blob)).unwrap());
        });
        measure(&format!("{name}: clone"), cycles, || {
            black_box(black_box(&st).clone());
        });
        measure(&format!("{name}: clone+step"), cycles, || {
            black_box(
                engine
                    .step_owned(black_box(&st).clone(), &profile, &events, &Input::Tick, at)
                    .unwrap(),
            );
        });
        measure(&format!("{name}: encode"), cycles, || {
            black_box(black_box(&r.state).to_bytes());
        });
        measure(&format!("{name}: full cycle"), cycles, || {
            let s = UserState::from_bytes(black_box(&blob)).unwrap();
            let r = engine
                .step_owned(s, &profile, &events, &Input::Tick, at)
                .unwrap();
            black_box(r.state.to_bytes());
        });
        let (mut scratch, mut buf) = (UserState::new(), Vec::new());
        measure(&format!("{name}: reuse cycle"), cycles, || {
            scratch.read_bytes(black_box(&blob)).unwrap();
            let r = engine
                .step_owned(
                    std::mem::take(&mut scratch),
                    &profile,
                    &events,
                    &Input::Tick,
                    at,
                )
                .unwrap();
            buf.clear();
            r.state.write_bytes(&mut buf);
            scratch = r.state;
            black_box(&buf);
        });
        assert!(buf.is_empty() || buf == out);
        black_box(out);
    }
}
