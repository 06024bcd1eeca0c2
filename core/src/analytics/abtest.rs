//! A/B test statistics: two-proportion z-test, chi-square test for k arms,
//! Bayesian probability that a variant beats control, and sample size.

use super::{check_open_unit, domain, invalid};
use crate::clv::special::{gamma_q, ln_beta, normal_quantile, normal_sf};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// One arm of a test: `conversions` out of `trials`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// Successes.
    pub conversions: u64,
    /// Exposures.
    pub trials: u64,
}

impl Arm {
    fn check(&self, path: &str) -> Result<()> {
        if self.trials == 0 {
            return Err(invalid("an arm needs at least one trial").with_path(path));
        }
        if self.conversions > self.trials {
            return Err(invalid(format!(
                "conversions ({}) exceed trials ({})",
                self.conversions, self.trials
            ))
            .with_path(path));
        }
        Ok(())
    }

    fn rate(&self) -> f64 {
        self.conversions as f64 / self.trials as f64
    }
}

/// Result of [`two_proportion_z_test`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZTestResult {
    /// Control conversion rate.
    pub rate_control: f64,
    /// Variant conversion rate.
    pub rate_variant: f64,
    /// rate_variant − rate_control.
    pub difference: f64,
    /// The z statistic (pooled standard error).
    pub z: f64,
    /// Two-sided p-value, erfc(|z|/√2).
    pub p_value: f64,
}

/// Two-sided two-proportion z-test with the pooled standard error.
/// `NUMERIC_DOMAIN` when the pooled rate is 0 or 1 (no variance).
pub fn two_proportion_z_test(control: Arm, variant: Arm) -> Result<ZTestResult> {
    control.check("control")?;
    variant.check("variant")?;
    let (n1, n2) = (control.trials as f64, variant.trials as f64);
    let pooled = (control.conversions + variant.conversions) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return Err(domain(
            "the pooled conversion rate is 0 or 1: the z-test has no variance",
        ));
    }
    let (p1, p2) = (control.rate(), variant.rate());
    let z = (p2 - p1) / se;
    Ok(ZTestResult {
        rate_control: p1,
        rate_variant: p2,
        difference: p2 - p1,
        z,
        p_value: 2.0 * normal_sf(z.abs()),
    })
}

/// Result of [`chi_square_test`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChiSquareResult {
    /// Pearson's χ² statistic of the 2 × k table (no continuity correction).
    pub statistic: f64,
    /// Degrees of freedom, k − 1.
    pub degrees_of_freedom: u64,
    /// Upper-tail p-value, Q(df/2, χ²/2).
    pub p_value: f64,
}

/// Pearson's chi-square test of equal conversion rates across k ≥ 2 arms.
/// `NUMERIC_DOMAIN` when nobody or everybody converted.
pub fn chi_square_test(arms: &[Arm]) -> Result<ChiSquareResult> {
    if arms.len() < 2 {
        return Err(invalid(format!(
            "the chi-square test needs at least 2 arms, got {}",
            arms.len()
        )));
    }
    for (i, a) in arms.iter().enumerate() {
        a.check(&format!("[{i}]"))?;
    }
    let n: f64 = arms.iter().map(|a| a.trials as f64).sum();
    let conv: f64 = arms.iter().map(|a| a.conversions as f64).sum();
    if conv == 0.0 || conv == n {
        return Err(domain(
            "every arm has the same all-or-nothing outcome: expected counts are zero",
        ));
    }
    let mut stat = 0.0;
    for a in arms {
        let t = a.trials as f64;
        let (e1, e0) = (t * conv / n, t * (n - conv) / n);
        let (o1, o0) = (a.conversions as f64, t - a.conversions as f64);
        stat += (o1 - e1).powi(2) / e1 + (o0 - e0).powi(2) / e0;
    }
    let df = arms.len() as u64 - 1;
    Ok(ChiSquareResult {
        statistic: stat,
        degrees_of_freedom: df,
        p_value: gamma_q(df as f64 / 2.0, stat / 2.0),
    })
}

/// Result of [`beta_binomial_beats_control`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BayesResult {
    /// Posterior mean of the control rate.
    pub mean_control: f64,
    /// Posterior mean of the variant rate.
    pub mean_variant: f64,
    /// P(rate_variant > rate_control) under independent Beta posteriors.
    pub probability_variant_beats_control: f64,
}

/// P(B > A) for A ~ Beta(a₁, b₁), B ~ Beta(a₂, b₂), exact, with integer a₂:
/// Σᵢ₌₀^{a₂−1} B(a₁+i, b₁+b₂) / ((b₂+i) B(1+i, b₂) B(a₁, b₁)) (Evan Miller's formula).
fn prob_b_beats_a(a1: f64, b1: f64, a2: f64, b2: f64) -> f64 {
    let base = ln_beta(a1, b1);
    let mut sum = 0.0;
    let n = a2 as u64;
    for i in 0..n {
        let i = i as f64;
        sum += (ln_beta(a1 + i, b1 + b2) - (b2 + i).ln() - ln_beta(1.0 + i, b2) - base).exp();
    }
    sum
}

/// Bayesian beta-binomial comparison with a Beta(`prior_alpha`, `prior_beta`)
/// prior on each arm (1, 1 = uniform). Exact closed-form sum, deterministic; it
/// needs an integral posterior alpha for one arm, i.e. an integral
/// `prior_alpha` (else `INVALID_ARGUMENT`). Cost O(conversions).
pub fn beta_binomial_beats_control(
    control: Arm,
    variant: Arm,
    prior_alpha: f64,
    prior_beta: f64,
) -> Result<BayesResult> {
    control.check("control")?;
    variant.check("variant")?;
    for (name, v) in [("prior_alpha", prior_alpha), ("prior_beta", prior_beta)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(
                invalid(format!("{name} must be a finite number > 0, got {v}")).with_path(name),
            );
        }
    }
    if prior_alpha.fract() != 0.0 {
        return Err(invalid(format!(
            "prior_alpha must be a whole number for the exact formula, got {prior_alpha}"
        ))
        .with_path("prior_alpha"));
    }
    let a1 = prior_alpha + control.conversions as f64;
    let b1 = prior_beta + (control.trials - control.conversions) as f64;
    let a2 = prior_alpha + variant.conversions as f64;
    let b2 = prior_beta + (variant.trials - variant.conversions) as f64;
    // Sum over the smaller alpha (ties have probability zero: P(A > B) = 1 − P(B > A)).
    let p = if a2 <= a1 {
        prob_b_beats_a(a1, b1, a2, b2)
    } else {
        1.0 - prob_b_beats_a(a2, b2, a1, b1)
    };
    if !p.is_finite() {
        return Err(domain("the posterior probability could not be computed"));
    }
    Ok(BayesResult {
        mean_control: a1 / (a1 + b1),
        mean_variant: a2 / (a2 + b2),
        probability_variant_beats_control: p.clamp(0.0, 1.0),
    })
}

/// Users needed per arm to detect an absolute lift `mde` over `baseline` with
/// a two-sided test at level `alpha` and the given `power`:
/// n = ⌈(z₁₋α/₂·√(2p̄(1−p̄)) + z_power·√(p₁(1−p₁) + p₂(1−p₂)))² / (p₂ − p₁)²⌉
/// with p₂ = baseline + mde and p̄ = (p₁ + p₂)/2.
pub fn sample_size_per_arm(baseline: f64, mde: f64, alpha: f64, power: f64) -> Result<u64> {
    check_open_unit("baseline", baseline)?;
    check_open_unit("alpha", alpha)?;
    check_open_unit("power", power)?;
    let p2 = baseline + mde;
    if !(mde.is_finite() && mde != 0.0 && p2 > 0.0 && p2 < 1.0) {
        return Err(invalid(format!(
            "mde must be non-zero with baseline + mde strictly between 0 and 1, got {mde}"
        ))
        .with_path("mde"));
    }
    let p1 = baseline;
    let pbar = (p1 + p2) / 2.0;
    let za = normal_quantile(1.0 - alpha / 2.0);
    let zb = normal_quantile(power);
    let num =
        za * (2.0 * pbar * (1.0 - pbar)).sqrt() + zb * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    let n = (num * num / (mde * mde)).ceil();
    if !n.is_finite() || n > 1e15 {
        return Err(domain("the required sample size is not representable"));
    }
    Ok(n.max(1.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(c: u64, t: u64) -> Arm {
        Arm {
            conversions: c,
            trials: t,
        }
    }

    #[test]
    fn symmetric_bayes_is_one_half() {
        let r = beta_binomial_beats_control(arm(10, 100), arm(10, 100), 1.0, 1.0).unwrap();
        assert!((r.probability_variant_beats_control - 0.5).abs() < 1e-12);
        // Swapping arms complements the probability.
        let a = beta_binomial_beats_control(arm(12, 100), arm(20, 110), 1.0, 1.0).unwrap();
        let b = beta_binomial_beats_control(arm(20, 110), arm(12, 100), 1.0, 1.0).unwrap();
        let s = a.probability_variant_beats_control + b.probability_variant_beats_control;
        assert!((s - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bayes_matches_numeric_integration() {
        // P(B > A) = ∫ f_B(x) F_A(x) dx by the midpoint rule on a fine grid.
        let (a1, b1, a2, b2) = (3.0f64, 8.0f64, 6.0f64, 6.0f64);
        let n = 200_000;
        let h = 1.0 / n as f64;
        let (mut cdf_a, mut p) = (0.0, 0.0);
        for i in 0..n {
            let x = (i as f64 + 0.5) * h;
            let fa = ((a1 - 1.0) * x.ln() + (b1 - 1.0) * (1.0 - x).ln() - ln_beta(a1, b1)).exp();
            let fb = ((a2 - 1.0) * x.ln() + (b2 - 1.0) * (1.0 - x).ln() - ln_beta(a2, b2)).exp();
            let mid = cdf_a + fa * h / 2.0;
            p += fb * mid * h;
            cdf_a += fa * h;
        }
        let r = beta_binomial_beats_control(arm(2, 9), arm(5, 10), 1.0, 1.0).unwrap();
        assert!(
            (r.probability_variant_beats_control - p).abs() < 1e-6,
            "{} {p}",
            r.probability_variant_beats_control
        );
    }
}
