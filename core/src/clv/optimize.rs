//! A deterministic Nelder–Mead minimiser (used on log-parameters).
//!
//! Restarted from the best vertex until a restart no longer improves the
//! objective, which guards against the simplex collapsing early. Non-finite
//! objective values are treated as +∞, so the search steps back from regions
//! where a likelihood is undefined.

/// The outcome of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// The objective at `x`.
    pub value: f64,
    /// Objective evaluations used.
    pub evaluations: usize,
    /// Whether the tolerance was reached before the evaluation budget ran out.
    pub converged: bool,
}

/// Settings for [`nelder_mead`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NelderMeadOptions {
    /// Initial simplex step along each axis.
    pub step: f64,
    /// Stop when the simplex's objective spread and size fall below this.
    pub tolerance: f64,
    /// Evaluation budget over all restarts.
    pub max_evaluations: usize,
}

impl Default for NelderMeadOptions {
    fn default() -> Self {
        NelderMeadOptions {
            step: 0.5,
            tolerance: 1e-12,
            max_evaluations: 20_000,
        }
    }
}

fn eval(f: &mut impl FnMut(&[f64]) -> f64, x: &[f64], n: &mut usize) -> f64 {
    *n += 1;
    let v = f(x);
    if v.is_finite() {
        v
    } else {
        f64::INFINITY
    }
}

/// Minimises `f` from `x0` with the standard coefficients (1, 2, ½, ½).
pub fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    opts: NelderMeadOptions,
) -> Minimum {
    let mut evaluations = 0usize;
    let mut best_x = x0.to_vec();
    let mut best_v = eval(&mut f, x0, &mut evaluations);
    let mut step = opts.step;
    let mut converged = false;
    for _restart in 0..50 {
        let (x, v, ok) = run(&mut f, &best_x, step, opts, &mut evaluations);
        let improved = v < best_v - opts.tolerance * (1.0 + best_v.abs());
        if v <= best_v {
            best_x = x;
            best_v = v;
        }
        converged = ok;
        if !improved || evaluations >= opts.max_evaluations {
            break;
        }
        step = (step * 0.5).max(0.05);
    }
    Minimum {
        x: best_x,
        value: best_v,
        evaluations,
        converged,
    }
}

fn run(
    f: &mut impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    step: f64,
    opts: NelderMeadOptions,
    evaluations: &mut usize,
) -> (Vec<f64>, f64, bool) {
    let n = x0.len();
    let mut pts: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    pts.push(x0.to_vec());
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step;
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| eval(f, p, evaluations)).collect();
    loop {
        // Order vertices by value (stable, so ties keep their index order).
        let mut idx: Vec<usize> = (0..=n).collect();
        idx.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = idx.iter().map(|&i| pts[i].clone()).collect();
        vals = idx.iter().map(|&i| vals[i]).collect();

        let spread = (vals[n] - vals[0]).abs();
        let size = pts[1..]
            .iter()
            .flat_map(|p| p.iter().zip(&pts[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0f64, f64::max);
        if spread <= opts.tolerance * (1.0 + vals[0].abs()) && size <= opts.tolerance.sqrt() {
            return (pts[0].clone(), vals[0], true);
        }
        if *evaluations >= opts.max_evaluations {
            return (pts[0].clone(), vals[0], false);
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| pts[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&pts[n])
                .map(|(c, w)| c + t * (w - c))
                .collect()
        };
        let xr = along(-1.0);
        let fr = eval(f, &xr, evaluations);
        if fr < vals[0] {
            let xe = along(-2.0);
            let fe = eval(f, &xe, evaluations);
            if fe < fr {
                pts[n] = xe;
                vals[n] = fe;
            } else {
                pts[n] = xr;
                vals[n] = fr;
            }
        } else if fr < vals[n - 1] {
            pts[n] = xr;
            vals[n] = fr;
        } else {
            let (xc, fc) = if fr < vals[n] {
                let xc = along(-0.5);
                let fc = eval(f, &xc, evaluations);
                (xc, fc)
            } else {
                let xc = along(0.5);
                let fc = eval(f, &xc, evaluations);
                (xc, fc)
            };
            if fc < vals[n].min(fr) {
                pts[n] = xc;
                vals[n] = fc;
            } else {
                // Shrink toward the best vertex.
                for i in 1..=n {
                    let p: Vec<f64> = pts[i]
                        .iter()
                        .zip(&pts[0])
                        .map(|(a, b)| b + 0.5 * (a - b))
                        .collect();
                    vals[i] = eval(f, &p, evaluations);
                    pts[i] = p;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rosenbrock_minimum() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = nelder_mead(f, &[-1.2, 1.0], NelderMeadOptions::default());
        assert!(m.converged);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
    }

    #[test]
    fn avoids_undefined_regions() {
        // ln is undefined for x ≤ 0; the minimum of x − 2 ln x is at x = 2.
        let f = |x: &[f64]| x[0] - 2.0 * x[0].ln();
        let m = nelder_mead(f, &[5.0], NelderMeadOptions::default());
        assert!((m.x[0] - 2.0).abs() < 1e-4, "{m:?}");
    }

    #[test]
    fn is_deterministic() {
        let f = |x: &[f64]| (x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(4) + x[2].abs();
        let a = nelder_mead(f, &[0.0, 0.0, 1.0], NelderMeadOptions::default());
        let b = nelder_mead(f, &[0.0, 0.0, 1.0], NelderMeadOptions::default());
        assert_eq!(a, b);
    }
}
