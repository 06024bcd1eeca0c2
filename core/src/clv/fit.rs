//! Shared machinery of the gradient-based fits: the purchase data grouped
//! once per fit, and the driver that runs BFGS on log-parameters.
//!
//! A likelihood over CDNOW-like data repeats itself: many customers share
//! `(x, t_x, T)` (all one-time buyers of a cohort do), and the time terms only
//! take the few distinct values of t_x and T. [`RfGroups`] stores each
//! distinct row once with its count, indexed into tables of the distinct t_x
//! and T values, so an evaluation computes ln(α + T) once per distinct T and
//! the x-only terms (ln Γ, ψ) once per distinct x.

use super::optimize::{self, BfgsOptions, NelderMeadOptions};
use super::{compress, finite, FitInfo, FitOptions, RfColumns};
use crate::error::{Error, ErrorKind, Result};

/// Rows sharing one frequency x.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct XGroup {
    /// The repeat-purchase count.
    pub x: f64,
    /// Customers in the group.
    pub weight: f64,
    /// The group's rows in [`RfGroups::rows`].
    pub rows: std::ops::Range<usize>,
}

/// One distinct `(t_x, T)` within an x group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RfRow {
    /// Index into [`RfGroups::recency`].
    pub tx: usize,
    /// Index into [`RfGroups::age`].
    pub t: usize,
    /// Customers with this row.
    pub weight: f64,
}

/// Purchase data grouped by x, with distinct t_x and T tables.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RfGroups {
    /// Distinct recencies t_x, ascending.
    pub recency: Vec<f64>,
    /// Distinct ages T, ascending.
    pub age: Vec<f64>,
    /// Groups by ascending x.
    pub groups: Vec<XGroup>,
    /// Rows, grouped as [`XGroup::rows`] says.
    pub rows: Vec<RfRow>,
    /// Total customers.
    pub customers: f64,
}

fn distinct(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

fn index_of(table: &[f64], v: f64) -> usize {
    table
        .binary_search_by(|p| p.total_cmp(&v))
        .unwrap_or_else(|i| i.min(table.len().saturating_sub(1)))
}

impl RfGroups {
    /// Groups validated columns (see [`super::check_purchase_data`]).
    pub fn new(data: &RfColumns<'_>) -> RfGroups {
        let compressed = compress(data);
        let recency = distinct(compressed.iter().map(|(r, _)| r[1]).collect());
        let age = distinct(compressed.iter().map(|(r, _)| r[2]).collect());
        let mut groups: Vec<XGroup> = Vec::new();
        let mut rows = Vec::with_capacity(compressed.len());
        for (r, w) in &compressed {
            let row = RfRow {
                tx: index_of(&recency, r[1]),
                t: index_of(&age, r[2]),
                weight: *w,
            };
            match groups.last_mut() {
                Some(g) if g.x == r[0] => {
                    g.weight += w;
                    g.rows.end += 1;
                }
                _ => groups.push(XGroup {
                    x: r[0],
                    weight: *w,
                    rows: rows.len()..rows.len() + 1,
                }),
            }
            rows.push(row);
        }
        let customers = compressed.iter().map(|(_, w)| w).sum();
        RfGroups {
            recency,
            age,
            groups,
            rows,
            customers,
        }
    }
}

/// Maximises a log-likelihood over log-parameters with BFGS.
///
/// `ll(params, grad)` returns the total log-likelihood Σ wᵢ ln Lᵢ at the
/// natural parameters and writes its gradient with respect to them. The
/// objective is the penalised mean negative log-likelihood
/// −Σ ln Lᵢ / n + penalizer · Σ θ² over log-parameters (+∞ beyond |ln θ| > 30),
/// with gradient θ·∂/∂θ. If BFGS stops short of its tolerance, Nelder–Mead
/// continues from its best point. `start` is in log-parameters.
pub(crate) fn fit_log_params_grad(
    customers: f64,
    start: &[f64],
    opts: &FitOptions,
    mut ll: impl FnMut(&[f64], &mut [f64]) -> f64,
) -> Result<(Vec<f64>, FitInfo)> {
    if !opts.penalizer.is_finite() || opts.penalizer < 0.0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "penalizer must be a finite number ≥ 0, got {}",
                opts.penalizer
            ),
        ));
    }
    let dims = start.len();
    let mut p = vec![0.0; dims];
    let mut g = vec![0.0; dims];
    let mut objective = |lp: &[f64], grad: &mut [f64]| -> f64 {
        if lp.iter().any(|v| v.abs() > 30.0) {
            return f64::INFINITY;
        }
        for (pi, l) in p.iter_mut().zip(lp) {
            *pi = l.exp();
        }
        let total = ll(&p, &mut g);
        let mut value = -total / customers;
        for i in 0..dims {
            value += opts.penalizer * p[i] * p[i];
            grad[i] = p[i] * (-g[i] / customers + 2.0 * opts.penalizer * p[i]);
        }
        value
    };
    let budget = opts.max_evaluations.max(100);
    let mut m = optimize::bfgs(
        &mut objective,
        start,
        BfgsOptions {
            max_evaluations: budget,
            ..Default::default()
        },
    );
    if !m.converged && m.evaluations < budget {
        let mut scratch = vec![0.0; dims];
        let from = if m.value.is_finite() {
            m.x.clone()
        } else {
            start.to_vec()
        };
        let nm = optimize::nelder_mead(
            |lp: &[f64]| objective(lp, &mut scratch),
            &from,
            NelderMeadOptions {
                max_evaluations: budget - m.evaluations,
                ..Default::default()
            },
        );
        let evaluations = m.evaluations + nm.evaluations;
        if nm.value <= m.value || !m.value.is_finite() {
            m = nm;
        }
        m.evaluations = evaluations;
    }
    if !m.value.is_finite() || m.x.iter().any(|v| v.abs() > 25.0) {
        return Err(Error::new(
            ErrorKind::NumericDomain,
            "the likelihood has no finite maximum for these data (parameters diverge)",
        ));
    }
    let p: Vec<f64> = m.x.iter().map(|v| v.exp()).collect();
    let log_likelihood = ll(&p, &mut g);
    let info = FitInfo {
        log_likelihood: finite(log_likelihood, "the log-likelihood")?,
        customers: customers as usize,
        evaluations: m.evaluations,
        converged: m.converged,
    };
    Ok((p, info))
}

/// The total log-likelihood at `p` with its gradient by central differences
/// (relative step 1e-6, truncation error about 1e-12 relative), for models
/// without an analytic gradient.
pub(crate) fn with_central_differences(
    ll: &impl Fn(&[f64]) -> f64,
    p: &[f64],
    grad: &mut [f64],
) -> f64 {
    let mut q = p.to_vec();
    for i in 0..p.len() {
        let h = 1e-6 * p[i];
        q[i] = p[i] + h;
        let up = ll(&q);
        q[i] = p[i] - h;
        let down = ll(&q);
        q[i] = p[i];
        grad[i] = (up - down) / (2.0 * h);
    }
    ll(p)
}

#[cfg(test)]
pub(crate) mod testing {
    /// Central-difference gradient of `f` at `p`, with a relative step.
    pub fn numeric_gradient(f: impl Fn(&[f64]) -> f64, p: &[f64]) -> Vec<f64> {
        (0..p.len())
            .map(|i| {
                let h = 1e-6 * p[i].abs().max(1e-3);
                let (mut up, mut down) = (p.to_vec(), p.to_vec());
                up[i] += h;
                down[i] -= h;
                (f(&up) - f(&down)) / (2.0 * h)
            })
            .collect()
    }

    /// Asserts analytic and numeric gradients agree to `rel` of the larger
    /// of the component and the gradient's ∞-norm.
    pub fn assert_gradients_agree(analytic: &[f64], numeric: &[f64], rel: f64) {
        let scale = analytic.iter().fold(1e-8f64, |m, v| m.max(v.abs()));
        for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
            assert!(
                (a - n).abs() <= rel * scale,
                "component {i}: analytic {a} vs numeric {n} ({analytic:?} vs {numeric:?})"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_every_customer_once() {
        let x = [0.0, 2.0, 0.0, 2.0, 1.0, 2.0];
        let tx = [0.0, 5.0, 0.0, 5.0, 3.0, 4.0];
        let t = [10.0, 12.0, 10.0, 12.0, 12.0, 12.0];
        let g = RfGroups::new(&RfColumns::new(&x, &tx, &t));
        assert_eq!(g.customers, 6.0);
        assert_eq!(g.age, vec![10.0, 12.0]);
        assert_eq!(g.recency, vec![0.0, 3.0, 4.0, 5.0]);
        let xs: Vec<(f64, f64)> = g.groups.iter().map(|g| (g.x, g.weight)).collect();
        assert_eq!(xs, vec![(0.0, 2.0), (1.0, 1.0), (2.0, 3.0)]);
        // Every grouped row maps back to an input row, with the right count.
        for grp in &g.groups {
            for r in &g.rows[grp.rows.clone()] {
                let (rt, ra) = (g.recency[r.tx], g.age[r.t]);
                let n = (0..6)
                    .filter(|&i| x[i] == grp.x && tx[i] == rt && t[i] == ra)
                    .count();
                assert_eq!(n as f64, r.weight);
            }
        }
    }

    #[test]
    fn penalizer_must_be_valid() {
        let e = fit_log_params_grad(
            2.0,
            &[0.0],
            &FitOptions {
                penalizer: -1.0,
                ..Default::default()
            },
            |_, _| 0.0,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn diverging_likelihood_is_a_typed_error() {
        // ln L = θ grows without bound: no finite maximum.
        let e = fit_log_params_grad(1.0, &[0.0], &FitOptions::default(), |p, g| {
            g[0] = 1.0;
            p[0]
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NumericDomain);
    }

    mod props {
        use crate::clv::{BgNbd, GammaGamma, MbgNbd, RfColumns};
        use crate::error::ErrorKind;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(24))]

            /// Any valid small data set fits to finite positive parameters and
            /// a finite likelihood, or is a typed NUMERIC_DOMAIN error: never NaN.
            #[test]
            fn fits_are_finite_or_typed_errors(
                rows in prop::collection::vec((0u32..8, 0.0f64..1.0, 0.5f64..60.0, 0.0f64..500.0), 2..25),
            ) {
                let x: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
                let t: Vec<f64> = rows.iter().map(|r| r.2).collect();
                let tx: Vec<f64> = rows
                    .iter()
                    .map(|r| if r.0 == 0 { 0.0 } else { r.1 * r.2 })
                    .collect();
                let m: Vec<f64> = rows.iter().map(|r| if r.0 == 0 { 0.0 } else { r.3 }).collect();
                let data = RfColumns::new(&x, &tx, &t);
                let opts = super::super::FitOptions::default();
                let check = |res: crate::error::Result<(Vec<f64>, super::super::FitInfo)>| {
                    match res {
                        Ok((p, info)) => {
                            prop_assert!(p.iter().all(|v| v.is_finite() && *v > 0.0), "{p:?}");
                            prop_assert!(info.log_likelihood.is_finite());
                        }
                        Err(e) => prop_assert_eq!(e.kind(), ErrorKind::NumericDomain),
                    }
                    Ok(())
                };
                check(BgNbd::fit(&data, &opts).map(|(m, i)| (vec![m.r, m.alpha, m.a, m.b], i)))?;
                check(MbgNbd::fit(&data, &opts).map(|(m, i)| (vec![m.r, m.alpha, m.a, m.b], i)))?;
                check(GammaGamma::fit(&x, &m, &opts).map(|(g, i)| (vec![g.p, g.q, g.gamma], i)))?;
            }
        }
    }
}
