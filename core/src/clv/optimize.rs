//! Deterministic minimisers for the value-model fits (used on log-parameters).
//!
//! - [`bfgs`]: quasi-Newton with a strong-Wolfe line search; every fit uses
//!   it (analytic gradients for BG/NBD, MBG/NBD and Gamma-Gamma, central
//!   differences for Pareto/NBD).
//! - [`nelder_mead`]: derivative-free, restarted from the best vertex until a
//!   restart no longer improves the objective (guards against the simplex
//!   collapsing early); the fits fall back to it if BFGS stops short of its
//!   tolerance.
//!
//! Both treat non-finite objective values as +∞, so the search steps back
//! from regions where a likelihood is undefined.

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

/// Settings for [`bfgs`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BfgsOptions {
    /// Converged when every gradient component is at most this in magnitude.
    pub gradient_tolerance: f64,
    /// Also converged when every gradient component is at most this and the
    /// predicted decrease is below the objective's floating-point resolution
    /// (or no step decreases it): the optimum is then as precise as the
    /// objective can tell.
    pub flat_gradient_tolerance: f64,
    /// Longest first trial step (∞-norm), so an early step cannot jump into
    /// overflow.
    pub max_step: f64,
    /// Evaluation budget (one evaluation = value and gradient).
    pub max_evaluations: usize,
}

impl Default for BfgsOptions {
    fn default() -> Self {
        BfgsOptions {
            gradient_tolerance: 1e-10,
            flat_gradient_tolerance: 1e-6,
            max_step: 2.0,
            max_evaluations: 2_000,
        }
    }
}

/// One point of a line search: step length, value, directional derivative,
/// position and gradient.
#[derive(Debug, Clone)]
struct Trial {
    alpha: f64,
    f: f64,
    slope: f64,
    x: Vec<f64>,
    g: Vec<f64>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Evaluates `f` and its gradient at `x + alpha·d`; a non-finite value or
/// gradient becomes +∞ with a NaN slope.
fn trial(
    f: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    x: &[f64],
    d: &[f64],
    alpha: f64,
    n: &mut usize,
) -> Trial {
    *n += 1;
    let xt: Vec<f64> = x.iter().zip(d).map(|(a, b)| a + alpha * b).collect();
    let mut g = vec![0.0; x.len()];
    let v = f(&xt, &mut g);
    let ok = v.is_finite() && g.iter().all(|c| c.is_finite());
    Trial {
        alpha,
        f: if ok { v } else { f64::INFINITY },
        slope: if ok { dot(&g, d) } else { f64::NAN },
        x: xt,
        g,
    }
}

/// Minimiser of the cubic through two trials (value and slope at each),
/// kept inside the middle 80% of the bracket; bisection when the cubic is
/// not usable (an infinite end, or no real minimiser).
fn interpolate(lo: &Trial, hi: &Trial) -> f64 {
    let (a, b) = (lo.alpha, hi.alpha);
    let width = b - a;
    let mid = a + 0.5 * width;
    if !(hi.f.is_finite() && hi.slope.is_finite()) {
        return mid;
    }
    let d1 = lo.slope + hi.slope - 3.0 * (lo.f - hi.f) / (a - b);
    let disc = d1 * d1 - lo.slope * hi.slope;
    if disc < 0.0 {
        return mid;
    }
    let d2 = width.signum() * disc.sqrt();
    let t = b - width * (hi.slope + d2 - d1) / (hi.slope - lo.slope + 2.0 * d2);
    let (min, max) = if width > 0.0 {
        (a + 0.1 * width, b - 0.1 * width)
    } else {
        (b - 0.1 * width, a + 0.1 * width)
    };
    if t.is_finite() {
        t.clamp(min, max)
    } else {
        mid
    }
}

const C1: f64 = 1e-4;
/// Relative change of f below which a decrease is rounding noise.
const F_RESOLUTION: f64 = 1e-14;
const C2: f64 = 0.9;

/// Strong-Wolfe line search (Nocedal & Wright, algorithms 3.5 and 3.6).
/// Returns the accepted trial, or `None` when no step of sufficient decrease
/// was found within the budget.
fn line_search(
    f: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    start: &Trial,
    d: &[f64],
    alpha0: f64,
    n: &mut usize,
    budget: usize,
) -> Option<Trial> {
    let (f0, s0) = (start.f, start.slope);
    let mut prev = Trial {
        alpha: 0.0,
        ..start.clone()
    };
    let mut alpha = alpha0;
    for i in 0..30 {
        if *n >= budget {
            return None;
        }
        let cur = trial(f, &start.x, d, alpha, n);
        if cur.f > f0 + C1 * alpha * s0 || (i > 0 && cur.f >= prev.f) {
            return zoom(f, start, d, prev, cur, n, budget);
        }
        if cur.slope.abs() <= -C2 * s0 {
            return Some(cur);
        }
        if cur.slope >= 0.0 {
            return zoom(f, start, d, cur, prev, n, budget);
        }
        prev = cur;
        alpha *= 2.0;
    }
    None
}

fn zoom(
    f: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    start: &Trial,
    d: &[f64],
    mut lo: Trial,
    mut hi: Trial,
    n: &mut usize,
    budget: usize,
) -> Option<Trial> {
    let (f0, s0) = (start.f, start.slope);
    for _ in 0..40 {
        if *n >= budget || (hi.alpha - lo.alpha).abs() <= 1e-14 * lo.alpha.abs().max(1e-10) {
            break;
        }
        let cur = trial(f, &start.x, d, interpolate(&lo, &hi), n);
        if cur.f > f0 + C1 * cur.alpha * s0 || cur.f >= lo.f {
            hi = cur;
        } else {
            if cur.slope.abs() <= -C2 * s0 {
                return Some(cur);
            }
            if cur.slope * (hi.alpha - lo.alpha) >= 0.0 {
                hi = lo;
            }
            lo = cur;
        }
    }
    // A step with sufficient decrease still makes progress.
    (lo.alpha > 0.0 && lo.f < f0).then_some(lo)
}

/// Minimises `f` from `x0` by BFGS with a strong-Wolfe line search.
///
/// `f(x, grad)` returns the objective and writes its gradient into `grad`.
/// The inverse-Hessian estimate starts as the identity, is rescaled by
/// sᵀy/yᵀy after the first step and reset to the identity whenever it stops
/// giving a descent direction; updates with sᵀy ≤ 0 are skipped.
/// `converged` means the gradient tolerance was met; otherwise the best point
/// so far is returned (the line search failed or the budget ran out).
pub fn bfgs(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: &[f64],
    opts: BfgsOptions,
) -> Minimum {
    let n = x0.len();
    let mut evaluations = 0usize;
    let zero = vec![0.0; n];
    let mut cur = trial(&mut f, x0, &zero, 0.0, &mut evaluations);
    let done = |cur: Trial, evaluations: usize, converged: bool| Minimum {
        x: cur.x,
        value: cur.f,
        evaluations,
        converged,
    };
    if !cur.f.is_finite() {
        return done(cur, evaluations, false);
    }
    let identity = |h: &mut Vec<f64>, scale: f64| {
        h.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            h[i * n + i] = scale;
        }
    };
    let mut h = vec![0.0; n * n];
    identity(&mut h, 1.0);
    let mut first = true;
    loop {
        if inf_norm(&cur.g) <= opts.gradient_tolerance {
            return done(cur, evaluations, true);
        }
        let mut d: Vec<f64> = (0..n)
            .map(|i| -(0..n).map(|j| h[i * n + j] * cur.g[j]).sum::<f64>())
            .collect();
        let mut slope = dot(&d, &cur.g);
        if slope.is_nan() || slope >= 0.0 {
            identity(&mut h, 1.0);
            first = true;
            d = cur.g.iter().map(|v| -v).collect();
            slope = dot(&d, &cur.g);
        }
        cur.slope = slope;
        // The predicted decrease is below what f can resolve: a line search
        // would only chase rounding noise.
        let flat = -slope <= F_RESOLUTION * cur.f.abs();
        if flat && inf_norm(&cur.g) <= opts.flat_gradient_tolerance {
            return done(cur, evaluations, true);
        }
        let alpha0 = if first {
            (opts.max_step / inf_norm(&d)).min(1.0)
        } else {
            1.0
        };
        let Some(next) = line_search(
            &mut f,
            &cur,
            &d,
            alpha0,
            &mut evaluations,
            opts.max_evaluations,
        ) else {
            // No step decreases f: converged if f is flat at its resolution.
            let converged = inf_norm(&cur.g) <= opts.flat_gradient_tolerance;
            return done(cur, evaluations, converged);
        };
        let s: Vec<f64> = next.x.iter().zip(&cur.x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next.g.iter().zip(&cur.g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-300 {
            if first {
                identity(&mut h, sy / dot(&y, &y));
                first = false;
            }
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
                .collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] +=
                        rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
                }
            }
        }
        cur = next;
        if evaluations >= opts.max_evaluations {
            let converged = inf_norm(&cur.g) <= opts.gradient_tolerance;
            return done(cur, evaluations, converged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
        g[1] = 200.0 * (x[1] - x[0] * x[0]);
        (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
    }

    #[test]
    fn bfgs_finds_rosenbrock_minimum_from_several_starts() {
        for x0 in [
            [-1.2, 1.0],
            [2.0, -1.0],
            [0.0, 0.0],
            [-3.0, 5.0],
            [1.5, 2.5],
        ] {
            let m = bfgs(rosenbrock, &x0, BfgsOptions::default());
            assert!(m.converged, "{x0:?} {m:?}");
            assert!(
                (m.x[0] - 1.0).abs() < 1e-8 && (m.x[1] - 1.0).abs() < 1e-8,
                "{x0:?} {m:?}"
            );
            assert!(m.evaluations < 200, "{x0:?} {m:?}");
        }
    }

    #[test]
    fn bfgs_steps_back_from_undefined_regions() {
        // ln is undefined for x ≤ 0; the minimum of x − 2 ln x is at x = 2.
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0 - 2.0 / x[0];
            x[0] - 2.0 * x[0].ln()
        };
        for x0 in [0.05, 1.0, 5.0, 40.0] {
            let m = bfgs(f, &[x0], BfgsOptions::default());
            assert!(m.converged && (m.x[0] - 2.0).abs() < 1e-8, "{x0} {m:?}");
        }
    }

    #[test]
    fn bfgs_reports_a_non_finite_start_and_a_spent_budget() {
        let m = bfgs(
            |_: &[f64], _: &mut [f64]| f64::NAN,
            &[1.0],
            BfgsOptions::default(),
        );
        assert!(!m.converged && m.value == f64::INFINITY);
        let opts = BfgsOptions {
            max_evaluations: 3,
            ..Default::default()
        };
        let m = bfgs(rosenbrock, &[-1.2, 1.0], opts);
        assert!(!m.converged && m.evaluations <= 3 + 1, "{m:?}");
    }

    #[test]
    fn bfgs_is_deterministic() {
        let a = bfgs(rosenbrock, &[-1.2, 1.0], BfgsOptions::default());
        let b = bfgs(rosenbrock, &[-1.2, 1.0], BfgsOptions::default());
        assert_eq!(a, b);
    }

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
