//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").
//!
//! While active a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
//! after each purchase they drop out with probability p ~ Beta(a, b).

use super::fit::{fit_log_params_grad, RfGroups};
use super::special::{digamma, hyp2f1, ln_gamma, log_add_exp};
use super::{
    check_customer, check_params, check_purchase_data, finite, FitInfo, FitOptions, PurchaseModel,
    RfColumns,
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

    /// Fits by maximum likelihood (BFGS on log-parameters with the analytic
    /// gradient, from r = α = a = b = 1). Needs ≥ 2 customers and ≥ 1 repeat
    /// buyer.
    pub fn fit(data: &RfColumns<'_>, opts: &FitOptions) -> Result<(BgNbd, FitInfo)> {
        check_purchase_data(data)?;
        fit_from(&RfGroups::new(data), opts, &[0.0; 4])
    }
}

/// Fits from the log-parameters `start`.
pub(crate) fn fit_from(
    data: &RfGroups,
    opts: &FitOptions,
    start: &[f64],
) -> Result<(BgNbd, FitInfo)> {
    let mut ll = GroupedLikelihood::new(data, false);
    let (p, info) = fit_log_params_grad(data.customers, start, opts, |p, g| ll.eval(p, g))?;
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

/// The total BG/NBD (or MBG/NBD) log-likelihood over grouped data and its
/// gradient with respect to (r, α, a, b).
///
/// Per customer ln L = A(x) + ln(e^{a₃} + e^{a₄}) with
/// A(x) = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+k) − ln B(a, b),
/// a₃ = −(r+x) ln(α+T) and a₄ = ln a − ln(b+x−1+k) − (r+x) ln(α+t_x), where
/// k = 0 for BG/NBD (a₄ only when x > 0) and k = 1 for MBG/NBD (a₄ always).
/// With the softmax weights w₃, w₄ of a₃, a₄ the derivatives are
/// ∂/∂r = ψ(r+x) − ψ(r) + ln α − w₃ ln(α+T) − w₄ ln(α+t_x),
/// ∂/∂α = r/α − (r+x)(w₃/(α+T) + w₄/(α+t_x)),
/// ∂/∂a = ψ(a+b) − ψ(a+b+x+k) + w₄/a,
/// ∂/∂b = ψ(a+b) + ψ(b+x+k) − ψ(b) − ψ(a+b+x+k) − w₄/(b+x−1+k).
pub(crate) struct GroupedLikelihood<'a> {
    data: &'a RfGroups,
    shift: f64,
    ln_t: Vec<f64>,
    inv_t: Vec<f64>,
    ln_tx: Vec<f64>,
    inv_tx: Vec<f64>,
}

impl<'a> GroupedLikelihood<'a> {
    /// The BG/NBD likelihood, or MBG/NBD's when `modified`.
    pub fn new(data: &'a RfGroups, modified: bool) -> GroupedLikelihood<'a> {
        GroupedLikelihood {
            data,
            shift: if modified { 1.0 } else { 0.0 },
            ln_t: vec![0.0; data.age.len()],
            inv_t: vec![0.0; data.age.len()],
            ln_tx: vec![0.0; data.recency.len()],
            inv_tx: vec![0.0; data.recency.len()],
        }
    }

    /// Σ wᵢ ln Lᵢ at `p` = (r, α, a, b); writes the gradient into `grad`.
    pub fn eval(&mut self, p: &[f64], grad: &mut [f64]) -> f64 {
        let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
        let k = self.shift;
        for (i, t) in self.data.age.iter().enumerate() {
            self.ln_t[i] = (alpha + t).ln();
            self.inv_t[i] = 1.0 / (alpha + t);
        }
        for (i, t) in self.data.recency.iter().enumerate() {
            self.ln_tx[i] = (alpha + t).ln();
            self.inv_tx[i] = 1.0 / (alpha + t);
        }
        let (ln_a, ln_alpha) = (a.ln(), alpha.ln());
        let (lg_r, lg_b, lg_ab) = (ln_gamma(r), ln_gamma(b), ln_gamma(a + b));
        let (dg_r, dg_b, dg_ab) = (digamma(r), digamma(b), digamma(a + b));
        let mut total = 0.0;
        let mut g = [0.0f64; 4];
        for grp in &self.data.groups {
            let x = grp.x;
            let rx = r + x;
            let bx = b + x + k;
            let abx = a + bx;
            let lg =
                ln_gamma(rx) - lg_r + r * ln_alpha + lg_ab + ln_gamma(bx) - lg_b - ln_gamma(abx);
            let dg_abx = digamma(abx);
            let dr = digamma(rx) - dg_r + ln_alpha;
            let da = dg_ab - dg_abx;
            let db = dg_ab + digamma(bx) - dg_b - dg_abx;
            // a₄'s constant part; −∞ means a₄ is absent (BG/NBD with x = 0).
            let c4 = if x > 0.0 || k > 0.0 {
                ln_a - (bx - 1.0).ln()
            } else {
                f64::NEG_INFINITY
            };
            let (mut s_ll, mut s_ln, mut s_inv, mut s_w4) = (0.0, 0.0, 0.0, 0.0);
            for row in &self.data.rows[grp.rows.clone()] {
                let a3 = -rx * self.ln_t[row.t];
                let a4 = c4 - rx * self.ln_tx[row.tx];
                let d = a4 - a3;
                // ln(e^{a₃} + e^{a₄}) and w₄ = e^{a₄} / (e^{a₃} + e^{a₄}), stably.
                let (l, w4) = if d > 0.0 {
                    let e = (-d).exp();
                    (a4 + e.ln_1p(), 1.0 / (1.0 + e))
                } else {
                    let e = d.exp();
                    (a3 + e.ln_1p(), e / (1.0 + e))
                };
                let w3 = 1.0 - w4;
                let w = row.weight;
                s_ll += w * l;
                s_ln += w * (w3 * self.ln_t[row.t] + w4 * self.ln_tx[row.tx]);
                s_inv += w * (w3 * self.inv_t[row.t] + w4 * self.inv_tx[row.tx]);
                s_w4 += w * w4;
            }
            let n = grp.weight;
            total += n * lg + s_ll;
            g[0] += n * dr - s_ln;
            g[1] += n * r / alpha - rx * s_inv;
            g[2] += n * da;
            g[3] += n * db;
            if c4 > f64::NEG_INFINITY {
                // (BG/NBD's one-time buyers have no a₄; b − 1 may be 0 there.)
                g[2] += s_w4 / a;
                g[3] -= s_w4 / (bx - 1.0);
            }
        }
        grad[..4].copy_from_slice(&g);
        total
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

    /// The 80 customers simulated from a BG/NBD process in the `clv` fit
    /// conformance vectors (repeated rows, one-time buyers, an interior MLE).
    pub(crate) fn sample() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../conformance/clv/fit.json")).unwrap();
        let col = |k: &str| -> Vec<f64> {
            doc[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        (col("frequency"), col("recency"), col("T"))
    }

    #[test]
    fn grouped_likelihood_and_gradient_match_the_per_customer_sum() {
        use crate::clv::fit::testing::{assert_gradients_agree, numeric_gradient};
        let (x, tx, t) = sample();
        let groups = RfGroups::new(&RfColumns::new(&x, &tx, &t));
        for modified in [false, true] {
            let mut lik = GroupedLikelihood::new(&groups, modified);
            let plain = |p: &[f64]| -> f64 {
                (0..x.len())
                    .map(|i| {
                        if modified {
                            let m = crate::clv::MbgNbd {
                                r: p[0],
                                alpha: p[1],
                                a: p[2],
                                b: p[3],
                            };
                            m.log_likelihood(x[i], tx[i], t[i]).unwrap()
                        } else {
                            ll(p[0], p[1], p[2], p[3], x[i], tx[i], t[i])
                        }
                    })
                    .sum()
            };
            for p in [
                [0.243, 4.414, 0.793, 2.426],
                [1.0, 1.0, 1.0, 1.0],
                [3.0, 0.2, 5.0, 0.3],
                [0.05, 40.0, 0.1, 12.0],
            ] {
                let mut g = [0.0; 4];
                let v = lik.eval(&p, &mut g);
                let want = plain(&p);
                assert!((v - want).abs() <= 1e-10 * want.abs(), "{v} vs {want}");
                assert_gradients_agree(&g, &numeric_gradient(plain, &p), 1e-6);
            }
        }
    }

    #[test]
    fn fit_converges_from_several_starting_points() {
        let (x, tx, t) = sample();
        let groups = RfGroups::new(&RfColumns::new(&x, &tx, &t));
        let opts = FitOptions::default();
        let (base, base_info) = fit_from(&groups, &opts, &[0.0; 4]).unwrap();
        assert!(
            base_info.converged && base_info.evaluations < 200,
            "{base_info:?}"
        );
        for start in [
            [-2.0, 2.0, -1.0, 1.0],
            [1.0, -1.0, 1.0, -1.0],
            [0.5, 3.0, -0.5, 2.0],
            [-1.0, -1.0, -1.0, -1.0],
        ] {
            let (m, info) = fit_from(&groups, &opts, &start).unwrap();
            assert!(
                info.converged && info.evaluations < 300,
                "{start:?} {info:?}"
            );
            assert!(
                (info.log_likelihood - base_info.log_likelihood).abs() < 1e-8,
                "{start:?}: {} vs {}",
                info.log_likelihood,
                base_info.log_likelihood
            );
            for (a, b) in [
                (m.r, base.r),
                (m.alpha, base.alpha),
                (m.a, base.a),
                (m.b, base.b),
            ] {
                assert!((a - b).abs() <= 1e-4 * b, "{start:?}: {m:?} vs {base:?}");
            }
        }
    }

    #[test]
    fn penalized_fit_is_a_stationary_point_of_the_penalized_objective() {
        use crate::clv::fit::testing::numeric_gradient;
        let (x, tx, t) = sample();
        let data = RfColumns::new(&x, &tx, &t);
        let pen = 0.05;
        let opts = FitOptions {
            penalizer: pen,
            ..Default::default()
        };
        let (m, info) = BgNbd::fit(&data, &opts).unwrap();
        let (plain, _) = BgNbd::fit(&data, &FitOptions::default()).unwrap();
        assert!(info.converged);
        let objective = |lp: &[f64]| -> f64 {
            let p: Vec<f64> = lp.iter().map(|v| v.exp()).collect();
            let total: f64 = (0..x.len())
                .map(|i| ll(p[0], p[1], p[2], p[3], x[i], tx[i], t[i]))
                .sum();
            -total / x.len() as f64 + pen * p.iter().map(|v| v * v).sum::<f64>()
        };
        let at = [m.r.ln(), m.alpha.ln(), m.a.ln(), m.b.ln()];
        let g = numeric_gradient(objective, &at);
        assert!(g.iter().all(|v| v.abs() < 1e-6), "{g:?}");
        // The penalty shrinks the parameters' sum of squares.
        let ss = |m: &BgNbd| m.r * m.r + m.alpha * m.alpha + m.a * m.a + m.b * m.b;
        assert!(ss(&m) < ss(&plain), "{m:?} vs {plain:?}");
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
