//! Points, levels, tiers and engagement for Python. Ledgers and tier states
//! are JSON documents the caller keeps: every method reads one and returns the
//! new one (a failed call changes nothing). JSON text in and out; the Python
//! layer makes dicts.

use crate::docs;
use crate::lifecycle::schema_or_sample;
use crate::{attached, detached, parse_json, EventsArg, Schema};
use pyo3::prelude::*;
use siyu_core::points::{self, request};
use siyu_core::{Event, Schema as CoreSchema};

/// A points model (earn rules, caps, expiry, levels, tiers, engagement)
/// validated against a schema.
#[pyclass(frozen, module = "siyu._native")]
pub struct PointsModel {
    inner: points::PointsModel,
    schema: CoreSchema,
}

#[pymethods]
impl PointsModel {
    /// Reads a points model (JSON text; `None` = the shipped model) against
    /// `schema` (`None` = the sample schema).
    #[new]
    #[pyo3(signature = (model=None, schema=None))]
    fn new(py: Python<'_>, model: Option<&str>, schema: Option<&Schema>) -> PyResult<PointsModel> {
        let schema = schema_or_sample(schema);
        detached(py, move || {
            let text = model.unwrap_or(points::PointsModel::default_model_json());
            let inner = points::PointsModel::from_json(text, &schema)?;
            Ok(PointsModel { inner, schema })
        })
    }

    /// The model as JSON text.
    fn model_json(&self, py: Python<'_>) -> PyResult<String> {
        attached(py, || docs::text!(&self.inner))
    }

    /// Earns points for one event (JSON text); returns JSON text of `{"ledger", "entries"}`.
    #[pyo3(signature = (ledger, event, zone=None))]
    fn apply_event(
        &self,
        py: Python<'_>,
        ledger: Option<&str>,
        event: &str,
        zone: Option<&str>,
    ) -> PyResult<String> {
        detached(py, || {
            let mut l = request::ledger(ledger)?;
            let e = Event::from_json_value(&parse_json(event)?, &self.schema)?;
            let out = request::apply_event(&self.inner, &mut l, &e, docs::zone_or_utc(zone)?)?;
            docs::text!(&out)
        })
    }

    /// Earns points for every event at or before `now` not yet applied, then
    /// expires lots; returns the ledger JSON text.
    #[pyo3(signature = (ledger, events, now, zone=None))]
    fn apply_events(
        &self,
        py: Python<'_>,
        ledger: Option<&str>,
        events: EventsArg<'_>,
        now: &str,
        zone: Option<&str>,
    ) -> PyResult<String> {
        let e = docs::events(&events);
        detached(py, || {
            let mut l = request::ledger(ledger)?;
            let e = e.read(&self.schema)?;
            let now = docs::instant(now)?;
            l.apply_events(&self.inner, e.get(), docs::zone_or_utc(zone)?, now)?;
            docs::text!(&request::ledger_json(&l)?)
        })
    }

    /// Redeems points at `at`; returns JSON text of `{"ledger", "entry"}`.
    #[pyo3(signature = (ledger, points, at, reference=""))]
    fn redeem(
        &self,
        py: Python<'_>,
        ledger: Option<&str>,
        points: i64,
        at: &str,
        reference: &str,
    ) -> PyResult<String> {
        detached(py, || {
            let mut l = request::ledger(ledger)?;
            let at = docs::instant(at)?;
            docs::text!(&request::redeem(&mut l, points, at, reference)?)
        })
    }

    /// Expires lots due at or before `now`; returns the ledger JSON text.
    fn expire(&self, py: Python<'_>, ledger: Option<&str>, now: &str) -> PyResult<String> {
        detached(py, || {
            let mut l = request::ledger(ledger)?;
            l.expire(docs::instant(now)?);
            docs::text!(&request::ledger_json(&l)?)
        })
    }

    /// Balance at `now`, lifetime points, level and benefits, entries and lots (JSON text).
    fn summary(&self, py: Python<'_>, ledger: Option<&str>, now: &str) -> PyResult<String> {
        detached(py, || {
            let l = request::ledger(ledger)?;
            docs::text!(&request::summary(&self.inner, &l, docs::instant(now)?)?)
        })
    }

    /// The tier at `now` from the ledger and events given the previous tier
    /// state (JSON text or `None`); returns the outcome JSON text (with `tier`,
    /// `benefits` and the `state` to keep).
    #[pyo3(signature = (ledger, events, now, state=None))]
    fn evaluate_tier(
        &self,
        py: Python<'_>,
        ledger: Option<&str>,
        events: EventsArg<'_>,
        now: &str,
        state: Option<&str>,
    ) -> PyResult<String> {
        let e = docs::events(&events);
        detached(py, || {
            let l = request::ledger(ledger)?;
            let e = e.read(&self.schema)?;
            let state = request::tier_state(state)?;
            let now = docs::instant(now)?;
            docs::text!(&request::tier(&self.inner, &l, e.get(), &state, now)?)
        })
    }

    /// The engagement score of an event history at `now`.
    fn engagement(&self, py: Python<'_>, events: EventsArg<'_>, now: &str) -> PyResult<f64> {
        let e = docs::events(&events);
        detached(py, || {
            let model = request::engagement(&self.inner)?;
            let e = e.read(&self.schema)?;
            Ok(model.score(e.get(), docs::instant(now)?))
        })
    }
}

/// Adds the points class to `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PointsModel>()
}
