//! Runner for `merge` vectors: `schema`, `primary`, `secondary`, optional
//! `primary_events` / `secondary_events` (arrays) and `policy`; `expect` is
//! matched against `{"profile", "events", "changes"}`.

use crate::support::{check_error, field, matches, tolerance};
use serde_json::Value;
use siyu_core::merge::{merge_profiles, MergePolicy};
use siyu_core::{EventLog, Profile, Schema};

fn outcome(file: &Value, case: &Value) -> Result<siyu_core::Result<Value>, String> {
    let need = |key: &str| field(file, case, key).ok_or(format!("case has no \"{key}\""));
    let schema_doc = need("schema")?.to_string();
    let (primary, secondary) = (need("primary")?, need("secondary")?);
    let no_events = Value::Array(Vec::new());
    let primary_events = field(file, case, "primary_events").unwrap_or(&no_events);
    let secondary_events = field(file, case, "secondary_events").unwrap_or(&no_events);
    let policy = field(file, case, "policy");
    Ok((|| {
        let schema = Schema::from_json(&schema_doc)?;
        let policy = match policy {
            Some(p) => MergePolicy::from_json_value(p)?,
            None => MergePolicy::default(),
        };
        let p = Profile::from_json_value(primary, &schema)?;
        let s = Profile::from_json_value(secondary, &schema)?;
        let pe = EventLog::from_json_value(primary_events, &schema)?;
        let se = EventLog::from_json_value(secondary_events, &schema)?;
        Ok(merge_profiles(&p, &pe, &s, &se, &schema, &policy)?.to_json())
    })())
}

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    let result = outcome(file, case)?;
    match (case.get("expect"), case.get("expect_error"), result) {
        (Some(expected), None, Ok(actual)) => {
            matches(expected, &actual, tolerance(file, case), "result")
        }
        (Some(_), None, Err(e)) => Err(format!("unexpected error: {e}")),
        (None, Some(expected), Err(e)) => check_error(expected, &e),
        (None, Some(_), Ok(actual)) => Err(format!("expected an error, got {actual}")),
        _ => Err("a case needs exactly one of \"expect\" and \"expect_error\"".into()),
    }
}
