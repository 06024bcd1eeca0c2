//! Bulk evaluation over Arrow tables (the notebook path).
//!
//! Profiles come as one row per user (an id column and trait columns), events as
//! one row per event (user id, name, timestamp, optional event id, property
//! columns). Columns are converted to core values here — the only logic in this
//! file is type conversion; validation uses the schema's own lookups and
//! `Profile::validate`, and membership comes from `CompiledRuleSet::evaluate`.
//! Evaluation runs on scoped threads over contiguous chunks of users, so the
//! output order is the input order whatever the thread count.
//!
//! The Node binding compiles this file too (`bindings-node/src/arrow.rs`,
//! `evaluateArrow`), so it must stay free of pyo3: Arrow and siyu-core only.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchReader, StringArray};
use arrow_cast::cast::{cast_with_options, CastOptions};
use arrow_schema::{ArrowError, DataType, Field, Schema as ArrowSchema, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use siyu_core::error::{Error, ErrorKind, Result};
use siyu_core::rules::{CompiledRuleSet, EvalInput};
use siyu_core::value::{parse_timestamp, Value, ValueType};
use siyu_core::{Event, EventLog, Profile, Schema, Zone};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
    /// Profile ids in input order.
    pub ids: Vec<String>,
    /// `flags[i][r]`: whether profile `i` is a member of rule `r`.
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

/// A column converted to the Arrow type that matches one core value type.
enum Col {
    Str(StringArray),
    Int(arrow_array::Int64Array),
    /// Integers stored as floats (pandas turns nullable integer columns into
    /// float64); integral values are accepted, as the core accepts `3.0` for integers.
    IntFromFloat(arrow_array::Float64Array),
    Float(arrow_array::Float64Array),
    Bool(BooleanArray),
    Ts(arrow_array::TimestampMicrosecondArray),
    Date(arrow_array::Date32Array),
    List(arrow_array::ListArray),
}

fn is_string(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

fn is_integer(dt: &DataType) -> bool {
    dt.is_integer()
}

/// Converts `array` (column `column` of `table`) to the representation of `ty`,
/// or says plainly which column has which unusable type.
fn convert(table: &str, column: &str, array: &ArrayRef, ty: ValueType) -> Result<Col> {
    let dt = array.data_type();
    let target = match ty {
        ValueType::String if is_string(dt) => DataType::Utf8,
        ValueType::Integer if is_integer(dt) => DataType::Int64,
        ValueType::Integer if dt.is_floating() => DataType::Float64,
        ValueType::Float if is_integer(dt) || dt.is_floating() => DataType::Float64,
        ValueType::Boolean if *dt == DataType::Boolean => DataType::Boolean,
        ValueType::Timestamp if matches!(dt, DataType::Timestamp(_, _)) => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        ValueType::Date if matches!(dt, DataType::Date32 | DataType::Date64) => DataType::Date32,
        ValueType::StringList
            if matches!(dt, DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::LargeListView(f) if is_string(f.data_type())) =>
        {
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
        }
        _ => {
            return Err(column_error(
                ErrorKind::TypeMismatch,
                table,
                column,
                format!("column `{column}` of the {table} table has Arrow type {dt}, which cannot hold {ty} values"),
            ))
        }
    };
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let cast = cast_with_options(array, &target, &options).map_err(|e| {
        column_error(
            ErrorKind::TypeMismatch,
            table,
            column,
            format!("column `{column}` of the {table} table: cannot convert {dt} to {ty}: {e}"),
        )
    })?;
    Ok(match ty {
        ValueType::String => Col::Str(cast.as_string::<i32>().clone()),
        ValueType::Integer if dt.is_floating() => {
            Col::IntFromFloat(cast.as_primitive::<Float64Type>().clone())
        }
        ValueType::Integer => Col::Int(cast.as_primitive::<Int64Type>().clone()),
        ValueType::Float => Col::Float(cast.as_primitive::<Float64Type>().clone()),
        ValueType::Boolean => Col::Bool(cast.as_boolean().clone()),
        ValueType::Timestamp => Col::Ts(cast.as_primitive::<TimestampMicrosecondType>().clone()),
        ValueType::Date => Col::Date(cast.as_primitive::<Date32Type>().clone()),
        ValueType::StringList => Col::List(cast.as_list::<i32>().clone()),
    })
}

fn micros_to_utc(us: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(us)
}

fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::days(days.into()))
}

impl Col {
    /// The value at `row`, `None` for null.
    fn value(&self, row: usize) -> std::result::Result<Option<Value>, String> {
        let null = match self {
            Col::Str(a) => a.is_null(row),
            Col::Int(a) => a.is_null(row),
            Col::IntFromFloat(a) => a.is_null(row),
            Col::Float(a) => a.is_null(row),
            Col::Bool(a) => a.is_null(row),
            Col::Ts(a) => a.is_null(row),
            Col::Date(a) => a.is_null(row),
            Col::List(a) => a.is_null(row),
        };
        if null {
            return Ok(None);
        }
        Ok(Some(match self {
            Col::Str(a) => Value::String(a.value(row).to_string()),
            Col::Int(a) => Value::Integer(a.value(row)),
            Col::IntFromFloat(a) => {
                let f = a.value(row);
                if f.fract() != 0.0 || f.abs() >= 9.007_199_254_740_992e15 {
                    return Err(format!("{f} is not an integer"));
                }
                Value::Integer(f as i64)
            }
            Col::Float(a) => {
                let f = a.value(row);
                if !f.is_finite() {
                    return Err(format!("{f} is not a finite number"));
                }
                Value::Float(f)
            }
            Col::Bool(a) => Value::Boolean(a.value(row)),
            Col::Ts(a) => Value::Timestamp(
                micros_to_utc(a.value(row)).ok_or("timestamp out of range".to_string())?,
            ),
            Col::Date(a) => {
                Value::Date(days_to_date(a.value(row)).ok_or("date out of range".to_string())?)
            }
            Col::List(a) => {
                let items = a.value(row);
                let strings = items.as_string::<i32>();
                let mut out = Vec::with_capacity(strings.len());
                for i in 0..strings.len() {
                    if strings.is_null(i) {
                        return Err("a list of strings holds a null".to_string());
                    }
                    out.push(strings.value(i).to_string());
                }
                Value::StringList(out)
            }
        }))
    }
}

/// An id column (string or integer) as text.
fn id_column(table: &str, batch: &RecordBatch, column: &str) -> Result<StringArray> {
    let array = require(table, batch, column)?;
    let dt = array.data_type();
    if !is_string(dt) && !is_integer(dt) {
        return Err(column_error(
            ErrorKind::TypeMismatch,
            table,
            column,
            format!("id column `{column}` of the {table} table has Arrow type {dt}; expected text or integers"),
        ));
    }
    let cast = cast_with_options(array, &DataType::Utf8, &CastOptions::default())
        .map_err(|e| arrow_err(column, e))?;
    Ok(cast.as_string::<i32>().clone())
}

fn require<'b>(table: &str, batch: &'b RecordBatch, column: &str) -> Result<&'b ArrayRef> {
    batch.column_by_name(column).ok_or_else(|| {
        let names: Vec<&str> = batch
            .schema_ref()
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
        match siyu_core::error::suggest(column, names.iter().copied()) {
            Some(s) => e.with_suggestion(s),
            None => e,
        }
    })
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

/// Reads every profile; ids must be unique and non-null.
pub fn read_profiles(
    reader: Box<dyn RecordBatchReader + Send>,
    cols: &ProfileColumns,
    schema: &Schema,
) -> Result<Vec<Profile>> {
    let header = RecordBatch::new_empty(reader.schema());
    require("profiles", &header, &cols.id)?;
    for c in cols
        .time_zone
        .iter()
        .chain(cols.traits.iter().map(|(c, _)| c))
    {
        require("profiles", &header, c)?;
    }
    let trait_types: Vec<(String, String, ValueType)> = cols
        .traits
        .iter()
        .map(|(c, t)| {
            let def = schema
                .trait_def(t)
                .map_err(|e| e.prefix_path(&format!("profiles.{c}")))?;
            Ok((c.clone(), t.clone(), def.ty))
        })
        .collect::<Result<_>>()?;
    let mut profiles = Vec::new();
    let mut zones: HashMap<String, Zone> = HashMap::new();
    let mut row0 = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| arrow_err("reading the profiles table", e))?;
        let ids = id_column("profiles", &batch, &cols.id)?;
        let traits = trait_types
            .iter()
            .map(|(c, t, ty)| {
                Ok((
                    c,
                    t,
                    convert("profiles", c, require("profiles", &batch, c)?, *ty)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let zone_col = match &cols.time_zone {
            Some(c) => Some((
                c,
                convert(
                    "profiles",
                    c,
                    require("profiles", &batch, c)?,
                    ValueType::String,
                )?,
            )),
            None => None,
        };
        for row in 0..batch.num_rows() {
            let at = row0 + row as u64;
            if ids.is_null(row) {
                return Err(row_error("profiles", &cols.id, at, "the user id is null"));
            }
            let mut profile = Profile::new(ids.value(row));
            for (c, t, col) in &traits {
                if let Some(v) = col
                    .value(row)
                    .map_err(|m| row_error("profiles", c, at, m))?
                {
                    profile.traits.insert((*t).clone(), v);
                }
            }
            if let Some((c, col)) = &zone_col {
                if let Some(Value::String(z)) = col
                    .value(row)
                    .map_err(|m| row_error("profiles", c, at, m))?
                {
                    let zone = match zones.get(&z) {
                        Some(zone) => *zone,
                        None => {
                            let zone = Zone::parse(&z)
                                .map_err(|e| row_error("profiles", c, at, e.message()))?;
                            zones.insert(z, zone);
                            zone
                        }
                    };
                    profile.time_zone = Some(zone);
                }
            }
            profile
                .validate(schema)
                .map_err(|e| e.prefix_path(&format!("profiles[{at}]")))?;
            profiles.push(profile);
        }
        row0 += batch.num_rows() as u64;
    }
    let mut seen: HashMap<&str, u64> = HashMap::with_capacity(profiles.len());
    for (i, p) in profiles.iter().enumerate() {
        if let Some(first) = seen.insert(p.id.as_str(), i as u64) {
            return Err(row_error(
                "profiles",
                &cols.id,
                i as u64,
                format!("user id `{}` also appears in row {first}", p.id),
            ));
        }
    }
    Ok(profiles)
}

/// Reads every event and groups it by profile index (`result[i]` are profile `i`'s events).
pub fn read_events(
    reader: Box<dyn RecordBatchReader + Send>,
    cols: &EventColumns,
    schema: &Schema,
    profiles: &[Profile],
) -> Result<(Vec<Vec<Event>>, u64)> {
    let header = RecordBatch::new_empty(reader.schema());
    for c in [&cols.user_id, &cols.name, &cols.timestamp]
        .into_iter()
        .chain(cols.id.iter())
        .chain(cols.properties.iter().map(|(c, _)| c))
    {
        require("events", &header, c)?;
    }
    // One declared type per property column, so a column converts once.
    let mut prop_types: Vec<(String, String, ValueType)> = Vec::new();
    for (c, p) in &cols.properties {
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
        prop_types.push((c.clone(), p.clone(), ty));
    }
    let index: HashMap<&str, usize> = profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut grouped: Vec<Vec<Event>> = (0..profiles.len()).map(|_| Vec::new()).collect();
    let mut unmatched = 0u64;
    let mut known_events: HashMap<String, bool> = HashMap::new();
    let mut row0 = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| arrow_err("reading the events table", e))?;
        let users = id_column("events", &batch, &cols.user_id)?;
        let names = convert(
            "events",
            &cols.name,
            require("events", &batch, &cols.name)?,
            ValueType::String,
        )?;
        let ts_array = require("events", &batch, &cols.timestamp)?;
        let ts_col = if is_string(ts_array.data_type()) {
            convert("events", &cols.timestamp, ts_array, ValueType::String)?
        } else {
            convert("events", &cols.timestamp, ts_array, ValueType::Timestamp)?
        };
        let ids = match &cols.id {
            Some(c) => Some(id_column("events", &batch, c)?),
            None => None,
        };
        let props = prop_types
            .iter()
            .map(|(c, p, ty)| {
                Ok((
                    c,
                    p,
                    convert("events", c, require("events", &batch, c)?, *ty)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        for row in 0..batch.num_rows() {
            let at = row0 + row as u64;
            if users.is_null(row) {
                return Err(row_error(
                    "events",
                    &cols.user_id,
                    at,
                    "the user id is null",
                ));
            }
            let Some(&owner) = index.get(users.value(row)) else {
                unmatched += 1;
                continue;
            };
            let name = match names
                .value(row)
                .map_err(|m| row_error("events", &cols.name, at, m))?
            {
                Some(Value::String(s)) => s,
                _ => {
                    return Err(row_error(
                        "events",
                        &cols.name,
                        at,
                        "the event name is null",
                    ))
                }
            };
            if !*known_events
                .entry(name.clone())
                .or_insert_with(|| schema.events.contains_key(&name))
            {
                return Err(schema
                    .event_def(&name)
                    .err()
                    .unwrap_or_else(|| Error::new(ErrorKind::InvalidEvent, "unknown event"))
                    .prefix_path(&format!("events[{at}].{}", cols.name)));
            }
            let timestamp = match ts_col
                .value(row)
                .map_err(|m| row_error("events", &cols.timestamp, at, m))?
            {
                Some(Value::Timestamp(t)) => t,
                Some(Value::String(s)) => parse_timestamp(&s)
                    .map_err(|e| row_error("events", &cols.timestamp, at, e.message()))?,
                _ => {
                    return Err(row_error(
                        "events",
                        &cols.timestamp,
                        at,
                        "the timestamp is null",
                    ))
                }
            };
            let id = match &ids {
                Some(a) if a.is_null(row) => {
                    return Err(row_error(
                        "events",
                        cols.id.as_deref().unwrap_or("id"),
                        at,
                        "the event id is null",
                    ))
                }
                Some(a) => a.value(row).to_string(),
                None => format!("row{at}"),
            };
            let mut properties = BTreeMap::new();
            for (c, p, col) in &props {
                if let Some(v) = col.value(row).map_err(|m| row_error("events", c, at, m))? {
                    schema
                        .property_def(&name, p)
                        .map_err(|e| e.prefix_path(&format!("events[{at}].{c}")))?;
                    properties.insert((*p).clone(), v);
                }
            }
            grouped[owner].push(Event {
                id,
                name,
                timestamp,
                properties,
            });
        }
        row0 += batch.num_rows() as u64;
    }
    Ok((grouped, unmatched))
}

/// Evaluates every profile on `threads` scoped threads over contiguous chunks.
/// The first error in profile order wins, so failures are deterministic too.
pub fn evaluate_all(
    compiled: &CompiledRuleSet,
    profiles: Vec<Profile>,
    events: Vec<Vec<Event>>,
    now: DateTime<Utc>,
    default_zone: Zone,
    threads: usize,
) -> Result<Vec<Vec<bool>>> {
    let total = profiles.len();
    let threads = threads.max(1).min(total.max(1));
    let chunk = total.div_ceil(threads).max(1);
    // Owned contiguous chunks: each thread builds its users' event logs in place.
    let mut chunks: Vec<Vec<(Profile, Vec<Event>)>> = Vec::with_capacity(threads);
    for (p, e) in profiles.into_iter().zip(events) {
        if chunks.last().is_none_or(|c| c.len() == chunk) {
            chunks.push(Vec::with_capacity(chunk));
        }
        if let Some(c) = chunks.last_mut() {
            c.push((p, e));
        }
    }
    let run = |part: Vec<(Profile, Vec<Event>)>| -> Result<Vec<Vec<bool>>> {
        part.into_iter()
            .map(|(profile, events)| {
                let log = EventLog::new(events);
                let input = EvalInput::new(&profile, &log, now).with_default_zone(default_zone);
                compiled
                    .evaluate(&input)
                    .map_err(|e| e.prefix_path(&format!("profiles[id={}]", profile.id)))
            })
            .collect()
    };
    let parts: Vec<Result<Vec<Vec<bool>>>> = if chunks.len() <= 1 {
        chunks.into_iter().map(run).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|part| s.spawn(move || run(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::new(
                            ErrorKind::Internal,
                            "an evaluation thread panicked",
                        ))
                    })
                })
                .collect()
        })
    };
    let mut out = Vec::with_capacity(total);
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
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
    let profiles = read_profiles(profiles, profile_cols, schema)?;
    let (events, unmatched_events) = match events {
        Some(r) => read_events(r, event_cols, schema, &profiles)?,
        None => ((0..profiles.len()).map(|_| Vec::new()).collect(), 0),
    };
    let ids: Vec<String> = profiles.iter().map(|p| p.id.clone()).collect();
    let flags = evaluate_all(compiled, profiles, events, now, default_zone, threads)?;
    Ok(BulkResult {
        ids,
        flags,
        unmatched_events,
    })
}

/// The result as one record batch: the id column, then one boolean column per rule.
pub fn to_batch(
    id_column: &str,
    rule_names: &[String],
    result: &BulkResult,
) -> Result<RecordBatch> {
    let mut fields = vec![Field::new(id_column, DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> =
        vec![Arc::new(StringArray::from_iter_values(result.ids.iter()))];
    for (r, name) in rule_names.iter().enumerate() {
        fields.push(Field::new(name, DataType::Boolean, false));
        columns.push(Arc::new(BooleanArray::from(
            result.flags.iter().map(|f| f[r]).collect::<Vec<bool>>(),
        )));
    }
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("building the result table: {e}"),
        )
    })
}
