//! Runner for `segment` vectors: compile `rules` against `schema`, evaluate the
//! case's `profile` and `events` at `now`, and match memberships and explanations.

use crate::support::{check_error, field, matches, tolerance};
use serde_json::Value;
use siyu_core::rules::{CompiledRuleSet, EvalInput, RuleSet};
use siyu_core::{EventLog, Profile, Schema, Zone};

/// Compiles a `rules` field: DSL text (errors carry positions) or a rule-set document.
pub fn compile(rules: &Value, schema: &Schema) -> siyu_core::Result<CompiledRuleSet> {
    match rules {
        Value::String(text) => CompiledRuleSet::compile_text(text, schema),
        doc => CompiledRuleSet::compile(&RuleSet::from_json_value(doc)?, schema),
    }
}

/// Reads a `schema` field (absent: the empty schema).
pub fn schema(v: Option<&Value>) -> siyu_core::Result<Schema> {
    match v {
        None => Ok(Schema::default()),
        Some(s) => Schema::from_json(&s.to_string()),
    }
}

struct Outcome {
    memberships: Value,
    explanations: Value,
}

fn evaluate(file: &Value, case: &Value) -> siyu_core::Result<Outcome> {
    let schema = schema(field(file, case, "schema"))?;
    let rules = field(file, case, "rules").cloned().unwrap_or(Value::Null);
    let compiled = compile(&rules, &schema)?;
    let default_profile = serde_json::json!({"id": "p"});
    let profile = Profile::from_json_value(
        field(file, case, "profile").unwrap_or(&default_profile),
        &schema,
    )?;
    let empty = Value::Array(Vec::new());
    let events = EventLog::from_json_value(field(file, case, "events").unwrap_or(&empty), &schema)?;
    let now_text = field(file, case, "now")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let now = siyu_core::value::parse_timestamp(now_text)?;
    let mut input = EvalInput::new(&profile, &events, now);
    if let Some(z) = field(file, case, "default_zone").and_then(Value::as_str) {
        input = input.with_default_zone(Zone::parse(z)?);
    }
    let memberships = compiled
        .evaluate_named(&input)?
        .into_iter()
        .map(|(name, member)| (name, Value::Bool(member)))
        .collect::<serde_json::Map<_, _>>();
    let mut explanations = serde_json::Map::new();
    if let Some(Value::Object(wanted)) = case.get("explain") {
        for name in wanted.keys() {
            let ex = compiled.explain(&input, name)?;
            explanations.insert(
                name.clone(),
                serde_json::to_value(ex).unwrap_or(Value::Null),
            );
        }
    }
    Ok(Outcome {
        memberships: Value::Object(memberships),
        explanations: Value::Object(explanations),
    })
}

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    let result = evaluate(file, case);
    if let Some(want) = case.get("expect_error") {
        return match result {
            Ok(_) => Err(format!("expected error {want}, but evaluation succeeded")),
            Err(e) => check_error(want, &e),
        };
    }
    let out = result.map_err(|e| format!("unexpected error: {e}"))?;
    let tol = tolerance(file, case);
    let want = case
        .get("expect")
        .ok_or("case has neither expect nor expect_error")?;
    matches(want, &out.memberships, tol, "expect")?;
    if let Some(want) = case.get("explain") {
        matches(want, &out.explanations, tol, "explain")?;
    }
    Ok(())
}
