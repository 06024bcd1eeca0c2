//! The error type crossing the FFI: one variant per stable core code.

use siyu_core::{Error, ErrorKind};
use std::panic::{catch_unwind, AssertUnwindSafe};

macro_rules! siyu_error {
    ($($(#[$doc:meta])* $variant:ident => $kind:ident),* $(,)?) => {
        /// A siyu error. Kotlin: `SiyuException.<Variant>`; Swift: `SiyuError.<variant>`.
        /// Each variant is one stable core code (`code` holds the string, e.g.
        /// `RULE_SYNTAX`); `detail` is the human message; `line`/`column` are the
        /// 1-based source position of syntax and compile errors; `path` says where
        /// in a document; `suggestion` is a "did you mean" hint.
        #[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
        pub enum SiyuError {
            $(
                $(#[$doc])*
                #[error("{code}: {detail}")]
                $variant {
                    /// The stable code string.
                    code: String,
                    /// The human-readable message.
                    detail: String,
                    /// 1-based line of the source position, if any.
                    line: Option<u32>,
                    /// 1-based column of the source position, if any.
                    column: Option<u32>,
                    /// Where in a document the error is, if known.
                    path: Option<String>,
                    /// A suggested correction, if any.
                    suggestion: Option<String>,
                },
            )*
        }

        impl SiyuError {
            /// The stable code string.
            pub fn code(&self) -> &str {
                match self { $(SiyuError::$variant { code, .. })|* => code }
            }

            /// The JSON form of the core (`{"code","message","position"?,"path"?,"suggestion"?}`).
            pub fn to_json(&self) -> serde_json::Value {
                match self {
                    $(SiyuError::$variant { code, detail, line, column, path, suggestion })|* => {
                        let mut m = serde_json::Map::new();
                        m.insert("code".into(), code.clone().into());
                        m.insert("message".into(), detail.clone().into());
                        if let (Some(l), Some(c)) = (line, column) {
                            m.insert("position".into(), serde_json::json!({"line": l, "column": c}));
                        }
                        if let Some(p) = path { m.insert("path".into(), p.clone().into()); }
                        if let Some(s) = suggestion { m.insert("suggestion".into(), s.clone().into()); }
                        serde_json::Value::Object(m)
                    }
                }
            }
        }

        impl From<Error> for SiyuError {
            fn from(e: Error) -> SiyuError {
                let code = e.code().to_string();
                let detail = e.message().to_string();
                let line = e.position().map(|p| p.line);
                let column = e.position().map(|p| p.column);
                let path = e.path().map(str::to_string);
                let suggestion = e.suggestion().map(str::to_string);
                match e.kind() {
                    $(ErrorKind::$kind => SiyuError::$variant { code, detail, line, column, path, suggestion },)*
                    // ErrorKind is non_exhaustive: a code added to the core before this
                    // binding learns it still crosses, with its own code string.
                    _ => SiyuError::Internal { code, detail, line, column, path, suggestion },
                }
            }
        }
    };
}

siyu_error! {
    /// `RULE_SYNTAX`
    RuleSyntax => RuleSyntax,
    /// `INVALID_JSON`
    InvalidJson => InvalidJson,
    /// `UNKNOWN_TRAIT`
    UnknownTrait => UnknownTrait,
    /// `UNKNOWN_EVENT`
    UnknownEvent => UnknownEvent,
    /// `UNKNOWN_PROPERTY`
    UnknownProperty => UnknownProperty,
    /// `UNKNOWN_SEGMENT`
    UnknownSegment => UnknownSegment,
    /// `UNKNOWN_TAG_GROUP`
    UnknownTagGroup => UnknownTagGroup,
    /// `UNKNOWN_FUNCTION`
    UnknownFunction => UnknownFunction,
    /// `TYPE_MISMATCH`
    TypeMismatch => TypeMismatch,
    /// `SEGMENT_CYCLE`
    SegmentCycle => SegmentCycle,
    /// `DUPLICATE_NAME`
    DuplicateName => DuplicateName,
    /// `LIMIT_EXCEEDED`
    LimitExceeded => LimitExceeded,
    /// `INVALID_REGEX`
    InvalidRegex => InvalidRegex,
    /// `INVALID_TIME_ZONE`
    InvalidTimeZone => InvalidTimeZone,
    /// `INVALID_TIME`
    InvalidTime => InvalidTime,
    /// `INVALID_SCHEMA`
    InvalidSchema => InvalidSchema,
    /// `INVALID_PROFILE`
    InvalidProfile => InvalidProfile,
    /// `INVALID_EVENT`
    InvalidEvent => InvalidEvent,
    /// `INVALID_MERGE`
    InvalidMerge => InvalidMerge,
    /// `INVALID_ARGUMENT`
    InvalidArgument => InvalidArgument,
    /// `INVALID_MODEL`
    InvalidModel => InvalidModel,
    /// `INVALID_STATE`
    InvalidState => InvalidState,
    /// `NUMERIC_DOMAIN`
    NumericDomain => NumericDomain,
    /// `INTERNAL` (a bug; please report it)
    Internal => Internal,
}

/// Runs `f`, mapping core errors and turning a panic into `Internal`.
pub(crate) fn guard<T>(f: impl FnOnce() -> siyu_core::Result<T>) -> Result<T, SiyuError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(SiyuError::from),
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(SiyuError::from(Error::new(
                ErrorKind::Internal,
                format!("internal error in siyu (please report): {detail}"),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_maps_to_its_own_variant() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in ErrorKind::ALL {
            let e = SiyuError::from(Error::new(*kind, "m"));
            assert_eq!(e.code(), kind.code());
            let variant = format!("{e:?}");
            let variant = variant
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            assert!(seen.insert(variant.clone()), "{variant} used twice");
            assert_eq!(
                variant.to_lowercase(),
                kind.code().replace('_', "").to_lowercase(),
                "variant name follows the code"
            );
        }
    }

    #[test]
    fn position_path_and_suggestion_cross() {
        let e = Error::new(ErrorKind::UnknownTrait, "unknown trait `ciyt`")
            .with_position(siyu_core::Position {
                line: 2,
                column: 5,
                offset: 9,
            })
            .with_path("rules[1].expr")
            .with_suggestion("city");
        let j = SiyuError::from(e).to_json();
        assert_eq!(
            j,
            serde_json::json!({"code": "UNKNOWN_TRAIT", "message": "unknown trait `ciyt`",
                "position": {"line": 2, "column": 5}, "path": "rules[1].expr", "suggestion": "city"})
        );
    }

    #[test]
    fn panics_become_internal() {
        let r: Result<(), SiyuError> = guard(|| panic!("boom"));
        match r {
            Err(SiyuError::Internal { detail, .. }) => assert!(detail.contains("boom")),
            other => panic!("expected Internal, got {other:?}"),
        }
    }
}
