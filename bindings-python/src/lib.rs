//! The native half of the Python package `siyu` (module `siyu._native`).
//!
//! This layer only converts: JSON text in, plain values or JSON text out, and
//! every `siyu_core::Error` becomes the matching `siyu.SiyuError` subclass
//! (built by `siyu._errors.from_native` from the stable code). All behaviour
//! lives in `siyu-core`; dict/datetime conveniences live in the Python layer.
//! Evaluation releases the GIL, and a panic inside the core is caught and
//! reported as `InternalError` instead of crashing the interpreter.

mod analytics;
mod bulk;
mod bulk_outputs;
mod clv;
mod docs;
mod identity;
mod journey;
mod lifecycle;
mod per_call;
mod points;
mod rfm;
mod tags;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3_arrow::{PyRecordBatchReader, PyTable};
use siyu_core::error::{Error, ErrorKind};
use siyu_core::rules::{
    CompiledRuleSet as CoreCompiled, EvalInput, LentInput, LentPlan, RuleSet as CoreRuleSet,
};
use siyu_core::value::parse_timestamp;
use siyu_core::{EventLog as CoreEventLog, Profile as CoreProfile, Schema as CoreSchema, Zone};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Converts a core error into the Python exception of its kind.
fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let position = err.position().map(|p| (p.line, p.column, p.offset));
        let exc = py.import("siyu._errors")?.getattr("from_native")?.call1((
            err.code(),
            err.message(),
            position,
            err.path(),
            err.suggestion(),
        ))?;
        Ok(PyErr::from_value(exc))
    };
    // If the Python side cannot build the exception, surface why.
    build().unwrap_or_else(|e| e)
}

/// Runs `f`, turning a panic into an `INTERNAL` error so none reaches Python.
fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(Error::new(
            ErrorKind::Internal,
            format!("internal error (please report): {what}"),
        ))
    })
}

/// Runs `f` without the GIL and with panics caught, mapping errors to Python.
fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> Result<T, Error> + Send) -> PyResult<T> {
    py.detach(|| guarded(f)).map_err(|e| to_py_err(py, &e))
}

/// With the GIL held (for cheap calls), panics caught, errors mapped.
fn attached<T>(py: Python<'_>, f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    guarded(f).map_err(|e| to_py_err(py, &e))
}

fn parse_json(text: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(Error::from)
}

/// A validated schema (traits, events and their properties, tag groups).
#[pyclass(frozen, module = "siyu._native")]
pub struct Schema {
    inner: CoreSchema,
}

#[pymethods]
impl Schema {
    /// Reads and validates a schema document given as JSON text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Schema> {
        attached(py, || CoreSchema::from_json(text)).map(|inner| Schema { inner })
    }

    /// The schema as JSON text.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }
}

/// A parsed rule set (not yet checked against a schema).
#[pyclass(frozen, module = "siyu._native")]
pub struct RuleSet {
    inner: CoreRuleSet,
}

#[pymethods]
impl RuleSet {
    /// Parses rule DSL text (`segment name: expr …`).
    #[staticmethod]
    fn parse(py: Python<'_>, text: &str) -> PyResult<RuleSet> {
        attached(py, || CoreRuleSet::parse(text)).map(|inner| RuleSet { inner })
    }

    /// Reads the JSON form (`{"rules": [...]}`) given as JSON text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<RuleSet> {
        attached(py, || CoreRuleSet::from_json(text)).map(|inner| RuleSet { inner })
    }

    /// The canonical DSL text.
    fn to_text(&self) -> String {
        self.inner.to_text()
    }

    /// The JSON form with AST objects.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Rule names in declaration order.
    fn names(&self) -> Vec<String> {
        self.inner.rules.iter().map(|r| r.name.clone()).collect()
    }
}

/// A profile validated against a schema.
#[pyclass(frozen, module = "siyu._native")]
pub struct Profile {
    inner: CoreProfile,
}

#[pymethods]
impl Profile {
    /// Reads and validates a profile given as JSON text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str, schema: &Schema) -> PyResult<Profile> {
        attached(py, || CoreProfile::from_json(text, &schema.inner)).map(|inner| Profile { inner })
    }

    /// The profile as JSON text (canonical form).
    fn to_json(&self) -> String {
        self.inner.to_json().to_string()
    }
}

/// A validated, sorted and de-duplicated event log.
#[pyclass(frozen, module = "siyu._native")]
pub struct EventLog {
    inner: CoreEventLog,
}

#[pymethods]
impl EventLog {
    /// Reads and validates a JSON array of events given as text.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str, schema: &Schema) -> PyResult<EventLog> {
        attached(py, || {
            CoreEventLog::from_json_value(&parse_json(text)?, &schema.inner)
        })
        .map(|inner| EventLog { inner })
    }

    /// The events as JSON text (a sorted array).
    fn to_json(&self) -> String {
        self.inner.to_json().to_string()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// A profile argument: an already validated `Profile` or JSON text.
#[derive(FromPyObject)]
enum ProfileArg<'py> {
    Native(Bound<'py, Profile>),
    Text(String),
}

/// An events argument: an already validated `EventLog` or JSON text.
#[derive(FromPyObject)]
enum EventsArg<'py> {
    Native(Bound<'py, EventLog>),
    Text(String),
}

/// Either borrowed from a native object or freshly parsed.
enum Held<'a, T> {
    Borrowed(&'a T),
    Owned(T),
}

impl<T> Held<'_, T> {
    fn get(&self) -> &T {
        match self {
            Held::Borrowed(t) => t,
            Held::Owned(t) => t,
        }
    }
}

/// A rule set compiled against a schema; immutable and safe to share across threads.
#[pyclass(frozen, module = "siyu._native")]
pub struct CompiledRuleSet {
    inner: CoreCompiled,
    schema: CoreSchema,
    /// Lent evaluation of every rule (dicts without events, ADR 0014).
    plan: LentPlan,
    /// The plan's trait names as Python strings (dict keys are matched here).
    names: per_call::TraitNames,
}

impl CompiledRuleSet {
    /// Wraps a compiled set with its lent plan and name index.
    fn wrap(py: Python<'_>, inner: CoreCompiled, schema: CoreSchema) -> PyResult<CompiledRuleSet> {
        let plan = inner.lent_plan(&schema);
        let names = per_call::TraitNames::new(py, &plan)?;
        Ok(CompiledRuleSet {
            inner,
            schema,
            plan,
            names,
        })
    }

    /// Parses the per-call inputs and runs `f` on them without the GIL.
    fn with_input<T: Send>(
        &self,
        py: Python<'_>,
        profile: &ProfileArg<'_>,
        events: &EventsArg<'_>,
        now: &str,
        default_zone: Option<&str>,
        f: impl FnOnce(&CoreCompiled, &EvalInput<'_>) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let profile_held = match profile {
            ProfileArg::Native(p) => Ok(Held::Borrowed(&p.get().inner)),
            ProfileArg::Text(t) => Err(t.as_str()),
        };
        let events_held = match events {
            EventsArg::Native(e) => Ok(Held::Borrowed(&e.get().inner)),
            EventsArg::Text(t) => Err(t.as_str()),
        };
        let schema = &self.schema;
        let compiled = &self.inner;
        detached(py, move || {
            let profile = match profile_held {
                Ok(h) => h,
                Err(text) => Held::Owned(CoreProfile::from_json(text, schema)?),
            };
            let events = match events_held {
                Ok(h) => h,
                Err(text) => {
                    Held::Owned(CoreEventLog::from_json_value(&parse_json(text)?, schema)?)
                }
            };
            let now = parse_timestamp(now)?;
            let mut input = EvalInput::new(profile.get(), events.get(), now);
            if let Some(z) = default_zone {
                input = input.with_default_zone(Zone::parse(z)?);
            }
            f(compiled, &input)
        })
    }
}

#[pymethods]
impl CompiledRuleSet {
    /// Compiles `ruleset` against `schema` (type checks, name resolution, cycle detection).
    #[new]
    fn new(py: Python<'_>, ruleset: &RuleSet, schema: &Schema) -> PyResult<CompiledRuleSet> {
        let (rules, schema) = (&ruleset.inner, &schema.inner);
        let inner = detached(py, || CoreCompiled::compile(rules, schema))?;
        CompiledRuleSet::wrap(py, inner, schema.clone())
    }

    /// Parses DSL text and compiles it; compile errors then carry line and column.
    #[staticmethod]
    fn from_text(py: Python<'_>, text: &str, schema: &Schema) -> PyResult<CompiledRuleSet> {
        let schema = &schema.inner;
        let inner = detached(py, || CoreCompiled::compile_text(text, schema))?;
        CompiledRuleSet::wrap(py, inner, schema.clone())
    }

    /// Rule names in declaration order (the order of `evaluate`'s result).
    #[getter]
    fn rule_names(&self) -> Vec<String> {
        self.inner.rule_names().to_vec()
    }

    /// Memberships, one bool per rule in `rule_names` order. `profile` and
    /// `events` are native objects or JSON text; `now` is RFC 3339 text.
    #[pyo3(signature = (profile, events, now, default_zone=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        profile: ProfileArg<'_>,
        events: EventsArg<'_>,
        now: &str,
        default_zone: Option<&str>,
    ) -> PyResult<Vec<bool>> {
        self.with_input(py, &profile, &events, now, default_zone, |c, input| {
            c.evaluate(input)
        })
    }

    /// Memberships of one profile without events, with the GIL held (the
    /// per-call fast path): `profile` is a native `Profile` or a dict, read as
    /// the JSON document it denotes (same validation as JSON text); a
    /// `{"id", "traits"}` dict's traits are lent to the core, not converted.
    /// `None` when the dict holds a value JSON has no form for (then use `evaluate`).
    #[pyo3(signature = (profile, now, default_zone=None))]
    fn evaluate_one(
        &self,
        py: Python<'_>,
        profile: &Bound<'_, PyAny>,
        now: &str,
        default_zone: Option<&str>,
    ) -> PyResult<Option<Vec<bool>>> {
        let at = |now: &str| -> Result<_, Error> {
            let zone = match default_zone {
                Some(z) => Zone::parse(z)?,
                None => Zone::utc(),
            };
            Ok((parse_timestamp(now)?, zone))
        };
        let owned;
        let p: &CoreProfile = match profile.cast::<Profile>() {
            Ok(native) => &native.get().inner,
            Err(_) => {
                let Ok(dict) = profile.cast::<PyDict>() else {
                    return Ok(None);
                };
                let mut traits = per_call::LentDict::empty();
                // A bad `now` takes the document path, which reports profile
                // errors first.
                let when = at(now).ok();
                let id = when.and_then(|_| per_call::simple_lent(dict, &self.names, &mut traits));
                if let (Some(id), Some((now, default_zone))) = (id, when) {
                    return attached(py, || {
                        let input = LentInput {
                            id: &id,
                            traits: &traits,
                            now,
                            default_zone,
                        };
                        self.inner.evaluate_lent(&self.plan, &input)
                    })
                    .map(Some);
                }
                let Some(json) = per_call::to_json(profile) else {
                    return Ok(None);
                };
                owned = attached(py, || CoreProfile::from_json_value(&json, &self.schema))?;
                &owned
            }
        };
        attached(py, || {
            let (now, zone) = at(now)?;
            let log = CoreEventLog::new(Vec::new());
            self.inner
                .evaluate(&EvalInput::new(p, &log, now).with_default_zone(zone))
        })
        .map(Some)
    }

    /// A callable testing membership in rule `rule` at `now` for a dict of
    /// traits (see `Matcher`).
    #[pyo3(signature = (rule, now, default_zone=None))]
    fn matcher(
        slf: &Bound<'_, Self>,
        rule: &str,
        now: &str,
        default_zone: Option<&str>,
    ) -> PyResult<Matcher> {
        let py = slf.py();
        let this = slf.get();
        let (plan, now, zone) = attached(py, || {
            let plan = this.inner.lent_plan_for(&this.schema, rule)?;
            let zone = match default_zone {
                Some(z) => Zone::parse(z)?,
                None => Zone::utc(),
            };
            Ok((plan, parse_timestamp(now)?, zone))
        })?;
        Ok(Matcher {
            set: slf.clone().unbind(),
            plan,
            rule: rule.to_string(),
            now,
            zone,
        })
    }

    /// The explanation of one rule's verdict, as JSON text.
    #[pyo3(signature = (profile, events, now, rule, default_zone=None))]
    fn explain(
        &self,
        py: Python<'_>,
        profile: ProfileArg<'_>,
        events: EventsArg<'_>,
        now: &str,
        rule: &str,
        default_zone: Option<&str>,
    ) -> PyResult<String> {
        self.with_input(py, &profile, &events, now, default_zone, |c, input| {
            let e = c.explain(input, rule)?;
            serde_json::to_string(&e)
                .map_err(|e| Error::new(ErrorKind::Internal, format!("explanation: {e}")))
        })
    }

    /// Bulk evaluation over Arrow streams (anything with `__arrow_c_stream__`).
    /// Returns `(pyarrow.Table, unmatched_event_count)`; the table has the id
    /// column then one bool column per rule, rows in profile input order.
    #[pyo3(signature = (profiles, events, now, default_zone=None, id_column="id".to_string(), traits=None, time_zone_column=None, user_id_column="user_id".to_string(), event_name_column="name".to_string(), timestamp_column="timestamp".to_string(), event_id_column=None, properties=None, threads=None))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate_arrow<'py>(
        &self,
        py: Python<'py>,
        profiles: PyRecordBatchReader,
        events: Option<PyRecordBatchReader>,
        now: &str,
        default_zone: Option<&str>,
        id_column: String,
        traits: Option<Vec<(String, String)>>,
        time_zone_column: Option<String>,
        user_id_column: String,
        event_name_column: String,
        timestamp_column: String,
        event_id_column: Option<String>,
        properties: Option<Vec<(String, String)>>,
        threads: Option<usize>,
    ) -> PyResult<(Bound<'py, PyAny>, u64)> {
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
        let threads = threads.unwrap_or_else(default_threads);
        let (compiled, schema) = (&self.inner, &self.schema);
        let id_name = profile_cols.id.clone();
        let (batch, unmatched) = detached(py, move || {
            let now = parse_timestamp(now)?;
            let zone = match default_zone {
                Some(z) => Zone::parse(z)?,
                None => Zone::utc(),
            };
            let result = bulk::run(
                compiled,
                schema,
                profiles,
                events,
                &profile_cols,
                &event_cols,
                now,
                zone,
                threads,
            )?;
            let batch = bulk::to_batch(&id_name, compiled.rule_names(), &result)?;
            Ok((batch, result.unmatched_events))
        })?;
        let schema = batch.schema();
        let table = PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)?;
        Ok((table, unmatched))
    }
}

/// The profile id a matcher's traits stand under (rules cannot read it).
const MATCHER_ID: &str = "matcher";

/// Membership in one rule of a compiled set at a fixed `now` (and default
/// zone), for a dict of traits: `m(traits)` equals
/// `evaluate({"id": "matcher", "traits": traits}, None, now)[rule]` — same
/// answers, same errors — without building a profile (the traits are lent to
/// the core, ADR 0014). Keeps the GIL (sub-microsecond work).
#[pyclass(frozen, module = "siyu._native")]
pub struct Matcher {
    set: Py<CompiledRuleSet>,
    plan: LentPlan,
    rule: String,
    now: chrono::DateTime<chrono::Utc>,
    zone: Zone,
}

impl Matcher {
    fn test(&self, py: Python<'_>, traits: &Bound<'_, PyAny>) -> PyResult<bool> {
        let set = self.set.get();
        let copy;
        let dict = match traits.cast::<PyDict>() {
            Ok(d) => d,
            // Any other mapping: its items as a dict.
            Err(_) => {
                copy = PyDict::new(py);
                copy.update(traits.cast::<pyo3::types::PyMapping>()?)?;
                &copy
            }
        };
        let mut lent = per_call::LentDict::empty();
        if lent.read(dict, &set.names).is_some() {
            let input = LentInput {
                id: MATCHER_ID,
                traits: &lent,
                now: self.now,
                default_zone: self.zone,
            };
            return attached(py, || set.inner.matches_lent(&self.plan, &input));
        }
        // Values JSON has no form for (datetimes, sets): the JSON text path.
        let doc = PyDict::new(py);
        doc.set_item("id", MATCHER_ID)?;
        doc.set_item("traits", dict)?;
        let text: String = py
            .import("siyu")?
            .getattr("_to_json")?
            .call1((doc,))?
            .extract()?;
        attached(py, || {
            let profile = CoreProfile::from_json(&text, &set.schema)?;
            let log = CoreEventLog::new(Vec::new());
            let input = EvalInput::new(&profile, &log, self.now).with_default_zone(self.zone);
            set.inner.evaluate_rule(&input, &self.rule)
        })
    }
}

#[pymethods]
impl Matcher {
    /// Whether `traits` (a dict of trait name → value) is in the rule.
    fn __call__(&self, py: Python<'_>, traits: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.test(py, traits)
    }

    /// Same as calling the matcher.
    fn matches(&self, py: Python<'_>, traits: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.test(py, traits)
    }

    /// The rule's name.
    #[getter]
    fn rule(&self) -> &str {
        &self.rule
    }

    /// The evaluation instant (RFC 3339, UTC).
    #[getter]
    fn now(&self) -> String {
        siyu_core::value::format_timestamp(&self.now)
    }

    fn __repr__(&self) -> String {
        format!(
            "Matcher(rule={:?}, now={:?})",
            self.rule,
            siyu_core::value::format_timestamp(&self.now)
        )
    }
}

/// Column names of a table's schema, in order.
fn column_names(reader: &PyRecordBatchReader) -> PyResult<Vec<String>> {
    Ok(reader
        .schema_ref()?
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

/// Threads for a bulk job when the caller names none: every core.
fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The profile and event column mappings of a bulk call (one reading for every
/// Arrow entry point): unmapped trait/property columns default to every column
/// not already used for ids, zones, names or timestamps.
#[allow(clippy::too_many_arguments)]
fn column_mappings(
    profiles: &PyRecordBatchReader,
    events: Option<&PyRecordBatchReader>,
    id_column: String,
    traits: Option<Vec<(String, String)>>,
    time_zone_column: Option<String>,
    user_id_column: String,
    event_name_column: String,
    timestamp_column: String,
    event_id_column: Option<String>,
    properties: Option<Vec<(String, String)>>,
) -> PyResult<(bulk::ProfileColumns, bulk::EventColumns)> {
    let profile_cols = bulk::ProfileColumns {
        traits: mapping(
            traits,
            &column_names(profiles)?,
            &[Some(&id_column), time_zone_column.as_deref()],
        ),
        id: id_column,
        time_zone: time_zone_column,
    };
    let event_names = match events {
        Some(e) => column_names(e)?,
        None => Vec::new(),
    };
    let event_cols = bulk::EventColumns {
        properties: mapping(
            properties,
            &event_names,
            &[
                Some(&user_id_column),
                Some(&event_name_column),
                Some(&timestamp_column),
                event_id_column.as_deref(),
            ],
        ),
        user_id: user_id_column,
        name: event_name_column,
        timestamp: timestamp_column,
        id: event_id_column,
    };
    Ok((profile_cols, event_cols))
}

/// `(column, name)` pairs: the given mapping, else every column not in `taken`.
fn mapping(
    given: Option<Vec<(String, String)>>,
    all: &[String],
    taken: &[Option<&str>],
) -> Vec<(String, String)> {
    given.unwrap_or_else(|| {
        all.iter()
            .filter(|c| !taken.contains(&Some(c.as_str())))
            .map(|c| (c.clone(), c.clone()))
            .collect()
    })
}

/// Canonical name of a time zone (IANA name or fixed offset such as `+08:00`).
#[pyfunction]
fn parse_zone(py: Python<'_>, name: &str) -> PyResult<String> {
    attached(py, || Zone::parse(name)).map(|z| z.name())
}

/// A timestamp in canonical form (UTC, `Z`), from RFC 3339 text.
#[pyfunction]
fn normalize_timestamp(py: Python<'_>, text: &str) -> PyResult<String> {
    attached(py, || parse_timestamp(text)).map(|t| siyu_core::value::format_timestamp(&t))
}

/// Raises a panic inside a guarded call; lets the tests prove no panic reaches Python.
#[pyfunction]
fn _panic_for_test(py: Python<'_>) -> PyResult<()> {
    detached(py, || -> Result<(), Error> {
        panic!("deliberate test panic")
    })
}

/// Every error code, in `ErrorKind::ALL` order.
fn error_codes() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|k| k.code()).collect()
}

/// The native module `siyu._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", siyu_core::VERSION)?;
    m.add("ERROR_CODES", PyTuple::new(m.py(), error_codes())?)?;
    m.add_class::<Schema>()?;
    m.add_class::<RuleSet>()?;
    m.add_class::<Profile>()?;
    m.add_class::<EventLog>()?;
    m.add_class::<CompiledRuleSet>()?;
    m.add_class::<Matcher>()?;
    m.add_function(wrap_pyfunction!(parse_zone, m)?)?;
    m.add_function(wrap_pyfunction!(normalize_timestamp, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    clv::register(m)?;
    analytics::register(m)?;
    lifecycle::register(m)?;
    tags::register(m)?;
    rfm::register(m)?;
    points::register(m)?;
    identity::register(m)?;
    journey::register(m)?;
    bulk_outputs::register(m)?;
    Ok(())
}
