//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using
//! Iso-Value Curves for Customer Base Analysis"; Fader & Hardie's note "The
//! Gamma-Gamma Model of Monetary Value").
//!
//! Each transaction's value is Gamma(p, ν) with ν ~ Gamma(q, γ) across customers,
//! so a customer's mean spend is pulled toward the population mean pγ/(q−1) the
//! fewer purchases they have.

use super::fit::fit_log_params_grad;
use super::special::{digamma, ln_gamma};
use super::{check_params, finite, FitInfo, FitOptions};
use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// Fitted Gamma-Gamma parameters (`gamma` is `v` in `lifetimes`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GammaGamma {
    /// Shape of the per-transaction spend.
    pub p: f64,
    /// Shape of the customers' spend-scale distribution.
    pub q: f64,
    /// Scale of the customers' spend-scale distribution.
    pub gamma: f64,
}

impl GammaGamma {
    /// Checks every parameter is finite and > 0.
    pub fn validate(&self) -> Result<()> {
        check_params(&[("p", self.p), ("q", self.q), ("gamma", self.gamma)])
    }

    /// Fits by maximum likelihood on repeat buyers.
    ///
    /// `frequency[i]` is the number of repeat purchases x and `monetary_value[i]`
    /// their mean value. Rows with x = 0 or a zero mean carry no information
    /// about spend and are skipped; [`FitInfo::customers`] counts the rows used.
    /// Needs at least two informative rows, else `NUMERIC_DOMAIN`; negative or
    /// non-finite values are `INVALID_ARGUMENT`.
    pub fn fit(
        frequency: &[f64],
        monetary_value: &[f64],
        opts: &FitOptions,
    ) -> Result<(GammaGamma, FitInfo)> {
        if frequency.len() != monetary_value.len() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "frequency and monetary_value must have equal lengths (got {} and {})",
                    frequency.len(),
                    monetary_value.len()
                ),
            ));
        }
        let mut rows: Vec<(f64, f64)> = Vec::new();
        for (i, (&x, &m)) in frequency.iter().zip(monetary_value).enumerate() {
            check_spend(x, m).map_err(|e| e.prefix_path(&format!("[{i}]")))?;
            if x > 0.0 && m > 0.0 {
                rows.push((x, m));
            }
        }
        if rows.len() < 2 {
            return Err(Error::new(
                ErrorKind::NumericDomain,
                format!(
                    "the Gamma-Gamma model needs at least 2 repeat buyers with positive spend, got {}",
                    rows.len()
                ),
            ));
        }
        if rows.iter().all(|r| r.1 == rows[0].1) {
            return Err(Error::new(
                ErrorKind::NumericDomain,
                "every repeat buyer has the same mean spend; the Gamma-Gamma model is not identified",
            ));
        }
        fit_from(&SpendGroups::new(rows), opts, &[0.0; 3])
    }

    /// ln L of one customer's mean spend `m` over `x` > 0 repeat purchases.
    pub fn log_likelihood(&self, x: f64, m: f64) -> Result<f64> {
        self.validate()?;
        check_spend(x, m)?;
        if x == 0.0 || m == 0.0 {
            return Err(Error::new(
                ErrorKind::NumericDomain,
                "the spend likelihood needs x > 0 and a positive mean spend",
            ));
        }
        finite(ll(self.p, self.q, self.gamma, x, m), "the log-likelihood")
    }

    /// The population mean spend per transaction, pγ/(q − 1) (needs q > 1).
    pub fn mean_spend(&self) -> Result<f64> {
        self.validate()?;
        if self.q <= 1.0 {
            return Err(Error::new(
                ErrorKind::NumericDomain,
                format!("the mean spend is infinite for q ≤ 1 (q = {})", self.q),
            ));
        }
        finite(self.p * self.gamma / (self.q - 1.0), "the mean spend")
    }

    /// E[M | x, m_x] = p(γ + x·m_x)/(p·x + q − 1): the customer's expected
    /// average transaction value, a weighted mean of the population mean and
    /// their observed mean (the population mean for x = 0). Needs q > 1.
    pub fn conditional_expected_average_value(&self, x: f64, m: f64) -> Result<f64> {
        self.mean_spend()?;
        check_spend(x, m)?;
        let v = self.p * (self.gamma + x * m) / (self.p * x + self.q - 1.0);
        finite(v, "the expected average value")
    }
}

/// Fits from the log-parameters `start` (BFGS with the analytic gradient).
fn fit_from(data: &SpendGroups, opts: &FitOptions, start: &[f64]) -> Result<(GammaGamma, FitInfo)> {
    let (p, info) = fit_log_params_grad(data.customers, start, opts, |p, g| data.eval(p, g))?;
    Ok((
        GammaGamma {
            p: p[0],
            q: p[1],
            gamma: p[2],
        },
        info,
    ))
}

/// Repeat buyers grouped by x, with the parameter-free terms summed once.
#[derive(Debug, Clone, PartialEq)]
struct SpendGroups {
    /// Per distinct x: (x, count, Σ ln m, range into `spend`).
    groups: Vec<(f64, f64, f64, std::ops::Range<usize>)>,
    /// Per customer: x·m, in x order.
    spend: Vec<f64>,
    customers: f64,
}

impl SpendGroups {
    fn new(mut rows: Vec<(f64, f64)>) -> SpendGroups {
        rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut groups: Vec<(f64, f64, f64, std::ops::Range<usize>)> = Vec::new();
        let mut spend = Vec::with_capacity(rows.len());
        for (i, &(x, m)) in rows.iter().enumerate() {
            match groups.last_mut() {
                Some(g) if g.0 == x => {
                    g.1 += 1.0;
                    g.2 += m.ln();
                    g.3.end = i + 1;
                }
                _ => groups.push((x, 1.0, m.ln(), i..i + 1)),
            }
            spend.push(x * m);
        }
        SpendGroups {
            groups,
            spend,
            customers: rows.len() as f64,
        }
    }

    /// Σ ln L at (p, q, γ) and its gradient. Per customer
    /// ln L = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + px ln x + (px−1) ln m
    ///        − (px+q) ln(γ + x m),
    /// so ∂/∂p = x(ψ(px+q) − ψ(px) + ln x + ln m − ln(γ+xm)),
    /// ∂/∂q = ψ(px+q) − ψ(q) + ln γ − ln(γ+xm) and ∂/∂γ = q/γ − (px+q)/(γ+xm).
    fn eval(&self, par: &[f64], grad: &mut [f64]) -> f64 {
        let (p, q, g) = (par[0], par[1], par[2]);
        let (lg_q, dg_q, ln_g) = (ln_gamma(q), digamma(q), g.ln());
        let mut total = 0.0;
        let mut d = [0.0f64; 3];
        for (x, n, sum_ln_m, range) in &self.groups {
            let (x, n) = (*x, *n);
            let px = p * x;
            let (mut s_ln, mut s_inv) = (0.0, 0.0);
            for xm in &self.spend[range.clone()] {
                s_ln += (g + xm).ln();
                s_inv += 1.0 / (g + xm);
            }
            let dg_pxq = digamma(px + q);
            total += n * (ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_g + px * x.ln())
                + (px - 1.0) * sum_ln_m
                - (px + q) * s_ln;
            d[0] += x * (n * (dg_pxq - digamma(px) + x.ln()) + sum_ln_m - s_ln);
            d[1] += n * (dg_pxq - dg_q + ln_g) - s_ln;
            d[2] += n * q / g - (px + q) * s_inv;
        }
        grad[..3].copy_from_slice(&d);
        total
    }
}

fn check_spend(x: f64, m: f64) -> Result<()> {
    if !x.is_finite() || x < 0.0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("frequency must be a finite number ≥ 0, got {x}"),
        )
        .with_path("frequency"));
    }
    if !m.is_finite() || m < 0.0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("monetary_value must be a finite number ≥ 0, got {m}"),
        )
        .with_path("monetary_value"));
    }
    Ok(())
}

fn ll(p: f64, q: f64, g: f64, x: f64, m: f64) -> f64 {
    ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
        + q * g.ln()
        + p * x * x.ln()
        + (p * x - 1.0) * m.ln()
        - (p * x + q) * (g + x * m).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_value_is_a_weighted_mean() {
        let g = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let pop = g.mean_spend().unwrap();
        assert!((pop - 6.25 * 15.44 / 2.74).abs() < 1e-12);
        assert!((g.conditional_expected_average_value(0.0, 0.0).unwrap() - pop).abs() < 1e-12);
        let e = g.conditional_expected_average_value(5.0, 100.0).unwrap();
        let w = 6.25 * 5.0 / (6.25 * 5.0 + 2.74);
        assert!((e - (w * 100.0 + (1.0 - w) * pop)).abs() < 1e-9);
    }

    /// The 49 repeat buyers of the `clv` fit conformance vectors.
    fn sample() -> Vec<(f64, f64)> {
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
        let (x, m) = (col("frequency"), col("monetary_value"));
        x.into_iter()
            .zip(m)
            .filter(|&(x, m)| x > 0.0 && m > 0.0)
            .collect()
    }

    #[test]
    fn grouped_likelihood_and_gradient_match_the_per_customer_sum() {
        use crate::clv::fit::testing::{assert_gradients_agree, numeric_gradient};
        let rows = sample();
        let groups = SpendGroups::new(rows.clone());
        let plain =
            |p: &[f64]| -> f64 { rows.iter().map(|&(x, m)| ll(p[0], p[1], p[2], x, m)).sum() };
        for p in [
            [6.25, 3.74, 15.44],
            [1.0, 1.0, 1.0],
            [0.3, 12.0, 200.0],
            [40.0, 0.5, 0.05],
        ] {
            let mut g = [0.0; 3];
            let v = groups.eval(&p, &mut g);
            let want = plain(&p);
            assert!((v - want).abs() <= 1e-10 * want.abs(), "{v} vs {want}");
            assert_gradients_agree(&g, &numeric_gradient(plain, &p), 1e-6);
        }
    }

    #[test]
    fn fit_converges_from_several_starting_points() {
        let groups = SpendGroups::new(sample());
        let opts = FitOptions::default();
        let (base, base_info) = fit_from(&groups, &opts, &[0.0; 3]).unwrap();
        assert!(
            base_info.converged && base_info.evaluations < 200,
            "{base_info:?}"
        );
        for start in [
            [-2.0, 2.0, 1.0],
            [2.0, -1.0, 4.0],
            [0.5, 0.5, -2.0],
            [3.0, 3.0, 3.0],
        ] {
            let (m, info) = fit_from(&groups, &opts, &start).unwrap();
            assert!(
                info.converged && info.evaluations < 300,
                "{start:?} {info:?}"
            );
            assert!((info.log_likelihood - base_info.log_likelihood).abs() < 1e-8);
            for (a, b) in [(m.p, base.p), (m.q, base.q), (m.gamma, base.gamma)] {
                assert!((a - b).abs() <= 1e-4 * b, "{start:?}: {m:?} vs {base:?}");
            }
        }
    }

    #[test]
    fn degenerate_spend_is_an_error() {
        let opts = FitOptions::default();
        let e = GammaGamma::fit(&[1.0, 2.0], &[0.0, 0.0], &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NumericDomain);
        let e = GammaGamma::fit(&[1.0, 2.0], &[5.0, -1.0], &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.path(), Some("[1].monetary_value"));
        let e = GammaGamma::fit(&[0.0, 0.0], &[0.0, 0.0], &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NumericDomain);
    }
}
