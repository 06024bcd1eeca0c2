//! Deterministic sample population for the demo, tests and benchmarks.
