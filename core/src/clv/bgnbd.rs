//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").
//!
//! While active a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
//! after each purchase they drop out with probability p ~ Beta(a, b).

use super::special::{hyp2f1, ln_gamma, log_add_exp};
use super::{
    check_customer, check_params, check_purchase_data, compress, finite, fit_log_params, FitInfo,
    FitOptions, PurchaseModel, RfColumns,
};
use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// Fitted BG/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgNbd {
    /// Gamma shape of the purchase rate.
    pub r: f64,
    /// Gamma scale (rate denominator) of the purchase rate, in time units.
    pub alpha: f64,
    /// Beta parameter a of the drop-out probability.
    pub a: f64,
    /// Beta parameter b of the drop-out probability.
    pub b: f64,
}

impl BgNbd {
    /// Checks every parameter is finite and > 0.
    pub fn validate(&self) -> Result<()> {
        check_params(&[
            ("r", self.r),
            ("alpha", self.alpha),
            ("a", self.a),
            ("b", self.b),
        ])
    }

    /// Fits by maximum likelihood. Needs ≥ 2 customers and ≥ 1 repeat buyer.
    pub fn fit(data: &RfColumns<'_>, opts: &FitOptions) -> Result<(BgNbd, FitInfo)> {
        check_purchase_data(data)?;
        let rows = compress(data);
        let (p, info) = fit_log_params(
            &rows,
            4,
            opts,
            |p, x| ll_x(p[0], p[1], p[2], p[3], x),
            |p, x, tx, t| ll_rest(p[0], p[1], p[2], p[3], x, tx, t),
        )?;
        Ok((
            BgNbd {
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
    let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
    a1 + a2
}

fn ll_rest(r: f64, alpha: f64, a: f64, b: f64, x: f64, tx: f64, t: f64) -> f64 {
    let a3 = -(r + x) * (alpha + t).ln();
    let a4 = if x > 0.0 {
        a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + tx).ln()
    } else {
        f64::NEG_INFINITY
    };
    log_add_exp(a3, a4)
}

impl PurchaseModel for BgNbd {
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
        if x == 0.0 {
            return Ok(1.0);
        }
        let ln_odds = self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((self.alpha + t).ln() - (self.alpha + t_x).ln());
        finite(1.0 / (1.0 + ln_odds.exp()), "P(alive)")
    }

    fn expected_purchases(&self, t: f64) -> Result<f64> {
        self.validate()?;
        check_horizon(t)?;
        check_a(self.a)?;
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let f = hyp2f1(r, b, a + b - 1.0, t / (alpha + t));
        let v = (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * f);
        finite(v, "the expected purchases")
    }

    fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> Result<f64> {
        self.validate()?;
        check_customer(x, t_x, big_t)?;
        check_horizon(t)?;
        check_a(self.a)?;
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let f = hyp2f1(r + x, b + x, a + b + x - 1.0, t / (alpha + big_t + t));
        let first = (a + b + x - 1.0) / (a - 1.0);
        let second = 1.0 - f * ((alpha + big_t) / (alpha + big_t + t)).powf(r + x);
        let den = if x > 0.0 {
            1.0 + a / (b + x - 1.0) * ((alpha + big_t) / (alpha + t_x)).powf(r + x)
        } else {
            1.0
        };
        finite(first * second / den, "the conditional expected purchases")
    }
}

/// A prediction horizon must be a finite number ≥ 0.
pub(crate) fn check_horizon(t: f64) -> Result<()> {
    if !t.is_finite() || t < 0.0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("the horizon t must be a finite number ≥ 0, got {t}"),
        )
        .with_path("t"));
    }
    Ok(())
}

/// The expectation formulas divide by a − 1.
pub(crate) fn check_a(a: f64) -> Result<()> {
    if (a - 1.0).abs() < 1e-12 {
        return Err(Error::new(
            ErrorKind::NumericDomain,
            "expected purchases are undefined for a = 1 (the formula divides by a − 1)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fhl() -> BgNbd {
        BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        }
    }

    #[test]
    fn published_conditional_expectation() {
        // Fader, Hardie & Lee (2005), §5: E[Y(39) | 2, 30.43, 38.86] = 1.226.
        let e = fhl()
            .conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)
            .unwrap();
        assert!((e - 1.226).abs() < 5e-4, "{e}");
    }

    #[test]
    fn zero_horizon_and_inactive_limits() {
        let m = fhl();
        assert_eq!(
            m.conditional_expected_purchases(0.0, 3.0, 10.0, 20.0)
                .unwrap(),
            0.0
        );
        assert_eq!(m.expected_purchases(0.0).unwrap(), 0.0);
        assert_eq!(m.p_alive(0.0, 0.0, 10.0).unwrap(), 1.0);
        // A long silence after many purchases makes drop-out likely.
        let recent = m.p_alive(10.0, 38.0, 39.0).unwrap();
        let stale = m.p_alive(10.0, 5.0, 39.0).unwrap();
        assert!(stale < recent && stale < 0.1, "{stale} {recent}");
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let m = fhl();
        assert_eq!(
            m.p_alive(-1.0, 0.0, 1.0).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            m.p_alive(1.0, 5.0, 1.0).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let bad = BgNbd { r: -1.0, ..m };
        assert_eq!(
            bad.p_alive(1.0, 1.0, 2.0).unwrap_err().kind(),
            ErrorKind::InvalidModel
        );
        let unit = BgNbd { a: 1.0, ..m };
        assert_eq!(
            unit.expected_purchases(1.0).unwrap_err().kind(),
            ErrorKind::NumericDomain
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn scores_are_probabilities_and_monotone(
                r in 0.05f64..5.0, alpha in 0.1f64..50.0, a in 0.05f64..5.0, b in 0.05f64..10.0,
                x in 0u32..40, frac in 0.01f64..1.0, big_t in 0.5f64..100.0, t in 0.0f64..100.0,
            ) {
                prop_assume!((a - 1.0).abs() > 1e-3);
                let m = BgNbd { r, alpha, a, b };
                let x = x as f64;
                let t_x = if x == 0.0 { 0.0 } else { frac * big_t };
                let p = m.p_alive(x, t_x, big_t).unwrap();
                prop_assert!((0.0..=1.0).contains(&p));
                let e1 = m.conditional_expected_purchases(t, x, t_x, big_t).unwrap();
                let e2 = m.conditional_expected_purchases(t + 1.0, x, t_x, big_t).unwrap();
                prop_assert!(e1 >= -1e-9 && e2 >= e1 - 1e-9 * e1.abs().max(1.0), "{e1} {e2}");
                prop_assert!(m.log_likelihood(x, t_x, big_t).unwrap().is_finite());
            }
        }
    }
}
