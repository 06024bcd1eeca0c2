//! The per-profile fast path: a profile given as a Python dict is converted to
//! the core's JSON value directly (no `json.dumps` and no text parsing), then
//! validated by the core exactly as JSON text would be
//! (`Profile::from_json_value`). Values JSON cannot hold (datetimes, sets, …)
//! make the caller fall back to the JSON text path.
//!
//! Without events, a dict's traits are not converted at all: they are lent to
//! the core ([`LentDict`], ADR 0014), which reads and checks them exactly as it
//! reads the JSON document and evaluates over the borrowed values.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};
use siyu_core::rules::{LentPlan, LentTraits, TraitKey};
use siyu_core::value::JsonRef;

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

/// A lent plan's trait names as Python objects, built once per compiled set:
/// interned strings (a dict key written as a literal is the same object, so
/// most keys match by pointer) and a dict of name → index for other keys.
pub(crate) struct TraitNames {
    interned: Vec<Py<PyString>>,
    index: Py<PyDict>,
}

/// Up to this many traits, keys are first matched by pointer (a short scan).
const POINTER_SCAN: usize = 32;

impl TraitNames {
    pub(crate) fn new(py: Python<'_>, plan: &LentPlan) -> PyResult<TraitNames> {
        let index = PyDict::new(py);
        let mut interned = Vec::with_capacity(plan.trait_names().len());
        for (i, n) in plan.trait_names().iter().enumerate() {
            let s = PyString::intern(py, n);
            index.set_item(&s, i)?;
            interned.push(s.unbind());
        }
        Ok(TraitNames {
            interned,
            index: index.unbind(),
        })
    }

    /// The key of a dict key that is exactly a `str`; `None` on a lookup failure.
    fn key(&self, k: &Bound<'_, PyString>) -> Option<Key> {
        if self.interned.len() <= POINTER_SCAN {
            if let Some(i) = self.interned.iter().position(|n| n.as_ptr() == k.as_ptr()) {
                return Some(Key::Index(i));
            }
        }
        Some(match self.index.bind(k.py()).get_item(k).ok()? {
            Some(i) => Key::Index(i.extract().ok()?),
            None => Key::Name(k.to_cow().ok()?.into_owned()),
        })
    }
}

/// Traits kept inline (no allocation) per call.
const INLINE: usize = 8;

/// A dict of traits held for one lent evaluation (ADR 0014): keys mapped to
/// plan indexes, values classified as the JSON they denote (the same classes
/// as [`to_json`]); the core reads and checks them.
pub(crate) struct LentDict<'py> {
    inline: [Option<(Key, Held<'py>)>; INLINE],
    more: Vec<(Key, Held<'py>)>,
}

/// A dict key: a declared trait's index, or any other name (an error the core reports).
enum Key {
    Index(usize),
    Name(String),
}

/// A dict value as the JSON it denotes.
enum Held<'py> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A `str` whose UTF-8 form was checked when read (CPython caches it in
    /// the object, so lending it again as `&str` copies nothing).
    Str(Bound<'py, PyString>),
    Json(Box<Value>),
}

impl<'py> LentDict<'py> {
    /// An empty dict of traits (fill it with [`LentDict::read`]).
    pub(crate) fn empty() -> LentDict<'py> {
        LentDict {
            inline: Default::default(),
            more: Vec::new(),
        }
    }

    /// Reads `d` into this (empty) value, in place; `None` when a key is not
    /// exactly a `str` or a value has no JSON form (the caller then takes the
    /// JSON path, which knows datetimes and sets).
    pub(crate) fn read(&mut self, d: &Bound<'py, PyDict>, names: &TraitNames) -> Option<()> {
        for (n, (k, v)) in d.iter().enumerate() {
            // Exact `str` only: a subclass could run Python code when hashed.
            let key = names.key(k.cast_exact::<PyString>().ok()?)?;
            let item = (key, held(&v)?);
            match self.inline.get_mut(n) {
                Some(slot) => *slot = Some(item),
                None => self.more.push(item),
            }
        }
        Some(())
    }
}

/// `v` as the JSON it denotes, or `None` as [`to_json`] (same classes).
fn held<'py>(v: &Bound<'py, PyAny>) -> Option<Held<'py>> {
    if v.is_none() {
        return Some(Held::Null);
    }
    if let Ok(s) = v.cast::<PyString>() {
        // Lone surrogates have no UTF-8 form: the JSON path reports them.
        s.to_str().ok()?;
        return Some(Held::Str(s.clone()));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Some(Held::Bool(b.is_true()));
    }
    if let Ok(i) = v.cast::<PyInt>() {
        return match i.extract::<i64>() {
            Ok(n) => Some(Held::Int(n)),
            Err(_) => i.extract::<u64>().ok().map(Held::UInt),
        };
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        let f = f.value();
        return f.is_finite().then_some(Held::Float(f));
    }
    to_json(v).map(|j| Held::Json(Box::new(j)))
}

impl LentTraits for LentDict<'_> {
    fn for_each<'s>(&'s self, f: &mut dyn FnMut(TraitKey<'s>, JsonRef<'s>)) {
        let inline = self.inline.iter().map_while(Option::as_ref);
        for (k, v) in inline.chain(&self.more) {
            let key = match k {
                Key::Index(i) => TraitKey::Index(*i),
                Key::Name(n) => TraitKey::Name(n),
            };
            let value = match v {
                Held::Null => JsonRef::Null,
                Held::Bool(b) => JsonRef::Bool(*b),
                Held::Int(i) => JsonRef::Int(*i),
                Held::UInt(u) => JsonRef::UInt(*u),
                Held::Float(x) => JsonRef::Float(*x),
                // Checked to have a UTF-8 form when read.
                Held::Str(s) => JsonRef::Str(s.to_str().unwrap_or("")),
                Held::Json(j) => JsonRef::of(j),
            };
            f(key, value);
        }
    }
}

/// A dict of exactly `{"id": str, "traits": dict}` (traits optional) as
/// its id, with the traits read into `traits` for lent evaluation; `None` for
/// any other shape or for values [`LentDict::read`] declines.
pub(crate) fn simple_lent<'py>(
    d: &Bound<'py, PyDict>,
    names: &TraitNames,
    traits: &mut LentDict<'py>,
) -> Option<String> {
    let mut id = None;
    for (k, v) in d.iter() {
        match k.cast::<PyString>().ok()?.to_cow().ok()?.as_ref() {
            "id" => id = Some(v.cast::<PyString>().ok()?.to_cow().ok()?.into_owned()),
            "traits" => traits.read(v.cast::<PyDict>().ok()?, names)?,
            _ => return None,
        }
    }
    id
}
