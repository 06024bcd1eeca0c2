//! The schema: declared traits, events with typed properties, and tag groups.
//!
//! JSON form (a field type may be written as a bare string):
//! ```json
//! {
//!   "traits": {"age": "integer", "phone": {"type": "string", "personal": true}},
//!   "events": {"purchase": {"properties": {"amount": "float", "category": "string"}}},
//!   "tag_groups": {"rfm_class": {"exclusive": true}},
//!   "identity_namespaces": ["wechat_unionid", "phone_sha256"]
//! }
//! ```

use crate::error::{suggest, Error, ErrorKind, Result};
use crate::value::ValueType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A declared field (trait or event property).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDef {
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ValueType,
    /// Personal data (PII): removed by erasure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub personal: bool,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl<'de> Deserialize<'de> for FieldDef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<FieldDef, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            #[serde(rename = "type")]
            ty: ValueType,
            #[serde(default)]
            personal: bool,
            #[serde(default)]
            description: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Short(ValueType),
            Full(Full),
        }
        match Form::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "a field is a type name (string, integer, float, boolean, timestamp, date, string_list) or {\"type\": ..., \"personal\"?: bool}",
            )
        })? {
            Form::Short(ty) => Ok(FieldDef {
                ty,
                personal: false,
                description: None,
            }),
            Form::Full(f) => Ok(FieldDef {
                ty: f.ty,
                personal: f.personal,
                description: f.description,
            }),
        }
    }
}

/// A declared event name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDef {
    /// Typed properties.
    #[serde(default)]
    pub properties: BTreeMap<String, FieldDef>,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A tag group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagGroupDef {
    /// At most one tag of the group at a time (e.g. an RFM class).
    #[serde(default)]
    pub exclusive: bool,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The schema profiles, events and rules are validated against.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Declared traits.
    #[serde(default)]
    pub traits: BTreeMap<String, FieldDef>,
    /// Declared events.
    #[serde(default)]
    pub events: BTreeMap<String, EventDef>,
    /// Declared tag groups.
    #[serde(default)]
    pub tag_groups: BTreeMap<String, TagGroupDef>,
    /// Allowed identity namespaces; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_namespaces: Vec<String>,
}

/// Whether `name` is a valid identifier: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Schema {
    /// Parses and validates a schema from JSON text.
    pub fn from_json(text: &str) -> Result<Schema> {
        let s: Schema = serde_json::from_str(text)
            .map_err(|e| Error::new(ErrorKind::InvalidSchema, format!("invalid schema: {e}")))?;
        s.validate()?;
        Ok(s)
    }

    /// Serialises to JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks names are identifiers.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, name: &str| {
            Error::new(
                ErrorKind::InvalidSchema,
                format!("{what} name {name:?} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)"),
            )
        };
        for name in self.traits.keys() {
            if !is_identifier(name) {
                return Err(bad("trait", name).with_path(format!("traits.{name}")));
            }
        }
        for (name, ev) in &self.events {
            if !is_identifier(name) {
                return Err(bad("event", name).with_path(format!("events.{name}")));
            }
            for p in ev.properties.keys() {
                if !is_identifier(p) {
                    return Err(
                        bad("property", p).with_path(format!("events.{name}.properties.{p}"))
                    );
                }
            }
        }
        Ok(())
    }

    /// The declared trait, or an `UNKNOWN_TRAIT` error with a suggestion.
    pub fn trait_def(&self, name: &str) -> Result<&FieldDef> {
        self.traits.get(name).ok_or_else(|| {
            unknown(
                ErrorKind::UnknownTrait,
                format!("unknown trait `{name}`"),
                name,
                self.traits.keys().map(String::as_str),
            )
        })
    }

    /// The declared event, or an `UNKNOWN_EVENT` error with a suggestion.
    pub fn event_def(&self, name: &str) -> Result<&EventDef> {
        self.events.get(name).ok_or_else(|| {
            unknown(
                ErrorKind::UnknownEvent,
                format!("unknown event `{name}`"),
                name,
                self.events.keys().map(String::as_str),
            )
        })
    }

    /// The declared property of an event, or an `UNKNOWN_PROPERTY` error.
    pub fn property_def(&self, event: &str, property: &str) -> Result<&FieldDef> {
        let ev = self.event_def(event)?;
        ev.properties.get(property).ok_or_else(|| {
            unknown(
                ErrorKind::UnknownProperty,
                format!("event `{event}` has no property `{property}`"),
                property,
                ev.properties.keys().map(String::as_str),
            )
        })
    }

    /// The declared tag group, or an `UNKNOWN_TAG_GROUP` error.
    pub fn tag_group(&self, name: &str) -> Result<&TagGroupDef> {
        self.tag_groups.get(name).ok_or_else(|| {
            unknown(
                ErrorKind::UnknownTagGroup,
                format!("unknown tag group `{name}`"),
                name,
                self.tag_groups.keys().map(String::as_str),
            )
        })
    }
}

fn unknown<'a>(
    kind: ErrorKind,
    msg: String,
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Error {
    let e = Error::new(kind, msg);
    match suggest(name, candidates) {
        Some(s) => e.with_suggestion(s),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_full_field_forms() {
        let s = Schema::from_json(
            r#"{"traits":{"age":"integer","phone":{"type":"string","personal":true}},
                "events":{"purchase":{"properties":{"amount":"float"}}},
                "tag_groups":{"rfm":{"exclusive":true}}}"#,
        )
        .unwrap();
        assert_eq!(s.traits["age"].ty, ValueType::Integer);
        assert!(s.traits["phone"].personal);
        assert!(s.tag_groups["rfm"].exclusive);
        let back = Schema::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn unknown_names_suggest() {
        let s = Schema::from_json(r#"{"traits":{"city":"string"}}"#).unwrap();
        let e = s.trait_def("ctiy").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownTrait);
        assert_eq!(e.suggestion(), Some("city"));
    }

    #[test]
    fn bad_schema_is_typed() {
        let e = Schema::from_json(r#"{"traits":{"age":"int"}}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSchema);
        let e = Schema::from_json(r#"{"traits":{"bad name":"string"}}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSchema);
    }
}
