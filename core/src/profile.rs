//! Profiles (one person, many identities) and their events.
//!
//! Profiles and events are typed by a [`Schema`]: build them from JSON with
//! [`Profile::from_json`] / [`Event::from_json_value`], which validate every field and
//! report the first problem as `INVALID_PROFILE` / `INVALID_EVENT` with a path.

use crate::error::{suggest, Error, ErrorKind, Result};
use crate::schema::Schema;
use crate::value::{format_timestamp, ts_serde, Value};
use crate::zone::Zone;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a tag came from. Rules never remove tags whose source is not `rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagSource {
    /// Set by an operator by hand.
    Manual,
    /// Set by a tag rule.
    Rule,
    /// Imported from another system.
    Import,
    /// Set by staff in a conversation.
    Staff,
}

/// A tag on a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    /// Tag name, e.g. `has_kids` or `interest:milk_powder`.
    pub name: String,
    /// Its group, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Where it came from.
    pub source: TagSource,
    /// When it was added.
    #[serde(with = "ts_serde")]
    pub added_at: DateTime<Utc>,
    /// When it stops counting (exclusive: at `expires_at` the tag is gone).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Tag {
    /// Whether the tag counts at `now` (`expires_at` is exclusive).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

/// State of a consent record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    /// The user agreed.
    Granted,
    /// The user declined.
    Denied,
    /// The user withdrew an earlier grant.
    Revoked,
}

/// Consent for one channel and purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Channel, e.g. `wechat`, `sms`, `app_push`, `phone`.
    pub channel: String,
    /// Purpose, e.g. `marketing`, `service`.
    pub purpose: String,
    /// Status.
    pub status: ConsentStatus,
    /// When it was recorded.
    #[serde(with = "ts_serde")]
    pub at: DateTime<Utc>,
    /// When a grant lapses (exclusive).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Consent {
    /// Whether this record grants consent at `now`.
    pub fn grants(&self, now: DateTime<Utc>) -> bool {
        self.status == ConsentStatus::Granted
            && self.at <= now
            && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A customer profile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// Primary id.
    pub id: String,
    /// Identities: namespace → values (sorted, unique).
    pub identities: BTreeMap<String, Vec<String>>,
    /// Typed traits.
    pub traits: BTreeMap<String, Value>,
    /// Tags (at most one per name).
    pub tags: Vec<Tag>,
    /// Consent records (at most one per channel and purpose: the latest).
    pub consents: Vec<Consent>,
    /// The profile's IANA zone; evaluation falls back to a default.
    pub time_zone: Option<Zone>,
    /// Model scores set by the host or by siyu's models (e.g. `rfm_r`, `p_alive`);
    /// rules read them with `score("name")`.
    pub scores: BTreeMap<String, f64>,
}

impl Profile {
    /// An empty profile with `id`.
    pub fn new(id: impl Into<String>) -> Profile {
        Profile {
            id: id.into(),
            ..Profile::default()
        }
    }

    /// Whether a live tag `name` is present at `now`.
    pub fn has_tag(&self, name: &str, now: DateTime<Utc>) -> bool {
        self.tags.iter().any(|t| t.name == name && t.is_live(now))
    }

    /// Whether consent for `channel` and `purpose` is granted at `now`. The most
    /// recent record (by `at`, not after `now`) decides.
    pub fn has_consent(&self, channel: &str, purpose: &str, now: DateTime<Utc>) -> bool {
        self.consents
            .iter()
            .filter(|c| c.channel == channel && c.purpose == purpose && c.at <= now)
            .max_by_key(|c| c.at)
            .is_some_and(|c| c.grants(now))
    }

    /// Parses and validates a profile from JSON text against `schema`.
    pub fn from_json(text: &str, schema: &Schema) -> Result<Profile> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidProfile,
                format!("profile is not valid JSON: {e}"),
            )
        })?;
        Profile::from_json_value(&v, schema)
    }

    /// Validates a profile given as a JSON value against `schema`.
    pub fn from_json_value(v: &serde_json::Value, schema: &Schema) -> Result<Profile> {
        let raw: RawProfile = serde_json::from_value(v.clone())
            .map_err(|e| Error::new(ErrorKind::InvalidProfile, format!("invalid profile: {e}")))?;
        raw.into_profile(schema)
    }

    /// The profile `{"id": id, "traits": traits}`, validated exactly as
    /// [`Profile::from_json_value`] validates that document (same errors), for
    /// bindings that hold the traits as a map of JSON values (no JSON text).
    pub fn from_id_and_traits(
        id: impl Into<String>,
        traits: BTreeMap<String, serde_json::Value>,
        schema: &Schema,
    ) -> Result<Profile> {
        let p = Profile {
            traits: read_traits(traits, schema)?,
            ..Profile::new(id)
        };
        p.validate(schema)?;
        Ok(p)
    }

    /// Encodes as JSON (the same shape [`Profile::from_json`] reads).
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), self.id.clone().into());
        if !self.identities.is_empty() {
            m.insert(
                "identities".into(),
                serde_json::to_value(&self.identities).unwrap_or_default(),
            );
        }
        if !self.traits.is_empty() {
            m.insert(
                "traits".into(),
                self.traits
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            );
        }
        if !self.tags.is_empty() {
            m.insert(
                "tags".into(),
                serde_json::to_value(&self.tags).unwrap_or_default(),
            );
        }
        if !self.consents.is_empty() {
            m.insert(
                "consents".into(),
                serde_json::to_value(&self.consents).unwrap_or_default(),
            );
        }
        if let Some(z) = &self.time_zone {
            m.insert("time_zone".into(), z.name().into());
        }
        if !self.scores.is_empty() {
            m.insert(
                "scores".into(),
                serde_json::to_value(&self.scores).unwrap_or_default(),
            );
        }
        serde_json::Value::Object(m)
    }

    /// Checks the profile against `schema` (trait names and types, tag groups,
    /// identity namespaces, one tag per name).
    pub fn validate(&self, schema: &Schema) -> Result<()> {
        let invalid =
            |path: String, msg: String| Error::new(ErrorKind::InvalidProfile, msg).with_path(path);
        if self.id.is_empty() {
            return Err(empty_id());
        }
        for (name, value) in &self.traits {
            let def = schema.traits.get(name).ok_or_else(|| {
                let e = invalid(format!("traits.{name}"), format!("unknown trait `{name}`"));
                match suggest(name, schema.traits.keys().map(String::as_str)) {
                    Some(s) => e.with_suggestion(s),
                    None => e,
                }
            })?;
            let ok = value.value_type() == def.ty
                || (def.ty == crate::value::ValueType::Float && matches!(value, Value::Integer(_)));
            if !ok {
                return Err(invalid(
                    format!("traits.{name}"),
                    format!(
                        "trait `{name}` is declared {} but has a {} value",
                        def.ty,
                        value.value_type()
                    ),
                ));
            }
        }
        if !schema.identity_namespaces.is_empty() {
            for ns in self.identities.keys() {
                if !schema.identity_namespaces.contains(ns) {
                    let e = invalid(
                        format!("identities.{ns}"),
                        format!("unknown identity namespace `{ns}`"),
                    );
                    return Err(
                        match suggest(ns, schema.identity_namespaces.iter().map(String::as_str)) {
                            Some(s) => e.with_suggestion(s),
                            None => e,
                        },
                    );
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, tag) in self.tags.iter().enumerate() {
            if tag.name.is_empty() {
                return Err(invalid(
                    format!("tags[{i}].name"),
                    "tag name must not be empty".into(),
                ));
            }
            if !seen.insert(tag.name.as_str()) {
                return Err(invalid(
                    format!("tags[{i}]"),
                    format!("tag `{}` appears twice", tag.name),
                ));
            }
            if let Some(g) = &tag.group {
                if !schema.tag_groups.contains_key(g) {
                    let e = invalid(
                        format!("tags[{i}].group"),
                        format!("unknown tag group `{g}`"),
                    );
                    return Err(
                        match suggest(g, schema.tag_groups.keys().map(String::as_str)) {
                            Some(s) => e.with_suggestion(s),
                            None => e,
                        },
                    );
                }
            }
        }
        for (name, v) in &self.scores {
            if !v.is_finite() {
                return Err(invalid(
                    format!("scores.{name}"),
                    format!("score `{name}` is not finite"),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: String,
    #[serde(default)]
    identities: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    traits: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    consents: Vec<Consent>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    scores: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Reads JSON trait values against the schema (unknown traits and values of
/// the wrong type are errors; a JSON null is no value), in name order.
fn read_traits(
    raw: BTreeMap<String, serde_json::Value>,
    schema: &Schema,
) -> Result<BTreeMap<String, Value>> {
    let mut traits = BTreeMap::new();
    for (name, json) in raw {
        let def = schema
            .traits
            .get(&name)
            .ok_or_else(|| unknown_trait(&name, schema.traits.keys().map(String::as_str)))?;
        let value = Value::from_json(&json, def.ty).map_err(|e| bad_trait(&name, &e))?;
        if let Some(v) = value {
            traits.insert(name, v);
        }
    }
    Ok(traits)
}

/// The error for a trait the schema does not declare (`known`: the declared names).
pub(crate) fn unknown_trait<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Error {
    let e = Error::new(ErrorKind::InvalidProfile, format!("unknown trait `{name}`"))
        .with_path(format!("traits.{name}"));
    match suggest(name, known) {
        Some(s) => e.with_suggestion(s),
        None => e,
    }
}

/// The error for a trait value that cannot be read as its declared type.
pub(crate) fn bad_trait(name: &str, e: &Error) -> Error {
    Error::new(
        ErrorKind::InvalidProfile,
        format!("trait `{name}`: {}", e.message()),
    )
    .with_path(format!("traits.{name}"))
}

/// The error for an empty profile id.
pub(crate) fn empty_id() -> Error {
    Error::new(ErrorKind::InvalidProfile, "profile id must not be empty").with_path("id")
}

impl RawProfile {
    fn into_profile(self, schema: &Schema) -> Result<Profile> {
        let traits = read_traits(self.traits, schema)?;
        let identities = self
            .identities
            .into_iter()
            .map(|(ns, v)| {
                let mut vals = match v {
                    OneOrMany::One(s) => vec![s],
                    OneOrMany::Many(l) => l,
                };
                vals.sort();
                vals.dedup();
                (ns, vals)
            })
            .collect();
        let time_zone = self
            .time_zone
            .map(|z| {
                Zone::parse(&z).map_err(|e| {
                    let err = Error::new(ErrorKind::InvalidProfile, e.message().to_string())
                        .with_path("time_zone");
                    match e.suggestion() {
                        Some(s) => err.with_suggestion(s),
                        None => err,
                    }
                })
            })
            .transpose()?;
        let p = Profile {
            id: self.id,
            identities,
            traits,
            tags: self.tags,
            consents: self.consents,
            time_zone,
            scores: self.scores,
        };
        p.validate(schema)?;
        Ok(p)
    }
}

/// A behavioural event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique id, used for de-duplication.
    pub id: String,
    /// Event name, declared in the schema.
    pub name: String,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Typed properties.
    pub properties: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    id: String,
    name: String,
    timestamp: String,
    #[serde(default)]
    properties: BTreeMap<String, serde_json::Value>,
}

impl Event {
    /// Parses and validates an event from a JSON value against `schema`.
    pub fn from_json_value(v: &serde_json::Value, schema: &Schema) -> Result<Event> {
        let bad = |msg: String| Error::new(ErrorKind::InvalidEvent, msg);
        let raw: RawEvent =
            serde_json::from_value(v.clone()).map_err(|e| bad(format!("invalid event: {e}")))?;
        let def = schema.events.get(&raw.name).ok_or_else(|| {
            let e = bad(format!("unknown event `{}`", raw.name)).with_path("name");
            match suggest(&raw.name, schema.events.keys().map(String::as_str)) {
                Some(s) => e.with_suggestion(s),
                None => e,
            }
        })?;
        let timestamp = crate::value::parse_timestamp(&raw.timestamp)
            .map_err(|e| bad(e.message().to_string()).with_path("timestamp"))?;
        let mut properties = BTreeMap::new();
        for (name, json) in raw.properties {
            let pd = def.properties.get(&name).ok_or_else(|| {
                let e = bad(format!("event `{}` has no property `{name}`", raw.name))
                    .with_path(format!("properties.{name}"));
                match suggest(&name, def.properties.keys().map(String::as_str)) {
                    Some(s) => e.with_suggestion(s),
                    None => e,
                }
            })?;
            let value = Value::from_json(&json, pd.ty).map_err(|e| {
                bad(format!("property `{name}`: {}", e.message()))
                    .with_path(format!("properties.{name}"))
            })?;
            if let Some(v) = value {
                properties.insert(name, v);
            }
        }
        if raw.id.is_empty() {
            return Err(bad("event id must not be empty".into()).with_path("id"));
        }
        Ok(Event {
            id: raw.id,
            name: raw.name,
            timestamp,
            properties,
        })
    }

    /// Encodes as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("timestamp".into(), format_timestamp(&self.timestamp).into());
        if !self.properties.is_empty() {
            m.insert(
                "properties".into(),
                self.properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            );
        }
        serde_json::Value::Object(m)
    }
}

/// A profile's events, sorted by `(timestamp, id)` and de-duplicated by id
/// (the first occurrence of an id wins). Evaluation needs this order for its
/// binary-searched windows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventLog {
    events: Vec<Event>,
}

impl EventLog {
    /// Sorts and de-duplicates `events`.
    pub fn new(mut events: Vec<Event>) -> EventLog {
        let mut seen = std::collections::HashSet::with_capacity(events.len());
        events.retain(|e| seen.insert(e.id.clone()));
        events.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
        EventLog { events }
    }

    /// Parses a JSON array of events against `schema`; errors carry `[i]` paths.
    pub fn from_json_value(v: &serde_json::Value, schema: &Schema) -> Result<EventLog> {
        let items = v
            .as_array()
            .ok_or_else(|| Error::new(ErrorKind::InvalidEvent, "events must be a JSON array"))?;
        let events = items
            .iter()
            .enumerate()
            .map(|(i, e)| {
                Event::from_json_value(e, schema).map_err(|err| err.prefix_path(&format!("[{i}]")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(EventLog::new(events))
    }

    /// The events in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Consumes the log.
    pub fn into_events(self) -> Vec<Event> {
        self.events
    }

    /// Encodes as a JSON array.
    pub fn to_json(&self) -> serde_json::Value {
        self.events
            .iter()
            .map(Event::to_json)
            .collect::<Vec<_>>()
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_json(
            r#"{"traits":{"age":"integer","birthday":"date","first_seen":"timestamp"},
                "events":{"purchase":{"properties":{"amount":"float","category":"string"}}},
                "tag_groups":{"rfm":{"exclusive":true}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn id_and_traits_read_as_the_json_document() {
        let cases = [
            json!({"age": 30, "birthday": "1990-05-01", "first_seen": "2026-01-01T00:00:00Z"}),
            json!({"age": 3.0, "birthday": null}),
            json!({"age": "thirty"}),
            json!({"agee": 1, "age": 1.5}),
            json!({}),
        ];
        for traits in cases {
            let doc = json!({"id": "u1", "traits": traits});
            let map: BTreeMap<String, serde_json::Value> =
                serde_json::from_value(traits.clone()).unwrap();
            let fast = Profile::from_id_and_traits("u1", map, &schema());
            let full = Profile::from_json_value(&doc, &schema());
            match (fast, full) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{traits}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn profile_round_trips() {
        let j = json!({"id":"u1","identities":{"wechat_unionid":"o1"},
            "traits":{"age":30,"birthday":"1990-05-01","first_seen":"2026-01-01T00:00:00Z"},
            "tags":[{"name":"vip","source":"manual","added_at":"2026-01-02T00:00:00Z"}],
            "consents":[{"channel":"wechat","purpose":"marketing","status":"granted","at":"2026-01-01T00:00:00Z"}],
            "time_zone":"Asia/Shanghai"});
        let p = Profile::from_json_value(&j, &schema()).unwrap();
        assert_eq!(p.identities["wechat_unionid"], vec!["o1".to_string()]);
        let back = Profile::from_json_value(&p.to_json(), &schema()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn profile_errors_have_paths_and_suggestions() {
        let e =
            Profile::from_json_value(&json!({"id":"u","traits":{"aeg":3}}), &schema()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidProfile);
        assert_eq!(e.path(), Some("traits.aeg"));
        assert_eq!(e.suggestion(), Some("age"));
        let e = Profile::from_json_value(&json!({"id":"u","traits":{"age":"x"}}), &schema())
            .unwrap_err();
        assert_eq!(e.path(), Some("traits.age"));
    }

    #[test]
    fn consent_latest_record_decides() {
        let j = json!({"id":"u","consents":[
            {"channel":"sms","purpose":"marketing","status":"granted","at":"2026-01-01T00:00:00Z"},
            {"channel":"sms","purpose":"marketing","status":"revoked","at":"2026-02-01T00:00:00Z"}]});
        let p = Profile::from_json_value(&j, &schema()).unwrap();
        let t = |s| crate::value::parse_timestamp(s).unwrap();
        assert!(p.has_consent("sms", "marketing", t("2026-01-15T00:00:00Z")));
        assert!(!p.has_consent("sms", "marketing", t("2026-02-15T00:00:00Z")));
    }

    #[test]
    fn event_log_sorts_and_dedups() {
        let s = schema();
        let log = EventLog::from_json_value(
            &json!([
                {"id":"b","name":"purchase","timestamp":"2026-01-02T00:00:00Z","properties":{"amount":5}},
                {"id":"a","name":"purchase","timestamp":"2026-01-01T00:00:00Z"},
                {"id":"b","name":"purchase","timestamp":"2026-01-03T00:00:00Z"}
            ]),
            &s,
        )
        .unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log.events()[0].id, "a");
        assert_eq!(log.events()[1].properties["amount"], Value::Float(5.0));
        let e = EventLog::from_json_value(
            &json!([{"id":"x","name":"purchse","timestamp":"2026-01-01T00:00:00Z"}]),
            &s,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidEvent);
        assert_eq!(e.suggestion(), Some("purchase"));
        assert_eq!(e.path(), Some("[0].name"));
    }
}
