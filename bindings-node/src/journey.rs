//! Journey additions: the binary-state step (restore + step + persist in one
//! call, the cycle a backend runs per wake-up) and Mermaid diagrams.

use super::{guard, parse_json, JourneyEngine};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use siyu_core::journey::{request, Input, JourneyDefinition, UserState};
use siyu_core::value::{format_timestamp, parse_timestamp};
use siyu_core::{Error, ErrorKind, EventLog, Profile};

/// The result of [`JourneyEngine::step_bytes`]: the new state in its versioned
/// binary form plus effects and notices as JSON text.
#[napi(object)]
pub struct StepBytesResult {
    /// The new user state (binary form; persist it as is).
    pub state: Buffer,
    /// JSON text of the effects array.
    pub effects: String,
    /// JSON text of the notices array.
    pub notices: String,
    /// When to tick next (RFC 3339), if anything is waiting.
    pub next_wake: Option<String>,
}

/// A user's profile and event history parsed against an engine's schema
/// (from `JourneyEngine.subject`); immutable.
#[napi]
pub struct JourneySubject {
    profile: Profile,
    events: EventLog,
}

fn internal(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::Internal, e.to_string())
}

#[napi]
impl JourneyEngine {
    /// As `step`, with the user state in its binary form both ways (`None` = a
    /// new user): restores, steps and persists in one call.
    #[napi]
    pub fn step_bytes(
        &self,
        state: Option<Buffer>,
        profile: String,
        events: String,
        input: String,
        now: String,
    ) -> napi::Result<StepBytesResult> {
        guard(|| {
            let schema = self.inner.schema();
            let st = match &state {
                Some(b) if !b.is_empty() => UserState::from_bytes(b)?,
                _ => UserState::new(),
            };
            let p = Profile::from_json_value(
                &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                schema,
            )?;
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            let input = Input::from_json_value(
                &parse_json(&input, ErrorKind::InvalidArgument, "input")?,
                schema,
            )?;
            let log = if events.trim() == "[]" {
                match &input {
                    Input::Event(ev) => EventLog::new(vec![ev.clone()]),
                    _ => EventLog::default(),
                }
            } else {
                let history = EventLog::from_json_value(
                    &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                    schema,
                )?
                .into_events();
                request::history(history, &input)
            };
            let r = self.inner.step_owned(st, &p, &log, &input, now)?;
            Ok(StepBytesResult {
                state: r.state.to_bytes().into(),
                effects: serde_json::to_string(&r.effects).map_err(internal)?,
                notices: serde_json::to_string(&r.notices).map_err(internal)?,
                next_wake: r.next_wake.map(|t| format_timestamp(&t)),
            })
        })
    }

    /// Parses a user's profile and event history once (JSON text) against the
    /// engine's schema, for repeated [`JourneyEngine::step_subject`] calls.
    #[napi]
    pub fn subject(&self, profile: String, events: String) -> napi::Result<JourneySubject> {
        guard(|| {
            let schema = self.inner.schema();
            Ok(JourneySubject {
                profile: Profile::from_json_value(
                    &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                    schema,
                )?,
                events: EventLog::from_json_value(
                    &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                    schema,
                )?,
            })
        })
    }

    /// As [`JourneyEngine::step_bytes`] for a prepared subject (no profile or
    /// history parsing per call). An event input is added to a copy of the history.
    #[napi]
    pub fn step_subject(
        &self,
        state: Option<Buffer>,
        subject: &JourneySubject,
        input: String,
        now: String,
    ) -> napi::Result<StepBytesResult> {
        guard(|| {
            let st = match &state {
                Some(b) if !b.is_empty() => UserState::from_bytes(b)?,
                _ => UserState::new(),
            };
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            let input = Input::from_json_value(
                &parse_json(&input, ErrorKind::InvalidArgument, "input")?,
                self.inner.schema(),
            )?;
            let r = match &input {
                Input::Event(_) => {
                    let log = request::history(subject.events.events().to_vec(), &input);
                    self.inner
                        .step_owned(st, &subject.profile, &log, &input, now)?
                }
                _ => self
                    .inner
                    .step_owned(st, &subject.profile, &subject.events, &input, now)?,
            };
            Ok(StepBytesResult {
                state: r.state.to_bytes().into(),
                effects: serde_json::to_string(&r.effects).map_err(internal)?,
                notices: serde_json::to_string(&r.notices).map_err(internal)?,
                next_wake: r.next_wake.map(|t| format_timestamp(&t)),
            })
        })
    }

    /// The Mermaid flowchart of a loaded journey (latest version unless given).
    #[napi]
    pub fn mermaid(&self, id: String, version: Option<u32>) -> napi::Result<String> {
        guard(|| {
            let d = self.inner.definition(&id, version).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("no loaded journey `{id}` (version {version:?})"),
                )
                .with_path("id")
            })?;
            Ok(siyu_core::journey::mermaid::to_mermaid(d))
        })
    }

    /// Ids and versions of the loaded definitions, as JSON text `[{id, version}]`.
    #[napi]
    pub fn definitions(&self) -> napi::Result<String> {
        guard(|| {
            let list: Vec<serde_json::Value> = self
                .inner
                .definitions()
                .map(|d| serde_json::json!({"id": d.id, "version": d.version}))
                .collect();
            serde_json::to_string(&list).map_err(internal)
        })
    }
}

/// The Mermaid flowchart of one journey definition (JSON text).
#[napi]
pub fn journey_mermaid(definition: String) -> napi::Result<String> {
    guard(|| {
        let d = JourneyDefinition::from_json_value(&parse_json(
            &definition,
            ErrorKind::InvalidJson,
            "journey",
        )?)?;
        Ok(siyu_core::journey::mermaid::to_mermaid(&d))
    })
}
