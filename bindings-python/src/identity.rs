//! Identity merge and erasure for Python: documents in, the core's outcome
//! documents out (JSON text; the Python layer makes dicts).

use crate::docs;
use crate::{detached, parse_json, EventsArg, ProfileArg, Schema};
use pyo3::prelude::*;
use siyu_core::erasure::{erase, ErasureRequest};
use siyu_core::merge::{merge_profiles, MergePolicy};

/// Merges `secondary` (and its events) into `primary` under a merge policy
/// (JSON text; `None` = the default policy). Returns JSON text of
/// `{"profile", "events", "changes"}`.
#[pyfunction]
#[pyo3(name = "merge_profiles", signature = (schema, primary, primary_events, secondary, secondary_events, policy=None))]
fn merge(
    py: Python<'_>,
    schema: &Schema,
    primary: ProfileArg<'_>,
    primary_events: EventsArg<'_>,
    secondary: ProfileArg<'_>,
    secondary_events: EventsArg<'_>,
    policy: Option<&str>,
) -> PyResult<String> {
    let schema = &schema.inner;
    let (p, pe) = (docs::profile(&primary), docs::events(&primary_events));
    let (s, se) = (docs::profile(&secondary), docs::events(&secondary_events));
    detached(py, || {
        let policy = match policy {
            Some(text) => MergePolicy::from_json_value(&parse_json(text)?)?,
            None => MergePolicy::default(),
        };
        let (p, s) = (p.read(schema)?, s.read(schema)?);
        let (pe, se) = (pe.read(schema)?, se.read(schema)?);
        let out = merge_profiles(p.get(), pe.get(), s.get(), se.get(), schema, &policy)?;
        docs::text!(&out.to_json())
    })
}

/// Erases personal data from a profile and its events under an erasure request
/// (JSON text; `None` = `{}`). Returns JSON text of `{"profile", "events", "erased"}`.
#[pyfunction]
#[pyo3(name = "erase", signature = (schema, profile, events, request=None))]
fn erase_personal_data(
    py: Python<'_>,
    schema: &Schema,
    profile: ProfileArg<'_>,
    events: EventsArg<'_>,
    request: Option<&str>,
) -> PyResult<String> {
    let schema = &schema.inner;
    let (p, e) = (docs::profile(&profile), docs::events(&events));
    detached(py, || {
        let request = ErasureRequest::from_json_value(&parse_json(request.unwrap_or("{}"))?)?;
        let (p, e) = (p.read(schema)?, e.read(schema)?);
        docs::text!(&erase(p.get(), e.get(), schema, &request)?.to_json())
    })
}

/// Adds merge and erasure to `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(erase_personal_data, m)?)?;
    Ok(())
}
