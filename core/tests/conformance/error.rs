//! Runner for `error` vectors: each case names an `op` and its inputs and must
//! fail with `expect_error`.

use crate::support::{check_error, field};
use serde_json::Value;
use siyu_core::rules::{EvalInput, RuleSet};
use siyu_core::{EventLog, Profile, Schema, Zone};

use super::segment;

fn attempt(file: &Value, case: &Value) -> Result<siyu_core::Result<()>, String> {
    let op = field(file, case, "op")
        .and_then(Value::as_str)
        .ok_or("case needs an \"op\"")?;
    let text = |key: &str| -> Result<String, String> {
        field(file, case, key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("op {op} needs a string {key:?}"))
    };
    let input = |key: &str| -> Result<&Value, String> {
        field(file, case, key).ok_or_else(|| format!("op {op} needs {key:?}"))
    };
    Ok(match op {
        "parse_rules" => RuleSet::parse(&text("text")?).map(|_| ()),
        "schema" => Schema::from_json(&input("schema")?.to_string()).map(|_| ()),
        "zone" => Zone::parse(&text("zone")?).map(|_| ()),
        "compile" => {
            let rules = input("rules")?;
            segment::schema(field(file, case, "schema"))
                .and_then(|s| segment::compile(rules, &s).map(|_| ()))
        }
        "profile" => {
            let profile = input("profile")?;
            segment::schema(field(file, case, "schema"))
                .and_then(|s| Profile::from_json_value(profile, &s).map(|_| ()))
        }
        "events" => {
            let events = input("events")?;
            segment::schema(field(file, case, "schema"))
                .and_then(|s| EventLog::from_json_value(events, &s).map(|_| ()))
        }
        "explain" => (|| {
            let rules = input("rules")
                .map_err(|m| siyu_core::Error::new(siyu_core::ErrorKind::InvalidArgument, m))?;
            let s = segment::schema(field(file, case, "schema"))?;
            let compiled = segment::compile(rules, &s)?;
            let p = Profile::new("p");
            let log = EventLog::default();
            let now = siyu_core::value::parse_timestamp("2026-01-01T00:00:00Z")?;
            let rule = field(file, case, "rule")
                .and_then(Value::as_str)
                .unwrap_or("");
            compiled
                .explain(&EvalInput::new(&p, &log, now), rule)
                .map(|_| ())
        })(),
        other => return Err(format!("unknown op {other:?}")),
    })
}

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    let want = case
        .get("expect_error")
        .ok_or("an error case needs expect_error")?;
    match attempt(file, case)? {
        Ok(()) => Err(format!("expected error {want}, but the call succeeded")),
        Err(e) => check_error(want, &e),
    }
}
