//! Benchmarks for siyu (see docs/benchmarks.md).
