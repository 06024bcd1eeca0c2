//! The per-profile fast path: a profile given as a Python dict is converted to
//! the core's JSON value directly (no `json.dumps` and no text parsing), then
//! validated by the core exactly as JSON text would be
//! (`Profile::from_json_value`). Values JSON cannot hold (datetimes, sets, …)
//! make the caller fall back to the JSON text path.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// `v` as a JSON value, or `None` when it holds something JSON has no form for.
pub(crate) fn to_json(v: &Bound<'_, PyAny>) -> Option<Value> {
    if v.is_none() {
        return Some(Value::Null);
    }
    if let Ok(s) = v.cast::<PyString>() {
        return s.to_cow().ok().map(|s| Value::String(s.into_owned()));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Some(Value::Bool(b.is_true()));
    }
    if let Ok(i) = v.cast::<PyInt>() {
        return match i.extract::<i64>() {
            Ok(n) => Some(Value::Number(n.into())),
            Err(_) => i.extract::<u64>().ok().map(|n| Value::Number(n.into())),
        };
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Number::from_f64(f.value()).map(Value::Number);
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let k = k.cast::<PyString>().ok()?.to_cow().ok()?.into_owned();
            m.insert(k, to_json(&v)?);
        }
        return Some(Value::Object(m));
    }
    if let Ok(l) = v.cast::<PyList>() {
        return l
            .iter()
            .map(|x| to_json(&x))
            .collect::<Option<_>>()
            .map(Value::Array);
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        return t
            .iter()
            .map(|x| to_json(&x))
            .collect::<Option<_>>()
            .map(Value::Array);
    }
    None
}

/// A dict of exactly `{"id": str, "traits": {str: value}}` (traits optional) as
/// `(id, traits)`; `None` for any other shape (read through the full document).
pub(crate) fn simple_profile(
    d: &Bound<'_, PyDict>,
) -> Option<(String, std::collections::BTreeMap<String, Value>)> {
    let mut id = None;
    let mut traits = std::collections::BTreeMap::new();
    for (k, v) in d.iter() {
        match k.cast::<PyString>().ok()?.to_cow().ok()?.as_ref() {
            "id" => id = Some(v.cast::<PyString>().ok()?.to_cow().ok()?.into_owned()),
            "traits" => {
                for (name, value) in v.cast::<PyDict>().ok()?.iter() {
                    let name = name.cast::<PyString>().ok()?.to_cow().ok()?.into_owned();
                    traits.insert(name, to_json(&value)?);
                }
            }
            _ => return None,
        }
    }
    Some((id?, traits))
}
