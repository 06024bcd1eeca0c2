//! Ordered funnels within a time window.
//!
//! A user reaches step k when, starting from one occurrence of step 1, they
//! perform steps 2..k in that order (other events may come in between), each
//! later in their time-ordered log than the previous step, and all within
//! `window` of the start. The best start per user counts. Events with equal
//! timestamps keep their input order. One pass per user: O(events × steps).

use super::{invalid, ratio, UserEvent};
use crate::error::Result;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One funnel step's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelStep {
    /// The step's event name.
    pub name: String,
    /// Users who reached this step.
    pub users: u64,
    /// users / users of step 1 (`null` when nobody started).
    pub conversion_from_start: Option<f64>,
    /// users / users of the previous step (`null` when it had none).
    pub conversion_from_previous: Option<f64>,
}

/// A funnel's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelReport {
    /// The steps, in order.
    pub steps: Vec<FunnelStep>,
}

/// Computes an ordered funnel. `INVALID_ARGUMENT` for no steps or a window ≤ 0.
pub fn funnel(events: &[UserEvent], steps: &[String], window: TimeDelta) -> Result<FunnelReport> {
    if steps.is_empty() {
        return Err(invalid("a funnel needs at least one step").with_path("steps"));
    }
    if window <= TimeDelta::zero() {
        return Err(invalid("the funnel window must be positive").with_path("window"));
    }
    let mut by_user: HashMap<&str, Vec<(DateTime<Utc>, usize)>> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        // Only events that are some step matter.
        if steps.contains(&e.name) {
            by_user
                .entry(&e.user_id)
                .or_default()
                .push((e.timestamp, i));
        }
    }
    let k = steps.len();
    let mut reached = vec![0u64; k];
    // One pass per user, O(events × steps): `latest[j]` is the latest start
    // from which steps 1..=j+1 have been performed in order so far. A later start
    // leaves more of the window, so it dominates every earlier one.
    let mut latest: Vec<Option<DateTime<Utc>>> = vec![None; k];
    for evs in by_user.values_mut() {
        evs.sort_unstable();
        latest.iter_mut().for_each(|l| *l = None);
        for &(t, i) in evs.iter() {
            let name = &events[i].name;
            // Descending, so one event never advances two steps at once.
            for j in (0..k).rev() {
                if steps[j] != *name {
                    continue;
                }
                let start = if j == 0 {
                    Some(t)
                } else {
                    latest[j - 1].filter(|s| t <= *s + window)
                };
                if let Some(s) = start {
                    latest[j] = Some(latest[j].map_or(s, |l| l.max(s)));
                }
            }
        }
        let best = latest
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |j| j + 1);
        for r in reached.iter_mut().take(best) {
            *r += 1;
        }
    }
    let first = reached[0] as f64;
    let out = steps
        .iter()
        .enumerate()
        .map(|(i, name)| FunnelStep {
            name: name.clone(),
            users: reached[i],
            conversion_from_start: ratio(reached[i] as f64, first),
            conversion_from_previous: if i == 0 {
                ratio(reached[0] as f64, first)
            } else {
                ratio(reached[i] as f64, reached[i - 1] as f64)
            },
        })
        .collect();
    Ok(FunnelReport { steps: out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    fn ev(u: &str, n: &str, t: &str) -> UserEvent {
        UserEvent {
            user_id: u.into(),
            name: n.into(),
            timestamp: parse_timestamp(t).unwrap(),
        }
    }

    #[test]
    fn order_and_window() {
        let events = vec![
            // a: full funnel in order.
            ev("a", "view", "2024-01-01T00:00:00Z"),
            ev("a", "cart", "2024-01-01T01:00:00Z"),
            ev("a", "pay", "2024-01-01T02:00:00Z"),
            // b: pays before carting: only reaches cart.
            ev("b", "view", "2024-01-01T00:00:00Z"),
            ev("b", "pay", "2024-01-01T01:00:00Z"),
            ev("b", "cart", "2024-01-01T02:00:00Z"),
            // c: too slow from the first view, but a later view works.
            ev("c", "view", "2024-01-01T00:00:00Z"),
            ev("c", "view", "2024-01-05T00:00:00Z"),
            ev("c", "cart", "2024-01-05T01:00:00Z"),
            ev("c", "pay", "2024-01-05T02:00:00Z"),
            // d: never views.
            ev("d", "cart", "2024-01-01T00:00:00Z"),
        ];
        let steps: Vec<String> = ["view", "cart", "pay"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = funnel(&events, &steps, TimeDelta::days(1)).unwrap();
        let users: Vec<u64> = r.steps.iter().map(|s| s.users).collect();
        assert_eq!(users, vec![3, 3, 2]);
        assert_eq!(r.steps[2].conversion_from_start, Some(2.0 / 3.0));
        assert!(funnel(&events, &[], TimeDelta::days(1)).is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        /// The direct definition: try every start, greedily match later steps.
        fn brute(evs: &[(i64, usize)], steps: &[usize], window: i64) -> usize {
            let mut sorted: Vec<(i64, usize, usize)> = evs
                .iter()
                .enumerate()
                .map(|(i, &(t, n))| (t, i, n))
                .collect();
            sorted.sort_unstable();
            let mut best = 0;
            for (si, &(t0, _, n0)) in sorted.iter().enumerate() {
                if n0 != steps[0] {
                    continue;
                }
                let mut j = 1;
                for &(t, _, n) in &sorted[si + 1..] {
                    if j == steps.len() || t > t0 + window {
                        break;
                    }
                    if n == steps[j] {
                        j += 1;
                    }
                }
                best = best.max(j);
            }
            best
        }

        proptest! {
            #[test]
            fn one_pass_matches_the_definition(
                evs in proptest::collection::vec((0i64..50, 0usize..3), 0..25),
                steps in proptest::collection::vec(0usize..3, 1..5),
                window in 1i64..30,
            ) {
                let names = ["a", "b", "c"];
                let t0 = chrono::DateTime::<Utc>::UNIX_EPOCH;
                let events: Vec<UserEvent> = evs
                    .iter()
                    .map(|&(t, n)| UserEvent {
                        user_id: "u".into(),
                        name: names[n].into(),
                        timestamp: t0 + TimeDelta::seconds(t),
                    })
                    .collect();
                let step_names: Vec<String> = steps.iter().map(|&n| names[n].to_string()).collect();
                let r = funnel(&events, &step_names, TimeDelta::seconds(window)).unwrap();
                let got = r.steps.iter().filter(|s| s.users == 1).count();
                prop_assert_eq!(got, brute(&evs, &steps, window));
            }
        }
    }
}
