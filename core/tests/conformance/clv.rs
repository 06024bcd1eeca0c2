//! Runner for `clv` vectors (see conformance/README.md, section `clv`).

use crate::support::{check_error, field, matches, tolerance};
use serde_json::{json, Value};
use siyu_core::clv::{
    calibration_and_holdout, customer_lifetime_value, summarize, BgNbd, FitInfo, FitOptions,
    GammaGamma, MbgNbd, ParetoNbd, PurchaseParams, RfColumns, SummaryOptions, TimeUnit,
    Transaction, ValueModel,
};
use siyu_core::value::parse_date;
use siyu_core::{Error, ErrorKind, Zone};

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    let outcome = execute(file, case);
    match (case.get("expect_error"), outcome) {
        (Some(e), Err(err)) => check_error(e, &err),
        (Some(_), Ok(v)) => Err(format!("expected an error, got {v}")),
        (None, Err(err)) => Err(format!("unexpected error: {err}")),
        (None, Ok(v)) => {
            let expect = case.get("expect").ok_or("case has no expect")?;
            matches(expect, &v, tolerance(file, case), "result")
        }
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidJson, msg)
}

fn get<'a>(file: &'a Value, case: &'a Value, key: &str) -> Result<&'a Value, Error> {
    field(file, case, key).ok_or_else(|| bad(format!("missing field {key:?}")))
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> Result<T, Error> {
    serde_json::from_value(v.clone()).map_err(|e| bad(format!("invalid {what}: {e}")))
}

fn floats(file: &Value, case: &Value, key: &str) -> Result<Vec<f64>, Error> {
    parse(get(file, case, key)?, key)
}

fn num(file: &Value, case: &Value, key: &str) -> Result<f64, Error> {
    get(file, case, key)?
        .as_f64()
        .ok_or_else(|| bad(format!("{key} must be a number")))
}

fn summary_options(file: &Value, case: &Value) -> Result<SummaryOptions, Error> {
    let unit: TimeUnit = match field(file, case, "unit") {
        Some(u) => parse(u, "unit")?,
        None => TimeUnit::Weeks,
    };
    let zone = match field(file, case, "zone").and_then(Value::as_str) {
        Some(z) => Zone::parse(z)?,
        None => Zone::utc(),
    };
    let decimals = field(file, case, "decimals")
        .and_then(Value::as_u64)
        .map(|d| d as u32);
    Ok(SummaryOptions {
        unit,
        zone,
        decimals,
    })
}

fn fit_json(params: Value, info: &FitInfo) -> Value {
    json!({
        "params": params,
        "log_likelihood": info.log_likelihood,
        "customers": info.customers,
    })
}

/// `(frequency, recency, T)` of each object in `customers`.
fn rft(c: &Value) -> Result<(f64, f64, f64), Error> {
    let g = |k: &str| {
        c.get(k)
            .and_then(Value::as_f64)
            .ok_or_else(|| bad(format!("customer needs a numeric {k:?}")))
    };
    Ok((g("frequency")?, g("recency")?, g("T")?))
}

fn execute(file: &Value, case: &Value) -> Result<Value, Error> {
    let op = get(file, case, "op")?.as_str().unwrap_or_default();
    match op {
        "summarize" | "calibration_holdout" => {
            let txns: Vec<Transaction> = parse(get(file, case, "transactions")?, "transactions")?;
            let end = parse_date(
                get(file, case, "observation_end")?
                    .as_str()
                    .unwrap_or_default(),
            )?;
            let opts = summary_options(file, case)?;
            let rows = if op == "summarize" {
                serde_json::to_value(summarize(&txns, end, &opts)?)
            } else {
                let cal = parse_date(
                    get(file, case, "calibration_end")?
                        .as_str()
                        .unwrap_or_default(),
                )?;
                serde_json::to_value(calibration_and_holdout(&txns, cal, end, &opts)?)
            };
            Ok(json!({"customers": rows.map_err(|e| bad(e.to_string()))?}))
        }
        "fit" => {
            let opts = FitOptions {
                penalizer: field(file, case, "penalizer")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
                ..Default::default()
            };
            let model = get(file, case, "model")?.as_str().unwrap_or_default();
            let x = floats(file, case, "frequency")?;
            if model == "gammagamma" {
                let m = floats(file, case, "monetary_value")?;
                let (p, info) = GammaGamma::fit(&x, &m, &opts)?;
                return Ok(fit_json(json!(p), &info));
            }
            let (tx, t) = (floats(file, case, "recency")?, floats(file, case, "T")?);
            let data = RfColumns::new(&x, &tx, &t);
            match model {
                "bgnbd" => BgNbd::fit(&data, &opts).map(|(p, i)| fit_json(json!(p), &i)),
                "mbgnbd" => MbgNbd::fit(&data, &opts).map(|(p, i)| fit_json(json!(p), &i)),
                "paretonbd" => ParetoNbd::fit(&data, &opts).map(|(p, i)| fit_json(json!(p), &i)),
                other => Err(bad(format!("unknown model {other:?}"))),
            }
        }
        "predict" => {
            let params: PurchaseParams = parse(get(file, case, "params")?, "params")?;
            params.validate()?;
            let m = params.model();
            let t = num(file, case, "t")?;
            let customers = get(file, case, "customers")?
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut rows = Vec::new();
            for c in &customers {
                let (x, tx, big_t) = rft(c)?;
                rows.push(json!({
                    "p_alive": m.p_alive(x, tx, big_t)?,
                    "conditional_expected_purchases": m.conditional_expected_purchases(t, x, tx, big_t)?,
                    "log_likelihood": m.log_likelihood(x, tx, big_t)?,
                }));
            }
            Ok(json!({"expected_purchases": m.expected_purchases(t)?, "rows": rows}))
        }
        "spend" => {
            let g: GammaGamma = parse(get(file, case, "params")?, "params")?;
            g.validate()?;
            let customers = get(file, case, "customers")?
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut rows = Vec::new();
            for c in &customers {
                let x = c
                    .get("frequency")
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN);
                let mv = c
                    .get("monetary_value")
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN);
                rows.push(
                    json!({"expected_average_value": g.conditional_expected_average_value(x, mv)?}),
                );
            }
            Ok(json!({"mean_spend": g.mean_spend()?, "rows": rows}))
        }
        "clv" => {
            let doc = ValueModel::from_json(get(file, case, "model")?)?;
            let (Some(purchase), Some(spend)) = (&doc.purchase, &doc.spend) else {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "CLV needs a purchase and a spend model",
                ));
            };
            let months = get(file, case, "months")?.as_u64().unwrap_or(0) as u32;
            let rate = num(file, case, "discount_rate")?;
            let unit: TimeUnit = parse(get(file, case, "unit")?, "unit")?;
            let customers = get(file, case, "customers")?
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut out = Vec::new();
            for c in &customers {
                let (x, tx, t) = rft(c)?;
                let mv = c
                    .get("monetary_value")
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::NAN);
                let value = spend.conditional_expected_average_value(x, mv)?;
                out.push(customer_lifetime_value(
                    purchase.model(),
                    x,
                    tx,
                    t,
                    value,
                    months,
                    rate,
                    unit,
                )?);
            }
            Ok(json!({"clv": out}))
        }
        "model_document" => {
            let doc = ValueModel::from_json(get(file, case, "document")?)?;
            Ok(json!({"document": doc.to_json()}))
        }
        other => Err(bad(format!("unknown clv op {other:?}"))),
    }
}
