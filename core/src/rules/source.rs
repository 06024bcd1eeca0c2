//! What the evaluator reads: one profile's facts and its sorted events, behind a
//! trait so the same evaluator (hence the same semantics) runs over core
//! [`Profile`]/[`Event`] rows and over borrowed columns
//! ([`crate::columnar`]). Events are addressed by their index in time order.

use super::eval::{EvalResult, Val};
use crate::error::{Error, ErrorKind};
use crate::profile::{Event, Profile};
use crate::value::{Value, ValueType};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// One profile and its events (sorted by time, de-duplicated), as the evaluator
/// sees them. `id`s are indexes into the compiled set's name table; row sources
/// look names up, columnar ones use the ids.
pub(crate) trait Source<'a>: Copy {
    /// The trait's value, typed as declared; missing when absent.
    fn trait_value(&self, name: &str, id: usize, ty: ValueType) -> EvalResult<Val<'a>>;
    /// A model score (finite) or missing.
    fn score(&self, name: &str) -> Val<'a>;
    /// Whether a live tag of that name is present.
    fn has_tag(&self, name: &str, now: DateTime<Utc>) -> bool;
    /// Whether any live tag of the group is present.
    fn has_tag_in_group(&self, group: &str, now: DateTime<Utc>) -> bool;
    /// Whether consent is granted at `now`.
    fn has_consent(&self, channel: &str, purpose: &str, now: DateTime<Utc>) -> bool;
    /// Whether the profile has an identity in the namespace.
    fn has_identity(&self, namespace: &str) -> bool;
    /// Number of events.
    fn len(&self) -> usize;
    /// Timestamp of event `i`.
    fn ts(&self, i: usize) -> DateTime<Utc>;
    /// Number of events before `t` (events are in time order).
    fn count_lt(&self, t: DateTime<Utc>) -> usize;
    /// Number of events at or before `t`.
    fn count_le(&self, t: DateTime<Utc>) -> usize;
    /// Whether event `i` has the name (`id` in the name table).
    fn name_is(&self, i: usize, name: &str, id: usize) -> bool;
    /// Property of event `i`, typed as declared; missing when absent.
    fn prop(&self, i: usize, name: &str, id: usize, ty: ValueType) -> EvalResult<Val<'a>>;
    /// The value of event term `term` (an aggregate or streak, see
    /// [`AggPlan::term`](super::eval::AggPlan::term)) when the source has it
    /// already computed (the reduction kernel, `reduce.rs`); `None` makes the
    /// evaluator compute it from the events.
    #[inline]
    fn reduced(&self, _term: usize) -> Option<Val<'a>> {
        None
    }
}

/// The event-log methods of a [`Source`] that reads no events itself: its
/// rules have none to read, or every event term is answered by
/// [`Source::reduced`]. Written out per source so no source gets "no events"
/// by accident from a default.
macro_rules! no_event_log {
    () => {
        fn len(&self) -> usize {
            0
        }
        fn ts(&self, _: usize) -> DateTime<Utc> {
            // Never asked: callers stay below `len`.
            DateTime::<Utc>::MIN_UTC
        }
        fn count_lt(&self, _: DateTime<Utc>) -> usize {
            0
        }
        fn count_le(&self, _: DateTime<Utc>) -> usize {
            0
        }
        fn name_is(&self, _: usize, _: &str, _: usize) -> bool {
            false
        }
    };
}
pub(crate) use no_event_log;

/// A core profile and its event log.
#[derive(Clone, Copy)]
pub(crate) struct RowSource<'a> {
    pub profile: &'a Profile,
    pub events: &'a [Event],
}

impl<'a> Val<'a> {
    pub(crate) fn from_value(v: &'a Value) -> Val<'a> {
        match v {
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
            Value::Integer(i) => Val::Int(*i),
            Value::Float(f) => Val::Float(*f),
            Value::Boolean(b) => Val::Bool(*b),
            Value::Timestamp(t) => Val::Ts(*t),
            Value::Date(d) => Val::Date(*d),
            Value::StringList(l) => Val::List(l),
        }
    }
}

/// A stored value checked against its declared type (integers are accepted where
/// floats are declared); `None` when the type does not fit.
pub(crate) fn typed(v: Val<'_>, ty: ValueType) -> Option<Val<'_>> {
    let fits = matches!(
        (&v, ty),
        (Val::Str(_), ValueType::String)
            | (Val::Int(_), ValueType::Integer)
            | (Val::Float(_), ValueType::Float)
            | (Val::Bool(_), ValueType::Boolean)
            | (Val::Ts(_), ValueType::Timestamp)
            | (Val::Date(_), ValueType::Date)
            | (Val::List(_), ValueType::StringList)
    );
    if fits {
        Some(v)
    } else {
        match (v, ty) {
            (Val::Int(i), ValueType::Float) => Some(Val::Float(i as f64)),
            _ => None,
        }
    }
}

impl<'a> Source<'a> for RowSource<'a> {
    fn trait_value(&self, name: &str, _: usize, ty: ValueType) -> EvalResult<Val<'a>> {
        match self.profile.traits.get(name) {
            None => Ok(Val::Missing),
            Some(v) => typed(Val::from_value(v), ty).ok_or_else(|| {
                Box::new(
                    Error::new(
                        ErrorKind::InvalidProfile,
                        format!(
                            "trait `{name}` is declared {ty} but the profile holds a {} value",
                            v.value_type()
                        ),
                    )
                    .with_path(format!("traits.{name}")),
                )
            }),
        }
    }

    fn score(&self, name: &str) -> Val<'a> {
        match self.profile.scores.get(name) {
            Some(f) if f.is_finite() => Val::Float(*f),
            _ => Val::Missing,
        }
    }

    fn has_tag(&self, name: &str, now: DateTime<Utc>) -> bool {
        self.profile.has_tag(name, now)
    }

    fn has_tag_in_group(&self, group: &str, now: DateTime<Utc>) -> bool {
        self.profile
            .tags
            .iter()
            .any(|t| t.group.as_deref() == Some(group) && t.is_live(now))
    }

    fn has_consent(&self, channel: &str, purpose: &str, now: DateTime<Utc>) -> bool {
        self.profile.has_consent(channel, purpose, now)
    }

    fn has_identity(&self, namespace: &str) -> bool {
        self.profile
            .identities
            .get(namespace)
            .is_some_and(|v| !v.is_empty())
    }

    fn len(&self) -> usize {
        self.events.len()
    }

    fn ts(&self, i: usize) -> DateTime<Utc> {
        self.events[i].timestamp
    }

    fn count_lt(&self, t: DateTime<Utc>) -> usize {
        self.events.partition_point(|e| e.timestamp < t)
    }

    fn count_le(&self, t: DateTime<Utc>) -> usize {
        self.events.partition_point(|e| e.timestamp <= t)
    }

    fn name_is(&self, i: usize, name: &str, _: usize) -> bool {
        self.events[i].name == name
    }

    fn prop(&self, i: usize, name: &str, _: usize, ty: ValueType) -> EvalResult<Val<'a>> {
        let e = &self.events[i];
        match e.properties.get(name) {
            None => Ok(Val::Missing),
            Some(v) => typed(Val::from_value(v), ty).ok_or_else(|| {
                Box::new(
                    Error::new(
                        ErrorKind::InvalidEvent,
                        format!(
                            "property `{name}` of event `{}` is declared {ty} but holds a {} value",
                            e.id,
                            v.value_type()
                        ),
                    )
                    .with_path(format!("events.{}.properties.{name}", e.id)),
                )
            }),
        }
    }
}
