//! Runner for `journey` vectors (format: conformance/README.md, section `journey`).

use crate::support::{field, matches, tolerance};
use serde_json::{json, Value};
use siyu_core::journey::migrate::MigrationMap;
use siyu_core::journey::validate::{analyze, sub_code};
use siyu_core::journey::{Input, JourneyDefinition, JourneyEngine, Policies, UserState};
use siyu_core::{Error, Event, EventLog, Profile, Schema};

fn schema(file: &Value, case: &Value) -> Result<Schema, String> {
    match field(file, case, "schema") {
        Some(s) => serde_json::from_value(s.clone()).map_err(|e| format!("bad schema: {e}")),
        None => Ok(Schema::default()),
    }
}

/// The error JSON plus `reason`: the journey validation sub-code, when present.
fn error_json(e: &Error) -> Value {
    let mut j = e.to_json();
    if let (Some(code), Value::Object(m)) = (sub_code(e), &mut j) {
        m.insert("reason".into(), code.into());
    }
    j
}

fn expect_err<T>(case: &Value, r: Result<T, Error>) -> Result<Option<T>, String> {
    match (case.get("expect_error"), r) {
        (Some(exp), Err(e)) => {
            matches(exp, &error_json(&e), 0.0, "error")
                .map_err(|m| format!("{m} (error was: {e})"))?;
            Ok(None)
        }
        (Some(_), Ok(_)) => Err("expected an error, got success".into()),
        (None, Err(e)) => Err(format!("unexpected error: {e}")),
        (None, Ok(v)) => Ok(Some(v)),
    }
}

fn engine(file: &Value, case: &Value) -> Result<JourneyEngine, Error> {
    let schema =
        schema(file, case).map_err(|m| Error::new(siyu_core::ErrorKind::InvalidSchema, m))?;
    let defs = field(file, case, "journeys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            JourneyDefinition::from_json_value(d)
                .map_err(|e| e.prefix_path(&format!("journeys[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let policies = match field(file, case, "policies") {
        Some(p) => Policies::from_json_value(p)?,
        None => Policies::default(),
    };
    JourneyEngine::new(schema, defs, policies)
}

fn ts(v: Option<&Value>, what: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let s = v.and_then(Value::as_str).ok_or(format!("missing {what}"))?;
    siyu_core::value::parse_timestamp(s).map_err(|e| e.to_string())
}

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    let tol = tolerance(file, case);
    let op = field(file, case, "op")
        .and_then(Value::as_str)
        .unwrap_or("run");
    match op {
        "validate" => {
            let def = case.get("journey").ok_or("validate needs \"journey\"")?;
            let r = JourneyDefinition::from_json_value(def).and_then(|d| {
                if let Some(s) = field(file, case, "schema") {
                    let schema: Schema = serde_json::from_value(s.clone()).map_err(|e| {
                        Error::new(siyu_core::ErrorKind::InvalidSchema, e.to_string())
                    })?;
                    siyu_core::journey::validate::check_schema(&d, &schema)?;
                }
                Ok(analyze(&d))
            });
            if let Some(report) = expect_err(case, r)? {
                let actual = serde_json::to_value(report).map_err(|e| e.to_string())?;
                matches(
                    case.get("expect").unwrap_or(&json!({})),
                    &actual,
                    tol,
                    "expect",
                )?;
            }
            Ok(())
        }
        "engine" => {
            if let Some(e) = expect_err(case, engine(file, case))? {
                let reports: Value = e
                    .definitions()
                    .map(|d| {
                        (
                            d.id.clone(),
                            serde_json::to_value(e.report(&d.id)).unwrap_or(Value::Null),
                        )
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into();
                matches(
                    case.get("expect").unwrap_or(&json!({})),
                    &json!({"reports": reports}),
                    tol,
                    "expect",
                )?;
            }
            Ok(())
        }
        "hash" => {
            let seed = case
                .get("seed")
                .and_then(Value::as_str)
                .ok_or("hash needs seed")?;
            let value = case
                .get("value")
                .and_then(Value::as_str)
                .ok_or("hash needs value")?;
            let version = case.get("version").and_then(Value::as_u64).unwrap_or(2) as u32;
            let h = siyu_core::hashing::hash(seed, value, version);
            matches(
                case.get("expect").ok_or("no expect")?,
                &json!({"hash": h}),
                tol,
                "expect",
            )
        }
        "encode" => {
            let st = UserState::from_json_value(case.get("state").ok_or("encode needs state")?);
            let Some(st) = expect_err(case, st)? else {
                return Ok(());
            };
            let bytes = st.to_bytes();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let back = UserState::from_bytes(&bytes).map_err(|e| e.to_string())?;
            if back != st {
                return Err("binary round trip changed the state".into());
            }
            let inst: Vec<Value> = st
                .instances
                .iter()
                .map(|i| {
                    let b = i.to_bytes();
                    json!({"bytes_hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>(), "size": b.len()})
                })
                .collect();
            matches(
                case.get("expect").ok_or("no expect")?,
                &json!({"bytes_hex": hex, "size": bytes.len(), "instances": inst, "json": st.to_json()}),
                tol,
                "expect",
            )
        }
        "decode" => {
            let hex = case
                .get("bytes_hex")
                .and_then(Value::as_str)
                .ok_or("decode needs bytes_hex")?;
            let bytes: Result<Vec<u8>, _> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
                .collect();
            let bytes = bytes.map_err(|e| e.to_string())?;
            if let Some(st) = expect_err(case, UserState::from_bytes(&bytes))? {
                matches(
                    case.get("expect").ok_or("no expect")?,
                    &json!({"json": st.to_json()}),
                    tol,
                    "expect",
                )?;
            }
            Ok(())
        }
        "migrate" => {
            let e = engine(file, case).map_err(|e| format!("engine: {e}"))?;
            let st = UserState::from_json_value(case.get("state").ok_or("migrate needs state")?)
                .map_err(|e| e.to_string())?;
            let map: MigrationMap =
                serde_json::from_value(case.get("map").cloned().ok_or("migrate needs map")?)
                    .map_err(|e| e.to_string())?;
            let now = ts(field(file, case, "now"), "now")?;
            let dry = case
                .get("dry_run")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let r = if dry {
                e.plan_migration(&st, &map)
                    .map(|p| json!({"moves": p.moves, "state": st.to_json()}))
            } else {
                e.migrate(&st, &map, now)
                    .map(|(s, p)| json!({"moves": p.moves, "state": s.to_json()}))
            };
            if let Some(actual) = expect_err(case, r)? {
                matches(
                    case.get("expect").ok_or("no expect")?,
                    &actual,
                    tol,
                    "expect",
                )?;
            }
            Ok(())
        }
        "run" => run_steps(file, case, tol),
        other => Err(format!("unknown journey op {other:?}")),
    }
}

fn run_steps(file: &Value, case: &Value, tol: f64) -> Result<(), String> {
    let built = engine(file, case);
    if case.get("steps").is_none() {
        expect_err(case, built)?;
        return Ok(());
    }
    let e = built.map_err(|e| format!("engine: {e}"))?;
    let schema = e.schema().clone();
    let mut profile = Profile::from_json_value(
        field(file, case, "profile").unwrap_or(&json!({"id": "u1"})),
        &schema,
    )
    .map_err(|e| format!("profile: {e}"))?;
    let mut history: Vec<Event> = match field(file, case, "events") {
        Some(v) => EventLog::from_json_value(v, &schema)
            .map_err(|e| format!("events: {e}"))?
            .into_events(),
        None => Vec::new(),
    };
    let mut state = match field(file, case, "state") {
        Some(s) => UserState::from_json_value(s).map_err(|e| format!("state: {e}"))?,
        None => UserState::new(),
    };
    let steps = case
        .get("steps")
        .and_then(Value::as_array)
        .ok_or("\"steps\" must be an array")?;
    for (i, step) in steps.iter().enumerate() {
        let at = |m: String| format!("steps[{i}]: {m}");
        if let Some(p) = step.get("profile") {
            profile =
                Profile::from_json_value(p, &schema).map_err(|e| at(format!("profile: {e}")))?;
        }
        let now = ts(step.get("now"), "now").map_err(at)?;
        let input = Input::from_json_value(
            step.get("input").unwrap_or(&json!({"type": "tick"})),
            &schema,
        );
        let input = match (input, step.get("expect_error")) {
            (Ok(i), _) => i,
            (Err(err), Some(exp)) => {
                matches(exp, &error_json(&err), 0.0, "error").map_err(at)?;
                continue;
            }
            (Err(err), None) => return Err(at(format!("input: {err}"))),
        };
        if let Input::Event(ev) = &input {
            history.push(ev.clone());
        }
        let log = EventLog::new(history.clone());
        let r = e.step(&state, &profile, &log, &input, now);
        let r = match (r, step.get("expect_error")) {
            (Err(err), Some(exp)) => {
                matches(exp, &error_json(&err), 0.0, "error").map_err(at)?;
                continue;
            }
            (Err(err), None) => return Err(at(format!("unexpected error: {err}"))),
            (Ok(_), Some(_)) => return Err(at("expected an error, got success".into())),
            (Ok(r), None) => r,
        };
        // Invariants every runner checks: both encodings round-trip.
        let json_back =
            UserState::from_json_value(&r.state.to_json()).map_err(|e| at(e.to_string()))?;
        let bin_back = UserState::from_bytes(&r.state.to_bytes()).map_err(|e| at(e.to_string()))?;
        if json_back != r.state || bin_back != r.state {
            return Err(at("state does not round-trip".into()));
        }
        let actual = json!({
            "effects": r.effects,
            "notices": r.notices,
            "next_wake": r.next_wake.map(|t| siyu_core::value::format_timestamp(&t)),
            "instances": r.state.to_json().get("instances").cloned().unwrap_or(json!([])),
            "state": r.state.to_json(),
        });
        if let Some(exp) = step.get("expect") {
            matches(exp, &actual, tol, "expect").map_err(at)?;
        }
        state = r.state;
    }
    Ok(())
}
