//! The server-shaped engines, for apps that need them on the device: identity
//! merge, erasure, lifecycle stages and tag rules. Documents in and out are the
//! core's JSON forms (the same documents the server and the other bindings use).

use crate::error::{guard, SiyuError};
use siyu_core::erasure::{erase, ErasureRequest};
use siyu_core::merge::{merge_profiles, MergePolicy};
use siyu_core::tagging::TagRuleSet;
use siyu_core::value::{parse_date, parse_timestamp};
use siyu_core::{Error, ErrorKind, EvalInput, EventLog, Profile, Schema, Zone};

fn json(text: &str, kind: ErrorKind, what: &str) -> siyu_core::Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::new(kind, format!("{what} is not valid JSON: {e}")))
}

fn text<T: serde::Serialize>(v: &T) -> siyu_core::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

/// A schema document, or `None`/`"default"` for the sample schema of the shipped models.
fn schema_or_default(schema_json: Option<&str>) -> siyu_core::Result<Schema> {
    siyu_core::lifecycle::request::schema(schema_json)
}

fn profile(schema: &Schema, t: &str, what: &str) -> siyu_core::Result<Profile> {
    Profile::from_json_value(&json(t, ErrorKind::InvalidProfile, what)?, schema)
}

fn events(schema: &Schema, t: &str, what: &str) -> siyu_core::Result<EventLog> {
    EventLog::from_json_value(&json(t, ErrorKind::InvalidEvent, what)?, schema)
}

fn zone(z: Option<&str>) -> siyu_core::Result<Zone> {
    z.map_or_else(|| Ok(Zone::utc()), Zone::parse)
}

/// Merges `secondary` (and its events) into `primary`; returns `{"profile", "events", "changes"}`.
#[uniffi::export]
pub fn merge_profiles_json(
    schema_json: String,
    primary_json: String,
    primary_events_json: String,
    secondary_json: String,
    secondary_events_json: String,
    policy_json: Option<String>,
) -> Result<String, SiyuError> {
    guard(|| {
        let schema = Schema::from_json(&schema_json)?;
        let policy = match policy_json {
            Some(p) => MergePolicy::from_json_value(&json(&p, ErrorKind::InvalidJson, "policy")?)?,
            None => MergePolicy::default(),
        };
        let p = profile(&schema, &primary_json, "primary")?;
        let s = profile(&schema, &secondary_json, "secondary")?;
        let pe = events(&schema, &primary_events_json, "primary events")?;
        let se = events(&schema, &secondary_events_json, "secondary events")?;
        text(&merge_profiles(&p, &pe, &s, &se, &schema, &policy)?.to_json())
    })
}

/// Erases personal data; returns `{"profile", "events", "erased"}`.
#[uniffi::export]
pub fn erase_json(
    schema_json: String,
    profile_json: String,
    events_json: String,
    request_json: Option<String>,
) -> Result<String, SiyuError> {
    guard(|| {
        let schema = Schema::from_json(&schema_json)?;
        let request = ErasureRequest::from_json_value(&match request_json {
            Some(r) => json(&r, ErrorKind::InvalidJson, "request")?,
            None => serde_json::json!({}),
        })?;
        let p = profile(&schema, &profile_json, "profile")?;
        let e = events(&schema, &events_json, "events")?;
        text(&erase(&p, &e, &schema, &request)?.to_json())
    })
}

fn lifecycle(
    schema_json: Option<&str>,
    model_json: Option<&str>,
) -> siyu_core::Result<(Schema, siyu_core::lifecycle::CompiledLifecycle)> {
    let schema = schema_or_default(schema_json)?;
    let model = siyu_core::lifecycle::request::model(model_json)?;
    let compiled = model.compile(&schema)?;
    Ok((schema, compiled))
}

/// The compiled stage rule names of a lifecycle model (`None` = the shipped model,
/// against `schema_json` or the sample schema).
#[uniffi::export]
pub fn lifecycle_rule_names(
    schema_json: Option<String>,
    model_json: Option<String>,
) -> Result<Vec<String>, SiyuError> {
    guard(|| {
        Ok(lifecycle(schema_json.as_deref(), model_json.as_deref())?
            .1
            .rules()
            .rule_names()
            .to_vec())
    })
}

/// Classifies the profile into a lifecycle stage at `now`; returns the core's outcome
/// JSON `{"state", "matched", "rule", "reason", "held", "transition"}` (persist `state`).
#[uniffi::export]
#[allow(clippy::too_many_arguments)]
pub fn lifecycle_evaluate(
    schema_json: Option<String>,
    model_json: Option<String>,
    profile_json: String,
    events_json: String,
    now: String,
    previous_json: Option<String>,
    default_zone: Option<String>,
) -> Result<String, SiyuError> {
    guard(|| {
        let (schema, compiled) = lifecycle(schema_json.as_deref(), model_json.as_deref())?;
        let z = zone(default_zone.as_deref())?;
        let p = profile(&schema, &profile_json, "profile")?;
        let e = events(&schema, &events_json, "events")?;
        let now = parse_timestamp(&now)?;
        let previous = siyu_core::lifecycle::request::stage_state(previous_json.as_deref())?;
        let input = EvalInput::new(&p, &e, now).with_default_zone(z);
        text(&compiled.evaluate(&input, previous.as_ref())?)
    })
}

/// The lifecycle stage of each local day `from..=to`; returns `[{"date", "stage", "transition"}]`.
#[uniffi::export]
#[allow(clippy::too_many_arguments)]
pub fn lifecycle_replay(
    schema_json: Option<String>,
    model_json: Option<String>,
    profile_json: String,
    events_json: String,
    from: String,
    to: String,
    default_zone: Option<String>,
    initial_json: Option<String>,
) -> Result<String, SiyuError> {
    guard(|| {
        let (schema, compiled) = lifecycle(schema_json.as_deref(), model_json.as_deref())?;
        let z = zone(default_zone.as_deref())?;
        let p = profile(&schema, &profile_json, "profile")?;
        let e = events(&schema, &events_json, "events")?;
        let (from, to) = (parse_date(&from)?, parse_date(&to)?);
        let initial = siyu_core::lifecycle::request::stage_state(initial_json.as_deref())?;
        text(&compiled.replay(&p, &e, from, to, z, initial.as_ref())?)
    })
}

/// Applies tag rules at `now`; returns `{"diff": {"added", "removed", "expired"}, "profile"}`.
#[uniffi::export]
pub fn apply_tag_rules(
    schema_json: Option<String>,
    rules_json: String,
    profile_json: String,
    events_json: String,
    now: String,
    default_zone: Option<String>,
) -> Result<String, SiyuError> {
    guard(|| {
        let schema = schema_or_default(schema_json.as_deref())?;
        let compiled = TagRuleSet::from_json(&rules_json)?.compile(&schema)?;
        let mut p = profile(&schema, &profile_json, "profile")?;
        let e = events(&schema, &events_json, "events")?;
        let z = zone(default_zone.as_deref())?;
        let now = parse_timestamp(&now)?;
        let diff = compiled.apply(&mut p, &e, now, z)?;
        let diff = serde_json::to_value(&diff)
            .map_err(|x| Error::new(ErrorKind::Internal, x.to_string()))?;
        text(&serde_json::json!({"diff": diff, "profile": p.to_json()}))
    })
}

/// The sample schema the shipped lifecycle and points models are written against (JSON).
#[uniffi::export]
pub fn sample_schema() -> String {
    siyu_core::lifecycle::default_schema().to_json()
}
