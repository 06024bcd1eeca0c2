//! Reading Arrow tables into core `Profile`s and per-profile `Event` lists, for
//! callers that need core rows (journeys run per user through the engine).
//! Segment bulk evaluation does not use this: it lends the columns to the core's
//! columnar evaluator (see the parent module).

use super::{EventColumns, ProfileColumns};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchReader, StringArray};
use arrow_cast::cast::{cast_with_options, CastOptions};
use arrow_schema::{ArrowError, DataType, Field, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};
use siyu_core::error::{Error, ErrorKind, Result};
use siyu_core::value::{parse_timestamp, Value, ValueType};
use siyu_core::{Event, Profile, Schema, Zone};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
        let ty = super::property_type(schema, c, p)?;
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
