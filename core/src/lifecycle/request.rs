//! Lifecycle models and stage states as documents (JSON text in).
//!
//! Bindings receive the model and the persisted stage state as JSON text.
//! Reading them lives here once so that every binding treats the same
//! documents alike: an absent model or `default` is the shipped model; an
//! absent or `null` state means "no previous stage"; a malformed state is
//! `INVALID_STATE`.

use super::{default_schema, LifecycleModel, StageState};
use crate::error::{Error, ErrorKind, Result};
use crate::schema::Schema;

fn is_default(text: &str) -> bool {
    matches!(text.trim(), "default" | "\"default\"")
}

/// A lifecycle model (JSON text); `None` or `default` is the shipped model.
pub fn model(text: Option<&str>) -> Result<LifecycleModel> {
    match text {
        None => Ok(LifecycleModel::default_model()),
        Some(t) if is_default(t) => Ok(LifecycleModel::default_model()),
        Some(t) => LifecycleModel::from_json(t),
    }
}

/// A schema (JSON text); `None` or `default` is the sample schema the shipped
/// lifecycle and points models are written against.
pub fn schema(text: Option<&str>) -> Result<Schema> {
    match text {
        None => Ok(default_schema()),
        Some(t) if is_default(t) => Ok(default_schema()),
        Some(t) => Schema::from_json(t),
    }
}

/// A persisted stage state (JSON text); `None` or `null` is no previous stage.
pub fn stage_state(text: Option<&str>) -> Result<Option<StageState>> {
    match text.map(str::trim) {
        None | Some("null") => Ok(None),
        Some(t) => serde_json::from_str(t)
            .map(Some)
            .map_err(|e| Error::new(ErrorKind::InvalidState, format!("invalid stage state: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_documents() {
        assert_eq!(model(None).unwrap(), LifecycleModel::default_model());
        assert_eq!(
            model(Some("\"default\"")).unwrap(),
            LifecycleModel::default_model()
        );
        assert_eq!(schema(Some("default")).unwrap(), default_schema());
    }

    #[test]
    fn stage_states() {
        assert_eq!(stage_state(Some("null")).unwrap(), None);
        let s = stage_state(Some(
            r#"{"version": 1, "stage": "new", "since": "2026-01-01T00:00:00Z"}"#,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(s.stage, "new");
        let e = stage_state(Some(r#"{"stage": 3}"#)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
    }

    #[test]
    fn a_malformed_model_is_rejected() {
        let e = model(Some("{\"stages\": 1}")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModel);
    }
}
