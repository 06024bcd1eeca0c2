//! Cost of one journey event-filter match: a compiled rule-language `where`
//! (`siyu_core::rules::EventFilter`) against the legacy filter document's own
//! matcher, in CPU time and heap allocations per match (a counting global
//! allocator). `cargo run --release -p siyu-benches --example event_filter [matches]`

// A counting global allocator needs `unsafe impl GlobalAlloc`; it only forwards.
#![allow(unsafe_code)]

use siyu_core::journey::definition::Filter;
use siyu_core::rules::EventFilter;
use siyu_core::{EventLog, Profile, Schema, Zone};
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

fn measure(name: &str, n: u64, mut f: impl FnMut() -> bool) {
    let a0 = ALLOCS.load(Ordering::Relaxed);
    let c0 = cpu_ns();
    let mut hits = 0u64;
    for _ in 0..n {
        hits += u64::from(black_box(f()));
    }
    let ns = (cpu_ns() - c0) as f64 / n as f64;
    let allocs = (ALLOCS.load(Ordering::Relaxed) - a0) as f64 / n as f64;
    println!("{name:<34} {ns:6.1} ns  {allocs:4.1} allocs  ({hits} matched)");
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(2_000_000, |a| a.parse().expect("matches"));
    let schema = Schema::from_json(
        r#"{"events": {"order_paid": {"properties": {"amount": "float", "channel": "string"}}}}"#,
    )
    .expect("schema");
    let log = EventLog::from_json_value(
        &serde_json::json!([{"id": "e1", "name": "order_paid", "timestamp": "2026-03-02T10:00:00Z",
                             "properties": {"amount": 120.0, "channel": "app"}}]),
        &schema,
    )
    .expect("event");
    let event = &log.events()[0];
    let profile = Profile::new("u1");
    let now = event.timestamp;
    let compiled = EventFilter::compile_text(
        r#"amount >= 100 and channel in ["wechat", "app"]"#,
        "order_paid",
        &schema,
    )
    .expect("filter");
    let legacy: Filter = serde_json::from_value(
        serde_json::json!({"amount": {"gte": 100}, "channel": {"in": ["wechat", "app"]}}),
    )
    .expect("legacy filter");
    for _ in 0..3 {
        measure("where (compiled rule language)", n, || {
            compiled
                .matches(black_box(event), &profile, now, Zone::utc())
                .expect("match")
        });
        measure("legacy filter document matcher", n, || {
            legacy.matches(black_box(event))
        });
    }
}
