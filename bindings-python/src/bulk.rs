//! Bulk evaluation over Arrow tables (the notebook path).
//!
//! Profiles come as one row per user (an id column and trait columns), events as
//! one row per event (user id, name, timestamp, optional event id, property
//! columns). Arrow buffers are lent to the core's columnar batch
//! (`siyu_core::columnar`) without copying where the Arrow type already is the
//! core's (casts only for other widths and encodings); validation against the
//! schema and evaluation are the core's (`EventColumns::validate_rows_threaded`,
//! then `CompiledRuleSet::evaluate_ungrouped`, which folds the event rows
//! without grouping them when the rules allow it (ADR 0013) and groups them
//! otherwise; all threaded with deterministic output).
//! This file maps columns and names the column in every error.
//!
//! The Node binding compiles this file too (`bindings-node/src/arrow.rs`,
//! `evaluateArrow`), so it must stay free of pyo3: Arrow and siyu-core only.

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchReader};
use arrow_buffer::BooleanBuffer;
use arrow_cast::cast::{cast_with_options, CastOptions};
use arrow_schema::{ArrowError, DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use siyu_core::columnar::{
    days_range, micros_range, Bitmap, Column, ColumnData, EventColumns as CoreEvents, Owners,
    ProfileColumns as CoreProfiles,
};
use siyu_core::error::{Error, ErrorKind, Result};
use siyu_core::rules::{CompiledRuleSet, UngroupedInput};
use siyu_core::value::{parse_timestamp, ValueType};
use siyu_core::{Schema, Zone};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

#[path = "bulk_rows.rs"]
mod rows;
pub use rows::{read_events, read_profiles};

/// Which profile columns mean what.
#[derive(Debug, Clone)]
pub struct ProfileColumns {
    /// The user id column (string or integer).
    pub id: String,
    /// `(column, trait)` pairs.
    pub traits: Vec<(String, String)>,
    /// Optional column with each profile's IANA zone.
    pub time_zone: Option<String>,
}

/// Which event columns mean what.
#[derive(Debug, Clone)]
pub struct EventColumns {
    /// The user id column (matches the profiles' id column).
    pub user_id: String,
    /// The event name column.
    pub name: String,
    /// The timestamp column (Arrow timestamp, naive read as UTC, or RFC 3339 text).
    pub timestamp: String,
    /// Optional event id column (for de-duplication); rows are unique without it.
    pub id: Option<String>,
    /// `(column, property)` pairs.
    pub properties: Vec<(String, String)>,
}

/// What a bulk run produced.
pub struct BulkResult {
    /// Profile ids in input order, as text (a Utf8 array without nulls).
    pub ids: ArrayRef,
    /// `flags[r][i]`: whether profile `i` is a member of rule `r`.
    pub flags: Vec<Vec<bool>>,
    /// Events whose user id matched no profile (ignored).
    pub unmatched_events: u64,
}

fn arrow_err(context: &str, e: ArrowError) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{context}: {e}"))
}

fn column_error(kind: ErrorKind, table: &str, column: &str, msg: String) -> Error {
    Error::new(kind, msg).with_path(format!("{table}.{column}"))
}

fn row_error(table: &str, column: &str, row: u64, msg: impl std::fmt::Display) -> Error {
    column_error(
        if table == "profiles" {
            ErrorKind::InvalidProfile
        } else {
            ErrorKind::InvalidEvent
        },
        table,
        column,
        format!("{table} row {row}, column `{column}`: {msg}"),
    )
}

fn is_string(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

fn cast_to(
    table: &str,
    column: &str,
    array: &ArrayRef,
    target: &DataType,
    ty: &str,
) -> Result<ArrayRef> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(array, target, &options).map_err(|e| {
        column_error(
            ErrorKind::TypeMismatch,
            table,
            column,
            format!(
                "column `{column}` of the {table} table: cannot convert {} to {ty}: {e}",
                array.data_type()
            ),
        )
    })
}

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// A column converted to the layout of one core value type; owns what it lends.
enum Held {
    Str(ArrayRef),
    Dict(ArrayRef),
    Int(ArrayRef),
    /// Integers stored as floats (pandas turns nullable integer columns into
    /// float64); integral values are accepted, as the core accepts `3.0` for integers.
    IntFromFloat(Vec<i64>, ArrayRef),
    Float(ArrayRef),
    Bool(ArrayRef),
    Ts(ArrayRef),
    Date(ArrayRef),
    List(Vec<Vec<String>>, ArrayRef),
}

fn validity(a: &dyn Array) -> Result<Option<Bitmap<'_>>> {
    a.nulls()
        .map(|n| Bitmap::new(n.inner().values(), n.inner().offset(), n.len()))
        .transpose()
}

impl Held {
    /// Converts `array` (column `column` of `table`) to the representation of `ty`,
    /// or says plainly which column has which unusable type. Values the core
    /// cannot hold are reported with their row when `check(row)` is true.
    /// Without `check`, the value checks `EventColumns::rows_clean` repeats
    /// (finite floats, timestamps and dates in range) are skipped and the
    /// others apply to every row.
    fn convert(
        table: &str,
        column: &str,
        array: &ArrayRef,
        ty: ValueType,
        check: Option<&dyn Fn(usize) -> bool>,
    ) -> Result<Held> {
        // The checks `rows_clean` repeats run only with `check`; the others
        // run on every row without it.
        let repeated = check;
        let check = check.unwrap_or(&|_| true);
        let dt = array.data_type();
        let mismatch = || {
            column_error(
                ErrorKind::TypeMismatch,
                table,
                column,
                format!("column `{column}` of the {table} table has Arrow type {dt}, which cannot hold {ty} values"),
            )
        };
        let name = ty.to_string();
        let cast = |target: &DataType| cast_to(table, column, array, target, &name);
        let bad = |row: usize, msg: String| row_error(table, column, row as u64, msg);
        Ok(match ty {
            ValueType::String if matches!(dt, DataType::Dictionary(_, _)) && is_string(dt) => {
                Held::Dict(cast(&dict_type())?)
            }
            ValueType::String if is_string(dt) => Held::Str(cast(&DataType::Utf8)?),
            ValueType::Integer if dt.is_integer() => Held::Int(cast(&DataType::Int64)?),
            ValueType::Integer if dt.is_floating() => {
                let a = cast(&DataType::Float64)?;
                let f = a.as_primitive::<Float64Type>();
                let mut out = Vec::with_capacity(f.len());
                for (row, &v) in f.values().iter().enumerate() {
                    if f.is_valid(row) {
                        if v.fract() != 0.0 || v.abs() >= 9.007_199_254_740_992e15 {
                            if check(row) {
                                return Err(bad(row, format!("{v} is not an integer")));
                            }
                            out.push(0);
                            continue;
                        }
                        out.push(v as i64);
                    } else {
                        out.push(0);
                    }
                }
                Held::IntFromFloat(out, a)
            }
            ValueType::Float if dt.is_integer() || dt.is_floating() => {
                let a = cast(&DataType::Float64)?;
                let f = a.as_primitive::<Float64Type>();
                if let Some(check) = repeated {
                    for (row, v) in f.values().iter().enumerate() {
                        if !v.is_finite() && f.is_valid(row) && check(row) {
                            return Err(bad(row, format!("{v} is not a finite number")));
                        }
                    }
                }
                Held::Float(a)
            }
            ValueType::Boolean if *dt == DataType::Boolean => Held::Bool(array.clone()),
            ValueType::Timestamp if matches!(dt, DataType::Timestamp(_, _)) => {
                let a = cast(&DataType::Timestamp(
                    TimeUnit::Microsecond,
                    Some("UTC".into()),
                ))?;
                let t = a.as_primitive::<TimestampMicrosecondType>();
                let range = micros_range();
                if let Some(check) = repeated {
                    for (row, &v) in t.values().iter().enumerate() {
                        if !range.contains(&v) && t.is_valid(row) && check(row) {
                            return Err(bad(row, "timestamp out of range".into()));
                        }
                    }
                }
                Held::Ts(a)
            }
            ValueType::Date if matches!(dt, DataType::Date32 | DataType::Date64) => {
                let a = cast(&DataType::Date32)?;
                let d = a.as_primitive::<Date32Type>();
                let range = days_range();
                if let Some(check) = repeated {
                    for (row, &v) in d.values().iter().enumerate() {
                        if !range.contains(&i64::from(v)) && d.is_valid(row) && check(row) {
                            return Err(bad(row, "date out of range".into()));
                        }
                    }
                }
                Held::Date(a)
            }
            ValueType::StringList if matches!(dt, DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::LargeListView(f) if is_string(f.data_type())) =>
            {
                let a = cast(&DataType::List(Arc::new(Field::new(
                    "item",
                    DataType::Utf8,
                    true,
                ))))?;
                let lists = a.as_list::<i32>();
                let mut out = Vec::with_capacity(lists.len());
                for row in 0..lists.len() {
                    let mut items = Vec::new();
                    if lists.is_valid(row) {
                        let v = lists.value(row);
                        let strings = v.as_string::<i32>();
                        for i in 0..strings.len() {
                            if strings.is_null(i) {
                                if check(row) {
                                    return Err(bad(row, "a list of strings holds a null".into()));
                                }
                                continue;
                            }
                            items.push(strings.value(i).to_string());
                        }
                    }
                    out.push(items);
                }
                Held::List(out, a)
            }
            _ => return Err(mismatch()),
        })
    }

    /// The core column borrowing this one's buffers.
    fn column(&self) -> Result<Column<'_>> {
        let (data, nulls): (ColumnData<'_>, &dyn Array) = match self {
            Held::Str(a) => {
                let s = a.as_string::<i32>();
                (
                    ColumnData::Utf8 {
                        offsets: s.value_offsets(),
                        data: s.value_data(),
                    },
                    a.as_ref(),
                )
            }
            Held::Dict(a) => {
                let d = a.as_dictionary::<Int32Type>();
                let values = d.values().as_string_opt::<i32>().ok_or_else(|| {
                    Error::new(ErrorKind::Internal, "dictionary values are not text")
                })?;
                (
                    ColumnData::Dictionary {
                        keys: d.keys().values(),
                        values: values.iter().collect(),
                    },
                    a.as_ref(),
                )
            }
            Held::Int(a) => (
                ColumnData::Integer(a.as_primitive::<Int64Type>().values()),
                a.as_ref(),
            ),
            Held::IntFromFloat(v, a) => (ColumnData::Integer(v), a.as_ref()),
            Held::Float(a) => (
                ColumnData::Float(a.as_primitive::<Float64Type>().values()),
                a.as_ref(),
            ),
            Held::Bool(a) => {
                let b = a.as_boolean().values();
                (
                    ColumnData::Boolean(Bitmap::new(b.values(), b.offset(), b.len())?),
                    a.as_ref(),
                )
            }
            Held::Ts(a) => (
                ColumnData::TimestampMicros(a.as_primitive::<TimestampMicrosecondType>().values()),
                a.as_ref(),
            ),
            Held::Date(a) => (
                ColumnData::Date32(a.as_primitive::<Date32Type>().values()),
                a.as_ref(),
            ),
            Held::List(v, a) => (ColumnData::StringList(v), a.as_ref()),
        };
        Column::new(data, validity(nulls)?)
    }
}

/// Every batch of a stream, as one batch per requested column (concatenated only
/// when the stream has several batches).
struct Table {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    rows: usize,
}

impl Table {
    fn read(table: &str, reader: Box<dyn RecordBatchReader + Send>) -> Result<Table> {
        let schema = reader.schema();
        let batches = reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| arrow_err(&format!("reading the {table} table"), e))?;
        let rows = batches.iter().map(RecordBatch::num_rows).sum();
        Ok(Table {
            schema,
            batches,
            rows,
        })
    }

    fn require(&self, table: &str, column: &str) -> Result<()> {
        if self.schema.index_of(column).is_ok() {
            return Ok(());
        }
        let names: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let e = column_error(
            ErrorKind::InvalidArgument,
            table,
            column,
            format!(
                "the {table} table has no column `{column}` (columns: {})",
                names.join(", ")
            ),
        );
        Err(
            match siyu_core::error::suggest(column, names.iter().copied()) {
                Some(s) => e.with_suggestion(s),
                None => e,
            },
        )
    }

    fn column(&self, table: &str, column: &str) -> Result<ArrayRef> {
        self.require(table, column)?;
        let i = self
            .schema
            .index_of(column)
            .map_err(|e| arrow_err(column, e))?;
        match self.batches.as_slice() {
            [] => Ok(arrow_array::new_empty_array(
                self.schema.field(i).data_type(),
            )),
            [one] => Ok(one.column(i).clone()),
            many => {
                let parts: Vec<&dyn Array> = many.iter().map(|b| b.column(i).as_ref()).collect();
                arrow_select::concat::concat(&parts).map_err(|e| arrow_err(column, e))
            }
        }
    }
}

/// A fast hasher for integer user ids (multiply-shift; ids are not adversarial
/// here and the map lives for one call).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Eight bytes per step (FxHash-style).
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_i64(&mut self, n: i64) {
        self.0 = (n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(26);
    }
}

pub(crate) type IdMap<K> = HashMap<K, u32, BuildHasherDefault<IdHasher>>;

/// Profile ids: integers (matched as integers) or text.
enum Ids {
    Int(ArrayRef),
    Str(ArrayRef),
}

fn id_column(table: &str, column: &str, array: &ArrayRef, as_text: bool) -> Result<Ids> {
    let dt = array.data_type();
    if !is_string(dt) && !dt.is_integer() {
        return Err(column_error(
            ErrorKind::TypeMismatch,
            table,
            column,
            format!("id column `{column}` of the {table} table has Arrow type {dt}; expected text or integers"),
        ));
    }
    Ok(if dt.is_integer() && !as_text {
        Ids::Int(cast_to(table, column, array, &DataType::Int64, "integer")?)
    } else {
        Ids::Str(cast_to(table, column, array, &DataType::Utf8, "string")?)
    })
}

/// How event user ids find their profile.
enum UserIndex<'a> {
    Dense { min: i64, slots: Vec<u32> },
    Int(IdMap<i64>),
    Str(IdMap<&'a str>),
}

impl UserIndex<'_> {
    fn build<'a>(ids: &'a Ids, column: &str) -> Result<UserIndex<'a>> {
        let dup = |i: usize, first: u32, id: &dyn std::fmt::Display| {
            row_error(
                "profiles",
                column,
                i as u64,
                format!("user id `{id}` also appears in row {first}"),
            )
        };
        let null = |i: usize| row_error("profiles", column, i as u64, "the user id is null");
        match ids {
            Ids::Int(a) => {
                let a = a.as_primitive::<Int64Type>();
                if a.null_count() > 0 {
                    return Err(null((0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0)));
                }
                let v = a.values();
                let n = v.len();
                let (min, max) = (
                    v.iter().copied().min().unwrap_or(0),
                    v.iter().copied().max().unwrap_or(0),
                );
                let span = (i128::from(max) - i128::from(min) + 1) as u128;
                let index = if n > 0 && span <= (4 * n as u128).max(1024) {
                    let mut slots = vec![u32::MAX; span as usize];
                    for (i, &id) in v.iter().enumerate() {
                        let s = &mut slots[(id - min) as usize];
                        if *s != u32::MAX {
                            return Err(dup(i, *s, &id));
                        }
                        *s = i as u32;
                    }
                    UserIndex::Dense { min, slots }
                } else {
                    let mut m = IdMap::with_capacity_and_hasher(n, Default::default());
                    for (i, &id) in v.iter().enumerate() {
                        if let Some(first) = m.insert(id, i as u32) {
                            return Err(dup(i, first, &id));
                        }
                    }
                    UserIndex::Int(m)
                };
                Ok(index)
            }
            Ids::Str(a) => {
                let a = a.as_string::<i32>();
                let mut m = IdMap::with_capacity_and_hasher(a.len(), Default::default());
                for i in 0..a.len() {
                    if a.is_null(i) {
                        return Err(null(i));
                    }
                    let id = a.value(i);
                    if id.is_empty() {
                        return Err(row_error(
                            "profiles",
                            column,
                            i as u64,
                            "profile id must not be empty",
                        ));
                    }
                    if let Some(first) = m.insert(id, i as u32) {
                        return Err(dup(i, first, &id));
                    }
                }
                Ok(UserIndex::Str(m))
            }
        }
    }

    /// The profile index of every event row (`u32::MAX`: no such profile), and
    /// how many rows have none.
    fn owners<'i>(
        &self,
        users: &'i Ids,
        column: &str,
        threads: usize,
    ) -> Result<(EventOwners<'i>, u64)> {
        let null = |i: usize| row_error("events", column, i as u64, "the user id is null");
        match (self, users) {
            (UserIndex::Dense { min, slots }, Ids::Int(a)) => {
                let a = a.as_primitive::<Int64Type>();
                if a.null_count() > 0 {
                    return Err(null((0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0)));
                }
                // Profiles in id order without gaps (the common export): the
                // index is the offset, read by the kernel as it reads the rows.
                let n = slots.len();
                let offset = slots.iter().enumerate().all(|(i, &s)| s as usize == i);
                if offset && (n as u64) < u64::from(u32::MAX) {
                    let owners = Owners::Offset {
                        ids: a.values(),
                        base: *min,
                    };
                    let unmatched = owners.unmatched(n, threads);
                    return Ok((EventOwners::Offset(owners), unmatched));
                }
                let (rows, unmatched) = par_lookup(a.values(), threads, |&id| {
                    id.checked_sub(*min)
                        .and_then(|d| usize::try_from(d).ok())
                        .and_then(|d| slots.get(d).copied())
                        .unwrap_or(u32::MAX)
                });
                Ok((EventOwners::Rows(rows), unmatched))
            }
            (UserIndex::Int(m), Ids::Int(a)) => {
                let a = a.as_primitive::<Int64Type>();
                if a.null_count() > 0 {
                    return Err(null((0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0)));
                }
                let (rows, unmatched) = par_lookup(a.values(), threads, |id| {
                    m.get(id).copied().unwrap_or(u32::MAX)
                });
                Ok((EventOwners::Rows(rows), unmatched))
            }
            (UserIndex::Str(m), Ids::Str(a)) => {
                let a = a.as_string::<i32>();
                let owners = (0..a.len())
                    .map(|i| {
                        if a.is_null(i) {
                            Err(null(i))
                        } else {
                            Ok(m.get(a.value(i)).copied().unwrap_or(u32::MAX))
                        }
                    })
                    .collect::<Result<Vec<u32>>>()?;
                let missing = owners.iter().filter(|&&o| o == u32::MAX).count() as u64;
                Ok((EventOwners::Rows(owners), missing))
            }
            _ => Err(Error::new(
                ErrorKind::Internal,
                "user ids of profiles and events were read as different types",
            )),
        }
    }
}

/// The profile of each event row: looked up into an array, or read by the
/// kernel from the ids themselves.
enum EventOwners<'i> {
    Rows(Vec<u32>),
    Offset(Owners<'i>),
}

impl EventOwners<'_> {
    fn core(&self) -> Owners<'_> {
        match self {
            EventOwners::Rows(rows) => Owners::Rows(rows),
            EventOwners::Offset(owners) => *owners,
        }
    }
}

/// The profile ids as text, in input order: text ids as they are (no copy),
/// integers in decimal.
fn id_text(ids: &Ids) -> ArrayRef {
    match ids {
        Ids::Str(a) => a.clone(),
        Ids::Int(a) => {
            let v = a.as_primitive::<Int64Type>().values();
            let mut out = StringBuilder::with_capacity(v.len(), v.len() * 8);
            let mut buf = [0u8; 20];
            for &id in v.iter() {
                // Decimal digits written from the end of `buf` (no allocation).
                let mut n = id.unsigned_abs();
                let mut k = buf.len();
                loop {
                    k -= 1;
                    buf[k] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 || k == 1 {
                        break;
                    }
                }
                if id < 0 {
                    k -= 1;
                    buf[k] = b'-';
                }
                out.append_value(std::str::from_utf8(&buf[k..]).unwrap_or_default());
            }
            Arc::new(out.finish())
        }
    }
}

/// `f` of every id, on up to `threads` scoped threads over contiguous chunks
/// (results in input order), and how many are `u32::MAX` (no profile).
fn par_lookup(ids: &[i64], threads: usize, f: impl Fn(&i64) -> u32 + Sync) -> (Vec<u32>, u64) {
    let mut out = vec![0u32; ids.len()];
    let per = ids.len().div_ceil(threads.max(1)).max(1);
    let fill = |(dst, src): (&mut [u32], &[i64])| {
        let mut missing = 0u64;
        for (d, id) in dst.iter_mut().zip(src) {
            *d = f(id);
            missing += u64::from(*d == u32::MAX);
        }
        missing
    };
    if threads <= 1 || ids.len() <= per {
        let missing = fill((out.as_mut_slice(), ids));
        return (out, missing);
    }
    let missing = std::thread::scope(|s| {
        let handles: Vec<_> = out
            .chunks_mut(per)
            .zip(ids.chunks(per))
            .map(|part| {
                let fill = &fill;
                s.spawn(move || fill(part))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .sum()
    });
    (out, missing)
}

/// Event name codes: a dictionary column's own keys (lent), or codes built here.
enum Codes {
    Keys(ArrayRef),
    Built(Vec<i32>),
}

impl Codes {
    fn values(&self) -> &[i32] {
        match self {
            Codes::Keys(a) => a.as_dictionary::<Int32Type>().keys().values(),
            Codes::Built(v) => v,
        }
    }
}

/// The event name column as codes into a name table. A null name is an error
/// for a kept row (`keep[row]` is a profile); without `keep`, for any row, and
/// codes outside the table are left to `EventColumns::rows_clean`.
fn name_codes(
    column: &str,
    array: &ArrayRef,
    keep: Option<&[u32]>,
) -> Result<(Codes, Vec<String>)> {
    let kept = |i: usize| keep.is_none_or(|k| k[i] != u32::MAX);
    let null = |i: usize| row_error("events", column, i as u64, "the event name is null");
    let dt = array.data_type();
    if !is_string(dt) {
        return Err(column_error(
            ErrorKind::TypeMismatch,
            "events",
            column,
            format!("column `{column}` of the events table has Arrow type {dt}, which cannot hold string values"),
        ));
    }
    if matches!(dt, DataType::Dictionary(_, _)) {
        let a = cast_to("events", column, array, &dict_type(), "string")?;
        let d = a.as_dictionary::<Int32Type>();
        let values = d
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| Error::new(ErrorKind::Internal, "dictionary values are not text"))?;
        let table: Vec<Option<&str>> = values.iter().collect();
        let keys = d.keys();
        if keep.is_none() {
            if keys.null_count() > 0 || table.iter().any(Option::is_none) {
                return Err(null(0));
            }
        } else {
            for (i, &k) in keys.values().iter().enumerate() {
                let named = keys.is_valid(i)
                    && usize::try_from(k)
                        .ok()
                        .and_then(|k| table.get(k))
                        .is_some_and(Option::is_some);
                if !named && kept(i) {
                    return Err(null(i));
                }
            }
        }
        let names = table
            .iter()
            .map(|s| s.unwrap_or_default().to_string())
            .collect();
        return Ok((Codes::Keys(a.clone()), names));
    }
    let a = cast_to("events", column, array, &DataType::Utf8, "string")?;
    let s = a.as_string::<i32>();
    let mut index: HashMap<&str, i32> = HashMap::new();
    let mut names = Vec::new();
    let mut codes = Vec::with_capacity(s.len());
    for (i, v) in s.iter().enumerate() {
        let Some(v) = v else {
            if kept(i) {
                return Err(null(i));
            }
            codes.push(0);
            continue;
        };
        let code = match index.get(v) {
            Some(&c) => c,
            None => {
                let c = i32::try_from(names.len()).map_err(|_| {
                    Error::new(ErrorKind::LimitExceeded, "too many distinct event names")
                })?;
                names.push(v.to_string());
                index.insert(v, c);
                c
            }
        };
        codes.push(code);
    }
    if names.is_empty() {
        names.push(String::new());
    }
    Ok((Codes::Built(codes), names))
}

/// The timestamp column as µs since the epoch.
/// A null or unreadable timestamp is an error for a kept row; without `keep`,
/// for any row (and the range is left to `EventColumns::rows_clean`).
fn timestamps(
    column: &str,
    array: &ArrayRef,
    keep: Option<&[u32]>,
) -> Result<(Option<ArrayRef>, Vec<i64>)> {
    let check = |i: usize| keep.is_none_or(|k| k[i] != u32::MAX);
    let null = |i: usize| row_error("events", column, i as u64, "the timestamp is null");
    if is_string(array.data_type()) {
        let a = cast_to("events", column, array, &DataType::Utf8, "string")?;
        let s = a.as_string::<i32>();
        let mut out = Vec::with_capacity(s.len());
        for i in 0..s.len() {
            if !check(i) {
                out.push(0);
            } else if s.is_null(i) {
                return Err(null(i));
            } else {
                let t = parse_timestamp(s.value(i))
                    .map_err(|e| row_error("events", column, i as u64, e.message()))?;
                out.push(t.timestamp_micros());
            }
        }
        return Ok((None, out));
    }
    let strict = keep.map(|_| &check as &dyn Fn(usize) -> bool);
    let held = Held::convert("events", column, array, ValueType::Timestamp, strict)?;
    let Held::Ts(a) = held else {
        return Err(Error::new(ErrorKind::Internal, "timestamp column"));
    };
    let t = a.as_primitive::<TimestampMicrosecondType>();
    if t.null_count() > 0 {
        if let Some(i) = (0..t.len()).find(|&i| t.is_null(i) && check(i)) {
            return Err(null(i));
        }
    }
    Ok((Some(a), Vec::new()))
}

/// The one declared type of the event property a column maps to: an unknown
/// property (with a suggestion) or one declared with two types is an error
/// naming the column.
pub(crate) fn property_type(schema: &Schema, c: &str, p: &str) -> Result<ValueType> {
    let types: Vec<(&str, ValueType)> = schema
        .events
        .iter()
        .filter_map(|(ev, def)| def.properties.get(p).map(|f| (ev.as_str(), f.ty)))
        .collect();
    let Some(&(first_event, ty)) = types.first() else {
        let all = schema
            .events
            .values()
            .flat_map(|d| d.properties.keys().map(String::as_str));
        let e = column_error(
            ErrorKind::UnknownProperty,
            "events",
            c,
            format!("column `{c}`: no event in the schema has a property `{p}`"),
        );
        return Err(match siyu_core::error::suggest(p, all) {
            Some(s) => e.with_suggestion(s),
            None => e,
        });
    };
    if let Some((other, t2)) = types.iter().find(|(_, t)| *t != ty) {
        return Err(column_error(
            ErrorKind::TypeMismatch,
            "events",
            c,
            format!("property `{p}` is {ty} in event `{first_event}` but {t2} in `{other}`; give each its own column"),
        ));
    }
    Ok(ty)
}

/// Runs the whole bulk job.
#[allow(clippy::too_many_arguments)]
pub fn run(
    compiled: &CompiledRuleSet,
    schema: &Schema,
    profiles: Box<dyn RecordBatchReader + Send>,
    events: Option<Box<dyn RecordBatchReader + Send>>,
    profile_cols: &ProfileColumns,
    event_cols: &EventColumns,
    now: DateTime<Utc>,
    default_zone: Zone,
    threads: usize,
) -> Result<BulkResult> {
    let (ids, flags, unmatched_events) = run_with(
        schema,
        profiles,
        events,
        profile_cols,
        event_cols,
        now,
        default_zone,
        threads,
        &[],
        |input, _| input_eval(compiled, input, threads),
    )?;
    Ok(BulkResult {
        ids,
        flags,
        unmatched_events,
    })
}

/// Reads and validates the tables into the core's columnar batch (matching,
/// checking and grouping events on up to `threads` threads) and runs
/// `eval` on it with the `extra` profile columns (read, not mapped to traits);
/// returns the profile ids, `eval`'s result and the unmatched event count.
#[allow(clippy::too_many_arguments)]
pub fn run_with<T>(
    schema: &Schema,
    profiles: Box<dyn RecordBatchReader + Send>,
    events: Option<Box<dyn RecordBatchReader + Send>>,
    profile_cols: &ProfileColumns,
    event_cols: &EventColumns,
    now: DateTime<Utc>,
    default_zone: Zone,
    threads: usize,
    extra: &[&str],
    eval: impl FnOnce(&UngroupedInput<'_>, Vec<ArrayRef>) -> Result<T>,
) -> Result<(ArrayRef, T, u64)> {
    // ----- profiles
    let ptable = Table::read("profiles", profiles)?;
    ptable.require("profiles", &profile_cols.id)?;
    let extra = extra
        .iter()
        .map(|c| ptable.column("profiles", c))
        .collect::<Result<Vec<_>>>()?;
    for c in profile_cols
        .time_zone
        .iter()
        .chain(profile_cols.traits.iter().map(|(c, _)| c))
    {
        ptable.require("profiles", c)?;
    }
    let trait_types: Vec<(&str, &str, ValueType)> = profile_cols
        .traits
        .iter()
        .map(|(c, t)| {
            let def = schema
                .trait_def(t)
                .map_err(|e| e.prefix_path(&format!("profiles.{c}")))?;
            Ok((c.as_str(), t.as_str(), def.ty))
        })
        .collect::<Result<_>>()?;
    let etable = events.map(|r| Table::read("events", r)).transpose()?;
    let id_array = ptable.column("profiles", &profile_cols.id)?;
    let user_array = match &etable {
        Some(t) => Some(t.column("events", &event_cols.user_id)?),
        None => None,
    };
    // Integer ids match as integers when both sides are integers, else as text.
    let as_text = !id_array.data_type().is_integer()
        || user_array
            .as_ref()
            .is_some_and(|u| !u.data_type().is_integer());
    let ids = id_column("profiles", &profile_cols.id, &id_array, as_text)?;
    let index = UserIndex::build(&ids, &profile_cols.id)?;
    let id_text = id_text(&ids);
    let users = ptable.rows;
    let all = |_: usize| true;
    let mut held_traits = Vec::with_capacity(trait_types.len());
    for (c, t, ty) in &trait_types {
        let a = ptable.column("profiles", c)?;
        held_traits.push((*t, Held::convert("profiles", c, &a, *ty, Some(&all))?));
    }
    let mut core_profiles = CoreProfiles::new(users);
    for ((c, ..), (t, h)) in trait_types.iter().zip(&held_traits) {
        core_profiles = core_profiles
            .with_trait(*t, h.column()?)
            .map_err(|e| e.prefix_path(&format!("profiles.{c}")))?;
    }
    if let Some(c) = &profile_cols.time_zone {
        let a = ptable.column("profiles", c)?;
        let a = match Held::convert("profiles", c, &a, ValueType::String, Some(&all))? {
            Held::Str(a) | Held::Dict(a) => a,
            _ => return Err(Error::new(ErrorKind::Internal, "zone column")),
        };
        let s = cast_to("profiles", c, &a, &DataType::Utf8, "string")?;
        let s = s.as_string::<i32>();
        let mut cache: HashMap<&str, Zone> = HashMap::new();
        let mut zones = Vec::with_capacity(users);
        for row in 0..users {
            if s.is_null(row) {
                zones.push(None);
                continue;
            }
            let z = s.value(row);
            let zone = match cache.get(z) {
                Some(zone) => *zone,
                None => {
                    let zone = Zone::parse(z)
                        .map_err(|e| row_error("profiles", c, row as u64, e.message()))?;
                    cache.insert(z, zone);
                    zone
                }
            };
            zones.push(Some(zone));
        }
        core_profiles = core_profiles.with_zones(zones)?;
    }
    core_profiles.validate(schema)?;

    // ----- events
    let Some(etable) = etable else {
        let no_events = CoreEvents::empty();
        let out = eval(
            &input(
                &core_profiles,
                &no_events,
                Owners::Rows(&[]),
                now,
                default_zone,
            ),
            extra,
        )?;
        return Ok((id_text, out, 0));
    };
    for c in [&event_cols.user_id, &event_cols.name, &event_cols.timestamp]
        .into_iter()
        .chain(event_cols.id.iter())
        .chain(event_cols.properties.iter().map(|(c, _)| c))
    {
        etable.require("events", c)?;
    }
    // One declared type per property column, so a column converts once.
    let mut prop_types: Vec<(&str, &str, ValueType)> = Vec::new();
    for (c, p) in &event_cols.properties {
        let ty = property_type(schema, c, p)?;
        prop_types.push((c.as_str(), p.as_str(), ty));
    }
    let user_array = user_array.unwrap_or_else(|| arrow_array::new_empty_array(&DataType::Int64));
    let event_users = id_column("events", &event_cols.user_id, &user_array, as_text)?;
    let (owners, unmatched) = index.owners(&event_users, &event_cols.user_id, threads)?;
    let owners = owners.core();
    // First read without row checks and check every row in one pass
    // (`rows_clean`); only a batch with a bad row somewhere is read again with
    // the exact checks, which look at kept rows only and report the first.
    let lenient = EventHold::read(&etable, event_cols, &prop_types, None).ok();
    let clean = lenient
        .as_ref()
        .and_then(|h| h.core(&prop_types).ok())
        .filter(|ev| ev.rows_clean(Some(schema), threads));
    let exact;
    let core_events = match clean {
        Some(events) => events,
        None => {
            let rows = owners.to_rows(core_profiles.len());
            exact = EventHold::read(&etable, event_cols, &prop_types, Some(&rows))?;
            let events = exact.core(&prop_types)?;
            events.validate_rows_threaded(schema, |i| rows[i] != u32::MAX, threads)?;
            events
        }
    };
    let out = eval(
        &input(&core_profiles, &core_events, owners, now, default_zone),
        extra,
    )?;
    Ok((id_text, out, unmatched))
}

/// The event columns read from the Arrow table, which the core's event
/// columns borrow.
struct EventHold {
    codes: Codes,
    name_table: Vec<String>,
    ts_array: Option<ArrayRef>,
    ts_parsed: Vec<i64>,
    ids: Option<Held>,
    props: Vec<Held>,
}

impl EventHold {
    /// Reads the event columns. With `keep` (the owners), a bad value of a
    /// kept row is reported; without, the row checks that
    /// [`CoreEvents::rows_clean`] repeats are skipped and any other bad value
    /// is an error whatever its row (the caller then reads again with `keep`).
    fn read(
        etable: &Table,
        event_cols: &EventColumns,
        prop_types: &[(&str, &str, ValueType)],
        keep: Option<&[u32]>,
    ) -> Result<EventHold> {
        let (codes, name_table) = name_codes(
            &event_cols.name,
            &etable.column("events", &event_cols.name)?,
            keep,
        )?;
        let (ts_array, ts_parsed) = timestamps(
            &event_cols.timestamp,
            &etable.column("events", &event_cols.timestamp)?,
            keep,
        )?;
        let ids = match &event_cols.id {
            Some(c) => Some(
                match id_column("events", c, &etable.column("events", c)?, false)? {
                    Ids::Int(a) => Held::Int(a),
                    Ids::Str(a) => Held::Str(a),
                },
            ),
            None => None,
        };
        let kept = keep.map(|k| move |i: usize| k[i] != u32::MAX);
        let mut props = Vec::with_capacity(prop_types.len());
        for (c, _, ty) in prop_types {
            let a = etable.column("events", c)?;
            let check = kept.as_ref().map(|k| k as &dyn Fn(usize) -> bool);
            props.push(Held::convert("events", c, &a, *ty, check)?);
        }
        Ok(EventHold {
            codes,
            name_table,
            ts_array,
            ts_parsed,
            ids,
            props,
        })
    }

    /// The core's event columns over these.
    fn core(&self, prop_types: &[(&str, &str, ValueType)]) -> Result<CoreEvents<'_>> {
        let ts: &[i64] = match &self.ts_array {
            Some(a) => a.as_primitive::<TimestampMicrosecondType>().values(),
            None => &self.ts_parsed,
        };
        let mut events = CoreEvents::new(ts, self.codes.values(), self.name_table.clone())?;
        if let Some(h) = &self.ids {
            events = events.with_ids(h.column()?)?;
        }
        for ((_, p, _), h) in prop_types.iter().zip(&self.props) {
            events = events.with_property(*p, h.column()?)?;
        }
        Ok(events)
    }
}

fn input<'a>(
    profiles: &'a CoreProfiles<'a>,
    events: &'a CoreEvents<'a>,
    owners: Owners<'a>,
    now: DateTime<Utc>,
    default_zone: Zone,
) -> UngroupedInput<'a> {
    UngroupedInput {
        profiles,
        events,
        owners,
        now,
        default_zone,
    }
}

fn input_eval(
    compiled: &CompiledRuleSet,
    input: &UngroupedInput<'_>,
    threads: usize,
) -> Result<Vec<Vec<bool>>> {
    compiled.evaluate_ungrouped(input, threads)
}

/// Flags as a boolean array, packed 64 at a time (no branch per flag).
pub fn flag_array(flags: &[bool]) -> BooleanArray {
    BooleanArray::new(BooleanBuffer::collect_bool(flags.len(), |i| flags[i]), None)
}

/// The result as one record batch: the id column, then one boolean column per rule.
pub fn to_batch(
    id_column: &str,
    rule_names: &[String],
    result: &BulkResult,
) -> Result<RecordBatch> {
    let mut fields = vec![Field::new(id_column, DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![result.ids.clone()];
    for (name, flags) in rule_names.iter().zip(&result.flags) {
        fields.push(Field::new(name, DataType::Boolean, false));
        columns.push(Arc::new(flag_array(flags)));
    }
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("building the result table: {e}"),
        )
    })
}
