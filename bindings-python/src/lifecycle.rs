//! Lifecycle stages for Python: a compiled model classifies a profile at an
//! instant or replays its stage day by day. Documents in and results out are
//! JSON text (the core's forms); the Python layer turns them into dicts.

use crate::docs::{self, Source};
use crate::{attached, detached, EventsArg, ProfileArg, Schema};
use pyo3::prelude::*;
use siyu_core::lifecycle::{self, CompiledLifecycle};
use siyu_core::value::parse_date;
use siyu_core::{EvalInput, Schema as CoreSchema};

/// The schema given, else the sample schema of the shipped models.
pub(crate) fn schema_or_sample(schema: Option<&Schema>) -> CoreSchema {
    schema.map_or_else(lifecycle::default_schema, |s| s.inner.clone())
}

/// A lifecycle model compiled against a schema.
#[pyclass(frozen, module = "siyu._native")]
pub struct Lifecycle {
    pub(crate) inner: CompiledLifecycle,
    pub(crate) schema: CoreSchema,
}

#[pymethods]
impl Lifecycle {
    /// Compiles `model` (JSON text; `None` = the shipped model) against
    /// `schema` (`None` = the sample schema).
    #[new]
    #[pyo3(signature = (model=None, schema=None))]
    fn new(py: Python<'_>, model: Option<&str>, schema: Option<&Schema>) -> PyResult<Lifecycle> {
        let schema = schema_or_sample(schema);
        detached(py, move || {
            let inner = lifecycle::request::model(model)?.compile(&schema)?;
            Ok(Lifecycle { inner, schema })
        })
    }

    /// Stage rule names in declaration order.
    #[getter]
    fn rule_names(&self) -> Vec<String> {
        self.inner.rules().rule_names().to_vec()
    }

    /// The model as JSON text.
    fn model_json(&self, py: Python<'_>) -> PyResult<String> {
        attached(py, || docs::text!(self.inner.model()))
    }

    /// Classifies the profile at `now` given the previous stage state (JSON
    /// text or `None`); returns the outcome JSON text
    /// `{"state", "matched", "rule", "reason", "held", "transition"}`.
    #[pyo3(signature = (profile, events, now, previous=None, default_zone=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        profile: ProfileArg<'_>,
        events: EventsArg<'_>,
        now: &str,
        previous: Option<&str>,
        default_zone: Option<&str>,
    ) -> PyResult<String> {
        let (p, e) = (docs::profile(&profile), docs::events(&events));
        detached(py, || {
            let (p, e) = (p.read(&self.schema)?, e.read(&self.schema)?);
            let now = docs::instant(now)?;
            let previous = lifecycle::request::stage_state(previous)?;
            let input = EvalInput::new(p.get(), e.get(), now)
                .with_default_zone(docs::zone_or_utc(default_zone)?);
            docs::text!(&self.inner.evaluate(&input, previous.as_ref())?)
        })
    }

    /// The stage of each local day `start..=end` (`YYYY-MM-DD`), starting from
    /// `initial` (stage state JSON text or `None`); returns JSON text of
    /// `[{"date", "stage", "transition"}]`.
    #[pyo3(signature = (profile, events, start, end, default_zone=None, initial=None))]
    #[allow(clippy::too_many_arguments)]
    fn replay(
        &self,
        py: Python<'_>,
        profile: ProfileArg<'_>,
        events: EventsArg<'_>,
        start: &str,
        end: &str,
        default_zone: Option<&str>,
        initial: Option<&str>,
    ) -> PyResult<String> {
        let (p, e): (Source<'_, _>, Source<'_, _>) =
            (docs::profile(&profile), docs::events(&events));
        detached(py, || {
            let (p, e) = (p.read(&self.schema)?, e.read(&self.schema)?);
            let zone = docs::zone_or_utc(default_zone)?;
            let (start, end) = (parse_date(start)?, parse_date(end)?);
            let initial = lifecycle::request::stage_state(initial)?;
            docs::text!(&self
                .inner
                .replay(p.get(), e.get(), start, end, zone, initial.as_ref())?)
        })
    }
}

/// The sample schema of the shipped lifecycle and points models, as JSON text.
#[pyfunction]
fn sample_schema_json() -> String {
    lifecycle::default_schema_json().to_string()
}

/// Adds the lifecycle class to `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Lifecycle>()?;
    m.add_function(wrap_pyfunction!(sample_schema_json, m)?)?;
    Ok(())
}
