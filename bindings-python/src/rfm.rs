//! RFM for Python: values, fitted thresholds, scores and segments, one profile
//! at a time (JSON text in and out) or for a whole population given as Arrow
//! columns. Every document is read by `siyu_core::rfm::request`.

use crate::clv::f64_column;
use crate::docs;
use crate::lifecycle::schema_or_sample;
use crate::{detached, EventsArg, ProfileArg, Schema};
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt8Array};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use pyo3::prelude::*;
use pyo3_arrow::{PyArray, PyTable};
use siyu_core::error::{Error, ErrorKind};
use siyu_core::rfm::{self, request, RfmThresholds};
use std::sync::Arc;

/// Raw values of an event log at `now` (JSON text of the values object, or
/// `null` without a qualifying purchase).
#[pyfunction]
#[pyo3(signature = (events, now, config=None, schema=None))]
fn rfm_values(
    py: Python<'_>,
    events: EventsArg<'_>,
    now: &str,
    config: Option<&str>,
    schema: Option<&Schema>,
) -> PyResult<String> {
    let schema = schema_or_sample(schema);
    let e = docs::events(&events);
    detached(py, move || {
        let e = e.read(&schema)?;
        docs::text!(&request::values(e.get(), docs::instant(now)?, config)?)
    })
}

/// Fits thresholds to a population (JSON text of values objects) and scores it;
/// JSON text of `{"thresholds", "scores": [[r, f, m], ...]}`.
#[pyfunction]
fn rfm_fit(py: Python<'_>, method: &str, population: &str) -> PyResult<String> {
    detached(py, || docs::text!(&request::fit(method, population)?))
}

/// Scores one values object with stored thresholds; JSON text `[r, f, m]`.
#[pyfunction]
fn rfm_score(py: Python<'_>, thresholds: &str, values: &str) -> PyResult<String> {
    detached(py, || docs::text!(&request::score(thresholds, values)?))
}

/// The segment of `[r, f, m]` in a map (name or map JSON text; `None` =
/// `standard_11`); JSON text of the id or `null`.
#[pyfunction]
#[pyo3(signature = (scores, map=None))]
fn rfm_segment(py: Python<'_>, scores: &str, map: Option<&str>) -> PyResult<String> {
    detached(py, || docs::text!(&request::segment(map, scores)?))
}

/// Computes values, scores and segment for a profile and writes them into it;
/// JSON text of `{"values", "scores", "segment", "profile"}` or `{"values": null}`.
#[pyfunction]
#[pyo3(signature = (profile, events, now, thresholds, config=None, map=None, group=None, schema=None))]
#[allow(clippy::too_many_arguments)]
fn rfm_apply(
    py: Python<'_>,
    profile: ProfileArg<'_>,
    events: EventsArg<'_>,
    now: &str,
    thresholds: &str,
    config: Option<&str>,
    map: Option<&str>,
    group: Option<&str>,
    schema: Option<&Schema>,
) -> PyResult<String> {
    let schema = schema_or_sample(schema);
    let (p, e) = (docs::profile(&profile), docs::events(&events));
    detached(py, move || {
        let mut p = p.read_owned(&schema)?;
        let e = e.read(&schema)?;
        let now = docs::instant(now)?;
        let out = request::apply(&mut p, e.get(), now, thresholds, config, map, group)?;
        docs::text!(&out)
    })
}

/// Scores a population given as three numeric columns: with `thresholds`
/// (JSON text) against those, else by thresholds fitted with `method`.
/// Returns `(thresholds_json, table)` where the table has `rfm_r`, `rfm_f`,
/// `rfm_m` (uint8) and `segment` (text) in input row order.
#[pyfunction]
#[pyo3(signature = (recency, frequency, monetary, method="quantile", thresholds=None, map=None))]
fn rfm_score_columns<'py>(
    py: Python<'py>,
    recency: PyArray,
    frequency: PyArray,
    monetary: PyArray,
    method: &str,
    thresholds: Option<&str>,
    map: Option<&str>,
) -> PyResult<(String, Bound<'py, PyAny>)> {
    let (thresholds, batch) = detached(py, || {
        let r = f64_column(recency.array(), "recency")?;
        let f = f64_column(frequency.array(), "frequency")?;
        let m = f64_column(monetary.array(), "monetary")?;
        let segments = request::segment_map(map)?;
        let (t, scores) = match thresholds {
            Some(text) => {
                let t = RfmThresholds::from_json(text)?;
                let scores = request::score_columns(&t, r.values(), f.values(), m.values())?;
                (t, scores)
            }
            None => {
                rfm::score_columns(request::method(method)?, r.values(), f.values(), m.values())?
            }
        };
        let column = |g: fn(&rfm::RfmScores) -> u8| -> ArrayRef {
            Arc::new(UInt8Array::from(scores.iter().map(g).collect::<Vec<_>>()))
        };
        let segment: ArrayRef = Arc::new(StringArray::from(
            scores
                .iter()
                .map(|s| segments.segment(s))
                .collect::<Vec<_>>(),
        ));
        let schema = Arc::new(ArrowSchema::new(vec![
            Field::new("rfm_r", DataType::UInt8, false),
            Field::new("rfm_f", DataType::UInt8, false),
            Field::new("rfm_m", DataType::UInt8, false),
            Field::new("segment", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![column(|s| s.r), column(|s| s.f), column(|s| s.m), segment],
        )
        .map_err(|e| Error::new(ErrorKind::Internal, format!("rfm table: {e}")))?;
        Ok((docs::text!(&t)?, batch))
    })?;
    let schema = batch.schema();
    let table = PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)?;
    Ok((thresholds, table))
}

/// Adds the RFM functions to `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(rfm_values, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_fit, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_score, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_segment, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_apply, m)?)?;
    m.add_function(wrap_pyfunction!(rfm_score_columns, m)?)?;
    Ok(())
}
