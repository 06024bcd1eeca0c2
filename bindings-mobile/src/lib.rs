//! Mobile binding of siyu (uniffi): Kotlin package `io.siyu`, Swift module `Siyu`.
//!
//! The device receives definitions (a schema and a rule set) from its server,
//! keeps the user's profile and recent events in a [`Device`], and evaluates
//! segments offline — with the same core, so with the same answers as the
//! server. A [`JourneyRunner`] steps the user's journeys on the device and
//! exports/imports their state in the versioned binary form. All behaviour lives in `siyu-core`; this crate converts values and
//! maps errors.
//!
//! Errors cross as [`SiyuError`] (Kotlin `SiyuException`, Swift `SiyuError`):
//! one variant per stable core code, each carrying the `code` string, the
//! message (`detail`), and position, path and suggestion where known. Every
//! exported call runs under `catch_unwind`, so a panic becomes `Internal`.

uniffi::setup_scaffolding!();

mod device;
mod engines;
mod error;
mod journey;
mod models;

pub use device::{
    parse_zone, rules_to_json, rules_to_text, validate_events, validate_profile, validate_schema,
    version, Device, ExplainLine, Explanation, SegmentResult,
};
pub use engines::{
    apply_tag_rules, erase_json, lifecycle_evaluate, lifecycle_replay, lifecycle_rule_names,
    merge_profiles_json, sample_schema,
};
pub use error::SiyuError;
pub use journey::{JourneyRunner, JourneyStep};
pub use models::{
    analytics_run, bucket_hash, clv_fit, clv_lifetime_value, clv_model_document, clv_predict,
    clv_spend, clv_summarize, decode_journey_state, encode_journey_instances, encode_journey_state,
    rfm_apply, rfm_fit, rfm_score, rfm_segment, rfm_values, validate_journey, PointsEngine,
};
