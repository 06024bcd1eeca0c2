//! Value-model scoring: a fitted value-model document (purchase model plus
//! optional spend model) held as a class that scores customers one by one
//! (P(alive), expected purchases, expected value, CLV) or column-wise.

use super::{guard, parse_json, write_json, Schema};
use napi::bindgen_prelude::Float64Array;
use napi_derive::napi;
use siyu_core::clv::{score_columns, RfColumns, ScoreOptions};
use siyu_core::{Error, ErrorKind, Profile};

/// A validated value-model document (`{"version": 1, "purchase", "spend"}`).
#[napi]
pub struct ValueModel {
    inner: siyu_core::clv::ValueModel,
}

fn options(text: Option<&str>) -> siyu_core::Result<ScoreOptions> {
    match text {
        None => Ok(ScoreOptions::default()),
        Some(t) => serde_json::from_value(parse_json(t, ErrorKind::InvalidJson, "options")?)
            .map_err(|e| {
                Error::new(ErrorKind::InvalidArgument, format!("invalid options: {e}"))
                    .with_path("options")
            }),
    }
}

fn num(v: &serde_json::Value, key: &str, at: usize) -> siyu_core::Result<f64> {
    v.get(key).and_then(|x| x.as_f64()).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("customer needs a number {key:?}"),
        )
        .with_path(format!("[{at}].{key}"))
    })
}

#[napi]
impl ValueModel {
    /// Reads and validates a value-model document (JSON text).
    #[napi(factory)]
    pub fn create(document: String) -> napi::Result<ValueModel> {
        guard(|| {
            let v = parse_json(&document, ErrorKind::InvalidJson, "document")?;
            Ok(ValueModel {
                inner: siyu_core::clv::ValueModel::from_json(&v)?,
            })
        })
    }

    /// The normalised document, as JSON text.
    #[napi]
    pub fn to_json(&self) -> napi::Result<String> {
        guard(|| write_json(&self.inner.to_json()))
    }

    /// Scores customers (JSON text of `[{frequency, recency, T, monetary_value?}]`)
    /// with options (JSON text `{horizon, months, monthly_discount_rate, unit}`);
    /// JSON text of `[{p_alive, expected_purchases, expected_value, clv}]`.
    #[napi]
    pub fn score(&self, customers: String, options_text: Option<String>) -> napi::Result<String> {
        guard(|| {
            let opts = options(options_text.as_deref())?;
            let v = parse_json(&customers, ErrorKind::InvalidJson, "customers")?;
            let list = v.as_array().ok_or_else(|| {
                Error::new(ErrorKind::InvalidArgument, "customers must be an array")
                    .with_path("customers")
            })?;
            let mut out = Vec::with_capacity(list.len());
            for (i, c) in list.iter().enumerate() {
                let m = c
                    .get("monetary_value")
                    .and_then(|x| x.as_f64())
                    .unwrap_or(0.0);
                let s = self
                    .inner
                    .score(
                        num(c, "frequency", i)?,
                        num(c, "recency", i)?,
                        num(c, "T", i)?,
                        m,
                        &opts,
                    )
                    .map_err(|e| e.prefix_path(&format!("[{i}]")))?;
                out.push(
                    serde_json::to_value(s)
                        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?,
                );
            }
            write_json(&serde_json::Value::Array(out))
        })
    }

    /// Column-wise purchase-model scores at `horizon` (model time units);
    /// JSON text of `{p_alive: [...], expected_purchases: [...]}`.
    #[napi]
    pub fn score_columns(
        &self,
        frequency: Float64Array,
        recency: Float64Array,
        t: Float64Array,
        horizon: f64,
    ) -> napi::Result<String> {
        guard(|| {
            let purchase = self.inner.purchase.as_ref().ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    "the value model has no purchase model",
                )
            })?;
            let cols = RfColumns::new(&frequency, &recency, &t);
            let s = score_columns(purchase.model(), &cols, horizon)?;
            serde_json::to_string(&s).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
        })
    }

    /// Scores one customer and writes the scores into a profile (JSON text)'s
    /// score map (`score("p_alive")` in rules); returns the profile JSON text.
    #[napi]
    pub fn score_profile(
        &self,
        profile: String,
        schema: &Schema,
        customer: String,
        options_text: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let opts = options(options_text.as_deref())?;
            let mut p = Profile::from_json_value(
                &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                &schema.inner,
            )?;
            let c = parse_json(&customer, ErrorKind::InvalidJson, "customer")?;
            let m = c
                .get("monetary_value")
                .and_then(|x| x.as_f64())
                .unwrap_or(0.0);
            let s = self.inner.score(
                num(&c, "frequency", 0).map_err(|e| e.with_path("customer.frequency"))?,
                num(&c, "recency", 0).map_err(|e| e.with_path("customer.recency"))?,
                num(&c, "T", 0).map_err(|e| e.with_path("customer.T"))?,
                m,
                &opts,
            )?;
            s.write_to(&mut p.scores);
            write_json(&p.to_json())
        })
    }
}
