//! The MBG/NBD model (Batislam, Denizel & Filiztekin 2007): BG/NBD where a
//! customer may also drop out right after their first purchase, so a customer
//! with no repeat purchases is not assumed alive.

use super::bgnbd::{check_a, check_horizon, GroupedLikelihood};
use super::fit::{fit_log_params_grad, RfGroups};
use super::special::{hyp2f1, ln_gamma, log_add_exp};
use super::{
    check_customer, check_params, check_purchase_data, finite, FitInfo, FitOptions, PurchaseModel,
    RfColumns,
};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Fitted MBG/NBD parameters (same meaning as [`super::BgNbd`]'s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MbgNbd {
    /// Gamma shape of the purchase rate.
    pub r: f64,
    /// Gamma scale of the purchase rate, in time units.
    pub alpha: f64,
    /// Beta parameter a of the drop-out probability.
    pub a: f64,
    /// Beta parameter b of the drop-out probability.
    pub b: f64,
}

impl MbgNbd {
    /// Checks every parameter is finite and > 0.
    pub fn validate(&self) -> Result<()> {
        check_params(&[
            ("r", self.r),
            ("alpha", self.alpha),
            ("a", self.a),
            ("b", self.b),
        ])
    }

    /// Fits by maximum likelihood (BFGS on log-parameters with the analytic
    /// gradient shared with BG/NBD). Needs ≥ 2 customers and ≥ 1 repeat buyer.
    pub fn fit(data: &RfColumns<'_>, opts: &FitOptions) -> Result<(MbgNbd, FitInfo)> {
        check_purchase_data(data)?;
        let groups = RfGroups::new(data);
        let mut ll = GroupedLikelihood::new(&groups, true);
        let (p, info) =
            fit_log_params_grad(groups.customers, &[0.0; 4], opts, |p, g| ll.eval(p, g))?;
        Ok((
            MbgNbd {
                r: p[0],
                alpha: p[1],
                a: p[2],
                b: p[3],
            },
            info,
        ))
    }
}

fn ll(r: f64, alpha: f64, a: f64, b: f64, x: f64, tx: f64, t: f64) -> f64 {
    ll_x(r, alpha, a, b, x) + ll_rest(r, alpha, a, b, x, tx, t)
}

/// The terms of ln L that depend on x only.
fn ll_x(r: f64, alpha: f64, a: f64, b: f64, x: f64) -> f64 {
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_gamma(a + b) + ln_gamma(b + x + 1.0) - ln_gamma(b) - ln_gamma(a + b + x + 1.0);
    a1 + a2
}

fn ll_rest(r: f64, alpha: f64, a: f64, b: f64, x: f64, tx: f64, t: f64) -> f64 {
    let a3 = -(r + x) * (alpha + t).ln();
    let a4 = a.ln() - (b + x).ln() - (r + x) * (alpha + tx).ln();
    log_add_exp(a3, a4)
}

impl PurchaseModel for MbgNbd {
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.validate()?;
        check_customer(x, t_x, t)?;
        finite(
            ll(self.r, self.alpha, self.a, self.b, x, t_x, t),
            "the log-likelihood",
        )
    }

    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.validate()?;
        check_customer(x, t_x, t)?;
        let ln_odds = self.a.ln() - (self.b + x).ln()
            + (self.r + x) * ((self.alpha + t).ln() - (self.alpha + t_x).ln());
        finite(1.0 / (1.0 + ln_odds.exp()), "P(alive)")
    }

    fn expected_purchases(&self, t: f64) -> Result<f64> {
        self.validate()?;
        check_horizon(t)?;
        check_a(self.a)?;
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let f = hyp2f1(r, b + 1.0, a + b, t / (alpha + t));
        let v = (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * f);
        finite(v, "the expected purchases")
    }

    fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> Result<f64> {
        self.validate()?;
        check_customer(x, t_x, big_t)?;
        check_horizon(t)?;
        check_a(self.a)?;
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let f = hyp2f1(r + x, b + x + 1.0, a + b + x, t / (alpha + big_t + t));
        let first = (a + b + x) / (a - 1.0);
        let second = 1.0 - f * ((alpha + big_t) / (alpha + big_t + t)).powf(r + x);
        let den = 1.0 + a / (b + x) * ((alpha + big_t) / (alpha + t_x)).powf(r + x);
        finite(first * second / den, "the conditional expected purchases")
    }
}
