//! Journey additions: the binary-state step (restore + step + persist in one
//! call, the cycle a backend runs per wake-up) and Mermaid diagrams.

use super::{guard, parse_json, wire, JourneyEngine};
use chrono::{DateTime, Utc};
use napi::bindgen_prelude::{Buffer, BufferSlice, External};
use napi_derive::napi;
use siyu_core::journey::{request, Input, JourneyDefinition, StepResult, UserState};
use siyu_core::value::{format_timestamp, parse_timestamp};
use siyu_core::{Error, ErrorKind, EventLog, Profile};
use std::cell::RefCell;
use std::rc::Rc;
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

/// An engine bound to one prepared subject (from `JourneyEngine.stepper`, a JS
/// external) for the lean cycle [`journey_step_state`]. An external rather
/// than a class: napi-rs checks a class receiver's identity and registers a
/// native borrow of it on every method call (≈ 0.1 µs), an external is one
/// registry look-up.
pub struct JourneyStepper {
    engine: Arc<siyu_core::journey::JourneyEngine>,
    subject: Arc<SubjectData>,
    /// The engine's string table (shared by its steppers).
    strings: Rc<RefCell<wire::StringTable>>,
    scratch: RefCell<Scratch>,
}

/// A stepper's vectors, reused across calls: the step result (its state is
/// the next call's scratch state), the packed output and the wire scratch.
#[derive(Default)]
struct Scratch {
    result: StepResult,
    state: Vec<u8>,
    packed: Vec<u8>,
    wire: wire::Scratch,
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
    /// [`journey_step_state`] calls.
    #[napi(ts_return_type = "ExternalObject<'JourneyStepper'>")]
    pub fn stepper(&self, subject: &JourneySubject) -> External<JourneyStepper> {
        External::new(JourneyStepper {
            engine: Arc::clone(&self.inner),
            subject: Arc::clone(&subject.data),
            strings: Rc::clone(&self.strings),
            scratch: RefCell::default(),
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

/// The lean restore + step + persist cycle of a stepper: the state as bytes
/// (borrowed, `None` = a new user), the input as JSON text (`None`: a tick),
/// `now` in milliseconds since the epoch, `known` the number of entries of the
/// JS engine's string table. Writes into `out` (a buffer the caller reuses) a
/// header and the effects and notices in the compact form of `wire` (ADR 0015)
/// within its first `records` bytes, and the new state at byte `state_at`
/// (≥ `records`: the caller hands that part out as the state Buffer and never
/// lets it be written again). Returns the number of bytes of the first part,
/// or minus the bytes of both parts when either does not fit (calling again
/// with a larger buffer gives the same result). Same semantics as [`JourneyEngine::step_subject`];
/// no buffer is created per call.
#[napi]
#[allow(clippy::too_many_arguments)] // a flat napi signature: no object to convert per call
pub fn journey_step_state(
    stepper: &External<JourneyStepper>,
    state: Option<BufferSlice>,
    input: Option<String>,
    now_ms: f64,
    mut out: BufferSlice,
    known: u32,
    records: u32,
    state_at: u32,
) -> napi::Result<f64> {
    let stepper: &JourneyStepper = stepper;
    guard(|| {
        // JS calls are never re-entered; fresh scratch covers it anyway.
        let mut fresh = Scratch::default();
        let mut kept = stepper.scratch.try_borrow_mut();
        let scratch = match kept.as_deref_mut() {
            Ok(v) => v,
            Err(_) => &mut fresh,
        };
        // `state` is often a view of `out`'s arena (a state this function
        // returned): it is read completely here, before `out` is written, and
        // the parts of `out` written below never overlap a handed-out state.
        let st = match state {
            Some(b) if !b.is_empty() => UserState::from_bytes(&b)?,
            _ => UserState::new(),
        };
        let now = instant_ms(now_ms)?;
        let input = match &input {
            None => Input::Tick,
            Some(text) => Input::from_json_value(
                &parse_json(text, ErrorKind::InvalidArgument, "input")?,
                stepper.engine.schema(),
            )?,
        };
        let r = &mut scratch.result;
        match &input {
            Input::Event(_) => {
                let log = request::history(stepper.subject.events.events().to_vec(), &input);
                stepper
                    .engine
                    .step_into(st, &stepper.subject.profile, &log, &input, now, r)?
            }
            _ => stepper.engine.step_into(
                st,
                &stepper.subject.profile,
                &stepper.subject.events,
                &input,
                now,
                r,
            )?,
        }
        let state_bytes = &mut scratch.state;
        state_bytes.clear();
        r.state.write_bytes(state_bytes);
        let packed = &mut scratch.packed;
        packed.clear();
        packed.resize(4 * wire::HEADER_WORDS, 0);
        let mut fresh_table = wire::StringTable::default();
        let mut table = stepper.strings.try_borrow_mut();
        let table = match table.as_deref_mut() {
            Ok(t) => t,
            Err(_) => &mut fresh_table,
        };
        let (cap, at) = (records as usize, state_at as usize);
        wire::write_step(
            packed,
            state_bytes.len(),
            at,
            r.next_wake.map_or(f64::NAN, ms_ceil),
            &r.effects,
            &r.notices,
            table,
            known as usize,
            &mut scratch.wire,
        )?;
        let dst: &mut [u8] = &mut out;
        let fits = packed.len() <= cap && cap <= at && at + state_bytes.len() <= dst.len();
        if !fits {
            return Ok(-((packed.len() + state_bytes.len()) as f64));
        }
        dst[..packed.len()].copy_from_slice(packed);
        dst[at..at + state_bytes.len()].copy_from_slice(state_bytes);
        Ok(packed.len() as f64)
    })
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
