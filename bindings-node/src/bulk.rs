//! Column-wise bulk evaluation: trait columns (numbers as `Float64Array`s,
//! strings as arrays) in, one verdict byte per row and rule out. No JSON on
//! either side; each cell goes through the core's typed conversion
//! (`Value::from_json` with the schema's trait type), so the checks are the
//! same as for JSON profiles.

use super::{guard, read_now_zone, CompiledRuleSet};
use napi::bindgen_prelude::{Buffer, Float64Array};
use napi_derive::napi;
use siyu_core::rules::EvalInput;
use siyu_core::value::{Value, ValueType};
use siyu_core::{Error, ErrorKind, EventLog, Profile};

#[napi]
impl CompiledRuleSet {
    /// Evaluates `rows` profiles given as trait columns (no events): numeric
    /// columns as `Float64Array`s (NaN = missing), string columns as arrays
    /// (null = missing). Returns `rows × rules` bytes, row-major (1 = matched).
    #[allow(clippy::too_many_arguments)]
    #[napi]
    pub fn evaluate_columns(
        &self,
        rows: u32,
        numeric_names: Vec<String>,
        numeric: Vec<Float64Array>,
        string_names: Vec<String>,
        strings: Vec<Vec<Option<String>>>,
        now: String,
        default_zone: Option<String>,
    ) -> napi::Result<Buffer> {
        guard(|| {
            let (now, zone) = read_now_zone(&now, default_zone.as_deref())?;
            let schema = &self.engine.schema;
            let rows = rows as usize;
            let bad = |m: String, p: String| Error::new(ErrorKind::InvalidArgument, m).with_path(p);
            if numeric_names.len() != numeric.len() || string_names.len() != strings.len() {
                return Err(bad("one name per column".into(), "columns".into()));
            }
            let mut num_cols = Vec::with_capacity(numeric.len());
            for (name, col) in numeric_names.iter().zip(&numeric) {
                if col.len() != rows {
                    return Err(bad(
                        format!("column has {} rows, expected {rows}", col.len()),
                        format!("columns.{name}"),
                    ));
                }
                num_cols.push((name, schema.trait_def(name)?.ty, col));
            }
            let mut str_cols = Vec::with_capacity(strings.len());
            for (name, col) in string_names.iter().zip(&strings) {
                if col.len() != rows {
                    return Err(bad(
                        format!("column has {} rows, expected {rows}", col.len()),
                        format!("columns.{name}"),
                    ));
                }
                str_cols.push((name, schema.trait_def(name)?.ty, col));
            }
            let events = EventLog::default();
            let rules = self.engine.compiled.rule_names().len();
            let mut out = Vec::with_capacity(rows * rules);
            // One profile reused across rows: trait slots are overwritten in
            // place, so no per-row key or map allocations.
            let mut p = Profile::new("");
            let set = |p: &mut Profile, name: &String, v: Option<Value>| match v {
                Some(v) => match p.traits.get_mut(name) {
                    Some(slot) => *slot = v,
                    None => {
                        p.traits.insert(name.clone(), v);
                    }
                },
                None => {
                    p.traits.remove(name);
                }
            };
            for i in 0..rows {
                p.id.clear();
                p.id.push_str(itoa(i, &mut [0u8; 20]));
                for (name, ty, col) in &num_cols {
                    let cell = serde_json::Value::from(col[i]);
                    let v = Value::from_json(&cell, *ty).map_err(at(name, i))?;
                    set(&mut p, name, v);
                }
                for (name, ty, col) in &str_cols {
                    let v = match (&col[i], ty) {
                        (None, _) => None,
                        (Some(s), ValueType::String) => Some(Value::String(s.clone())),
                        (Some(s), _) => {
                            Value::from_json(&serde_json::Value::String(s.clone()), *ty)
                                .map_err(at(name, i))?
                        }
                    };
                    set(&mut p, name, v);
                }
                let input = EvalInput::new(&p, &events, now).with_default_zone(zone);
                let verdicts = self
                    .engine
                    .compiled
                    .evaluate(&input)
                    .map_err(|e| e.prefix_path(&format!("[{i}]")))?;
                out.extend(verdicts.into_iter().map(u8::from));
            }
            Ok(out.into())
        })
    }
}

/// Decimal digits of `n` in `buf` (the row id, without a per-row allocation).
fn itoa(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).unwrap_or("")
}

/// Prefixes a cell's path to an error (built only when there is one).
fn at(name: &str, i: usize) -> impl FnOnce(Error) -> Error + '_ {
    move |e: Error| e.prefix_path(&format!("columns.{name}[{i}]"))
}
