//! Dispatch from a vector's `kind` to its runner.

use serde_json::Value;

#[path = "analytics.rs"]
mod analytics;
#[path = "clv.rs"]
mod clv;
#[path = "erasure.rs"]
mod erasure;
#[path = "error.rs"]
mod error;
#[path = "journey.rs"]
mod journey;
#[path = "lifecycle.rs"]
mod lifecycle;
#[path = "merge.rs"]
mod merge;
#[path = "points.rs"]
mod points;
#[path = "rfm.rs"]
mod rfm;
#[path = "rules_text.rs"]
mod rules_text;
#[path = "segment.rs"]
mod segment;
#[path = "tags.rs"]
mod tags;

/// Runs one case of a file of `kind`.
pub fn run(kind: &str, file: &Value, case: &Value) -> Result<(), String> {
    match kind {
        "segment" => segment::run(file, case),
        "rules_text" => rules_text::run(file, case),
        "error" => error::run(file, case),
        "merge" => merge::run(file, case),
        "erasure" => erasure::run(file, case),
        "lifecycle" => lifecycle::run(file, case),
        "tags" => tags::run(file, case),
        "rfm" => rfm::run(file, case),
        "points" => points::run(file, case),
        "journey" => journey::run(file, case),
        "clv" => clv::run(file, case),
        "analytics" => analytics::run(file, case),
        other => Err(format!("unknown vector kind {other:?}")),
    }
}
