//! Typed values of traits and event properties.
//!
//! JSON encoding: a [`Value`] is written as plain JSON (`"x"`, `3`, `2.5`, `true`,
//! `["a","b"]`) and interpreted against the declared [`ValueType`] of its field,
//! so timestamps are RFC 3339 strings (`"2026-03-01T08:00:00+08:00"`) and dates are
//! `"YYYY-MM-DD"`. `null` means missing.

use crate::error::{Error, ErrorKind, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// The declared type of a trait or property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// UTF-8 text.
    String,
    /// 64-bit signed integer.
    Integer,
    /// 64-bit float (finite only).
    Float,
    /// true / false.
    Boolean,
    /// An instant (stored in UTC; RFC 3339 in JSON).
    Timestamp,
    /// A calendar date without zone (`YYYY-MM-DD`).
    Date,
    /// A list of strings (e.g. interests).
    StringList,
}

impl ValueType {
    /// The name used in schemas and error messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Float => "float",
            ValueType::Boolean => "boolean",
            ValueType::Timestamp => "timestamp",
            ValueType::Date => "date",
            ValueType::StringList => "string_list",
        }
    }

    /// Whether values of this type are numbers (integer or float).
    pub fn is_numeric(self) -> bool {
        matches!(self, ValueType::Integer | ValueType::Float)
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    String(String),
    /// Integer.
    Integer(i64),
    /// Finite float.
    Float(f64),
    /// Boolean.
    Boolean(bool),
    /// Instant in UTC.
    Timestamp(DateTime<Utc>),
    /// Calendar date.
    Date(NaiveDate),
    /// List of strings.
    StringList(Vec<String>),
}

impl Value {
    /// The type of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::String(_) => ValueType::String,
            Value::Integer(_) => ValueType::Integer,
            Value::Float(_) => ValueType::Float,
            Value::Boolean(_) => ValueType::Boolean,
            Value::Timestamp(_) => ValueType::Timestamp,
            Value::Date(_) => ValueType::Date,
            Value::StringList(_) => ValueType::StringList,
        }
    }

    /// The numeric value of an integer or float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Compares two values of compatible types (numbers with numbers, strings by
    /// code point, instants, dates, booleans with false < true). `None` when the
    /// types are not comparable.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Integer(a), Value::Integer(b)) => Some(a.cmp(b)),
            (a, b) if a.value_type().is_numeric() && b.value_type().is_numeric() => {
                a.as_f64()?.partial_cmp(&b.as_f64()?)
            }
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            (Value::Boolean(a), Value::Boolean(b)) => Some(a.cmp(b)),
            (Value::Timestamp(a), Value::Timestamp(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::StringList(a), Value::StringList(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Equality with numeric widening (`3 = 3.0`).
    pub fn equals(&self, other: &Value) -> Option<bool> {
        self.compare(other).map(|o| o == Ordering::Equal)
    }

    /// Encodes as plain JSON (timestamps as RFC 3339 UTC with `Z`, dates as `YYYY-MM-DD`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::String(s) => s.clone().into(),
            Value::Integer(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Boolean(b) => (*b).into(),
            Value::Timestamp(t) => format_timestamp(t).into(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string().into(),
            Value::StringList(l) => l.clone().into(),
        }
    }

    /// Decodes plain JSON as a value of type `ty`. `null` gives `Ok(None)`.
    /// Integers are accepted where floats are declared; integral floats (`3.0`)
    /// where integers are.
    pub fn from_json(v: &serde_json::Value, ty: ValueType) -> Result<Option<Value>> {
        read_json(JsonRef::of(v), ty).map(|t| t.map(Typed::into_value))
    }

    /// Infers a value from untyped JSON (used where no schema type is known):
    /// strings stay strings, integers integers, other numbers floats, arrays of
    /// strings string lists. `null`, objects and mixed arrays give `None`.
    pub fn infer_json(v: &serde_json::Value) -> Option<Value> {
        use serde_json::Value as J;
        match v {
            J::String(s) => Some(Value::String(s.clone())),
            J::Bool(b) => Some(Value::Boolean(*b)),
            J::Number(n) => Some(match n.as_i64() {
                Some(i) => Value::Integer(i),
                None => Value::Float(n.as_f64()?),
            }),
            J::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Value::StringList),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// A JSON value as a caller holds it, without a `serde_json::Value` being built:
/// scalars by value, strings borrowed, anything else (arrays, objects) as JSON.
/// Numbers keep serde_json's classes: `Int` when the value fits `i64`, `UInt`
/// for larger unsigned values, `Float` (finite) otherwise. Bindings lend their
/// native values this way (see [`crate::rules::LentTraits`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JsonRef<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number that fits `i64`.
    Int(i64),
    /// A number above `i64::MAX` that fits `u64`.
    UInt(u64),
    /// Any other number; must be finite (JSON has no NaN or infinity).
    Float(f64),
    /// A string.
    Str(&'a str),
    /// An array or object (anything else).
    Other(&'a serde_json::Value),
}

impl<'a> JsonRef<'a> {
    /// The borrowed view of a JSON value.
    pub fn of(v: &'a serde_json::Value) -> JsonRef<'a> {
        use serde_json::Value as J;
        match v {
            J::Null => JsonRef::Null,
            J::Bool(b) => JsonRef::Bool(*b),
            J::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => JsonRef::Int(i),
                (None, Some(u)) => JsonRef::UInt(u),
                // serde_json numbers are finite.
                (None, None) => JsonRef::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => JsonRef::Str(s),
            other => JsonRef::Other(other),
        }
    }

    /// Short description of the value's kind (as [`json_kind`]).
    pub fn kind(&self) -> &'static str {
        match self {
            JsonRef::Null => "null",
            JsonRef::Bool(_) => "boolean",
            JsonRef::Int(_) | JsonRef::UInt(_) | JsonRef::Float(_) => "number",
            JsonRef::Str(_) => "string",
            JsonRef::Other(v) => json_kind(v),
        }
    }
}

/// A value read against its declared type, strings borrowed from the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Typed<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Ts(DateTime<Utc>),
    Date(NaiveDate),
    List(Vec<String>),
}

impl Typed<'_> {
    pub(crate) fn into_value(self) -> Value {
        match self {
            Typed::Str(s) => Value::String(s.to_string()),
            Typed::Int(i) => Value::Integer(i),
            Typed::Float(f) => Value::Float(f),
            Typed::Bool(b) => Value::Boolean(b),
            Typed::Ts(t) => Value::Timestamp(t),
            Typed::Date(d) => Value::Date(d),
            Typed::List(l) => Value::StringList(l),
        }
    }
}

/// Reads `v` as a value of type `ty` (the one reading of JSON values behind
/// [`Value::from_json`] and the lent per-call path). `null` gives `Ok(None)`.
pub(crate) fn read_json(v: JsonRef<'_>, ty: ValueType) -> Result<Option<Typed<'_>>> {
    use serde_json::Value as J;
    let mismatch = || {
        Error::new(
            ErrorKind::TypeMismatch,
            format!("expected {}, found {}", ty, v.kind()),
        )
    };
    // An integral float within ±2^53 reads as an integer.
    let integral = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
            Ok(Typed::Int(f as i64))
        } else {
            Err(mismatch())
        }
    };
    Ok(Some(match (ty, v) {
        (_, JsonRef::Null) => return Ok(None),
        (ValueType::String, JsonRef::Str(s)) => Typed::Str(s),
        (ValueType::Integer, JsonRef::Int(i)) => Typed::Int(i),
        (ValueType::Integer, JsonRef::UInt(u)) => integral(u as f64)?,
        (ValueType::Integer, JsonRef::Float(f)) => integral(f)?,
        (ValueType::Float, JsonRef::Int(i)) => Typed::Float(i as f64),
        (ValueType::Float, JsonRef::UInt(u)) => Typed::Float(u as f64),
        (ValueType::Float, JsonRef::Float(f)) => Typed::Float(f),
        (ValueType::Boolean, JsonRef::Bool(b)) => Typed::Bool(b),
        (ValueType::Timestamp, JsonRef::Str(s)) => Typed::Ts(parse_timestamp(s)?),
        (ValueType::Date, JsonRef::Str(s)) => Typed::Date(parse_date(s)?),
        (ValueType::StringList, JsonRef::Other(J::Array(items))) => Typed::List(
            items
                .iter()
                .map(|i| i.as_str().map(str::to_string).ok_or_else(mismatch))
                .collect::<Result<_>>()?,
        ),
        _ => return Err(mismatch()),
    }))
}

/// Short description of a JSON value's kind, for error messages.
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Parses an RFC 3339 timestamp (an offset is required; `Z` for UTC).
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidTime,
                format!("invalid timestamp {s:?} (expected RFC 3339 such as 2026-03-01T08:00:00+08:00): {e}"),
            )
        })
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| {
        Error::new(
            ErrorKind::InvalidTime,
            format!("invalid date {s:?} (expected YYYY-MM-DD): {e}"),
        )
    })
}

/// Formats an instant canonically: RFC 3339 in UTC with `Z`, seconds precision
/// unless sub-second digits are present.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    let mut buf = [0u8; 20];
    match whole_seconds_text(t, &mut buf) {
        Some(s) => s.to_string(),
        None => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    }
}

/// The canonical text of `t` written into `buf` without chrono's formatting
/// machinery, for the common case (whole seconds, years 0..=9999); `None`
/// otherwise (the caller falls back to chrono, which gives the same text).
fn whole_seconds_text<'b>(t: &DateTime<Utc>, buf: &'b mut [u8; 20]) -> Option<&'b str> {
    use chrono::{Datelike, Timelike};
    if t.timestamp_subsec_nanos() != 0 {
        return None;
    }
    let n = t.naive_utc();
    let year = u32::try_from(n.year()).ok().filter(|y| *y <= 9999)?;
    let mut put = |at: usize, v: u32, digits: usize| {
        let mut v = v;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, n.month(), 2);
    put(8, n.day(), 2);
    put(11, n.hour(), 2);
    put(14, n.minute(), 2);
    put(17, n.second(), 2);
    for (at, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        buf[at] = c;
    }
    // ASCII digits and separators only.
    std::str::from_utf8(&buf[..]).ok()
}

/// Serde helpers for `DateTime<Utc>` fields in canonical form.
pub mod ts_serde {
    use super::*;
    use serde::{Deserializer, Serializer};

    /// Serialises an instant canonically.
    pub fn serialize<S: Serializer>(
        t: &DateTime<Utc>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut buf = [0u8; 20];
        match whole_seconds_text(t, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&format_timestamp(t)),
        }
    }

    /// Deserialises an RFC 3339 instant (any offset).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        parse_timestamp(&s).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<DateTime<Utc>>`.
    pub mod option {
        use super::*;

        /// Serialises an optional instant.
        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> std::result::Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&format_timestamp(t)),
                None => s.serialize_none(),
            }
        }

        /// Deserialises an optional instant.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> std::result::Result<Option<DateTime<Utc>>, D::Error> {
            let s = Option::<String>::deserialize(d)?;
            s.map(|s| parse_timestamp(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fast_timestamp_text_matches_chrono() {
        let chrono_text =
            |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let mut secs: Vec<i64> = vec![
            0,
            -1,
            951_782_400, // 2000-02-29
            1_772_942_400,
            253_402_300_799, // 9999-12-31T23:59:59
            253_402_300_800, // year 10000: chrono's signed form
            -62_167_219_200, // 0000-01-01
            -62_167_219_201, // year -1
        ];
        let mut x: i64 = 12_345;
        for _ in 0..2_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            secs.push((x >> 20).rem_euclid(300_000_000_000) - 62_000_000_000);
        }
        for s in secs {
            for nanos in [0, 1, 500_000_000, 999_999_999] {
                let t = DateTime::from_timestamp(s, nanos).unwrap();
                assert_eq!(format_timestamp(&t), chrono_text(&t), "{s} {nanos}");
                let via_serde = serde_json::to_value(TsOnly(t)).unwrap();
                assert_eq!(via_serde, json!(chrono_text(&t)));
            }
        }
        // A leap second (nanoseconds ≥ 1e9) keeps chrono's text.
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_000_000_000)
            .unwrap()
            .and_utc();
        assert_eq!(format_timestamp(&leap), chrono_text(&leap));
    }

    #[derive(Serialize)]
    struct TsOnly(#[serde(with = "ts_serde")] DateTime<Utc>);

    #[test]
    fn json_round_trip_per_type() {
        let cases = [
            (json!("x"), ValueType::String),
            (json!(3), ValueType::Integer),
            (json!(2.5), ValueType::Float),
            (json!(true), ValueType::Boolean),
            (json!("2026-03-01T00:00:00Z"), ValueType::Timestamp),
            (json!("2026-03-01"), ValueType::Date),
            (json!(["a", "b"]), ValueType::StringList),
        ];
        for (j, ty) in cases {
            let v = Value::from_json(&j, ty).unwrap().unwrap();
            assert_eq!(v.value_type(), ty);
            assert_eq!(v.to_json(), j);
        }
    }

    #[test]
    fn offsets_normalise_to_utc() {
        let v = Value::from_json(&json!("2026-03-01T08:00:00+08:00"), ValueType::Timestamp)
            .unwrap()
            .unwrap();
        assert_eq!(v.to_json(), json!("2026-03-01T00:00:00Z"));
    }

    #[test]
    fn mismatches_are_typed() {
        let e = Value::from_json(&json!("3"), ValueType::Integer).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TypeMismatch);
        let e = Value::from_json(&json!("2026-13-01"), ValueType::Date).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTime);
    }

    #[test]
    fn numbers_compare_across_int_and_float() {
        assert_eq!(Value::Integer(3).equals(&Value::Float(3.0)), Some(true));
        assert_eq!(
            Value::Integer(2).compare(&Value::Float(2.5)),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Integer(2).compare(&Value::String("2".into())), None);
    }
}
