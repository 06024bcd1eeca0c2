//! Runner for `tags` vectors (see conformance/README.md, kind `tags`).

// Each runner is self-contained; the helpers are compiled into each.
#[allow(clippy::duplicate_mod)]
#[path = "lifecycle_common.rs"]
mod common;

use common::{finish, ts};
use serde_json::{json, Value};
use siyu_core::tagging::TagRuleSet;
use siyu_core::{Error, ErrorKind};

fn bad(msg: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

fn run_op(file: &Value, case: &Value) -> Result<Value, Error> {
    let f = |k: &str| crate::support::field(file, case, k);
    let schema = common::schema(file, case)?;
    let rules = f("tag_rules").ok_or_else(|| bad("case needs `tag_rules`".into()))?;
    let compiled = TagRuleSet::from_json(&rules.to_string())?.compile(&schema)?;
    let mut profile = common::profile(file, case, &schema)?;
    let events = common::events(file, case, &schema)?;
    let zone = common::zone(file, case, "default_zone")?;
    let nows: Vec<Value> = match f("steps") {
        Some(Value::Array(steps)) => steps.clone(),
        _ => vec![f("now")
            .cloned()
            .ok_or_else(|| bad("case needs `now` or `steps`".into()))?],
    };
    let mut out = Vec::new();
    for now in nows {
        let now = ts(&now).map_err(bad)?;
        let diff = compiled.apply(&mut profile, &events, now, zone)?;
        let mut names: Vec<String> = profile.tags.iter().map(|t| t.name.clone()).collect();
        names.sort();
        let mut j = serde_json::to_value(&diff).unwrap_or_default();
        j["tag_names"] = json!(names);
        j["tags"] = serde_json::to_value(&profile.tags).unwrap_or_default();
        // Idempotence: a second application at the same instant changes nothing.
        let again = compiled.apply(&mut profile, &events, now, zone)?;
        j["reapply_empty"] = json!(again.is_empty());
        out.push(j);
    }
    if f("steps").is_some() {
        Ok(json!({"steps": out}))
    } else {
        Ok(out.pop().unwrap_or_default())
    }
}

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    finish(file, case, run_op(file, case))
}
