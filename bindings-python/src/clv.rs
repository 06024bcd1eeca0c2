//! Customer value models for Python: Arrow columns in, Arrow columns or JSON out.
//!
//! Only conversion lives here; every number comes from `siyu_core::clv`. Model
//! parameters cross the boundary as the core's JSON documents, so a model fitted
//! in Python scores identically in every other binding.

use crate::detached;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::Array;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_cast::{cast_with_options, CastOptions};
use arrow_schema::{DataType, Field, Schema, TimeUnit as ArrowUnit};
use chrono::{DateTime, Utc};
use pyo3::prelude::*;
use pyo3_arrow::{PyArray, PyTable};
use siyu_core::clv::{
    calibration_and_holdout, customer_lifetime_value, summarize, BgNbd, FitInfo, FitOptions,
    GammaGamma, MbgNbd, ParetoNbd, PurchaseParams, RfColumns, SummaryOptions, TimeUnit,
    Transaction, ValueModel,
};
use siyu_core::error::{Error, ErrorKind};
use siyu_core::value::parse_date;
use siyu_core::Zone;
use std::sync::Arc;

/// Names row `i` of a per-row computation in the message, keeping the core's
/// path: one row answers exactly as the same scalar call does in every binding.
pub(crate) fn at_row(e: Error, i: usize) -> Error {
    let mut out = Error::new(e.kind(), format!("row {i}: {}", e.message()));
    if let Some(p) = e.position() {
        out = out.with_position(p);
    }
    if let Some(p) = e.path() {
        out = out.with_path(p);
    }
    if let Some(s) = e.suggestion() {
        out = out.with_suggestion(s);
    }
    out
}

fn invalid(column: &str, msg: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg).with_path(column)
}

/// Casts `array` to `to`; a failed cast or a null is `INVALID_ARGUMENT` at `column`.
pub(crate) fn cast_no_nulls(
    array: &ArrayRef,
    to: &DataType,
    column: &str,
) -> Result<ArrayRef, Error> {
    let out = cast_with_options(array, to, &CastOptions::default()).map_err(|e| {
        invalid(
            column,
            format!(
                "column {column:?} ({}) cannot be read as {to}: {e}",
                array.data_type()
            ),
        )
    })?;
    if out.null_count() > 0 {
        return Err(invalid(
            column,
            format!("column {column:?} has {} missing values", out.null_count()),
        ));
    }
    Ok(out)
}

/// A numeric column as `f64` values.
pub(crate) fn f64_column(array: &ArrayRef, column: &str) -> Result<Float64Array, Error> {
    Ok(cast_no_nulls(array, &DataType::Float64, column)?
        .as_primitive::<Float64Type>()
        .clone())
}

/// A column as text (numbers and dictionaries are cast).
pub(crate) fn str_column(array: &ArrayRef, column: &str) -> Result<StringArray, Error> {
    Ok(cast_no_nulls(array, &DataType::Utf8, column)?
        .as_string::<i32>()
        .clone())
}

/// A timestamp column as UTC instants (naive timestamps are read as UTC).
pub(crate) fn time_column(array: &ArrayRef, column: &str) -> Result<Vec<DateTime<Utc>>, Error> {
    let to = DataType::Timestamp(ArrowUnit::Microsecond, Some("UTC".into()));
    let cast = cast_no_nulls(array, &to, column)?;
    cast.as_primitive::<TimestampMicrosecondType>()
        .values()
        .iter()
        .enumerate()
        .map(|(i, &us)| {
            DateTime::from_timestamp_micros(us)
                .ok_or_else(|| invalid(column, format!("timestamp out of range at row {i}")))
        })
        .collect()
}

fn unit(text: &str) -> Result<TimeUnit, Error> {
    match text {
        "D" | "days" | "day" => Ok(TimeUnit::Days),
        "W" | "weeks" | "week" => Ok(TimeUnit::Weeks),
        other => Err(invalid(
            "freq",
            format!("freq must be \"D\" (days) or \"W\" (weeks), got {other:?}"),
        )),
    }
}

/// Serialises a core result (a macro: the binding does not depend on serde itself).
macro_rules! to_json {
    ($v:expr) => {
        serde_json::to_string($v).map_err(|e| Error::new(ErrorKind::Internal, format!("json: {e}")))
    };
}
pub(crate) use to_json;

fn bad_params(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::InvalidJson, format!("invalid parameters: {e}"))
}

/// A purchase model's parameters, validated.
fn purchase_params(text: &str) -> Result<PurchaseParams, Error> {
    let p: PurchaseParams = serde_json::from_str(text).map_err(bad_params)?;
    p.validate()?;
    Ok(p)
}

fn spend_params(text: &str) -> Result<GammaGamma, Error> {
    let g: GammaGamma = serde_json::from_str(text).map_err(bad_params)?;
    g.validate()?;
    Ok(g)
}

type FitResult = (String, f64, usize, usize, bool);

fn fit_result(params: String, info: &FitInfo) -> Result<FitResult, Error> {
    Ok((
        params,
        info.log_likelihood,
        info.customers,
        info.evaluations,
        info.converged,
    ))
}

fn pyarrow_f64(py: Python<'_>, values: Vec<f64>) -> PyResult<Bound<'_, PyAny>> {
    let array = PyArray::from_array_ref(Arc::new(Float64Array::from(values)));
    let out = array.to_pyarrow(py)?.unbind();
    Ok(out.into_bound(py))
}

/// Per-customer summary from transactions: a pyarrow Table with
/// `customer_id, frequency, recency, T, monetary_value` (or the calibration /
/// hold-out columns when `calibration_end` is given).
#[pyfunction]
#[pyo3(signature = (customer_id, timestamp, value, observation_end, freq, zone, decimals=None, calibration_end=None))]
#[allow(clippy::too_many_arguments)]
fn clv_summary<'py>(
    py: Python<'py>,
    customer_id: PyArray,
    timestamp: PyArray,
    value: PyArray,
    observation_end: &str,
    freq: &str,
    zone: &str,
    decimals: Option<u32>,
    calibration_end: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let batch = detached(py, || {
        let ids = str_column(customer_id.array(), "customer_id")?;
        let times = time_column(timestamp.array(), "datetime")?;
        let values = f64_column(value.array(), "monetary_value")?;
        if ids.len() != times.len() || ids.len() != values.len() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "customer id, datetime and value columns must have equal lengths",
            ));
        }
        let txns: Vec<Transaction> = (0..ids.len())
            .map(|i| Transaction {
                customer_id: ids.value(i).to_string(),
                timestamp: times[i],
                value: values.value(i),
            })
            .collect();
        let opts = SummaryOptions {
            unit: unit(freq)?,
            zone: Zone::parse(zone)?,
            decimals,
        };
        let end = parse_date(observation_end).map_err(|e| e.with_path("observation_end"))?;
        match calibration_end {
            None => summary_batch(&summarize(&txns, end, &opts)?),
            Some(cal) => {
                let cal = parse_date(cal).map_err(|e| e.with_path("calibration_period_end"))?;
                holdout_batch(&calibration_and_holdout(&txns, cal, end, &opts)?)
            }
        }
    })?;
    let schema = batch.schema();
    Ok(PyTable::try_new(vec![batch], schema)?
        .into_pyarrow(py)?
        .into_any())
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> Result<RecordBatch, Error> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .map_err(|e| Error::new(ErrorKind::Internal, format!("arrow: {e}")))
}

fn f64s<T>(rows: &[T], f: impl Fn(&T) -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
}

fn u64s<T>(rows: &[T], f: impl Fn(&T) -> u64) -> ArrayRef {
    Arc::new(arrow_array::UInt64Array::from_iter_values(
        rows.iter().map(f),
    ))
}

fn ids<T>(rows: &[T], f: impl Fn(&T) -> &str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
}

fn summary_batch(rows: &[siyu_core::clv::CustomerSummary]) -> Result<RecordBatch, Error> {
    batch(vec![
        ("customer_id", ids(rows, |r| &r.customer_id)),
        ("frequency", u64s(rows, |r| r.frequency)),
        ("recency", f64s(rows, |r| r.recency)),
        ("T", f64s(rows, |r| r.t)),
        ("monetary_value", f64s(rows, |r| r.monetary_value)),
    ])
}

fn holdout_batch(rows: &[siyu_core::clv::CalibrationHoldout]) -> Result<RecordBatch, Error> {
    batch(vec![
        ("customer_id", ids(rows, |r| &r.customer_id)),
        ("frequency_cal", u64s(rows, |r| r.frequency_cal)),
        ("recency_cal", f64s(rows, |r| r.recency_cal)),
        ("T_cal", f64s(rows, |r| r.t_cal)),
        ("monetary_value_cal", f64s(rows, |r| r.monetary_value_cal)),
        ("frequency_holdout", u64s(rows, |r| r.frequency_holdout)),
        (
            "monetary_value_holdout",
            f64s(rows, |r| r.monetary_value_holdout),
        ),
        ("duration_holdout", f64s(rows, |r| r.duration_holdout)),
    ])
}

/// The three purchase-model columns as `f64`.
fn rf(
    frequency: &PyArray,
    recency: &PyArray,
    t: &PyArray,
) -> Result<(Float64Array, Float64Array, Float64Array), Error> {
    Ok((
        f64_column(frequency.array(), "frequency")?,
        f64_column(recency.array(), "recency")?,
        f64_column(t.array(), "T")?,
    ))
}

/// Fits a purchase model (`bgnbd`, `mbgnbd` or `paretonbd`) by maximum
/// likelihood. Returns `(params_json, log_likelihood, customers, evaluations, converged)`.
#[pyfunction]
#[pyo3(signature = (model, frequency, recency, T, penalizer=0.0, max_evaluations=20_000))]
#[allow(non_snake_case)]
fn clv_fit_purchase(
    py: Python<'_>,
    model: &str,
    frequency: PyArray,
    recency: PyArray,
    T: PyArray,
    penalizer: f64,
    max_evaluations: usize,
) -> PyResult<FitResult> {
    detached(py, || {
        let (x, tx, t) = rf(&frequency, &recency, &T)?;
        let data = RfColumns::new(x.values(), tx.values(), t.values());
        let opts = FitOptions {
            penalizer,
            max_evaluations,
        };
        let (params, info) = match model {
            "bgnbd" => BgNbd::fit(&data, &opts).map(|(m, i)| (PurchaseParams::Bgnbd(m), i))?,
            "mbgnbd" => MbgNbd::fit(&data, &opts).map(|(m, i)| (PurchaseParams::Mbgnbd(m), i))?,
            "paretonbd" => {
                ParetoNbd::fit(&data, &opts).map(|(m, i)| (PurchaseParams::Paretonbd(m), i))?
            }
            other => {
                return Err(invalid(
                    "model",
                    format!("unknown purchase model {other:?} (bgnbd, mbgnbd, paretonbd)"),
                ))
            }
        };
        fit_result(to_json!(&params)?, &info)
    })
}

/// Per-customer predictions of a purchase model given as JSON parameters.
/// `what`: `p_alive`, `conditional_expected_purchases` (over `t`) or `log_likelihood`.
#[pyfunction]
#[pyo3(signature = (params, what, t, frequency, recency, T))]
#[allow(non_snake_case)]
fn clv_predict<'py>(
    py: Python<'py>,
    params: &str,
    what: &str,
    t: f64,
    frequency: PyArray,
    recency: PyArray,
    T: PyArray,
) -> PyResult<Bound<'py, PyAny>> {
    let out = detached(py, || {
        let p = purchase_params(params)?;
        let m = p.model();
        let (x, tx, big_t) = rf(&frequency, &recency, &T)?;
        // Each row is checked by the core call itself (as a scalar call is).
        equal_lengths(&[x.len(), tx.len(), big_t.len()])?;
        let data = RfColumns::new(x.values(), tx.values(), big_t.values());
        (0..data.len())
            .map(|i| {
                let (x, tx, bt) = (data.frequency[i], data.recency[i], data.t[i]);
                match what {
                    "p_alive" => m.p_alive(x, tx, bt),
                    "conditional_expected_purchases" => {
                        m.conditional_expected_purchases(t, x, tx, bt)
                    }
                    "log_likelihood" => m.log_likelihood(x, tx, bt),
                    other => Err(invalid("what", format!("unknown prediction {other:?}"))),
                }
                .map_err(|e| at_row(e, i))
            })
            .collect::<Result<Vec<f64>, Error>>()
    })?;
    pyarrow_f64(py, out)
}

/// E[X(t)] of a new customer for each horizon in `t`.
#[pyfunction]
fn clv_expected_purchases<'py>(
    py: Python<'py>,
    params: &str,
    t: PyArray,
) -> PyResult<Bound<'py, PyAny>> {
    let out = detached(py, || {
        let p = purchase_params(params)?;
        let t = f64_column(t.array(), "t")?;
        t.values()
            .iter()
            .enumerate()
            .map(|(i, &t)| p.model().expected_purchases(t).map_err(|e| at_row(e, i)))
            .collect::<Result<Vec<f64>, Error>>()
    })?;
    pyarrow_f64(py, out)
}

/// Fits Gamma-Gamma spend. Returns `(params_json, log_likelihood, customers, evaluations, converged)`.
#[pyfunction]
#[pyo3(signature = (frequency, monetary_value, penalizer=0.0, max_evaluations=20_000))]
fn clv_fit_gamma_gamma(
    py: Python<'_>,
    frequency: PyArray,
    monetary_value: PyArray,
    penalizer: f64,
    max_evaluations: usize,
) -> PyResult<FitResult> {
    detached(py, || {
        let x = f64_column(frequency.array(), "frequency")?;
        let m = f64_column(monetary_value.array(), "monetary_value")?;
        let opts = FitOptions {
            penalizer,
            max_evaluations,
        };
        let (g, info) = GammaGamma::fit(x.values(), m.values(), &opts)?;
        fit_result(to_json!(&g)?, &info)
    })
}

/// Gamma-Gamma E[M | x, m̄] per customer.
#[pyfunction]
fn clv_expected_average_value<'py>(
    py: Python<'py>,
    params: &str,
    frequency: PyArray,
    monetary_value: PyArray,
) -> PyResult<Bound<'py, PyAny>> {
    let out = detached(py, || {
        let g = spend_params(params)?;
        let x = f64_column(frequency.array(), "frequency")?;
        let m = f64_column(monetary_value.array(), "monetary_value")?;
        equal_lengths(&[x.len(), m.len()])?;
        (0..x.len())
            .map(|i| {
                g.conditional_expected_average_value(x.value(i), m.value(i))
                    .map_err(|e| at_row(e, i))
            })
            .collect::<Result<Vec<f64>, Error>>()
    })?;
    pyarrow_f64(py, out)
}

fn equal_lengths(lens: &[usize]) -> Result<(), Error> {
    if lens.windows(2).any(|w| w[0] != w[1]) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("input columns must have equal lengths (got {lens:?})"),
        ));
    }
    Ok(())
}

/// Discounted CLV per customer (Gamma-Gamma expected value × purchase model).
#[pyfunction]
#[pyo3(signature = (purchase, spend, frequency, recency, T, monetary_value, months, monthly_discount_rate, freq))]
#[allow(non_snake_case, clippy::too_many_arguments)]
fn clv_lifetime_value<'py>(
    py: Python<'py>,
    purchase: &str,
    spend: &str,
    frequency: PyArray,
    recency: PyArray,
    T: PyArray,
    monetary_value: PyArray,
    months: u32,
    monthly_discount_rate: f64,
    freq: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let out = detached(py, || {
        let p = purchase_params(purchase)?;
        let g = spend_params(spend)?;
        let unit = unit(freq)?;
        let (x, tx, t) = rf(&frequency, &recency, &T)?;
        let m = f64_column(monetary_value.array(), "monetary_value")?;
        equal_lengths(&[x.len(), tx.len(), t.len(), m.len()])?;
        (0..x.len())
            .map(|i| {
                let (x, tx, t, m) = (x.value(i), tx.value(i), t.value(i), m.value(i));
                g.conditional_expected_average_value(x, m)
                    .and_then(|v| {
                        customer_lifetime_value(
                            p.model(),
                            x,
                            tx,
                            t,
                            v,
                            months,
                            monthly_discount_rate,
                            unit,
                        )
                    })
                    .map_err(|e| at_row(e, i))
            })
            .collect::<Result<Vec<f64>, Error>>()
    })?;
    pyarrow_f64(py, out)
}

/// Reads a value-model document (version check, every parameter validated)
/// and returns its canonical JSON text.
#[pyfunction]
fn clv_value_model(py: Python<'_>, text: &str) -> PyResult<String> {
    crate::attached(py, || {
        let v: serde_json::Value = serde_json::from_str(text).map_err(Error::from)?;
        Ok(ValueModel::from_json(&v)?.to_json().to_string())
    })
}

/// Adds the value-model functions to `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(clv_summary, m)?)?;
    m.add_function(wrap_pyfunction!(clv_fit_purchase, m)?)?;
    m.add_function(wrap_pyfunction!(clv_predict, m)?)?;
    m.add_function(wrap_pyfunction!(clv_expected_purchases, m)?)?;
    m.add_function(wrap_pyfunction!(clv_fit_gamma_gamma, m)?)?;
    m.add_function(wrap_pyfunction!(clv_expected_average_value, m)?)?;
    m.add_function(wrap_pyfunction!(clv_lifetime_value, m)?)?;
    m.add_function(wrap_pyfunction!(clv_value_model, m)?)?;
    Ok(())
}
