//! The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using
//! Iso-Value Curves for Customer Base Analysis"; Fader & Hardie's note "The
//! Gamma-Gamma Model of Monetary Value").
//!
//! Each transaction's value is Gamma(p, ν) with ν ~ Gamma(q, γ) across customers,
//! so a customer's mean spend is pulled toward the population mean pγ/(q−1) the
//! fewer purchases they have.

use super::special::ln_gamma;
use super::{check_params, finite, fit_log_params, FitInfo, FitOptions};
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
        let mut rows: Vec<([f64; 3], f64)> = Vec::new();
        for (i, (&x, &m)) in frequency.iter().zip(monetary_value).enumerate() {
            check_spend(x, m).map_err(|e| e.prefix_path(&format!("[{i}]")))?;
            if x > 0.0 && m > 0.0 {
                rows.push(([x, m, 0.0], 1.0));
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
        if rows.iter().all(|(r, _)| r[1] == rows[0].0[1]) {
            return Err(Error::new(
                ErrorKind::NumericDomain,
                "every repeat buyer has the same mean spend; the Gamma-Gamma model is not identified",
            ));
        }
        rows.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]).then(a.0[1].total_cmp(&b.0[1])));
        let (p, info) = fit_log_params(
            &rows,
            3,
            opts,
            |p, x| ll_x(p[0], p[1], p[2], x),
            |p, x, m, _| ll_rest(p[0], p[1], p[2], x, m),
        )?;
        Ok((
            GammaGamma {
                p: p[0],
                q: p[1],
                gamma: p[2],
            },
            info,
        ))
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
    ll_x(p, q, g, x) + ll_rest(p, q, g, x, m)
}

/// The terms of ln L that depend on x only.
fn ll_x(p: f64, q: f64, g: f64, x: f64) -> f64 {
    ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * g.ln() + p * x * x.ln()
}

fn ll_rest(p: f64, q: f64, g: f64, x: f64, m: f64) -> f64 {
    (p * x - 1.0) * m.ln() - (p * x + q) * (g + x * m).ln()
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
