//! Journeys for Python: the native `JourneyEngine` plus validation, state
//! encoding, simulation and Mermaid export.
//!
//! Only conversion lives here: documents cross as JSON text, the user state as
//! JSON text or its versioned binary form (`bytes`), and the reading of request
//! documents is `siyu_core::journey::request`, shared with the other bindings.
//! Every call that steps, simulates or parses a user releases the GIL.

use crate::bulk::{read_events, read_profiles};
use crate::clv::to_json;
use crate::{attached, column_mappings, default_threads, detached, parse_json};
use crate::{EventsArg, Held, ProfileArg, Schema};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::PyRecordBatchReader;
use siyu_core::error::{Error, ErrorKind};
use siyu_core::journey::{
    mermaid, request, simulate_threads, Input, JourneyDefinition, JourneyEngine as CoreEngine,
    UserState,
};
use siyu_core::value::parse_timestamp;
use siyu_core::{EventLog as CoreEventLog, Profile as CoreProfile, Schema as CoreSchema};

/// A user state argument: its binary form (`bytes`) or its JSON text; `None` is
/// a user with no instances yet.
#[derive(FromPyObject)]
enum StateArg<'py> {
    Bytes(Bound<'py, PyBytes>),
    Text(String),
}

/// A borrowed [`StateArg`] that may cross into GIL-free code.
#[derive(Clone, Copy)]
enum StateSrc<'a> {
    Bytes(&'a [u8]),
    Text(&'a str),
}

impl StateArg<'_> {
    fn src(&self) -> StateSrc<'_> {
        match self {
            StateArg::Bytes(b) => StateSrc::Bytes(b.as_bytes()),
            StateArg::Text(t) => StateSrc::Text(t),
        }
    }
}

impl StateSrc<'_> {
    fn read(self) -> Result<UserState, Error> {
        match self {
            StateSrc::Bytes(b) => UserState::from_bytes(b),
            StateSrc::Text(t) => request::user_state(Some(&parse_state_json(t)?)),
        }
    }
}

/// State JSON that does not parse is a corrupt state, not a bad document.
fn parse_state_json(text: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::new(ErrorKind::InvalidState, format!("state is not JSON: {e}")))
}

fn read_state(state: Option<StateSrc<'_>>) -> Result<UserState, Error> {
    state.map_or_else(|| Ok(UserState::new()), StateSrc::read)
}

fn instant(text: &str, what: &str) -> Result<chrono::DateTime<chrono::Utc>, Error> {
    parse_timestamp(text).map_err(|e| e.prefix_path(what))
}

/// A result document as JSON text, with the state either inside it (`"state"`,
/// JSON form) or taken out as its binary form.
fn with_state<'py>(
    py: Python<'py>,
    mut doc: serde_json::Value,
    state: &UserState,
    binary: bool,
) -> PyResult<(String, Option<Bound<'py, PyBytes>>)> {
    let bytes = if binary {
        if let serde_json::Value::Object(m) = &mut doc {
            m.remove("state");
        }
        Some(PyBytes::new(py, &state.to_bytes()))
    } else {
        None
    };
    let text = attached(py, || to_json!(&doc))?;
    Ok((text, bytes))
}

/// Journey definitions (all versions) compiled against a schema under engine
/// policies; steps one user's journey instances. Immutable and thread-safe.
#[pyclass(frozen, module = "siyu._native")]
pub struct JourneyEngine {
    inner: CoreEngine,
}

#[pymethods]
impl JourneyEngine {
    /// Validates and compiles `journeys` (JSON text of an array of definitions)
    /// against `schema` (none: an empty schema) with `policies` (JSON text; none:
    /// the defaults).
    #[new]
    #[pyo3(signature = (journeys, schema=None, policies=None))]
    fn new(
        py: Python<'_>,
        journeys: &str,
        schema: Option<&Schema>,
        policies: Option<&str>,
    ) -> PyResult<JourneyEngine> {
        let schema = schema.map(|s| s.inner.clone()).unwrap_or_default();
        detached(py, move || {
            let defs = request::definitions(&parse_json(journeys)?)?;
            let policies = match policies {
                Some(p) => request::policies(Some(&parse_json(p)?))?,
                None => request::policies(None)?,
            };
            Ok(JourneyEngine {
                inner: CoreEngine::new(schema, defs, policies)?,
            })
        })
    }

    /// `(id, version)` of every loaded definition, in load order.
    fn definitions(&self) -> Vec<(String, u32)> {
        self.inner
            .definitions()
            .map(|d| (d.id.clone(), d.version))
            .collect()
    }

    /// One loaded definition (latest version unless given) as JSON text.
    #[pyo3(signature = (id, version=None))]
    fn definition(&self, py: Python<'_>, id: &str, version: Option<u32>) -> PyResult<String> {
        attached(py, || to_json!(&self.definition_of(id, version)?.to_json()))
    }

    /// The schema as JSON text.
    fn schema_json(&self) -> String {
        self.inner.schema().to_json()
    }

    /// Validation reports of every journey id (latest version), JSON text `{id: report}`.
    fn reports(&self, py: Python<'_>) -> PyResult<String> {
        attached(py, || to_json!(&request::reports(&self.inner)?))
    }

    /// The Mermaid flowchart of a loaded journey (latest version unless given).
    #[pyo3(signature = (id, version=None))]
    fn mermaid(&self, py: Python<'_>, id: &str, version: Option<u32>) -> PyResult<String> {
        attached(py, || {
            Ok(mermaid::to_mermaid(self.definition_of(id, version)?))
        })
    }

    /// Processes one input (JSON text) for one user at `now`. `state` is the
    /// binary form, JSON text or none; `profile` and `events` native objects or
    /// JSON text (an event input is added to the history). Returns JSON text of
    /// `{"effects", "notices", "next_wake", "state"}`, and with `binary` the new
    /// state's binary form instead of `"state"`. The input state is untouched.
    #[pyo3(signature = (state, profile, events, input, now, binary=false))]
    #[allow(clippy::too_many_arguments)]
    fn step<'py>(
        &self,
        py: Python<'py>,
        state: Option<StateArg<'_>>,
        profile: ProfileArg<'_>,
        events: EventsArg<'_>,
        input: &str,
        now: &str,
        binary: bool,
    ) -> PyResult<(String, Option<Bound<'py, PyBytes>>)> {
        let profile_held = match &profile {
            ProfileArg::Native(p) => Ok(Held::Borrowed(&p.get().inner)),
            ProfileArg::Text(t) => Err(t.as_str()),
        };
        let events_held = match &events {
            EventsArg::Native(e) => Ok(Held::Borrowed(&e.get().inner)),
            EventsArg::Text(t) => Err(t.as_str()),
        };
        let engine = &self.inner;
        let state = state.as_ref().map(StateArg::src);
        let result = detached(py, move || {
            let schema = engine.schema();
            let state = read_state(state)?;
            let profile = match profile_held {
                Ok(h) => h,
                Err(text) => Held::Owned(CoreProfile::from_json_value(&parse_json(text)?, schema)?),
            };
            let events = match events_held {
                Ok(h) => h,
                Err(text) => {
                    Held::Owned(CoreEventLog::from_json_value(&parse_json(text)?, schema)?)
                }
            };
            let now = instant(now, "now")?;
            let input = Input::from_json_value(&parse_json(input)?, schema)?;
            let r = match &input {
                Input::Event(_) => {
                    let log = request::history(events.get().events().to_vec(), &input);
                    engine.step_owned(state, profile.get(), &log, &input, now)?
                }
                _ => engine.step_owned(state, profile.get(), events.get(), &input, now)?,
            };
            Ok((request::step_json(&r)?, r.state))
        })?;
        with_state(py, result.0, &result.1, binary)
    }

    /// Moves a user's instances to other journey versions per a migration map
    /// (JSON text); with `dry_run` only plans. Returns JSON text of `{"moves",
    /// "state"}` (with `binary`, the state's binary form instead of `"state"`).
    #[pyo3(signature = (state, map, now, dry_run=false, binary=false))]
    fn migrate<'py>(
        &self,
        py: Python<'py>,
        state: StateArg<'_>,
        map: &str,
        now: &str,
        dry_run: bool,
        binary: bool,
    ) -> PyResult<(String, Option<Bound<'py, PyBytes>>)> {
        let engine = &self.inner;
        let state = state.src();
        let (doc, next) = detached(py, move || {
            let st = state.read()?;
            let now = instant(now, "now")?;
            request::migrate(engine, &st, &parse_json(map)?, now, dry_run)
                .map(|(next, doc)| (doc, next))
        })?;
        with_state(py, doc, &next, binary)
    }

    /// Replays users (JSON text `[{"profile", "events"?}]`) through the journeys
    /// over `[start, end)` from empty state on `threads` threads (default: all
    /// cores; the report does not depend on it); returns the report as JSON text.
    #[pyo3(signature = (users, start, end, threads=None))]
    fn simulate(
        &self,
        py: Python<'_>,
        users: &str,
        start: &str,
        end: &str,
        threads: Option<usize>,
    ) -> PyResult<String> {
        let engine = &self.inner;
        detached(py, move || {
            let schema = engine.schema();
            let doc = parse_json(users)?;
            let users = request::simulation_users(&doc, schema)?;
            run_simulation(engine, &users, start, end, threads)
        })
    }

    /// As `simulate`, with profiles and events as Arrow streams and the column
    /// mapping of `CompiledRuleSet.evaluate_arrow`. Returns `(report JSON text,
    /// unmatched_event_count)`.
    #[pyo3(signature = (profiles, events, start, end, id_column="id".to_string(), traits=None, time_zone_column=None, user_id_column="user_id".to_string(), event_name_column="name".to_string(), timestamp_column="timestamp".to_string(), event_id_column=None, properties=None, threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn simulate_arrow(
        &self,
        py: Python<'_>,
        profiles: PyRecordBatchReader,
        events: Option<PyRecordBatchReader>,
        start: &str,
        end: &str,
        id_column: String,
        traits: Option<Vec<(String, String)>>,
        time_zone_column: Option<String>,
        user_id_column: String,
        event_name_column: String,
        timestamp_column: String,
        event_id_column: Option<String>,
        properties: Option<Vec<(String, String)>>,
        threads: Option<usize>,
    ) -> PyResult<(String, u64)> {
        let (profile_cols, event_cols) = column_mappings(
            &profiles,
            events.as_ref(),
            id_column,
            traits,
            time_zone_column,
            user_id_column,
            event_name_column,
            timestamp_column,
            event_id_column,
            properties,
        )?;
        let profiles = profiles.into_reader()?;
        let events = events.map(|e| e.into_reader()).transpose()?;
        let engine = &self.inner;
        detached(py, move || {
            let schema = engine.schema();
            let profiles = read_profiles(profiles, &profile_cols, schema)?;
            let (events, unmatched) = match events {
                Some(r) => read_events(r, &event_cols, schema, &profiles)?,
                None => ((0..profiles.len()).map(|_| Vec::new()).collect(), 0),
            };
            let users: Vec<(CoreProfile, CoreEventLog)> = profiles
                .into_iter()
                .zip(events)
                .map(|(p, e)| (p, CoreEventLog::new(e)))
                .collect();
            Ok((
                run_simulation(engine, &users, start, end, threads)?,
                unmatched,
            ))
        })
    }
}

impl JourneyEngine {
    fn definition_of(&self, id: &str, version: Option<u32>) -> Result<&JourneyDefinition, Error> {
        self.inner.definition(id, version).ok_or_else(|| {
            let which =
                version.map_or_else(|| "any version".to_string(), |v| format!("version {v}"));
            Error::new(
                ErrorKind::InvalidArgument,
                format!("no loaded journey `{id}` ({which})"),
            )
            .with_path("id")
        })
    }
}

/// Simulates `users` on `threads` scoped threads over contiguous chunks and
/// merges the chunks' reports in order; the first error in user order wins, so
/// neither the report nor a failure depends on the thread count.
fn run_simulation(
    engine: &CoreEngine,
    users: &[(CoreProfile, CoreEventLog)],
    start: &str,
    end: &str,
    threads: Option<usize>,
) -> Result<String, Error> {
    let (from, to) = (instant(start, "start")?, instant(end, "end")?);
    let threads = threads.unwrap_or_else(default_threads);
    let report = simulate_threads(engine, users, from, to, threads)?;
    to_json!(&report)
}

/// Validates one journey definition (JSON text), also against `schema` when
/// given; returns the report `{"max_messages_per_day", "nodes"}` as JSON text.
#[pyfunction]
#[pyo3(signature = (definition, schema=None))]
fn validate_journey(py: Python<'_>, definition: &str, schema: Option<&Schema>) -> PyResult<String> {
    let schema: Option<&CoreSchema> = schema.map(|s| &s.inner);
    detached(py, move || {
        to_json!(&request::validate(&parse_json(definition)?, schema)?)
    })
}

/// The Mermaid flowchart of one journey definition (JSON text).
#[pyfunction]
fn journey_mermaid(py: Python<'_>, definition: &str) -> PyResult<String> {
    attached(py, || {
        let d = JourneyDefinition::from_json_value(&parse_json(definition)?)?;
        Ok(mermaid::to_mermaid(&d))
    })
}

/// A user state (JSON text) in the versioned binary form.
#[pyfunction]
fn encode_journey_state<'py>(py: Python<'py>, state: &str) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = attached(py, || Ok(StateSrc::Text(state).read()?.to_bytes()))?;
    Ok(PyBytes::new(py, &bytes))
}

/// Each instance of a user state (JSON text) in its binary form.
#[pyfunction]
fn encode_journey_instances<'py>(
    py: Python<'py>,
    state: &str,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let st = attached(py, || StateSrc::Text(state).read())?;
    Ok(st
        .instances
        .iter()
        .map(|i| PyBytes::new(py, &i.to_bytes()))
        .collect())
}

/// The JSON text of a user state given in its binary form (`INVALID_STATE`
/// when corrupt or of an unsupported format version).
#[pyfunction]
fn decode_journey_state(py: Python<'_>, state: &[u8]) -> PyResult<String> {
    attached(py, || to_json!(&UserState::from_bytes(state)?.to_json()))
}

/// The deterministic bucketing hash in `[0, 1)` used by random splits
/// (GrowthBook-compatible, versions 1 and 2); `None` for another version.
#[pyfunction]
#[pyo3(signature = (seed, value, version=2))]
fn bucket_hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    siyu_core::hashing::hash(seed, value, version)
}

/// Registers the journey classes and functions on `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<JourneyEngine>()?;
    m.add_function(wrap_pyfunction!(validate_journey, m)?)?;
    m.add_function(wrap_pyfunction!(journey_mermaid, m)?)?;
    m.add_function(wrap_pyfunction!(encode_journey_state, m)?)?;
    m.add_function(wrap_pyfunction!(encode_journey_instances, m)?)?;
    m.add_function(wrap_pyfunction!(decode_journey_state, m)?)?;
    m.add_function(wrap_pyfunction!(bucket_hash, m)?)?;
    Ok(())
}
