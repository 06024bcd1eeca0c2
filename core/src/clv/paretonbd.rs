//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with the
//! likelihood of Fader & Hardie's note "A Note on Deriving the Pareto/NBD Model
//! and Related Expressions" (2005).
//!
//! While active a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
//! their lifetime is exponential with rate μ ~ Gamma(s, β).

use super::bgnbd::check_horizon;
use super::fit::{fit_log_params_grad, with_central_differences};
use super::special::{ln_gamma, ln_hyp2f1, log_add_exp, log_sub_exp};
use super::{
    check_customer, check_params, check_purchase_data, compress, finite, FitInfo, FitOptions,
    PurchaseModel, RfColumns,
};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Fitted Pareto/NBD parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParetoNbd {
    /// Gamma shape of the purchase rate.
    pub r: f64,
    /// Gamma scale of the purchase rate, in time units.
    pub alpha: f64,
    /// Gamma shape of the drop-out rate.
    pub s: f64,
    /// Gamma scale of the drop-out rate, in time units.
    pub beta: f64,
}

impl ParetoNbd {
    /// Checks every parameter is finite and > 0.
    pub fn validate(&self) -> Result<()> {
        check_params(&[
            ("r", self.r),
            ("alpha", self.alpha),
            ("s", self.s),
            ("beta", self.beta),
        ])
    }

    /// Fits by maximum likelihood. Needs ≥ 2 customers and ≥ 1 repeat buyer.
    pub fn fit(data: &RfColumns<'_>, opts: &FitOptions) -> Result<(ParetoNbd, FitInfo)> {
        check_purchase_data(data)?;
        let rows = compress(data);
        let customers: f64 = rows.iter().map(|(_, w)| w).sum();
        let total = |p: &[f64]| -> f64 {
            let mut s = 0.0;
            let mut last = (f64::NAN, 0.0);
            for (r, w) in &rows {
                if r[0] != last.0 {
                    last = (r[0], ll_x(p[0], p[1], p[2], p[3], r[0]));
                }
                s += w * (last.1 + ll_rest(p[0], p[1], p[2], p[3], r[0], r[1], r[2]));
            }
            s
        };
        let (p, info) = fit_log_params_grad(customers, &[0.0; 4], opts, |p, g| {
            with_central_differences(&total, p, g)
        })?;
        Ok((
            ParetoNbd {
                r: p[0],
                alpha: p[1],
                s: p[2],
                beta: p[3],
            },
            info,
        ))
    }
}

/// ln A₀ of Fader & Hardie's note: the integral over drop-out times between t_x and T.
fn ln_a0(r: f64, alpha: f64, s: f64, beta: f64, x: f64, tx: f64, t: f64) -> f64 {
    let (max, min, b2) = if alpha >= beta {
        (alpha, beta, s + 1.0)
    } else {
        (beta, alpha, r + x)
    };
    let rsx = r + s + x;
    let d = max - min;
    let l1 = ln_hyp2f1(rsx, b2, rsx + 1.0, d / (max + tx)) - rsx * (max + tx).ln();
    let l2 = ln_hyp2f1(rsx, b2, rsx + 1.0, d / (max + t)) - rsx * (max + t).ln();
    // l1 ≥ l2 mathematically; rounding can flip equal terms.
    if l1 <= l2 {
        f64::NEG_INFINITY
    } else {
        log_sub_exp(l1, l2)
    }
}

fn ll(r: f64, alpha: f64, s: f64, beta: f64, x: f64, tx: f64, t: f64) -> f64 {
    ll_x(r, alpha, s, beta, x) + ll_rest(r, alpha, s, beta, x, tx, t)
}

/// The terms of ln L that depend on x only.
fn ll_x(r: f64, alpha: f64, s: f64, beta: f64, x: f64) -> f64 {
    ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
}

fn ll_rest(r: f64, alpha: f64, s: f64, beta: f64, x: f64, tx: f64, t: f64) -> f64 {
    let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
    let died = s.ln() - (r + s + x).ln() + ln_a0(r, alpha, s, beta, x, tx, t);
    log_add_exp(alive, died)
}

impl ParetoNbd {
    fn p_alive_raw(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let ln_odds = s.ln() - (r + s + x).ln()
            + (r + x) * (alpha + t).ln()
            + s * (beta + t).ln()
            + ln_a0(r, alpha, s, beta, x, t_x, t);
        1.0 / (1.0 + ln_odds.exp())
    }
}

/// (1 − yᵏ)/k, continuous at k = 0 (where it is −ln y).
fn one_minus_pow_over(y: f64, k: f64) -> f64 {
    if k.abs() < 1e-12 {
        -y.ln()
    } else {
        -(k * y.ln()).exp_m1() / k
    }
}

impl PurchaseModel for ParetoNbd {
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.validate()?;
        check_customer(x, t_x, t)?;
        finite(
            ll(self.r, self.alpha, self.s, self.beta, x, t_x, t),
            "the log-likelihood",
        )
    }

    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.validate()?;
        check_customer(x, t_x, t)?;
        finite(self.p_alive_raw(x, t_x, t), "P(alive)")
    }

    fn expected_purchases(&self, t: f64) -> Result<f64> {
        self.validate()?;
        check_horizon(t)?;
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let v = r * beta / alpha * one_minus_pow_over(beta / (beta + t), s - 1.0);
        finite(v, "the expected purchases")
    }

    fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, big_t: f64) -> Result<f64> {
        self.validate()?;
        check_customer(x, t_x, big_t)?;
        check_horizon(t)?;
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let rate = (r + x) * (beta + big_t) / (alpha + big_t);
        let v = rate
            * one_minus_pow_over((beta + big_t) / (beta + big_t + t), s - 1.0)
            * self.p_alive_raw(x, t_x, big_t);
        finite(v, "the conditional expected purchases")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_customer_likelihood_matches_direct_integral() {
        // With alpha = beta the hypergeometric terms are 1 and A₀ has a closed form.
        let m = ParetoNbd {
            r: 0.5,
            alpha: 2.0,
            s: 0.7,
            beta: 2.0,
        };
        let (x, tx, t): (f64, f64, f64) = (2.0, 3.0, 5.0);
        let rsx = m.r + m.s + x;
        let a0 = (m.alpha + tx).powf(-rsx) - (m.alpha + t).powf(-rsx);
        let l = (ln_gamma(m.r + x) - ln_gamma(m.r)).exp()
            * m.alpha.powf(m.r)
            * m.beta.powf(m.s)
            * ((m.alpha + t).powf(-(m.r + x)) * (m.beta + t).powf(-m.s) + m.s / rsx * a0);
        let got = m.log_likelihood(x, tx, t).unwrap();
        assert!((got - l.ln()).abs() < 1e-12, "{got} vs {}", l.ln());
    }

    #[test]
    fn p_alive_is_one_at_last_purchase_now() {
        let m = ParetoNbd {
            r: 0.553,
            alpha: 10.578,
            s: 0.606,
            beta: 11.669,
        };
        assert!((m.p_alive(3.0, 20.0, 20.0).unwrap() - 1.0).abs() < 1e-12);
        assert!(m.p_alive(3.0, 2.0, 40.0).unwrap() < m.p_alive(3.0, 30.0, 40.0).unwrap());
        let e = m
            .conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)
            .unwrap();
        assert!(e > 0.5 && e < 2.0, "{e}");
    }
}
