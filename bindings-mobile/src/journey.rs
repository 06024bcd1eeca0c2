//! Journeys on the device: step the user's instances offline, export/import
//! their state in the versioned binary form, hand effects to the app.

use crate::device::Device;
use crate::error::{guard, SiyuError};
use siyu_core::journey::{request, Input, JourneyEngine, UserState};
use siyu_core::value::{format_timestamp, parse_timestamp};
use siyu_core::{Error, ErrorKind, Schema};
use std::sync::{Arc, Mutex, MutexGuard};

/// What one step produced.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct JourneyStep {
    /// Effects for the app to carry out, in order (each the core's JSON form, see docs/journeys.md).
    pub effects: Vec<String>,
    /// Notices (entered, exited, converted …), each as JSON.
    pub notices: Vec<String>,
    /// Call `step` with a tick input by then at the latest (RFC 3339), if anything is waiting.
    pub next_wake: Option<String>,
}

fn json_items<T: serde::Serialize>(items: &[T]) -> siyu_core::Result<Vec<String>> {
    items
        .iter()
        .map(|i| {
            serde_json::to_string(i).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
        })
        .collect()
}

/// The user's journeys: definitions from the server plus this user's instance
/// state. Every failed call leaves the state unchanged.
#[derive(uniffi::Object)]
pub struct JourneyRunner {
    engine: JourneyEngine,
    state: Mutex<UserState>,
}

impl JourneyRunner {
    fn state(&self) -> MutexGuard<'_, UserState> {
        // The state is replaced only after a successful step, so a poisoned lock still holds a valid one.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[uniffi::export]
impl JourneyRunner {
    /// Loads journey definitions (a JSON array, any versions) against a schema, with
    /// engine policies (JSON; absent = defaults). Starts with no instances.
    #[uniffi::constructor]
    pub fn new(
        schema_json: String,
        journeys_json: String,
        policies_json: Option<String>,
    ) -> Result<Arc<JourneyRunner>, SiyuError> {
        guard(|| {
            let schema = Schema::from_json(&schema_json)?;
            let defs = request::definitions(&serde_json::from_str(&journeys_json)?)?;
            let policies = match policies_json {
                Some(p) => request::policies(Some(&serde_json::from_str(&p)?))?,
                None => request::policies(None)?,
            };
            Ok(Arc::new(JourneyRunner {
                engine: JourneyEngine::new(schema, defs, policies)?,
                state: Mutex::new(UserState::new()),
            }))
        })
    }

    /// Processes one input (JSON: `{"type": "event", "event": {...}}`, `{"type": "tick"}`,
    /// `profile_changed`, `outcome`, `enter`) at `now` with the device's profile and
    /// events. An event input is also added to the device's events.
    pub fn step(
        &self,
        device: Arc<Device>,
        input_json: String,
        now: String,
    ) -> Result<JourneyStep, SiyuError> {
        guard(|| {
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            let input =
                Input::from_json_value(&serde_json::from_str(&input_json)?, self.engine.schema())?;
            let (profile, history) = device.snapshot()?;
            let log = request::history(history, &input);
            let mut state = self.state();
            let r = self.engine.step(&state, &profile, &log, &input, now)?;
            if let Input::Event(ev) = &input {
                device.push_event(ev.clone());
            }
            *state = r.state;
            Ok(JourneyStep {
                effects: json_items(&r.effects)?,
                notices: json_items(&r.notices)?,
                next_wake: r.next_wake.map(|t| format_timestamp(&t)),
            })
        })
    }

    /// The instance state in the versioned binary form (persist it, or sync it to the server).
    pub fn export_state(&self) -> Vec<u8> {
        self.state().to_bytes()
    }

    /// Replaces the instance state with one in the binary form (`INVALID_STATE` when
    /// corrupt or of an unsupported version; the current state is then kept).
    pub fn import_state(&self, bytes: Vec<u8>) -> Result<(), SiyuError> {
        guard(|| {
            let st = UserState::from_bytes(&bytes)?;
            *self.state() = st;
            Ok(())
        })
    }

    /// Replaces the instance state with one in its JSON form (as `stateJson` writes it).
    pub fn import_state_json(&self, state_json: String) -> Result<(), SiyuError> {
        guard(|| {
            let st = UserState::from_json_value(&serde_json::from_str(&state_json)?)?;
            *self.state() = st;
            Ok(())
        })
    }

    /// Validation reports of every loaded definition, as JSON `{id: report}`.
    pub fn reports(&self) -> Result<String, SiyuError> {
        guard(|| {
            serde_json::to_string(&request::reports(&self.engine)?)
                .map_err(|x| Error::new(ErrorKind::Internal, x.to_string()))
        })
    }

    /// Moves the held instances to other journey versions per a migration map
    /// (JSON); with `dry_run` only plans. Returns JSON `{"moves", "state"}`.
    pub fn migrate(
        &self,
        map_json: String,
        now: String,
        dry_run: bool,
    ) -> Result<String, SiyuError> {
        guard(|| {
            let map: serde_json::Value = serde_json::from_str(&map_json)?;
            let now = parse_timestamp(&now)?;
            let mut state = self.state();
            let (next, out) = request::migrate(&self.engine, &state, &map, now, dry_run)?;
            *state = next;
            serde_json::to_string(&out).map_err(|x| Error::new(ErrorKind::Internal, x.to_string()))
        })
    }

    /// The instance state as JSON (for debugging and server-side inspection).
    pub fn state_json(&self) -> String {
        serde_json::to_string(&self.state().to_json()).unwrap_or_else(|_| "{}".into())
    }
}
