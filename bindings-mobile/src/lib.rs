//! Mobile binding of siyu (uniffi): Kotlin package `io.siyu`, Swift module `Siyu`.
//!
//! The device receives definitions (a schema and a rule set) from its server,
//! keeps the user's profile and recent events in a [`Device`], and evaluates
//! segments offline — with the same core, so with the same answers as the
//! server. All behaviour lives in `siyu-core`; this crate converts values and
//! maps errors.
//!
//! Errors cross as [`SiyuError`] (Kotlin `SiyuException`, Swift `SiyuError`):
//! one variant per stable core code, each carrying the `code` string, the
//! message (`detail`), and position, path and suggestion where known. Every
//! exported call runs under `catch_unwind`, so a panic becomes `Internal`.

uniffi::setup_scaffolding!();

mod device;
mod error;

pub use device::{
    parse_zone, rules_to_json, rules_to_text, validate_events, validate_profile, validate_schema,
    version, Device, ExplainLine, Explanation, SegmentResult,
};
pub use error::SiyuError;
