//! Property tests for RFM scoring: scores are monotone in their input, equal
//! values get equal scores, scores stay in 1..=5 and do not depend on order.

use proptest::prelude::*;
use siyu_core::rfm::{score_columns, Direction, ScoreMethod, Thresholds};

fn method() -> impl Strategy<Value = ScoreMethod> {
    prop_oneof![Just(ScoreMethod::Quantile), Just(ScoreMethod::Range)]
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::HigherIsBetter),
        Just(Direction::LowerIsBetter)
    ]
}

/// Small integer-valued data so ties are frequent.
fn values() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((0u32..20).prop_map(f64::from), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn scores_are_monotone_and_ties_are_equal(m in method(), d in direction(), v in values(), probe in prop::collection::vec(-5.0f64..25.0, 2)) {
        let t = Thresholds::fit(m, d, &v).expect("fit");
        for (a, b) in v.iter().zip(v.iter().skip(1)).chain(std::iter::once((&probe[0], &probe[1]))) {
            let (lo, hi) = if a <= b { (*a, *b) } else { (*b, *a) };
            let (s_lo, s_hi) = (t.score(lo), t.score(hi));
            prop_assert!((1..=5).contains(&s_lo) && (1..=5).contains(&s_hi));
            match d {
                Direction::HigherIsBetter => prop_assert!(s_lo <= s_hi, "{lo}->{s_lo} {hi}->{s_hi}"),
                Direction::LowerIsBetter => prop_assert!(s_lo >= s_hi, "{lo}->{s_lo} {hi}->{s_hi}"),
            }
            if lo == hi {
                prop_assert_eq!(s_lo, s_hi);
            }
        }
    }

    #[test]
    fn quantile_scores_follow_the_documented_formula(v in values()) {
        // score = 1 + floor(5 * L / n), L = number of strictly smaller values.
        let t = Thresholds::fit(ScoreMethod::Quantile, Direction::HigherIsBetter, &v).expect("fit");
        let n = v.len();
        for x in &v {
            let l = v.iter().filter(|y| *y < x).count();
            prop_assert_eq!(usize::from(t.score(*x)), 1 + 5 * l / n);
        }
    }

    #[test]
    fn batch_scores_do_not_depend_on_order(v in values(), rot in 0usize..60) {
        let n = v.len();
        let r: Vec<f64> = v.clone();
        let (_, a) = score_columns(ScoreMethod::Quantile, &r, &v, &v).expect("score");
        let k = rot % n;
        let rotated: Vec<f64> = v[k..].iter().chain(&v[..k]).copied().collect();
        let (_, b) = score_columns(ScoreMethod::Quantile, &rotated, &rotated, &rotated).expect("score");
        for i in 0..n {
            prop_assert_eq!(a[(i + k) % n], b[i]);
        }
    }
}
