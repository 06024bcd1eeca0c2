//! Journey simulation: replays users through an engine's journeys over a
//! period on a libuv worker thread (off the event loop) and reports counts.
//! Reads its arguments as the Python binding's `JourneyEngine.simulate` does,
//! so both answer alike; the counting is the core's.

use super::{guard, parse_json, to_json_text, JourneyEngine};
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use siyu_core::journey::{request, simulate_threads};
use siyu_core::value::parse_timestamp;
use siyu_core::ErrorKind;
use std::sync::Arc;

#[napi]
impl JourneyEngine {
    /// Replays users (JSON text `[{"profile", "events"?}]`) through the journeys
    /// over `[start, end)` (RFC 3339) from empty state; resolves to JSON text of
    /// the simulation report.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn simulate(&self, users: String, start: String, end: String) -> AsyncTask<Simulate> {
        AsyncTask::new(Simulate {
            engine: self.inner.clone(),
            users,
            start,
            end,
        })
    }
}

/// The worker-thread task behind [`JourneyEngine::simulate`].
pub struct Simulate {
    engine: Arc<siyu_core::journey::JourneyEngine>,
    users: String,
    start: String,
    end: String,
}

impl Simulate {
    fn run(&self) -> siyu_core::Result<String> {
        let from = parse_timestamp(&self.start).map_err(|e| e.prefix_path("start"))?;
        let to = parse_timestamp(&self.end).map_err(|e| e.prefix_path("end"))?;
        let schema = self.engine.schema();
        let doc = parse_json(&self.users, ErrorKind::InvalidJson, "users")?;
        let users = request::simulation_users(&doc, schema)?;
        to_json_text(&simulate_threads(
            &self.engine,
            &users,
            from,
            to,
            threads(),
        )?)
    }
}

impl Task for Simulate {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        guard(|| self.run())
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// Threads for a simulation: the machine's cores (the report does not depend
/// on the count).
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
