//! Rule-driven tags for Python: compiled tag rules add, remove and expire the
//! rule-owned tags of a profile. JSON text in and out; the Python layer makes dicts.

use crate::docs;
use crate::lifecycle::schema_or_sample;
use crate::{detached, EventsArg, ProfileArg, Schema};
use pyo3::prelude::*;
use siyu_core::tagging::{CompiledTagRules, TagRuleSet};
use siyu_core::Schema as CoreSchema;

/// Tag rules compiled against a schema.
#[pyclass(frozen, module = "siyu._native")]
pub struct TagRules {
    pub(crate) inner: CompiledTagRules,
    pub(crate) schema: CoreSchema,
}

#[pymethods]
impl TagRules {
    /// Compiles a tag-rule document (JSON text `{"rules": [...]}`) against
    /// `schema` (`None` = the sample schema).
    #[new]
    #[pyo3(signature = (rules, schema=None))]
    fn new(py: Python<'_>, rules: &str, schema: Option<&Schema>) -> PyResult<TagRules> {
        let schema = schema_or_sample(schema);
        detached(py, move || {
            let inner = TagRuleSet::from_json(rules)?.compile(&schema)?;
            Ok(TagRules { inner, schema })
        })
    }

    /// Applies the rules at `now`; returns JSON text of
    /// `{"diff": {"added", "removed", "expired"}, "profile": <updated profile>}`.
    #[pyo3(signature = (profile, events, now, default_zone=None))]
    fn apply(
        &self,
        py: Python<'_>,
        profile: ProfileArg<'_>,
        events: EventsArg<'_>,
        now: &str,
        default_zone: Option<&str>,
    ) -> PyResult<String> {
        let (p, e) = (docs::profile(&profile), docs::events(&events));
        detached(py, || {
            let mut p = p.read_owned(&self.schema)?;
            let e = e.read(&self.schema)?;
            let now = docs::instant(now)?;
            let zone = docs::zone_or_utc(default_zone)?;
            let diff = self.inner.apply(&mut p, e.get(), now, zone)?;
            docs::text!(&serde_json::json!({"diff": diff, "profile": p.to_json()}))
        })
    }
}

/// Adds the tag-rule class to `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TagRules>()
}
