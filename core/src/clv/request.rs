//! Value models as request documents: one JSON object in, one JSON value out.
//!
//! Bindings that speak JSON (Node, mobile) call these so that reading a request
//! lives here once, not in every binding. Field names are those of the `clv`
//! conformance kind (conformance/README.md); malformed requests are `INVALID_JSON`.

use crate::error::{Error, ErrorKind, Result};
use crate::value::parse_date;
use crate::Zone;
use serde_json::Value;

fn to_value<T: serde::Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

// Readers of request fields.
fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidJson, msg)
}

fn get<'a>(r: &'a Value, key: &str) -> Result<&'a Value> {
    r.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| bad(format!("missing field {key:?}")))
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| bad(format!("invalid {what}: {e}")))
}

fn num(r: &Value, key: &str) -> Result<f64> {
    get(r, key)?
        .as_f64()
        .ok_or_else(|| bad(format!("{key} must be a number")))
}

fn rft(c: &Value) -> Result<(f64, f64, f64)> {
    let g = |k: &str| {
        c.get(k)
            .and_then(Value::as_f64)
            .ok_or_else(|| bad(format!("customer needs a numeric {k:?}")))
    };
    Ok((g("frequency")?, g("recency")?, g("T")?))
}

fn customers(r: &Value) -> Result<Vec<Value>> {
    Ok(get(r, "customers")?.as_array().cloned().unwrap_or_default())
}

/// Customer summaries (frequency, recency, T, monetary value) from transactions:
/// request `{"transactions", "observation_end", "calibration_end"?, "unit"?,
/// "zone"?, "decimals"?}`; with `calibration_end` the calibration/holdout split.
/// Returns the rows.
pub fn summarize(r: &Value) -> Result<Value> {
    use crate::clv::{calibration_and_holdout, summarize, SummaryOptions, TimeUnit, Transaction};
    let txns: Vec<Transaction> = parse(get(r, "transactions")?, "transactions")?;
    let end = parse_date(get(r, "observation_end")?.as_str().unwrap_or_default())?;
    let unit: TimeUnit = match r.get("unit").filter(|v| !v.is_null()) {
        Some(u) => parse(u, "unit")?,
        None => TimeUnit::Weeks,
    };
    let zone = match r.get("zone").and_then(serde_json::Value::as_str) {
        Some(z) => Zone::parse(z)?,
        None => Zone::utc(),
    };
    let decimals = r
        .get("decimals")
        .and_then(serde_json::Value::as_u64)
        .map(|d| d as u32);
    let opts = SummaryOptions {
        unit,
        zone,
        decimals,
    };
    let rows = match r.get("calibration_end").filter(|v| !v.is_null()) {
        None => to_value(summarize(&txns, end, &opts)?)?,
        Some(c) => {
            let cal = parse_date(c.as_str().unwrap_or_default())?;
            to_value(calibration_and_holdout(&txns, cal, end, &opts)?)?
        }
    };
    Ok(rows)
}

/// Fits a model (`bgnbd`, `mbgnbd`, `paretonbd`, `gammagamma`): request
/// `{"model", "frequency", "recency"?, "T"?, "monetary_value"?, "penalizer"?}` (columns
/// as arrays). Returns `{"params", "log_likelihood", "customers"}`.
pub fn fit(r: &Value) -> Result<Value> {
    use crate::clv::{BgNbd, FitInfo, FitOptions, GammaGamma, MbgNbd, ParetoNbd, RfColumns};
    fn fit_json(params: Value, info: &FitInfo) -> Value {
        serde_json::json!({"params": params, "log_likelihood": info.log_likelihood, "customers": info.customers})
    }
    let opts = FitOptions {
        penalizer: r
            .get("penalizer")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0),
        ..Default::default()
    };
    let model = get(r, "model")?.as_str().unwrap_or_default().to_string();
    let x: Vec<f64> = parse(get(r, "frequency")?, "frequency")?;
    let out = if model == "gammagamma" {
        let m: Vec<f64> = parse(get(r, "monetary_value")?, "monetary_value")?;
        let (p, info) = GammaGamma::fit(&x, &m, &opts)?;
        fit_json(to_value(p)?, &info)
    } else {
        let tx: Vec<f64> = parse(get(r, "recency")?, "recency")?;
        let t: Vec<f64> = parse(get(r, "T")?, "T")?;
        let data = RfColumns::new(&x, &tx, &t);
        match model.as_str() {
            "bgnbd" => {
                BgNbd::fit(&data, &opts).and_then(|(p, i)| Ok(fit_json(to_value(p)?, &i)))?
            }
            "mbgnbd" => {
                MbgNbd::fit(&data, &opts).and_then(|(p, i)| Ok(fit_json(to_value(p)?, &i)))?
            }
            "paretonbd" => {
                ParetoNbd::fit(&data, &opts).and_then(|(p, i)| Ok(fit_json(to_value(p)?, &i)))?
            }
            other => return Err(bad(format!("unknown model {other:?}"))),
        }
    };
    Ok(out)
}

/// Purchase-model predictions: request `{"params", "t", "customers": [{"frequency",
/// "recency", "T"}]}`. Returns `{"expected_purchases", "rows": [{"p_alive",
/// "conditional_expected_purchases", "log_likelihood"}]}`.
pub fn predict(r: &Value) -> Result<Value> {
    use crate::clv::PurchaseParams;
    let params: PurchaseParams = parse(get(r, "params")?, "params")?;
    params.validate()?;
    let m = params.model();
    let t = num(r, "t")?;
    let mut rows = Vec::new();
    for c in &customers(r)? {
        let (x, tx, big_t) = rft(c)?;
        rows.push(serde_json::json!({
            "p_alive": m.p_alive(x, tx, big_t)?,
            "conditional_expected_purchases": m.conditional_expected_purchases(t, x, tx, big_t)?,
            "log_likelihood": m.log_likelihood(x, tx, big_t)?,
        }));
    }
    Ok(serde_json::json!({"expected_purchases": m.expected_purchases(t)?, "rows": rows}))
}

/// Spend-model predictions: request `{"params", "customers": [{"frequency",
/// "monetary_value"}]}`. Returns `{"mean_spend", "rows": [{"expected_average_value"}]}`.
pub fn spend(r: &Value) -> Result<Value> {
    use crate::clv::GammaGamma;
    let g: GammaGamma = parse(get(r, "params")?, "params")?;
    g.validate()?;
    let mut rows = Vec::new();
    for c in &customers(r)? {
        let x = c
            .get("frequency")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN);
        let mv = c
            .get("monetary_value")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN);
        rows.push(serde_json::json!({"expected_average_value": g.conditional_expected_average_value(x, mv)?}));
    }
    Ok(serde_json::json!({"mean_spend": g.mean_spend()?, "rows": rows}))
}

/// Customer lifetime value: request `{"model": <value-model document with purchase
/// and spend>, "months", "discount_rate", "unit", "customers": [{"frequency", "recency",
/// "T", "monetary_value"}]}`. Returns the CLV per customer.
pub fn lifetime_value(r: &Value) -> Result<Value> {
    use crate::clv::{customer_lifetime_value, TimeUnit, ValueModel};
    let doc = ValueModel::from_json(get(r, "model")?)?;
    let (Some(purchase), Some(spend)) = (&doc.purchase, &doc.spend) else {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "CLV needs a purchase and a spend model",
        ));
    };
    let months = get(r, "months")?.as_u64().unwrap_or(0) as u32;
    let rate = num(r, "discount_rate")?;
    let unit: TimeUnit = parse(get(r, "unit")?, "unit")?;
    let mut out = Vec::new();
    for c in &customers(r)? {
        let (x, tx, t) = rft(c)?;
        let mv = c
            .get("monetary_value")
            .and_then(serde_json::Value::as_f64)
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
    to_value(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn predicts_from_a_request_document() {
        let out = predict(&json!({
            "params": {"model": "bgnbd", "r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
            "t": 39.0,
            "customers": [{"frequency": 2.0, "recency": 30.43, "T": 38.86}]
        }))
        .unwrap();
        let y = out["rows"][0]["conditional_expected_purchases"]
            .as_f64()
            .unwrap();
        assert!((y - 1.226).abs() < 5e-3, "{out}");
    }

    #[test]
    fn malformed_requests_are_invalid_json() {
        let e = fit(&json!({"frequency": [1.0]})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidJson);
        let e = fit(&json!({"model": "nope", "frequency": [1.0], "recency": [1.0], "T": [2.0]}))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidJson);
    }
}
