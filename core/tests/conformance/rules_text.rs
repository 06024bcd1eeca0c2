//! Runner for `rules_text` vectors: DSL text (or an AST document) → the parsed
//! AST's JSON and the canonical printed text, or the expected error.

use crate::support::{check_error, field, matches, tolerance};
use serde_json::Value;
use siyu_core::rules::RuleSet;

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    let parsed = match (field(file, case, "text"), field(file, case, "json")) {
        (Some(Value::String(text)), _) => RuleSet::parse(text),
        (Some(other), _) => return Err(format!("\"text\" must be a string, got {other}")),
        (None, Some(doc)) => RuleSet::from_json_value(doc),
        (None, None) => return Err("a rules_text case needs \"text\" or \"json\"".into()),
    };
    if let Some(expected) = case.get("expect_error") {
        return match parsed {
            Ok(rs) => Err(format!("expected an error, parsed {}", rs.to_text())),
            Err(e) => check_error(expected, &e),
        };
    }
    let expect = case
        .get("expect")
        .ok_or("a case needs \"expect\" or \"expect_error\"")?;
    let rs = parsed.map_err(|e| format!("unexpected error: {e}"))?;
    let printed = rs.to_text();
    // Printing is lossless and stable whatever the case expects.
    let reparsed = RuleSet::parse(&printed)
        .map_err(|e| format!("printed text does not parse ({e}):\n{printed}"))?;
    if reparsed != rs {
        return Err(format!(
            "printed text parses to a different tree:\n{printed}"
        ));
    }
    if reparsed.to_text() != printed {
        return Err(format!("printing is not stable:\n{printed}"));
    }
    if let Some(expected_json) = expect.get("json") {
        let actual: Value = serde_json::from_str(&rs.to_json()).map_err(|e| e.to_string())?;
        matches(expected_json, &actual, tolerance(file, case), "json")?;
        // The expected document must also describe exactly this tree.
        let from_expected = RuleSet::from_json_value(expected_json)
            .map_err(|e| format!("expected json is not a rule set: {e}"))?;
        if from_expected != rs {
            return Err(format!(
                "expected json describes a different tree than the parsed one: {actual}"
            ));
        }
    }
    if let Some(expected_text) = expect.get("text") {
        let expected_text = expected_text
            .as_str()
            .ok_or("expect.text must be a string")?;
        if printed != expected_text {
            return Err(format!(
                "printed text differs:\nexpected: {expected_text:?}\nactual:   {printed:?}"
            ));
        }
    }
    Ok(())
}
