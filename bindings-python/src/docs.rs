//! Inputs shared by the layering engines (lifecycle, tags, RFM, points,
//! identity): a profile or events given as a native object or JSON text,
//! resolved while the GIL is held and read against a schema without it.

use crate::{parse_json, EventsArg, Held, ProfileArg};
use siyu_core::error::Error;
use siyu_core::value::parse_timestamp;
use siyu_core::{EventLog as CoreEventLog, Profile as CoreProfile, Schema as CoreSchema, Zone};

/// A borrowed core value or JSON text still to be read (both `Send`).
pub(crate) enum Source<'a, T> {
    Core(&'a T),
    Text(&'a str),
}

/// The profile behind an argument.
pub(crate) fn profile<'a>(arg: &'a ProfileArg<'_>) -> Source<'a, CoreProfile> {
    match arg {
        ProfileArg::Native(p) => Source::Core(&p.get().inner),
        ProfileArg::Text(t) => Source::Text(t),
    }
}

/// The events behind an argument.
pub(crate) fn events<'a>(arg: &'a EventsArg<'_>) -> Source<'a, CoreEventLog> {
    match arg {
        EventsArg::Native(e) => Source::Core(&e.get().inner),
        EventsArg::Text(t) => Source::Text(t),
    }
}

impl<'a> Source<'a, CoreProfile> {
    /// The profile, validated against `schema` when given as text.
    pub(crate) fn read(&self, schema: &CoreSchema) -> Result<Held<'a, CoreProfile>, Error> {
        match self {
            Source::Core(p) => Ok(Held::Borrowed(*p)),
            Source::Text(t) => Ok(Held::Owned(CoreProfile::from_json(t, schema)?)),
        }
    }

    /// An owned copy to change.
    pub(crate) fn read_owned(&self, schema: &CoreSchema) -> Result<CoreProfile, Error> {
        match self {
            Source::Core(p) => Ok((*p).clone()),
            Source::Text(t) => CoreProfile::from_json(t, schema),
        }
    }
}

impl<'a> Source<'a, CoreEventLog> {
    /// The events, validated against `schema` when given as text.
    pub(crate) fn read(&self, schema: &CoreSchema) -> Result<Held<'a, CoreEventLog>, Error> {
        match self {
            Source::Core(e) => Ok(Held::Borrowed(*e)),
            Source::Text(t) => Ok(Held::Owned(CoreEventLog::from_json_value(
                &parse_json(t)?,
                schema,
            )?)),
        }
    }
}

/// `zone` parsed, UTC when absent.
pub(crate) fn zone_or_utc(zone: Option<&str>) -> Result<Zone, Error> {
    zone.map_or_else(|| Ok(Zone::utc()), Zone::parse)
}

/// An RFC 3339 instant.
pub(crate) fn instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, Error> {
    parse_timestamp(text)
}

/// A serialisable value as JSON text (what the Python layer parses).
macro_rules! text {
    ($v:expr) => {
        serde_json::to_string($v).map_err(|e| {
            siyu_core::error::Error::new(
                siyu_core::error::ErrorKind::Internal,
                format!("result: {e}"),
            )
        })
    };
}
pub(crate) use text;
