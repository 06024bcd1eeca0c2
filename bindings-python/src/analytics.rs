//! Analytics for Python: event columns (Arrow) plus JSON arguments in, JSON out.
//!
//! One entry point dispatches by name to `siyu_core::analytics`; the Python
//! layer turns the JSON results into pyarrow tables or dataclasses.

use crate::clv::{cast_no_nulls, str_column, time_column};
use crate::detached;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType};
use arrow_array::Array;
use arrow_array::ArrayRef;
use arrow_schema::{DataType, TimeUnit};
use chrono::TimeDelta;
use pyo3::prelude::*;
use pyo3_arrow::PyArray;
use siyu_core::analytics::{self as an, Arm, BasketItem, ChannelTouch, UserEvent};
use siyu_core::error::{Error, ErrorKind};
use siyu_core::value::parse_date;
use siyu_core::Zone;
use std::collections::BTreeMap;
use std::collections::HashMap;

/// Typed access to the JSON argument object; a missing or mistyped argument
/// is `INVALID_ARGUMENT` with the argument's name as path.
struct Args(serde_json::Map<String, serde_json::Value>);

impl Args {
    fn parse(text: &str) -> Result<Args, Error> {
        match serde_json::from_str(text).map_err(Error::from)? {
            serde_json::Value::Object(m) => Ok(Args(m)),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                "arguments must be a JSON object",
            )),
        }
    }

    fn bad(key: &str, want: &str) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("argument {key:?} must be {want}"),
        )
        .with_path(key)
    }

    fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn str(&self, key: &str) -> Result<&str, Error> {
        self.get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Args::bad(key, "a string"))
    }

    fn f64(&self, key: &str) -> Result<f64, Error> {
        self.get(key)
            .and_then(|v| v.as_f64())
            .ok_or_else(|| Args::bad(key, "a number"))
    }

    fn u64(&self, key: &str) -> Result<u64, Error> {
        self.get(key)
            .and_then(|v| v.as_u64())
            .ok_or_else(|| Args::bad(key, "an integer ≥ 0"))
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, Error> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|_| Args::bad(key, "a list of strings"))
            }
        }
    }

    fn window(&self, key: &str) -> Result<TimeDelta, Error> {
        let secs = self.f64(key)?;
        if !secs.is_finite() || secs.abs() > 1e15 {
            return Err(Args::bad(key, "a finite number of seconds"));
        }
        Ok(TimeDelta::milliseconds((secs * 1000.0).round() as i64))
    }

    fn arm(&self, key: &str) -> Result<Arm, Error> {
        let v = self.get(key).ok_or_else(|| Args::bad(key, "an arm"))?;
        serde_json::from_value(v.clone())
            .map_err(|_| Args::bad(key, "{\"conversions\": int, \"trials\": int}"))
    }

    fn zone(&self, key: &str) -> Result<Zone, Error> {
        match self.get(key) {
            None => Ok(Zone::utc()),
            Some(v) => Zone::parse(v.as_str().ok_or_else(|| Args::bad(key, "a zone name"))?)
                .map_err(|e| e.with_path(key)),
        }
    }
}

macro_rules! json {
    ($v:expr) => {
        crate::clv::to_json!($v)
    };
}

/// Event rows from three equally long columns.
fn user_events(cols: &(PyArray, PyArray, PyArray)) -> Result<Vec<UserEvent>, Error> {
    let users = str_column(cols.0.array(), "user_id")?;
    let names = str_column(cols.1.array(), "event")?;
    let times = time_column(cols.2.array(), "timestamp")?;
    if users.len() != names.len() || users.len() != times.len() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "user id, event and timestamp columns must have equal lengths",
        ));
    }
    Ok((0..users.len())
        .map(|i| UserEvent {
            user_id: users.value(i).to_string(),
            name: names.value(i).to_string(),
            timestamp: times[i],
        })
        .collect())
}

/// A text (or integer, or dictionary) column as dense codes: equal values get
/// equal codes; returns the codes and the distinct values in code order.
fn codes(array: &ArrayRef, column: &str) -> Result<(Vec<u32>, Vec<String>), Error> {
    let too_many = || {
        Error::new(
            ErrorKind::LimitExceeded,
            format!("too many distinct values in {column:?}"),
        )
    };
    let intern = |v: &str,
                  index: &mut HashMap<String, u32>,
                  table: &mut Vec<String>|
     -> Result<u32, Error> {
        if let Some(&c) = index.get(v) {
            return Ok(c);
        }
        let c = u32::try_from(table.len()).map_err(|_| too_many())?;
        index.insert(v.to_string(), c);
        table.push(v.to_string());
        Ok(c)
    };
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut table = Vec::new();
    if let DataType::Dictionary(_, _) = array.data_type() {
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let a = cast_no_nulls(array, &dict, column)?;
        let d = a.as_dictionary::<Int32Type>();
        let values = str_column(d.values(), column)?;
        // Dictionaries may repeat a value: codes follow the values, not the keys.
        let remap = (0..values.len())
            .map(|i| intern(values.value(i), &mut index, &mut table))
            .collect::<Result<Vec<u32>, Error>>()?;
        let codes = d
            .keys()
            .values()
            .iter()
            .map(|&k| {
                usize::try_from(k)
                    .ok()
                    .and_then(|k| remap.get(k).copied())
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidArgument,
                            format!("{column:?}: dictionary key out of range"),
                        )
                    })
            })
            .collect::<Result<Vec<u32>, Error>>()?;
        return Ok((codes, table));
    }
    let s = str_column(array, column)?;
    let mut fast: crate::bulk::IdMap<&str> = crate::bulk::IdMap::default();
    let mut codes = Vec::with_capacity(s.len());
    for i in 0..s.len() {
        let v = s.value(i);
        let c = match fast.get(v) {
            Some(&c) => c,
            None => {
                let c = u32::try_from(table.len()).map_err(|_| too_many())?;
                table.push(v.to_string());
                fast.insert(v, c);
                c
            }
        };
        codes.push(c);
    }
    Ok((codes, table))
}

fn need<T>(v: Option<T>, what: &str) -> Result<T, Error> {
    v.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("this analysis needs {what}"),
        )
    })
}

/// Runs analysis `name` with JSON `args`; `events` are `(user_id, event,
/// timestamp)` columns and `rows` the second table some analyses need
/// (channel touches `(user_id, channel, timestamp)`, basket items
/// `(basket_id, item)`). Returns the core result as JSON text.
#[pyfunction]
#[pyo3(signature = (name, args, events=None, rows=None))]
fn analytics_call(
    py: Python<'_>,
    name: &str,
    args: &str,
    events: Option<(PyArray, PyArray, PyArray)>,
    rows: Option<(PyArray, PyArray, Option<PyArray>)>,
) -> PyResult<String> {
    detached(py, move || {
        let a = Args::parse(args)?;
        let raw_events = events.as_ref();
        let events = || user_events(need(raw_events, "an events table")?);
        match name {
            "retention_matrix" => {
                // The parameters are read by the core's request reader, so
                // their errors are those of every other binding.
                let spec = an::request::retention_spec(&serde_json::Value::Object(a.0.clone()))?;
                let cols = need(raw_events, "an events table")?;
                let (users, _) = codes(cols.0.array(), "user_id")?;
                let (names, name_table) = codes(cols.1.array(), "event")?;
                let to = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
                let times = cast_no_nulls(cols.2.array(), &to, "timestamp")?;
                let times = times.as_primitive::<TimestampMicrosecondType>().values();
                if users.len() != names.len() || users.len() != times.len() {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        "user id, event and timestamp columns must have equal lengths",
                    ));
                }
                let names: Vec<i32> = names.into_iter().map(|c| c as i32).collect();
                let columns = an::RetentionColumns {
                    users: &users,
                    timestamps: times,
                    names: &names,
                    name_table: &name_table,
                };
                json!(&an::retention_matrix_columns(&columns, &spec)?)
            }
            "active_users" => {
                let from = parse_date(a.str("start")?).map_err(|e| e.with_path("start"))?;
                let to = parse_date(a.str("end")?).map_err(|e| e.with_path("end"))?;
                json!(&an::active_users_series(
                    &events()?,
                    &a.strings("activity_events")?,
                    from,
                    to,
                    a.zone("zone")?,
                )?)
            }
            "repeat_purchase_rate" => json!(&an::repeat_purchase_rate(
                &events()?,
                a.str("purchase_event")?,
            )?),
            "funnel" => json!(&an::funnel(
                &events()?,
                &a.strings("steps")?,
                a.window("window_seconds")?,
            )?),
            "sequential_rules" => json!(&an::sequential_rules(
                &events()?,
                a.window("window_seconds")?,
                a.f64("min_support")?,
                a.f64("min_confidence")?,
            )?),
            "best_send_hours" => {
                let zones: BTreeMap<String, String> = match a.get("zones") {
                    None => BTreeMap::new(),
                    Some(v) => serde_json::from_value(v.clone())
                        .map_err(|_| Args::bad("zones", "a mapping user → zone name"))?,
                };
                let zones = zones
                    .into_iter()
                    .map(|(u, z)| {
                        Zone::parse(&z)
                            .map(|z| (u.clone(), z))
                            .map_err(|e| e.with_path(format!("zones.{u}")))
                    })
                    .collect::<Result<BTreeMap<_, _>, Error>>()?;
                json!(&an::best_send_hours(
                    &events()?,
                    a.str("open_event")?,
                    &zones,
                    a.zone("default_zone")?,
                    a.f64("weight")?,
                )?)
            }
            "channel_conversion" => {
                let (u, c, t) = need(rows.as_ref(), "a touches table")?;
                let users = str_column(u.array(), "user_id")?;
                let channels = str_column(c.array(), "channel")?;
                let times = time_column(
                    need(t.as_ref(), "a touch timestamp column")?.array(),
                    "timestamp",
                )?;
                if users.len() != channels.len() || users.len() != times.len() {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        "touch columns must have equal lengths",
                    ));
                }
                let touches: Vec<ChannelTouch> = (0..users.len())
                    .map(|i| ChannelTouch {
                        user_id: users.value(i).to_string(),
                        channel: channels.value(i).to_string(),
                        timestamp: times[i],
                    })
                    .collect();
                let window = match a.get("window_seconds") {
                    None => None,
                    Some(_) => Some(a.window("window_seconds")?),
                };
                json!(&an::channel_conversion(
                    &touches,
                    &events()?,
                    a.str("conversion_event")?,
                    window,
                )?)
            }
            "frequent_pairs" => {
                let (b, i, _) = need(rows.as_ref(), "a basket-items table")?;
                let baskets = str_column(b.array(), "basket_id")?;
                let items = str_column(i.array(), "item")?;
                if baskets.len() != items.len() {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        "basket and item columns must have equal lengths",
                    ));
                }
                let rows: Vec<BasketItem> = (0..baskets.len())
                    .map(|k| BasketItem {
                        basket_id: baskets.value(k).to_string(),
                        item: items.value(k).to_string(),
                    })
                    .collect();
                json!(&an::frequent_pairs(
                    &rows,
                    a.f64("min_support")?,
                    a.f64("min_confidence")?,
                )?)
            }
            "k_factor" => json!(&an::k_factor(
                a.u64("users")?,
                a.u64("invites")?,
                a.u64("conversions")?,
            )?),
            "two_proportion_z_test" => json!(&an::two_proportion_z_test(
                a.arm("control")?,
                a.arm("variant")?,
            )?),
            "chi_square_test" => {
                let arms: Vec<Arm> = match a.get("arms") {
                    Some(v) => serde_json::from_value(v.clone())
                        .map_err(|_| Args::bad("arms", "a list of arms"))?,
                    None => return Err(Args::bad("arms", "a list of arms")),
                };
                json!(&an::chi_square_test(&arms)?)
            }
            "beta_binomial_beats_control" => json!(&an::beta_binomial_beats_control(
                a.arm("control")?,
                a.arm("variant")?,
                a.f64("prior_alpha")?,
                a.f64("prior_beta")?,
            )?),
            "sample_size_per_arm" => json!(&an::sample_size_per_arm(
                a.f64("baseline")?,
                a.f64("mde")?,
                a.f64("alpha")?,
                a.f64("power")?,
            )?),
            other => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown analysis {other:?}"),
            )),
        }
    })
}

/// Adds the analytics entry point to `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(analytics_call, m)?)
}
