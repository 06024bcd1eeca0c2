//! Helpers shared by the `lifecycle`, `tags`, `rfm` and `points` runners.
#![allow(dead_code)]

use serde_json::Value;
use siyu_core::value::parse_timestamp;
use siyu_core::{EventLog, Profile, Schema, Zone};

/// The case's schema: a schema document, or `"default"` (absent means default).
pub fn schema(file: &Value, case: &Value) -> Result<Schema, siyu_core::Error> {
    match crate::support::field(file, case, "schema") {
        None => Ok(siyu_core::lifecycle::default_schema()),
        Some(Value::String(s)) if s == "default" => Ok(siyu_core::lifecycle::default_schema()),
        Some(v) => Schema::from_json(&v.to_string()),
    }
}

/// A required field.
pub fn req<'a>(file: &'a Value, case: &'a Value, key: &str) -> Result<&'a Value, String> {
    crate::support::field(file, case, key).ok_or_else(|| format!("case needs `{key}`"))
}

/// A timestamp field.
pub fn ts(v: &Value) -> Result<chrono::DateTime<chrono::Utc>, String> {
    parse_timestamp(v.as_str().ok_or("timestamp must be a string")?).map_err(|e| e.to_string())
}

/// The case's profile (default `{"id": "u1"}`).
pub fn profile(file: &Value, case: &Value, schema: &Schema) -> Result<Profile, siyu_core::Error> {
    match crate::support::field(file, case, "profile") {
        Some(p) => Profile::from_json_value(p, schema),
        None => Ok(Profile::new("u1")),
    }
}

/// The case's events (default none).
pub fn events(file: &Value, case: &Value, schema: &Schema) -> Result<EventLog, siyu_core::Error> {
    match crate::support::field(file, case, "events") {
        Some(v) => EventLog::from_json_value(v, schema),
        None => Ok(EventLog::default()),
    }
}

/// A zone field (`default_zone` / `zone`), UTC when absent.
pub fn zone(file: &Value, case: &Value, key: &str) -> Result<Zone, siyu_core::Error> {
    match crate::support::field(file, case, key).and_then(Value::as_str) {
        Some(z) => Zone::parse(z),
        None => Ok(Zone::utc()),
    }
}

/// Finishes a case: on `Ok(actual)` matches `expect`; on `Err` matches `expect_error`.
pub fn finish(
    file: &Value,
    case: &Value,
    result: Result<Value, siyu_core::Error>,
) -> Result<(), String> {
    let tol = crate::support::tolerance(file, case);
    match (result, case.get("expect_error")) {
        (Ok(actual), None) => {
            let expected = case
                .get("expect")
                .ok_or("case needs `expect` or `expect_error`")?;
            crate::support::matches(expected, &actual, tol, "result")
        }
        (Ok(actual), Some(_)) => Err(format!("expected an error, got {actual}")),
        (Err(e), Some(expected)) => crate::support::check_error(expected, &e),
        (Err(e), None) => Err(format!("unexpected error: {e} ({})", e.to_json())),
    }
}
