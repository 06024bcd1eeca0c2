//! Journey additions: the binary-state step (restore + step + persist in one
//! call, the cycle a backend runs per wake-up) and Mermaid diagrams.

use super::{guard, parse_json, JourneyEngine};
use chrono::{DateTime, Utc};
use napi::bindgen_prelude::{Buffer, BufferSlice};
use napi_derive::napi;
use siyu_core::journey::{request, Input, JourneyDefinition, StepResult, UserState};
use siyu_core::value::{format_timestamp, parse_timestamp};
use siyu_core::{Error, ErrorKind, EventLog, Profile};
use std::cell::RefCell;
use std::sync::Arc;

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

/// Size of the header [`JourneyEngine::step_state`] writes before the state:
/// state length, effects JSON length, notices JSON length (u32 LE each), four
/// zero bytes, next wake-up in ms (f64 LE, NaN: none).
const STEP_STATE_HEADER: usize = 24;

/// Milliseconds since the epoch (a JS time value) as an instant.
fn instant_ms(ms: f64) -> siyu_core::Result<DateTime<Utc>> {
    let bad = || {
        Error::new(
            ErrorKind::InvalidTime,
            format!("now {ms} is not a time in milliseconds since the epoch"),
        )
        .with_path("now")
    };
    // ±8.64e15 ms is the range of a JS Date.
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return Err(bad());
    }
    let whole = ms.floor();
    let nanos = (((ms - whole) * 1e6).round() as i64).min(999_999);
    DateTime::from_timestamp_millis(whole as i64)
        .and_then(|t| t.checked_add_signed(chrono::Duration::nanoseconds(nanos)))
        .ok_or_else(bad)
}

/// An instant as milliseconds since the epoch, rounded up (a host waking at
/// that millisecond finds the item due).
fn ms_ceil(t: DateTime<Utc>) -> f64 {
    let ms = t.timestamp_millis();
    let sub = t.timestamp_subsec_nanos() % 1_000_000;
    (ms + i64::from(sub != 0)) as f64
}

/// A user's profile and event history parsed against an engine's schema
/// (from `JourneyEngine.subject`); immutable.
#[napi]
pub struct JourneySubject {
    data: Arc<SubjectData>,
}

/// A subject's parsed profile and history, shared with its steppers.
struct SubjectData {
    profile: Profile,
    events: EventLog,
}

/// An engine bound to one prepared subject (from `JourneyEngine.stepper`) for
/// the lean cycle: its `stepState` takes no class argument, which napi-rs would
/// check and register on every call, and it reuses one output vector.
#[napi]
pub struct JourneyStepper {
    engine: Arc<siyu_core::journey::JourneyEngine>,
    subject: Arc<SubjectData>,
    packed: RefCell<Vec<u8>>,
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
                data: Arc::new(SubjectData {
                    profile: Profile::from_json_value(
                        &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                        schema,
                    )?,
                    events: EventLog::from_json_value(
                        &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                        schema,
                    )?,
                }),
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
            let r = step_for(&self.inner, st, &subject.data, &input, now)?;
            Ok(StepBytesResult {
                state: r.state.to_bytes().into(),
                effects: serde_json::to_string(&r.effects).map_err(internal)?,
                notices: serde_json::to_string(&r.notices).map_err(internal)?,
                next_wake: r.next_wake.map(|t| format_timestamp(&t)),
            })
        })
    }

    /// This engine bound to a prepared subject, for repeated lean
    /// [`JourneyStepper::step_state`] calls.
    #[napi]
    pub fn stepper(&self, subject: &JourneySubject) -> JourneyStepper {
        JourneyStepper {
            engine: Arc::clone(&self.inner),
            subject: Arc::clone(&subject.data),
            packed: RefCell::new(Vec::new()),
        }
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

#[napi]
impl JourneyStepper {
    /// The lean restore + step + persist cycle: the state as bytes (borrowed,
    /// `None` = a new user), the input as JSON text (`None`: a tick), `now` in
    /// milliseconds since the epoch. Writes into `out` (a scratch buffer the
    /// caller reuses) a 24-byte header — state length, effects JSON length,
    /// notices JSON length (u32 LE), 4 zero bytes, next wake-up in ms rounded
    /// up (f64 LE, NaN: none) — then the state bytes, the effects JSON and the
    /// notices JSON (each absent when empty). Returns the number of bytes
    /// written, or minus the size needed when `out` is too small (nothing is
    /// kept: calling again with a larger buffer gives the same result). Same
    /// semantics as [`JourneyEngine::step_subject`]; no buffer is created per call.
    #[napi]
    pub fn step_state(
        &self,
        state: Option<BufferSlice>,
        input: Option<String>,
        now_ms: f64,
        mut out: BufferSlice,
    ) -> napi::Result<f64> {
        guard(|| {
            let st = match &state {
                Some(b) if !b.is_empty() => UserState::from_bytes(b)?,
                _ => UserState::new(),
            };
            let now = instant_ms(now_ms)?;
            let input = match &input {
                None => Input::Tick,
                Some(text) => Input::from_json_value(
                    &parse_json(text, ErrorKind::InvalidArgument, "input")?,
                    self.engine.schema(),
                )?,
            };
            let r = step_for(&self.engine, st, &self.subject, &input, now)?;
            // JS calls are never re-entered; a fresh vector covers it anyway.
            let mut fresh = Vec::new();
            let mut kept = self.packed.try_borrow_mut();
            let packed = match kept.as_deref_mut() {
                Ok(v) => v,
                Err(_) => &mut fresh,
            };
            packed.clear();
            packed.resize(STEP_STATE_HEADER, 0);
            r.state.write_bytes(packed);
            let state_len = packed.len() - STEP_STATE_HEADER;
            if !r.effects.is_empty() {
                serde_json::to_writer(&mut *packed, &r.effects).map_err(internal)?;
            }
            let effects_len = packed.len() - STEP_STATE_HEADER - state_len;
            if !r.notices.is_empty() {
                serde_json::to_writer(&mut *packed, &r.notices).map_err(internal)?;
            }
            let notices_len = packed.len() - STEP_STATE_HEADER - state_len - effects_len;
            let wake = r.next_wake.map_or(f64::NAN, ms_ceil);
            for (i, n) in [state_len, effects_len, notices_len]
                .into_iter()
                .enumerate()
            {
                let n = u32::try_from(n)
                    .map_err(|_| Error::new(ErrorKind::Internal, "step result too large"))?;
                packed[4 * i..4 * i + 4].copy_from_slice(&n.to_le_bytes());
            }
            packed[16..24].copy_from_slice(&wake.to_le_bytes());
            let dst: &mut [u8] = &mut out;
            if packed.len() > dst.len() {
                return Ok(-(packed.len() as f64));
            }
            dst[..packed.len()].copy_from_slice(packed);
            Ok(packed.len() as f64)
        })
    }
}

/// Steps `st` for a prepared subject; an event input is added to a copy of
/// the subject's history.
fn step_for(
    engine: &siyu_core::journey::JourneyEngine,
    st: UserState,
    subject: &SubjectData,
    input: &Input,
    now: DateTime<Utc>,
) -> siyu_core::Result<StepResult> {
    match input {
        Input::Event(_) => {
            let log = request::history(subject.events.events().to_vec(), input);
            engine.step_owned(st, &subject.profile, &log, input, now)
        }
        _ => engine.step_owned(st, &subject.profile, &subject.events, input, now),
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
