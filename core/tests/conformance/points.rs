//! Runner for `points` vectors (see conformance/README.md, kind `points`).

// Each runner is self-contained; the helpers are compiled into each.
#[allow(clippy::duplicate_mod)]
#[path = "lifecycle_common.rs"]
mod common;

use common::{finish, req, ts};
use serde_json::{json, Value};
use siyu_core::points::{Ledger, PointsModel, TierState};
use siyu_core::{Error, ErrorKind, Event, EventLog};

fn bad(msg: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

fn model(file: &Value, case: &Value, schema: &siyu_core::Schema) -> Result<PointsModel, Error> {
    match crate::support::field(file, case, "model") {
        None => PointsModel::from_json(PointsModel::default_model_json(), schema),
        Some(Value::String(s)) if s == "default" => {
            PointsModel::from_json(PointsModel::default_model_json(), schema)
        }
        Some(v) => PointsModel::from_json(&v.to_string(), schema),
    }
}

fn ledger_json(m: &PointsModel, l: &Ledger, now: chrono::DateTime<chrono::Utc>) -> Value {
    let level = m.level(l.lifetime);
    json!({
        "balance": l.balance(now),
        "lifetime": l.lifetime,
        "level": level.map(|x| x.name.clone()),
        "benefits": level.map(|x| x.benefits.clone()).unwrap_or_default(),
        "entries": l.entries,
        "lots": l.lots,
    })
}

fn run_op(file: &Value, case: &Value) -> Result<Value, Error> {
    let f = |k: &str| crate::support::field(file, case, k);
    let op = f("op").and_then(Value::as_str).unwrap_or("");
    let schema = common::schema(file, case)?;
    let m = model(file, case, &schema)?;
    let zone = common::zone(file, case, "zone")?;
    match op {
        "model" => Ok(json!({"valid": true})),
        "ledger" => {
            let mut l = match f("ledger") {
                Some(v) => Ledger::from_json(&v.to_string())?,
                None => Ledger::new(),
            };
            let mut step_errors = Vec::new();
            for step in f("steps")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let r = if let Some(ev) = step.get("event") {
                    Event::from_json_value(ev, &schema)
                        .and_then(|e| l.apply_event(&m, &e, zone).map(|_| ()))
                } else if let Some(p) = step.get("redeem") {
                    let at = ts(step.get("at").unwrap_or(&Value::Null)).map_err(bad)?;
                    let reference = step.get("reference").and_then(Value::as_str).unwrap_or("");
                    l.redeem(p.as_i64().unwrap_or(0), at, reference).map(|_| ())
                } else if let Some(at) = step.get("expire") {
                    l.expire(ts(at).map_err(bad)?);
                    Ok(())
                } else {
                    return Err(bad(format!("unknown step {step}")));
                };
                step_errors.push(match r {
                    Ok(()) => Value::Null,
                    Err(e) => json!(e.code()),
                });
            }
            let now = ts(req(file, case, "now").map_err(bad)?).map_err(bad)?;
            let mut out = ledger_json(&m, &l, now);
            out["step_errors"] = step_errors.into();
            Ok(out)
        }
        "events" => {
            let events = common::events(file, case, &schema)?;
            let now = ts(req(file, case, "now").map_err(bad)?).map_err(bad)?;
            let mut l = Ledger::new();
            l.apply_events(&m, &events, zone, now)?;
            Ok(ledger_json(&m, &l, now))
        }
        "tier" => {
            let events: EventLog = common::events(file, case, &schema)?;
            let tiers = m
                .tiers
                .clone()
                .ok_or_else(|| bad("model has no tiers".into()))?;
            let mut state = match f("initial") {
                Some(v) => serde_json::from_value::<TierState>(v.clone())
                    .map_err(|e| Error::new(ErrorKind::InvalidState, e.to_string()))?,
                None => TierState::default(),
            };
            let mut l = Ledger::new();
            let mut out = Vec::new();
            for at in f("evaluations")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let now = ts(&at).map_err(bad)?;
                l.apply_events(&m, &events, zone, now)?;
                let o = tiers.evaluate(&l, &events, &state, now)?;
                let mut j = serde_json::to_value(&o).unwrap_or_default();
                j["tier"] = json!(o.state.tier);
                j["benefits"] = json!(o
                    .state
                    .tier
                    .as_deref()
                    .map(|t| tiers.benefits(t))
                    .unwrap_or(&[]));
                out.push(j);
                state = o.state;
            }
            Ok(json!({"evaluations": out}))
        }
        "engagement" => {
            let events = common::events(file, case, &schema)?;
            let now = ts(req(file, case, "now").map_err(bad)?).map_err(bad)?;
            let e = m
                .engagement
                .clone()
                .ok_or_else(|| bad("model has no engagement".into()))?;
            Ok(json!({"score": e.score(&events, now)}))
        }
        other => Err(bad(format!("unknown points op {other:?}"))),
    }
}

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    finish(file, case, run_op(file, case))
}
