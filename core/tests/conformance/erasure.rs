//! Runner for `erasure` vectors: `schema`, `profile`, optional `events` (array)
//! and `request`; `expect` is matched against `{"profile", "events", "erased"}`.

use crate::support::{check_error, field, matches, tolerance};
use serde_json::Value;
use siyu_core::erasure::{erase, ErasureRequest};
use siyu_core::{EventLog, Profile, Schema};

fn outcome(file: &Value, case: &Value) -> Result<siyu_core::Result<Value>, String> {
    let need = |key: &str| field(file, case, key).ok_or(format!("case has no \"{key}\""));
    let schema_doc = need("schema")?.to_string();
    let profile = need("profile")?;
    let no_events = Value::Array(Vec::new());
    let events = field(file, case, "events").unwrap_or(&no_events);
    let empty = Value::Object(serde_json::Map::new());
    let request = field(file, case, "request").unwrap_or(&empty);
    Ok((|| {
        let schema = Schema::from_json(&schema_doc)?;
        let request = ErasureRequest::from_json_value(request)?;
        let p = Profile::from_json_value(profile, &schema)?;
        let e = EventLog::from_json_value(events, &schema)?;
        Ok(erase(&p, &e, &schema, &request)?.to_json())
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
