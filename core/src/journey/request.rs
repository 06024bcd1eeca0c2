//! Journey requests as JSON documents: the reading and writing every binding
//! needs (definition arrays, policies, persisted state, the step's history, the
//! step result, reports, migrations), here once instead of in each binding.
//! Field names follow the `journey` conformance kind (conformance/README.md).

use super::engine::{Input, JourneyEngine, StepResult};
use super::migrate::MigrationMap;
use super::policy::Policies;
use super::state::UserState;
use super::validate::{analyze, check_schema, ValidationReport};
use super::JourneyDefinition;
use crate::error::{Error, ErrorKind, Result};
use crate::profile::{Event, EventLog, Profile};
use crate::schema::Schema;
use crate::value::format_timestamp;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

/// Reads an array of journey definitions (any versions); errors carry the
/// path `journeys[i]…`. Not an array: `INVALID_ARGUMENT` at `journeys`.
pub fn definitions(v: &Value) -> Result<Vec<JourneyDefinition>> {
    v.as_array()
        .ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, "journeys must be an array")
                .with_path("journeys")
        })?
        .iter()
        .enumerate()
        .map(|(i, d)| {
            JourneyDefinition::from_json_value(d)
                .map_err(|e| e.prefix_path(&format!("journeys[{i}]")))
        })
        .collect()
}

/// Reads engine policies; absent or `null` gives the defaults.
pub fn policies(v: Option<&Value>) -> Result<Policies> {
    match v {
        None | Some(Value::Null) => Ok(Policies::default()),
        Some(p) => Policies::from_json_value(p),
    }
}

/// Reads a user state in its JSON form; absent or `null` is a user with no
/// instances yet.
pub fn user_state(v: Option<&Value>) -> Result<UserState> {
    match v {
        None | Some(Value::Null) => Ok(UserState::new()),
        Some(s) => UserState::from_json_value(s),
    }
}

/// The event history a step sees: the user's `events` plus the input's event,
/// if it is one (the log de-duplicates by id, so including it already is harmless).
pub fn history(mut events: Vec<Event>, input: &Input) -> EventLog {
    if let Input::Event(ev) = input {
        events.push(ev.clone());
    }
    EventLog::new(events)
}

/// A step result as JSON: `{"effects", "notices", "next_wake" (RFC 3339 or
/// null), "state"}` (effects and notices in the forms of docs/journeys.md).
pub fn step_json(r: &StepResult) -> Result<Value> {
    Ok(json!({
        "effects": to_value(&r.effects)?,
        "notices": to_value(&r.notices)?,
        "next_wake": r.next_wake.map(|t| format_timestamp(&t)),
        "state": r.state.to_json(),
    }))
}

/// The validation report of every loaded journey id (latest version): `{id: report}`.
pub fn reports(engine: &JourneyEngine) -> Result<Value> {
    let mut m = serde_json::Map::new();
    for d in engine.definitions() {
        m.insert(d.id.clone(), to_value(&engine.report(&d.id))?);
    }
    Ok(Value::Object(m))
}

/// Reads the users of a simulation: an array of `{"profile", "events"?}`
/// (events absent or `null`: none). Errors carry the path
/// `users[i].profile` / `users[i].events`; not an array: `INVALID_ARGUMENT`
/// at `users`.
pub fn simulation_users(v: &Value, schema: &Schema) -> Result<Vec<(Profile, EventLog)>> {
    let list = v.as_array().ok_or_else(|| {
        Error::new(ErrorKind::InvalidArgument, "users must be an array").with_path("users")
    })?;
    list.iter()
        .enumerate()
        .map(|(i, u)| {
            let at = format!("users[{i}]");
            let profile =
                Profile::from_json_value(u.get("profile").unwrap_or(&Value::Null), schema)
                    .map_err(|e| e.prefix_path(&format!("{at}.profile")))?;
            let events = match u.get("events") {
                None | Some(Value::Null) => EventLog::default(),
                Some(v) => EventLog::from_json_value(v, schema)
                    .map_err(|e| e.prefix_path(&format!("{at}.events")))?,
            };
            Ok((profile, events))
        })
        .collect()
}

/// Reads a migration map (`INVALID_JSON` when malformed).
pub fn migration_map(v: &Value) -> Result<MigrationMap> {
    serde_json::from_value(v.clone())
        .map_err(|e| Error::new(ErrorKind::InvalidJson, format!("migration map: {e}")))
}

/// Moves `state`'s instances per `map` (a migration map document) at `now`, or
/// with `dry_run` only plans. Returns the new state (the input state for a dry
/// run) and `{"moves", "state"}`.
pub fn migrate(
    engine: &JourneyEngine,
    state: &UserState,
    map: &Value,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<(UserState, Value)> {
    let map = migration_map(map)?;
    let (next, plan) = if dry_run {
        (state.clone(), engine.plan_migration(state, &map)?)
    } else {
        engine.migrate(state, &map, now)?
    };
    let out = json!({"moves": to_value(&plan.moves)?, "state": next.to_json()});
    Ok((next, out))
}

/// Validates one journey definition document, also against `schema` when
/// given, and returns its report (worst-case messages per day, node count).
pub fn validate(definition: &Value, schema: Option<&Schema>) -> Result<ValidationReport> {
    let d = JourneyDefinition::from_json_value(definition)?;
    if let Some(s) = schema {
        check_schema(&d, s)?;
    }
    Ok(analyze(&d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    fn def(version: u32) -> Value {
        json!({"id": "j", "version": version,
               "trigger": {"type": "event", "event": "signup"},
               "nodes": [{"id": "w", "type": "wait", "duration": "1d", "next": "m"},
                         {"id": "m", "type": "message", "channel": "sms",
                          "template": "t", "purpose": "service", "next": "end"},
                         {"id": "end", "type": "end"}]})
    }

    fn schema() -> Schema {
        Schema::from_json(r#"{"events": {"signup": {}}}"#).unwrap()
    }

    #[test]
    fn definitions_carry_their_index_in_error_paths() {
        assert_eq!(definitions(&json!([def(1), def(2)])).unwrap().len(), 2);
        let e = definitions(&json!([def(1), {"id": 3}])).unwrap_err();
        assert!(e.path().unwrap().starts_with("journeys[1]"), "{e}");
        let e = definitions(&json!({"id": "j"})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.path(), Some("journeys"));
    }

    #[test]
    fn absent_state_and_policies_are_defaults() {
        assert_eq!(user_state(None).unwrap(), UserState::new());
        assert_eq!(user_state(Some(&Value::Null)).unwrap(), UserState::new());
        assert_eq!(policies(None).unwrap(), Policies::default());
        assert!(user_state(Some(&json!({"format_version": 99}))).is_err());
    }

    #[test]
    fn a_step_through_the_documents_round_trips_state_and_migrates() {
        let defs = definitions(&json!([def(1), def(2)])).unwrap();
        let engine = JourneyEngine::new(schema(), defs, Policies::default()).unwrap();
        let ev = Event::from_json_value(
            &json!({"id": "e1", "name": "signup", "timestamp": "2026-03-01T00:00:00Z"}),
            engine.schema(),
        )
        .unwrap();
        let input = Input::Event(ev);
        let log = history(Vec::new(), &input);
        assert_eq!(log.len(), 1);
        let now = parse_timestamp("2026-03-01T00:00:00Z").unwrap();
        let profile = crate::Profile::new("u1");
        let r = engine
            .step(&UserState::new(), &profile, &log, &input, now)
            .unwrap();
        let out = step_json(&r).unwrap();
        assert_eq!(out["next_wake"], json!("2026-03-02T00:00:00Z"));
        let state = user_state(Some(&out["state"])).unwrap();
        assert_eq!(state, r.state);
        assert_eq!(state.instances[0].version, 2);
        assert_eq!(
            reports(&engine).unwrap()["j"],
            json!({"max_messages_per_day": 1, "nodes": 3})
        );
        let map = json!({"journey": "j", "from_version": 2, "to_version": 1});
        let (same, plan) = migrate(&engine, &state, &map, now, true).unwrap();
        assert_eq!(same, state);
        assert_eq!(plan["moves"][0]["to_node"], json!("w"));
        let (moved, _) = migrate(&engine, &state, &map, now, false).unwrap();
        assert_eq!(moved.instances[0].version, 1);
        let bad = migrate(&engine, &state, &json!({"journey": "j"}), now, true).unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::InvalidJson);
    }

    #[test]
    fn validate_reports_and_checks_the_schema() {
        let r = validate(&def(1), Some(&schema())).unwrap();
        assert_eq!(r.nodes, 3);
        assert_eq!(r.max_messages_per_day, Some(1));
        assert!(validate(&def(1), None).is_ok());
        let e = validate(&def(1), Some(&Schema::default())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownEvent, "{e}");
    }

    #[test]
    fn simulation_users_read_profiles_and_events_with_paths() {
        let schema = Schema::from_json(r#"{"events": {"signup": {}}}"#).unwrap();
        let users = simulation_users(
            &json!([{"profile": {"id": "a"}},
                    {"profile": {"id": "b"}, "events": [{"id": "e1", "name": "signup",
                        "timestamp": "2026-03-01T00:00:00Z"}]}]),
            &schema,
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!((users[0].0.id.as_str(), users[0].1.len()), ("a", 0));
        assert_eq!((users[1].0.id.as_str(), users[1].1.len()), ("b", 1));
        let err = simulation_users(&json!({}), &schema).unwrap_err();
        assert_eq!(
            (err.kind(), err.path()),
            (ErrorKind::InvalidArgument, Some("users"))
        );
        let err = simulation_users(
            &json!([{"profile": {"id": "a"}, "events": [{"name": "nope",
            "timestamp": "2026-03-01T00:00:00Z"}]}]),
            &schema,
        )
        .unwrap_err();
        assert!(err.path().unwrap().starts_with("users[0].events"), "{err}");
    }
}
