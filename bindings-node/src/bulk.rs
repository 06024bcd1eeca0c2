//! Column-wise bulk evaluation: trait columns (numbers as `Float64Array`s,
//! strings as arrays or dictionary codes) in, one verdict byte per row and rule
//! out. No JSON on either side. Integer, float and string traits are lent (or
//! converted once per column) to the core's columnar batch; cells of other
//! declared types go through the core's typed conversion (`Value::from_json`),
//! so the checks are the same as for JSON profiles.

use super::{guard, read_now_zone, CompiledRuleSet};
use napi::bindgen_prelude::{Buffer, Float64Array, Int32Array};
use napi_derive::napi;
use siyu_core::columnar::{Bitmap, Column, ColumnData, EventColumns, ProfileColumns, UserEvents};
use siyu_core::rules::{ColumnarInput, EvalInput};
use siyu_core::value::{Value, ValueType};
use siyu_core::{Error, ErrorKind, EventLog, Profile};

/// Rows of one string column: plain strings or dictionary codes into values.
enum Strings<'a> {
    Plain(&'a [Option<String>]),
    Dictionary(&'a [i32], &'a [Option<String>]),
}

impl Strings<'_> {
    /// Row `i` (a negative code is missing; the codes were range-checked).
    fn get(&self, i: usize) -> Option<&String> {
        match self {
            Strings::Plain(v) => v[i].as_ref(),
            Strings::Dictionary(k, d) => usize::try_from(k[i])
                .ok()
                .and_then(|k| d.get(k))
                .and_then(Option::as_ref),
        }
    }
}

#[napi]
impl CompiledRuleSet {
    /// Evaluates `rows` profiles given as trait columns (no events): numeric
    /// columns as `Float64Array`s (NaN = missing), string columns as arrays
    /// (null = missing) or dictionary-encoded (`Int32Array` codes into a value
    /// array; a negative code = missing). Returns `rows × rules` bytes,
    /// row-major (1 = matched). Integer, float and string traits are lent to
    /// the core's columnar batch (`evaluate_columns`, whose kernel evaluates
    /// trait-only rules a column at a time); other declared types are
    /// converted per cell as for JSON profiles.
    #[allow(clippy::too_many_arguments)]
    #[napi]
    pub fn evaluate_columns(
        &self,
        rows: u32,
        numeric_names: Vec<String>,
        numeric: Vec<Float64Array>,
        string_names: Vec<String>,
        strings: Vec<Vec<Option<String>>>,
        dict_names: Vec<String>,
        dict_codes: Vec<Int32Array>,
        dict_values: Vec<Vec<Option<String>>>,
        now: String,
        default_zone: Option<String>,
        threads: Option<u32>,
    ) -> napi::Result<Buffer> {
        guard(|| {
            let (now, zone) = read_now_zone(&now, default_zone.as_deref())?;
            let schema = &self.engine.schema;
            let rows = rows as usize;
            let bad = |m: String, p: String| Error::new(ErrorKind::InvalidArgument, m).with_path(p);
            if numeric_names.len() != numeric.len()
                || string_names.len() != strings.len()
                || dict_names.len() != dict_codes.len()
                || dict_names.len() != dict_values.len()
            {
                return Err(bad("one name per column".into(), "columns".into()));
            }
            let check = |name: &String, len: usize| {
                if len == rows {
                    Ok(())
                } else {
                    Err(bad(
                        format!("column has {len} rows, expected {rows}"),
                        format!("columns.{name}"),
                    ))
                }
            };
            let mut num_cols = Vec::with_capacity(numeric.len());
            for (name, col) in numeric_names.iter().zip(&numeric) {
                check(name, col.len())?;
                num_cols.push((name, schema.trait_def(name)?.ty, &col[..]));
            }
            let mut str_cols = Vec::with_capacity(strings.len() + dict_codes.len());
            for (name, col) in string_names.iter().zip(&strings) {
                check(name, col.len())?;
                str_cols.push((name, schema.trait_def(name)?.ty, Strings::Plain(col)));
            }
            for ((name, codes), values) in dict_names.iter().zip(&dict_codes).zip(&dict_values) {
                check(name, codes.len())?;
                if let Some(i) = codes
                    .iter()
                    .position(|&k| k >= 0 && k as usize >= values.len())
                {
                    return Err(bad(
                        format!(
                            "code {} is outside the dictionary of {} values",
                            codes[i],
                            values.len()
                        ),
                        format!("columns.{name}.codes[{i}]"),
                    ));
                }
                str_cols.push((
                    name,
                    schema.trait_def(name)?.ty,
                    Strings::Dictionary(codes, values),
                ));
            }
            let columnar = num_cols
                .iter()
                .all(|(_, ty, _)| matches!(ty, ValueType::Integer | ValueType::Float))
                && str_cols.iter().all(|(_, ty, _)| *ty == ValueType::String);
            let threads = threads.map_or(1, |t| t.max(1) as usize);
            let out = if columnar {
                self.by_columns(rows, &num_cols, &str_cols, now, zone, threads)?
            } else {
                self.by_rows(rows, &num_cols, &str_cols, now, zone)?
            };
            Ok(out.into())
        })
    }
}

/// A column of numbers with its declared type.
type NumCol<'a> = (&'a String, ValueType, &'a [f64]);
/// A column of strings with its declared type.
type StrCol<'a> = (&'a String, ValueType, Strings<'a>);

/// One bit per row (LSB first), or `None` when every row is present.
fn validity(n: usize, present: impl Fn(usize) -> bool) -> Option<Vec<u8>> {
    let mut bits = vec![0u8; n.div_ceil(8)];
    let mut all = true;
    for i in 0..n {
        if present(i) {
            bits[i >> 3] |= 1 << (i & 7);
        } else {
            all = false;
        }
    }
    (!all).then_some(bits)
}

fn bitmap(bits: &Option<Vec<u8>>, rows: usize) -> siyu_core::Result<Option<Bitmap<'_>>> {
    bits.as_deref().map(|b| Bitmap::new(b, 0, rows)).transpose()
}

impl CompiledRuleSet {
    /// Integer, float and string traits as a core columnar batch.
    fn by_columns(
        &self,
        rows: usize,
        num_cols: &[NumCol<'_>],
        str_cols: &[StrCol<'_>],
        now: chrono::DateTime<chrono::Utc>,
        zone: siyu_core::Zone,
        threads: usize,
    ) -> siyu_core::Result<Vec<u8>> {
        // Owned conversions first; the batch borrows them. Non-finite numbers
        // are missing, as JSON `null` is.
        let mut ints: Vec<Vec<i64>> = Vec::new();
        let mut num_valid: Vec<Option<Vec<u8>>> = Vec::with_capacity(num_cols.len());
        for (name, ty, col) in num_cols {
            let all_finite = col.iter().fold(true, |ok, x| ok & x.is_finite());
            num_valid.push(if all_finite {
                None
            } else {
                validity(rows, |i| col[i].is_finite())
            });
            if *ty == ValueType::Integer {
                // Branch-free: a saturating cast, then one check of the column.
                let v: Vec<i64> = col
                    .iter()
                    .map(|&x| if x.is_finite() { x as i64 } else { 0 })
                    .collect();
                let whole = |x: f64, i: i64| {
                    !x.is_finite() || (i as f64 == x && x.abs() < 9.007_199_254_740_992e15)
                };
                let ok = col
                    .iter()
                    .zip(&v)
                    .fold(true, |ok, (&x, &i)| ok & whole(x, i));
                if !ok {
                    if let Some(i) = col.iter().zip(&v).position(|(&x, &i)| !whole(x, i)) {
                        // The JSON conversion's error, for the same message.
                        Value::from_json(&serde_json::Value::from(col[i]), *ty)
                            .map_err(at(name, i))?;
                    }
                }
                ints.push(v);
            }
        }
        let mut utf8: Vec<(Vec<i32>, Vec<u8>)> = Vec::new();
        let mut str_valid: Vec<Option<Vec<u8>>> = Vec::with_capacity(str_cols.len());
        for (name, _, col) in str_cols {
            str_valid.push(match col {
                // Missing dictionary values are the core's to see; negative codes are nulls.
                Strings::Dictionary(keys, _) if keys.iter().fold(true, |ok, &k| ok & (k >= 0)) => {
                    None
                }
                _ => validity(rows, |i| col.get(i).is_some()),
            });
            if let Strings::Plain(values) = col {
                let mut offsets = Vec::with_capacity(rows + 1);
                let mut data = Vec::new();
                offsets.push(0i32);
                for s in values.iter() {
                    data.extend_from_slice(s.as_deref().unwrap_or("").as_bytes());
                    let end = i32::try_from(data.len()).map_err(|_| {
                        Error::new(
                            ErrorKind::LimitExceeded,
                            "a string column holds more than 2 GiB",
                        )
                        .with_path(format!("columns.{name}"))
                    })?;
                    offsets.push(end);
                }
                utf8.push((offsets, data));
            }
        }
        let mut profiles = ProfileColumns::new(rows);
        let mut next_int = ints.iter();
        for ((name, ty, col), valid) in num_cols.iter().zip(&num_valid) {
            let data = match ty {
                ValueType::Integer => ColumnData::Integer(next_int.next().map_or(&[][..], |v| v)),
                _ => ColumnData::Float(col),
            };
            profiles =
                profiles.with_trait(name.as_str(), Column::new(data, bitmap(valid, rows)?)?)?;
        }
        let mut next_utf8 = utf8.iter();
        for ((name, _, col), valid) in str_cols.iter().zip(&str_valid) {
            let data = match col {
                Strings::Plain(_) => {
                    let (offsets, data) = next_utf8
                        .next()
                        .map_or((&[0][..], &[][..]), |(o, d)| (o, d));
                    ColumnData::Utf8 { offsets, data }
                }
                Strings::Dictionary(keys, values) => ColumnData::Dictionary {
                    // Missing rows (negative codes) are masked by the validity.
                    keys,
                    values: values.iter().map(|v| v.as_deref()).collect(),
                },
            };
            profiles =
                profiles.with_trait(name.as_str(), Column::new(data, bitmap(valid, rows)?)?)?;
        }
        let events = EventColumns::empty();
        let grouped = UserEvents::empty(rows);
        let input = ColumnarInput {
            profiles: &profiles,
            events: &events,
            grouped: &grouped,
            now,
            default_zone: zone,
        };
        let flags = self
            .engine
            .compiled
            .evaluate_columns_by_user(&input, threads)?;
        Ok(flags.into_iter().map(u8::from).collect())
    }

    /// Any declared types: each cell converted as a JSON value would be, one
    /// profile at a time.
    fn by_rows(
        &self,
        rows: usize,
        num_cols: &[NumCol<'_>],
        str_cols: &[StrCol<'_>],
        now: chrono::DateTime<chrono::Utc>,
        zone: siyu_core::Zone,
    ) -> siyu_core::Result<Vec<u8>> {
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
            for (name, ty, col) in num_cols {
                let cell = serde_json::Value::from(col[i]);
                let v = Value::from_json(&cell, *ty).map_err(at(name, i))?;
                set(&mut p, name, v);
            }
            for (name, ty, col) in str_cols {
                let v = match (col.get(i), ty) {
                    (None, _) => None,
                    (Some(s), ValueType::String) => Some(Value::String(s.clone())),
                    (Some(s), _) => Value::from_json(&serde_json::Value::String(s.clone()), *ty)
                        .map_err(at(name, i))?,
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
        Ok(out)
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
