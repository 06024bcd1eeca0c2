//! Customer value models ("buy till you die"): who is still active, how many
//! purchases to expect, how much they will spend, and the discounted value.
//!
//! - [`summary`] turns transactions into the per-customer `(frequency, recency, T,
//!   monetary_value)` summary the models need, with a calibration/hold-out split.
//! - [`BgNbd`], [`MbgNbd`] and [`ParetoNbd`] model purchase counts and drop-out;
//!   [`GammaGamma`] models the spend per purchase.
//! - [`customer_lifetime_value`] combines a purchase model and the spend model into
//!   discounted CLV (the semantics of `lifetimes`' `customer_lifetime_value`).
//!
//! Models are fitted by maximum likelihood on log-parameters with BFGS
//! ([`optimize`]): analytic gradients for BG/NBD, MBG/NBD and Gamma-Gamma,
//! central differences for Pareto/NBD, and a deterministic Nelder–Mead search
//! as the fallback. Fitted parameters are plain
//! serde data, so a server can fit and a phone can score. See
//! `docs/value-models.md`.

pub mod bgnbd;
mod fit;
pub mod gammagamma;
pub mod mbgnbd;
pub mod optimize;
pub mod paretonbd;
pub mod request;
pub mod special;
pub mod summary;

pub use bgnbd::BgNbd;
pub use gammagamma::GammaGamma;
pub use mbgnbd::MbgNbd;
pub use paretonbd::ParetoNbd;
pub use summary::{
    calibration_and_holdout, summarize, CalibrationHoldout, CustomerSummary, SummaryOptions,
    TimeUnit, Transaction,
};

use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// Column views of the purchase-model inputs: one entry per customer.
///
/// `frequency` is the number of repeat purchase periods x, `recency` the age t_x
/// at the last purchase and `t` the age T at the end of observation, in one time
/// unit. Plain slices so bindings can pass Arrow/NumPy columns without copying.
#[derive(Debug, Clone, Copy)]
pub struct RfColumns<'a> {
    /// Repeat purchases x (≥ 0).
    pub frequency: &'a [f64],
    /// Age at the last purchase t_x (0 ≤ t_x ≤ T).
    pub recency: &'a [f64],
    /// Age at the end of observation T (≥ 0).
    pub t: &'a [f64],
}

impl<'a> RfColumns<'a> {
    /// Bundles three equally long columns.
    pub fn new(frequency: &'a [f64], recency: &'a [f64], t: &'a [f64]) -> RfColumns<'a> {
        RfColumns {
            frequency,
            recency,
            t,
        }
    }

    /// Checks lengths and each row (see [`check_customer`]).
    pub fn validate(&self) -> Result<()> {
        let n = self.frequency.len();
        if self.recency.len() != n || self.t.len() != n {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "frequency, recency and T must have equal lengths (got {}, {}, {})",
                    n,
                    self.recency.len(),
                    self.t.len()
                ),
            ));
        }
        for i in 0..n {
            check_customer(self.frequency[i], self.recency[i], self.t[i])
                .map_err(|e| e.prefix_path(&format!("[{i}]")))?;
        }
        Ok(())
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.frequency.len()
    }

    /// Whether there are no customers.
    pub fn is_empty(&self) -> bool {
        self.frequency.is_empty()
    }
}

/// Validates one customer's `(x, t_x, T)`: finite, x ≥ 0, 0 ≤ t_x ≤ T.
pub fn check_customer(x: f64, t_x: f64, t: f64) -> Result<()> {
    let bad =
        |path: &str, msg: String| Err(Error::new(ErrorKind::InvalidArgument, msg).with_path(path));
    if !x.is_finite() || x < 0.0 {
        return bad(
            "frequency",
            format!("frequency must be a finite number ≥ 0, got {x}"),
        );
    }
    if !t_x.is_finite() || t_x < 0.0 {
        return bad(
            "recency",
            format!("recency must be a finite number ≥ 0, got {t_x}"),
        );
    }
    if !t.is_finite() || t < 0.0 {
        return bad("T", format!("T must be a finite number ≥ 0, got {t}"));
    }
    if t_x > t * (1.0 + 1e-12) + 1e-12 {
        return bad("recency", format!("recency {t_x} exceeds T {t}"));
    }
    Ok(())
}

/// A purchase-count model with fitted parameters.
pub trait PurchaseModel {
    /// ln L for one customer with x repeat purchases, last at t_x, observed for T.
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64>;
    /// Probability the customer is still active at T.
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64>;
    /// E[X(t)]: expected purchases of a new customer within `t` time units.
    fn expected_purchases(&self, t: f64) -> Result<f64>;
    /// E[Y(t) | x, t_x, T]: expected purchases in the next `t` units for a customer.
    fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> Result<f64>;
}

/// Options for maximum-likelihood fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitOptions {
    /// L2 penalty `penalizer · Σ θ²` on the natural parameters added to the
    /// mean negative log-likelihood (as in `lifetimes`); 0 = plain MLE.
    pub penalizer: f64,
    /// Objective-evaluation budget of the optimiser.
    pub max_evaluations: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            penalizer: 0.0,
            max_evaluations: 20_000,
        }
    }
}

/// Diagnostics of a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitInfo {
    /// Total log-likelihood Σ ln Lᵢ at the fitted parameters (without penalty).
    pub log_likelihood: f64,
    /// Customers used by the fit.
    pub customers: usize,
    /// Optimiser evaluations spent (one = the objective and its gradient; a
    /// Pareto/NBD gradient by central differences costs 8 more likelihoods).
    pub evaluations: usize,
    /// Whether the optimiser met its tolerance.
    pub converged: bool,
}

/// Fitted parameters as one versioned document, so a server can fit and a
/// phone can score: `{"version": 1, "purchase": {...}, "spend": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueModel {
    /// Format version (currently 1).
    pub version: u32,
    /// The purchase-count model, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase: Option<PurchaseParams>,
    /// The spend model, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend: Option<GammaGamma>,
}

impl ValueModel {
    /// The current format version.
    pub const VERSION: u32 = 1;

    /// Serialises the document.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Reads a document, checking the version and every parameter.
    pub fn from_json(v: &serde_json::Value) -> Result<ValueModel> {
        let m: ValueModel = serde_json::from_value(v.clone())
            .map_err(|e| Error::new(ErrorKind::InvalidJson, format!("invalid value model: {e}")))?;
        if m.version != Self::VERSION {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("unsupported value-model version {} (expected 1)", m.version),
            ));
        }
        if let Some(p) = &m.purchase {
            p.validate()?;
        }
        if let Some(g) = &m.spend {
            g.validate()?;
        }
        Ok(m)
    }
}

/// Column-wise purchase-model scores (one entry per customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreColumns {
    /// P(alive) per customer.
    pub p_alive: Vec<f64>,
    /// E[Y(horizon) | x, t_x, T] per customer.
    pub expected_purchases: Vec<f64>,
}

/// Scores every customer of `data` (tables in, tables out for the bindings).
/// A bad row fails the whole call with its index in the error path (`[i].recency`).
pub fn score_columns(
    model: &dyn PurchaseModel,
    data: &RfColumns<'_>,
    horizon: f64,
) -> Result<ScoreColumns> {
    data.validate()?;
    let n = data.len();
    let mut out = ScoreColumns {
        p_alive: Vec::with_capacity(n),
        expected_purchases: Vec::with_capacity(n),
    };
    for i in 0..n {
        let (x, tx, t) = (data.frequency[i], data.recency[i], data.t[i]);
        let at = |e: Error| e.prefix_path(&format!("[{i}]"));
        out.p_alive.push(model.p_alive(x, tx, t).map_err(at)?);
        out.expected_purchases.push(
            model
                .conditional_expected_purchases(horizon, x, tx, t)
                .map_err(at)?,
        );
    }
    Ok(out)
}

/// What [`ValueModel::score`] predicts over.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoreOptions {
    /// Horizon of `expected_purchases`, in model time units.
    pub horizon: f64,
    /// CLV horizon in months.
    pub months: u32,
    /// Monthly discount rate of the CLV.
    pub monthly_discount_rate: f64,
    /// The model's time unit (for months → units in the CLV).
    pub unit: TimeUnit,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            horizon: 4.345,
            months: 12,
            monthly_discount_rate: 0.01,
            unit: TimeUnit::Weeks,
        }
    }
}

/// One customer's scores, named as rules read them from `Profile::scores`
/// (`score("p_alive") < 0.3`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerScores {
    /// P(alive), key `p_alive`.
    pub p_alive: f64,
    /// E[Y(horizon) | x, t_x, T], key `expected_purchases`.
    pub expected_purchases: f64,
    /// Gamma-Gamma expected average value, key `expected_value` (needs a spend model).
    pub expected_value: Option<f64>,
    /// Discounted CLV, key `clv` (needs a spend model).
    pub clv: Option<f64>,
}

impl CustomerScores {
    /// Writes the scores into a profile's score map (absent ones are removed,
    /// so a stale CLV never survives a model without spend).
    pub fn write_to(&self, scores: &mut std::collections::BTreeMap<String, f64>) {
        scores.insert("p_alive".into(), self.p_alive);
        scores.insert("expected_purchases".into(), self.expected_purchases);
        for (k, v) in [("expected_value", self.expected_value), ("clv", self.clv)] {
            match v {
                Some(v) => {
                    scores.insert(k.into(), v);
                }
                None => {
                    scores.remove(k);
                }
            }
        }
    }
}

impl ValueModel {
    /// Scores one customer: P(alive), expected purchases over `opts.horizon`,
    /// and, with a spend model, expected average value and CLV.
    /// `INVALID_ARGUMENT` without a purchase model.
    pub fn score(
        &self,
        x: f64,
        t_x: f64,
        t: f64,
        monetary_value: f64,
        opts: &ScoreOptions,
    ) -> Result<CustomerScores> {
        let purchase = self.purchase.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "the value model has no purchase model",
            )
        })?;
        let m = purchase.model();
        let (expected_value, clv) = match &self.spend {
            Some(g) => {
                let v = g.conditional_expected_average_value(x, monetary_value)?;
                let clv = customer_lifetime_value(
                    m,
                    x,
                    t_x,
                    t,
                    v,
                    opts.months,
                    opts.monthly_discount_rate,
                    opts.unit,
                )?;
                (Some(v), Some(clv))
            }
            None => (None, None),
        };
        Ok(CustomerScores {
            p_alive: m.p_alive(x, t_x, t)?,
            expected_purchases: m.conditional_expected_purchases(opts.horizon, x, t_x, t)?,
            expected_value,
            clv,
        })
    }
}

/// Parameters of any purchase model, tagged by `"model"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "lowercase")]
pub enum PurchaseParams {
    /// BG/NBD.
    Bgnbd(BgNbd),
    /// MBG/NBD.
    Mbgnbd(MbgNbd),
    /// Pareto/NBD.
    Paretonbd(ParetoNbd),
}

impl PurchaseParams {
    /// The model as a trait object for scoring.
    pub fn model(&self) -> &dyn PurchaseModel {
        match self {
            PurchaseParams::Bgnbd(m) => m,
            PurchaseParams::Mbgnbd(m) => m,
            PurchaseParams::Paretonbd(m) => m,
        }
    }

    /// Checks that every parameter is finite and positive.
    pub fn validate(&self) -> Result<()> {
        match self {
            PurchaseParams::Bgnbd(m) => m.validate(),
            PurchaseParams::Mbgnbd(m) => m.validate(),
            PurchaseParams::Paretonbd(m) => m.validate(),
        }
    }
}

/// Checks named model parameters are finite and > 0.
pub(crate) fn check_params(params: &[(&str, f64)]) -> Result<()> {
    for (name, v) in params {
        if !v.is_finite() || *v <= 0.0 {
            return Err(Error::new(
                ErrorKind::InvalidModel,
                format!("model parameter {name} must be a finite number > 0, got {v}"),
            )
            .with_path(*name));
        }
    }
    Ok(())
}

/// Turns a non-finite computed result into a typed error.
pub(crate) fn finite(v: f64, what: &str) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::new(
            ErrorKind::NumericDomain,
            format!("{what} is not finite for these parameters and inputs"),
        ))
    }
}

/// Unique `(x, t_x, T)` rows with their counts, so a fit evaluates each
/// distinct customer shape once. Sorted, so the result is input-order independent.
pub(crate) fn compress(data: &RfColumns<'_>) -> Vec<([f64; 3], f64)> {
    let mut rows: Vec<[f64; 3]> = (0..data.len())
        .map(|i| [data.frequency[i], data.recency[i], data.t[i]])
        .collect();
    rows.sort_by(|a, b| {
        a[0].total_cmp(&b[0])
            .then(a[1].total_cmp(&b[1]))
            .then(a[2].total_cmp(&b[2]))
    });
    let mut out: Vec<([f64; 3], f64)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((last, w)) if *last == r => *w += 1.0,
            _ => out.push((r, 1.0)),
        }
    }
    out
}

/// Checks the data a purchase model needs: at least two customers, one of them
/// a repeat buyer.
pub(crate) fn check_purchase_data(data: &RfColumns<'_>) -> Result<()> {
    data.validate()?;
    if data.len() < 2 {
        return Err(Error::new(
            ErrorKind::NumericDomain,
            format!(
                "a purchase model needs at least 2 customers, got {}",
                data.len()
            ),
        ));
    }
    if data.frequency.iter().all(|&x| x == 0.0) {
        return Err(Error::new(
            ErrorKind::NumericDomain,
            "no customer has a repeat purchase; the purchase model is not identified",
        ));
    }
    Ok(())
}

/// Discounted customer lifetime value over `months`, with the semantics of
/// `lifetimes`' `customer_lifetime_value`: for each month i = 1..=months the
/// expected purchases between months i−1 and i (from the purchase model's
/// conditional expectation, in model time units) times `monetary_value`,
/// discounted by (1 + `monthly_discount_rate`)^i. `unit` is the model's time
/// unit (a month is 30 days or 4.345 weeks). `monetary_value` is usually
/// [`GammaGamma::conditional_expected_average_value`].
#[allow(clippy::too_many_arguments)]
pub fn customer_lifetime_value(
    model: &dyn PurchaseModel,
    x: f64,
    t_x: f64,
    t: f64,
    monetary_value: f64,
    months: u32,
    monthly_discount_rate: f64,
    unit: TimeUnit,
) -> Result<f64> {
    check_customer(x, t_x, t)?;
    if !monetary_value.is_finite() || monetary_value < 0.0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("monetary_value must be a finite number ≥ 0, got {monetary_value}"),
        ));
    }
    if !monthly_discount_rate.is_finite() || monthly_discount_rate <= -1.0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "monthly_discount_rate must be a finite number > −1, got {monthly_discount_rate}"
            ),
        ));
    }
    let factor = match unit {
        TimeUnit::Days => 30.0,
        TimeUnit::Weeks => 4.345,
    };
    let mut clv = 0.0;
    let mut prev = 0.0;
    for i in 1..=months {
        let cum = model.conditional_expected_purchases(i as f64 * factor, x, t_x, t)?;
        clv += monetary_value * (cum - prev) / (1.0 + monthly_discount_rate).powi(i as i32);
        prev = cum;
    }
    finite(clv, "the customer lifetime value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{CompiledRuleSet, EvalInput, RuleSet};
    use crate::value::parse_timestamp;
    use crate::{EventLog, Profile, Schema};

    fn model() -> ValueModel {
        ValueModel::from_json(&serde_json::json!({
            "version": 1,
            "purchase": {"model": "bgnbd", "r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
            "spend": {"p": 6.25, "q": 3.74, "gamma": 15.44}
        }))
        .unwrap()
    }

    #[test]
    fn scores_feed_rules() {
        let m = model();
        let opts = ScoreOptions::default();
        // Many purchases long ago: probably gone.
        let gone = m.score(10.0, 5.0, 39.0, 20.0, &opts).unwrap();
        let active = m.score(10.0, 38.5, 39.0, 20.0, &opts).unwrap();
        assert!(gone.p_alive < 0.3 && active.p_alive > 0.3);
        assert!(gone.clv.unwrap() < active.clv.unwrap());

        let rules = RuleSet::parse("segment churn_warning: score(\"p_alive\") < 0.3").unwrap();
        let compiled = CompiledRuleSet::compile(&rules, &Schema::default()).unwrap();
        let now = parse_timestamp("2026-01-01T00:00:00Z").unwrap();
        let log = EventLog::new(vec![]);
        for (s, want) in [(&gone, true), (&active, false)] {
            let mut p = Profile::new("u1");
            s.write_to(&mut p.scores);
            let got = compiled.evaluate(&EvalInput::new(&p, &log, now)).unwrap();
            assert_eq!(got, vec![want]);
        }
    }

    #[test]
    fn column_scores_match_scalar_scores() {
        let m = model();
        let purchase = m.purchase.as_ref().unwrap().model();
        let (x, tx, t) = (vec![0.0, 2.0, 7.0], vec![0.0, 30.43, 12.0], vec![38.86; 3]);
        let cols = score_columns(purchase, &RfColumns::new(&x, &tx, &t), 39.0).unwrap();
        for i in 0..3 {
            assert_eq!(
                cols.p_alive[i],
                purchase.p_alive(x[i], tx[i], t[i]).unwrap()
            );
            let e = purchase.conditional_expected_purchases(39.0, x[i], tx[i], t[i]);
            assert_eq!(cols.expected_purchases[i], e.unwrap());
        }
        let bad = score_columns(purchase, &RfColumns::new(&x, &[0.0, 40.0, 1.0], &t), 39.0);
        assert_eq!(bad.unwrap_err().path(), Some("[1].recency"));
    }

    #[test]
    fn document_round_trips_and_checks_version() {
        let m = model();
        assert_eq!(ValueModel::from_json(&m.to_json()).unwrap(), m);
        let mut v = m.to_json();
        v["version"] = serde_json::json!(2);
        assert_eq!(
            ValueModel::from_json(&v).unwrap_err().kind(),
            ErrorKind::InvalidState
        );
        let no_purchase = ValueModel {
            purchase: None,
            ..m
        };
        let e = no_purchase
            .score(1.0, 1.0, 2.0, 3.0, &ScoreOptions::default())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}
