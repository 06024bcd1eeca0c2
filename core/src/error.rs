//! The one error type of the engine.
//!
//! Every failure carries a stable [`ErrorKind`] whose [`ErrorKind::code`] string
//! never changes once published: bindings map each kind one-to-one to a Python
//! exception subclass, a JS `err.code` and a Kotlin/Swift error case.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A location in a source text (rule DSL or JSON document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in Unicode scalar values.
    pub column: u32,
    /// 0-based byte offset into the source.
    pub offset: u32,
}

impl Position {
    /// Computes the line/column position of a byte `offset` within `src`.
    pub fn from_offset(src: &str, offset: usize) -> Position {
        let offset = offset.min(src.len());
        let before = &src[..offset];
        let line = before.matches('\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() as u32 + 1;
        Position {
            line,
            column,
            offset: offset as u32,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The stable classification of an [`Error`].
///
/// New kinds may be added in minor releases (hence `non_exhaustive`); the code
/// string of an existing kind never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The rule DSL text could not be parsed.
    RuleSyntax,
    /// A JSON document (rule set, schema, profile, model …) is malformed or of the wrong shape.
    InvalidJson,
    /// A rule references a trait the schema does not declare.
    UnknownTrait,
    /// A rule references an event name the schema does not declare.
    UnknownEvent,
    /// A rule references an event property the schema does not declare.
    UnknownProperty,
    /// A rule references a segment (rule) that does not exist.
    UnknownSegment,
    /// A rule references a tag group the schema does not declare.
    UnknownTagGroup,
    /// An unknown function name in the DSL.
    UnknownFunction,
    /// Operand types do not fit the operator.
    TypeMismatch,
    /// Segment references form a cycle.
    SegmentCycle,
    /// Two rules (or definitions) share one name.
    DuplicateName,
    /// A depth or size limit was exceeded.
    LimitExceeded,
    /// A regular expression is invalid or too large.
    InvalidRegex,
    /// A time zone name is not a known IANA zone.
    InvalidTimeZone,
    /// A timestamp, date or duration literal is invalid.
    InvalidTime,
    /// The schema itself is invalid.
    InvalidSchema,
    /// A profile fails validation against the schema.
    InvalidProfile,
    /// An event fails validation against the schema.
    InvalidEvent,
    /// A merge request is invalid (e.g. merging a profile with itself).
    InvalidMerge,
    /// An argument to an API call is invalid (e.g. an unknown rule name for `explain`).
    InvalidArgument,
    /// A lifecycle, tag, RFM, points or journey model definition is invalid.
    InvalidModel,
    /// Persisted state has an unsupported format version or is corrupt.
    InvalidState,
    /// A numeric computation cannot produce a meaningful result (no data, degenerate input).
    NumericDomain,
    /// An internal invariant was violated (a bug; please report it).
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order (for bindings that generate one class per kind).
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::RuleSyntax,
        ErrorKind::InvalidJson,
        ErrorKind::UnknownTrait,
        ErrorKind::UnknownEvent,
        ErrorKind::UnknownProperty,
        ErrorKind::UnknownSegment,
        ErrorKind::UnknownTagGroup,
        ErrorKind::UnknownFunction,
        ErrorKind::TypeMismatch,
        ErrorKind::SegmentCycle,
        ErrorKind::DuplicateName,
        ErrorKind::LimitExceeded,
        ErrorKind::InvalidRegex,
        ErrorKind::InvalidTimeZone,
        ErrorKind::InvalidTime,
        ErrorKind::InvalidSchema,
        ErrorKind::InvalidProfile,
        ErrorKind::InvalidEvent,
        ErrorKind::InvalidMerge,
        ErrorKind::InvalidArgument,
        ErrorKind::InvalidModel,
        ErrorKind::InvalidState,
        ErrorKind::NumericDomain,
        ErrorKind::Internal,
    ];

    /// The stable code string, e.g. `RULE_SYNTAX`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::RuleSyntax => "RULE_SYNTAX",
            ErrorKind::InvalidJson => "INVALID_JSON",
            ErrorKind::UnknownTrait => "UNKNOWN_TRAIT",
            ErrorKind::UnknownEvent => "UNKNOWN_EVENT",
            ErrorKind::UnknownProperty => "UNKNOWN_PROPERTY",
            ErrorKind::UnknownSegment => "UNKNOWN_SEGMENT",
            ErrorKind::UnknownTagGroup => "UNKNOWN_TAG_GROUP",
            ErrorKind::UnknownFunction => "UNKNOWN_FUNCTION",
            ErrorKind::TypeMismatch => "TYPE_MISMATCH",
            ErrorKind::SegmentCycle => "SEGMENT_CYCLE",
            ErrorKind::DuplicateName => "DUPLICATE_NAME",
            ErrorKind::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorKind::InvalidRegex => "INVALID_REGEX",
            ErrorKind::InvalidTimeZone => "INVALID_TIME_ZONE",
            ErrorKind::InvalidTime => "INVALID_TIME",
            ErrorKind::InvalidSchema => "INVALID_SCHEMA",
            ErrorKind::InvalidProfile => "INVALID_PROFILE",
            ErrorKind::InvalidEvent => "INVALID_EVENT",
            ErrorKind::InvalidMerge => "INVALID_MERGE",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::InvalidModel => "INVALID_MODEL",
            ErrorKind::InvalidState => "INVALID_STATE",
            ErrorKind::NumericDomain => "NUMERIC_DOMAIN",
            ErrorKind::Internal => "INTERNAL",
        }
    }

    /// Looks a kind up by its code string.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An engine error: a stable kind, a human message, and where known a source
/// position, a JSON-pointer-like path and a "did you mean" suggestion.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    position: Option<Position>,
    path: Option<String>,
    suggestion: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)?;
        if let Some(p) = &self.path {
            write!(f, " (at {p})")?;
        }
        if let Some(pos) = &self.position {
            write!(f, " at {pos}")?;
        }
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

impl Error {
    /// Creates an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            position: None,
            path: None,
            suggestion: None,
        }
    }

    /// Attaches a source position.
    pub fn with_position(mut self, position: Position) -> Error {
        self.position = Some(position);
        self
    }

    /// Attaches a path (e.g. `rules.churn_warning` or `profiles[3].traits.age`).
    pub fn with_path(mut self, path: impl Into<String>) -> Error {
        self.path = Some(path.into());
        self
    }

    /// Prefixes the existing path (used when an inner error bubbles up through a container).
    pub fn prefix_path(mut self, prefix: &str) -> Error {
        self.path = Some(match self.path.take() {
            Some(p) if p.starts_with('[') => format!("{prefix}{p}"),
            Some(p) => format!("{prefix}.{p}"),
            None => prefix.to_string(),
        });
        self
    }

    /// Attaches a "did you mean" suggestion.
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Error {
        self.suggestion = Some(suggestion.into());
        self
    }

    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable code string of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The human-readable message (without code, path or position).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The source position, for syntax and compile errors.
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    /// Where in a document the error is.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// A suggested correction for unknown names.
    pub fn suggestion(&self) -> Option<&str> {
        self.suggestion.as_deref()
    }

    /// A JSON representation used by bindings and the conformance suite:
    /// `{"code", "message", "position"?, "path"?, "suggestion"?}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("code".into(), self.code().into());
        m.insert("message".into(), self.message.clone().into());
        if let Some(p) = self.position {
            m.insert(
                "position".into(),
                serde_json::to_value(p).unwrap_or(serde_json::Value::Null),
            );
        }
        if let Some(p) = &self.path {
            m.insert("path".into(), p.clone().into());
        }
        if let Some(s) = &self.suggestion {
            m.insert("suggestion".into(), s.clone().into());
        }
        serde_json::Value::Object(m)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        let pos = Position {
            line: e.line() as u32,
            column: e.column() as u32,
            offset: 0,
        };
        let err = Error::new(ErrorKind::InvalidJson, e.to_string());
        if e.line() > 0 {
            err.with_position(pos)
        } else {
            err
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Suggests the closest of `candidates` to `name` (Damerau-Levenshtein ≤ 2 or a
/// case-insensitive match), for "did you mean" hints.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = if c.to_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &c.to_lowercase())
        };
        let limit = if name.chars().count() <= 3 { 1 } else { 2 };
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Optimal-string-alignment distance (adjacent transpositions count as one edit).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for k in ErrorKind::ALL {
            assert!(seen.insert(k.code()), "duplicate code {}", k.code());
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
        }
    }

    #[test]
    fn position_from_offset_counts_lines_and_chars() {
        let src = "ab\n客户 x";
        let p = Position::from_offset(src, src.find('x').unwrap());
        assert_eq!((p.line, p.column), (2, 4));
    }

    #[test]
    fn suggestion_finds_close_names() {
        let names = ["city", "age_band", "first_seen"];
        assert_eq!(suggest("ciyt", names), Some("city".into()));
        assert_eq!(suggest("first_sen", names), Some("first_seen".into()));
        assert_eq!(suggest("zzzzzz", names), None);
    }

    #[test]
    fn display_includes_code_position_and_suggestion() {
        let e = Error::new(ErrorKind::UnknownTrait, "unknown trait `ciyt`")
            .with_position(Position {
                line: 1,
                column: 3,
                offset: 2,
            })
            .with_suggestion("city");
        assert_eq!(
            e.to_string(),
            "UNKNOWN_TRAIT: unknown trait `ciyt` at line 1, column 3; did you mean `city`?"
        );
    }
}
