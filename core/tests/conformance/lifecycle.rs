//! Runner for `lifecycle` vectors (see conformance/README.md, kind `lifecycle`).

// Each runner is self-contained; the helpers are compiled into each.
#[allow(clippy::duplicate_mod)]
#[path = "lifecycle_common.rs"]
mod common;

use common::{finish, req, ts};
use serde_json::{json, Value};
use siyu_core::lifecycle::{LifecycleModel, StageState};
use siyu_core::value::parse_date;
use siyu_core::{Error, ErrorKind, EvalInput};

fn bad(msg: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

fn state(v: Option<&Value>) -> Result<Option<StageState>, Error> {
    v.filter(|v| !v.is_null())
        .map(|v| {
            serde_json::from_value::<StageState>(v.clone())
                .map_err(|e| Error::new(ErrorKind::InvalidState, e.to_string()))
        })
        .transpose()
}

fn run_op(file: &Value, case: &Value) -> Result<Value, Error> {
    let f = |k: &str| crate::support::field(file, case, k);
    let schema = common::schema(file, case)?;
    let model = match f("model") {
        None => LifecycleModel::default_model(),
        Some(Value::String(s)) if s == "default" => LifecycleModel::default_model(),
        Some(v) => LifecycleModel::from_json(&v.to_string())?,
    };
    let compiled = model.compile(&schema)?;
    let op = f("op").and_then(Value::as_str).unwrap_or("evaluate");
    let default_zone = common::zone(file, case, "default_zone")?;
    match op {
        "compile" => Ok(json!({"stages": compiled.rules().rule_names()})),
        "evaluate" => {
            let profile = common::profile(file, case, &schema)?;
            let events = common::events(file, case, &schema)?;
            let now = ts(req(file, case, "now").map_err(bad)?).map_err(bad)?;
            let previous = state(f("previous"))?;
            let input = EvalInput::new(&profile, &events, now).with_default_zone(default_zone);
            let o = compiled.evaluate(&input, previous.as_ref())?;
            Ok(json!({
                "stage": o.state.stage,
                "since": o.state.since.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                "matched": o.matched,
                "rule": o.rule,
                "reason": o.reason,
                "held": o.held,
                "transition": o.transition,
            }))
        }
        "replay" => {
            let profile = common::profile(file, case, &schema)?;
            let events = common::events(file, case, &schema)?;
            let day = |k: &str| -> Result<chrono::NaiveDate, Error> {
                parse_date(req(file, case, k).map_err(bad)?.as_str().unwrap_or(""))
            };
            let initial = state(f("initial"))?;
            let days = compiled.replay(
                &profile,
                &events,
                day("from")?,
                day("to")?,
                default_zone,
                initial.as_ref(),
            )?;
            Ok(json!({
                "stages": days.iter().map(|d| d.stage.clone()).collect::<Vec<_>>(),
                "transitions": days.iter().filter_map(|d| d.transition.clone()).collect::<Vec<_>>(),
                "days": days,
            }))
        }
        other => Err(bad(format!("unknown lifecycle op {other:?}"))),
    }
}

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    finish(file, case, run_op(file, case))
}
