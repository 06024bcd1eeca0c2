//! Erasure: removing a person's personal data on request (PIPL art. 47, GDPR art. 17).
//!
//! [`erase`] is pure: it returns the erased profile and events plus an [`Erased`]
//! report that counts what was removed and names fields, never values, so the
//! report itself can be kept in an audit log.
//!
//! What is removed, per [`ErasureRequest`]:
//! * identities: all, or only the listed namespaces;
//! * traits the schema marks `personal` (or every trait with `all_traits`);
//! * event properties the schema marks `personal`; with `delete_events`, every event;
//! * with `remove_tags` every tag, with `remove_scores` every score;
//! * consent records are **kept** by default: the law asks the operator to prove
//!   consent was given (and when it was withdrawn), so the records are audit
//!   evidence rather than profile data. `remove_consents` drops them too.
//!
//! The profile id stays (it is a pseudonymous key that the host's other systems
//! may reference) unless `replacement_id` gives a new one. The time zone is kept:
//! it is coarse and needed to respect quiet hours for anything still scheduled.

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{Event, EventLog, Profile};
use crate::schema::Schema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to erase. JSON: every field optional; `{}` erases identities, personal
/// traits and personal event properties.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// Only these identity namespaces; absent means all identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_namespaces: Option<Vec<String>>,
    /// Remove every trait, not only those marked `personal`.
    #[serde(default)]
    pub all_traits: bool,
    /// Remove every event (otherwise only personal properties).
    #[serde(default)]
    pub delete_events: bool,
    /// Remove every tag.
    #[serde(default)]
    pub remove_tags: bool,
    /// Remove every score.
    #[serde(default)]
    pub remove_scores: bool,
    /// Remove the consent records too (kept by default as evidence).
    #[serde(default)]
    pub remove_consents: bool,
    /// Give the erased profile this id instead of the old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement_id: Option<String>,
}

impl ErasureRequest {
    /// Reads the JSON form (`INVALID_JSON` on a bad document).
    pub fn from_json_value(v: &serde_json::Value) -> Result<ErasureRequest> {
        serde_json::from_value(v.clone()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidJson,
                format!("invalid erasure request: {e}"),
            )
            .with_path("request")
        })
    }
}

/// What was erased: names and counts only, never the erased values.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Erased {
    /// Whether the profile id was replaced.
    pub id_replaced: bool,
    /// Identity values removed, per namespace.
    pub identities_removed: BTreeMap<String, usize>,
    /// Names of the traits removed, sorted.
    pub traits_removed: Vec<String>,
    /// Personal properties removed from kept events, keyed `event.property`.
    pub event_properties_removed: BTreeMap<String, usize>,
    /// Events removed.
    pub events_removed: usize,
    /// Events kept.
    pub events_kept: usize,
    /// Tags removed.
    pub tags_removed: usize,
    /// Scores removed.
    pub scores_removed: usize,
    /// Consent records removed.
    pub consents_removed: usize,
    /// Consent records kept as evidence.
    pub consents_kept: usize,
}

/// The result of [`erase`].
#[derive(Debug, Clone, PartialEq)]
pub struct ErasureOutcome {
    /// The erased profile.
    pub profile: Profile,
    /// The remaining events.
    pub events: EventLog,
    /// The report.
    pub erased: Erased,
}

impl ErasureOutcome {
    /// JSON form: `{"profile": ..., "events": [...], "erased": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "profile": self.profile.to_json(),
            "events": self.events.to_json(),
            "erased": serde_json::to_value(&self.erased).unwrap_or_default(),
        })
    }
}

/// Erases `profile`'s personal data per `request` (see the module docs).
///
/// Errors: `INVALID_ARGUMENT` for an empty `replacement_id`; `INVALID_PROFILE` /
/// `INVALID_EVENT` when the data does not fit `schema` (what is personal cannot be
/// known for an undeclared trait or event).
pub fn erase(
    profile: &Profile,
    events: &EventLog,
    schema: &Schema,
    request: &ErasureRequest,
) -> Result<ErasureOutcome> {
    profile.validate(schema)?;
    if let Some(id) = &request.replacement_id {
        if id.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "replacement_id must not be empty",
            )
            .with_path("request.replacement_id"));
        }
    }
    let mut erased = Erased::default();
    let mut out = profile.clone();
    if let Some(id) = &request.replacement_id {
        erased.id_replaced = *id != profile.id;
        out.id = id.clone();
    }

    out.identities.retain(|ns, values| {
        let remove = request
            .identity_namespaces
            .as_ref()
            .is_none_or(|list| list.contains(ns));
        if remove {
            erased.identities_removed.insert(ns.clone(), values.len());
        }
        !remove
    });

    out.traits.retain(|name, _| {
        let personal = schema.traits.get(name).is_some_and(|d| d.personal);
        let remove = request.all_traits || personal;
        if remove {
            erased.traits_removed.push(name.clone());
        }
        !remove
    });

    if request.remove_tags {
        erased.tags_removed = out.tags.len();
        out.tags.clear();
    }
    if request.remove_scores {
        erased.scores_removed = out.scores.len();
        out.scores.clear();
    }
    if request.remove_consents {
        erased.consents_removed = out.consents.len();
        out.consents.clear();
    }
    erased.consents_kept = out.consents.len();

    let kept: Vec<Event> = if request.delete_events {
        erased.events_removed = events.len();
        Vec::new()
    } else {
        let mut kept = Vec::with_capacity(events.len());
        for (i, e) in events.events().iter().enumerate() {
            let def = schema.events.get(&e.name).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidEvent,
                    format!("unknown event `{}`", e.name),
                )
                .with_path(format!("[{i}].name"))
            })?;
            let mut e = e.clone();
            e.properties.retain(|p, _| {
                let personal = def.properties.get(p).is_some_and(|d| d.personal);
                if personal {
                    *erased
                        .event_properties_removed
                        .entry(format!("{}.{p}", e.name))
                        .or_default() += 1;
                }
                !personal
            });
            kept.push(e);
        }
        kept
    };
    erased.events_kept = kept.len();
    Ok(ErasureOutcome {
        profile: out,
        events: EventLog::new(kept),
        erased,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_json(
            r#"{"traits":{"city":"string","phone":{"type":"string","personal":true}},
                "events":{"purchase":{"properties":{"amount":"float","address":{"type":"string","personal":true}}}}}"#,
        )
        .unwrap()
    }

    fn data() -> (Profile, EventLog) {
        let p = Profile::from_json_value(
            &json!({"id":"u1","identities":{"phone_sha256":"abc","wechat_unionid":["o1","o2"]},
                "traits":{"city":"Hangzhou","phone":"13800000000"},
                "tags":[{"name":"vip","source":"manual","added_at":"2026-01-01T00:00:00Z"}],
                "consents":[{"channel":"sms","purpose":"marketing","status":"revoked","at":"2026-01-01T00:00:00Z"}]}),
            &schema(),
        )
        .unwrap();
        let e = EventLog::from_json_value(
            &json!([{"id":"e1","name":"purchase","timestamp":"2026-01-02T00:00:00Z",
                "properties":{"amount":99.0,"address":"No. 1 Road"}}]),
            &schema(),
        )
        .unwrap();
        (p, e)
    }

    #[test]
    fn default_request_removes_personal_data_and_keeps_consent() {
        let (p, e) = data();
        let out = erase(&p, &e, &schema(), &ErasureRequest::default()).unwrap();
        assert_eq!(out.profile.id, "u1");
        assert!(out.profile.identities.is_empty());
        assert_eq!(out.erased.identities_removed["wechat_unionid"], 2);
        assert!(out.profile.traits.contains_key("city"));
        assert!(!out.profile.traits.contains_key("phone"));
        assert_eq!(out.profile.consents.len(), 1);
        assert_eq!(out.profile.tags.len(), 1);
        let ev = &out.events.events()[0];
        assert!(ev.properties.contains_key("amount"));
        assert!(!ev.properties.contains_key("address"));
        assert_eq!(out.erased.event_properties_removed["purchase.address"], 1);
        let report = serde_json::to_string(&out.erased).unwrap();
        for secret in ["13800000000", "abc", "o1", "No. 1 Road"] {
            assert!(!report.contains(secret), "report leaks {secret}");
        }
    }

    #[test]
    fn full_request_and_replacement_id() {
        let (p, e) = data();
        let req = ErasureRequest::from_json_value(&json!({
            "identity_namespaces":["phone_sha256"],"all_traits":true,"delete_events":true,
            "remove_tags":true,"remove_consents":true,"replacement_id":"anon-1"}))
        .unwrap();
        let out = erase(&p, &e, &schema(), &req).unwrap();
        assert_eq!(out.profile.id, "anon-1");
        assert!(out.erased.id_replaced);
        assert_eq!(out.profile.identities.len(), 1);
        assert!(out.profile.traits.is_empty() && out.profile.tags.is_empty());
        assert!(out.profile.consents.is_empty() && out.events.is_empty());
        assert_eq!(out.erased.events_removed, 1);
        let bad = ErasureRequest {
            replacement_id: Some(String::new()),
            ..ErasureRequest::default()
        };
        assert_eq!(
            erase(&p, &e, &schema(), &bad).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    mod properties {
        use super::super::*;
        use crate::sample::{schema, Generator, SampleConfig};
        use crate::value::Value;
        use proptest::prelude::*;
        use std::sync::OnceLock;

        fn gen() -> &'static Generator {
            static GEN: OnceLock<Generator> = OnceLock::new();
            GEN.get_or_init(|| Generator::new(SampleConfig::new(1000, 11)).unwrap())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            #[test]
            fn erasing_sample_users_removes_personal_data_and_is_idempotent(i in 0usize..1000) {
                let (p, e) = gen().user(i);
                let schema = schema();
                let out = erase(&p, &e, &schema, &ErasureRequest::default()).unwrap();
                out.profile.validate(&schema).unwrap();
                prop_assert!(out.profile.identities.is_empty());
                prop_assert_eq!(out.events.len(), e.len());
                prop_assert_eq!(&out.profile.consents, &p.consents);
                let report = serde_json::to_string(&out.erased).unwrap();
                for (name, v) in &p.traits {
                    if schema.traits[name].personal {
                        prop_assert!(!out.profile.traits.contains_key(name));
                        if let Value::String(text) = v {
                            prop_assert!(!report.contains(text.as_str()));
                        }
                    } else {
                        prop_assert_eq!(out.profile.traits.get(name), Some(v));
                    }
                }
                for values in p.identities.values() {
                    for v in values {
                        prop_assert!(!report.contains(v.as_str()));
                    }
                }
                for ev in out.events.events() {
                    let def = &schema.events[&ev.name];
                    prop_assert!(ev.properties.keys().all(|k| !def.properties[k].personal));
                }
                let again = erase(&out.profile, &out.events, &schema, &ErasureRequest::default()).unwrap();
                prop_assert_eq!(&again.profile, &out.profile);
                prop_assert_eq!(&again.events, &out.events);
                prop_assert!(again.erased.identities_removed.is_empty());
                prop_assert!(again.erased.traits_removed.is_empty());
                prop_assert!(again.erased.event_properties_removed.is_empty());
            }
        }
    }
}
