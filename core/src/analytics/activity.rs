//! Active users (DAU/WAU/MAU, stickiness) and the repeat-purchase rate.

use super::{domain, invalid, ratio, selected, UserEvent};
use crate::error::Result;
use crate::zone::Zone;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Active users as of one local day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveUsers {
    /// The day.
    pub date: NaiveDate,
    /// Distinct users active that day.
    pub dau: u64,
    /// Distinct users active in the 7 days ending that day.
    pub wau: u64,
    /// Distinct users active in the 30 days ending that day.
    pub mau: u64,
    /// DAU / MAU (`null` when MAU is 0).
    pub stickiness: Option<f64>,
}

/// DAU/WAU/MAU for every local day from `from` to `to` (inclusive), counting
/// events named in `activity_events` (empty = all). Runs in O(events + days).
pub fn active_users_series(
    events: &[UserEvent],
    activity_events: &[String],
    from: NaiveDate,
    to: NaiveDate,
    zone: Zone,
) -> Result<Vec<ActiveUsers>> {
    if from > to {
        return Err(invalid(format!("from {from} is after to {to}")));
    }
    let ndays = (to - from).num_days() as usize + 1;
    if ndays > 100_000 {
        return Err(invalid("the date range is longer than 100000 days"));
    }
    // Each user's distinct active days, as offsets from `from` (the 29 days
    // before `from` still count toward MAU).
    let mut days: HashMap<&str, Vec<i64>> = HashMap::new();
    for e in events.iter().filter(|e| selected(activity_events, &e.name)) {
        let d = (zone.date_at(e.timestamp) - from).num_days();
        if d >= -29 && d < ndays as i64 {
            days.entry(&e.user_id).or_default().push(d);
        }
    }
    // Difference arrays: a user active on day d is counted on [d, d + w − 1];
    // overlapping spans of one user are merged so each user counts once per day.
    let mut diff = [
        vec![0i64; ndays + 1],
        vec![0i64; ndays + 1],
        vec![0i64; ndays + 1],
    ];
    for ds in days.values_mut() {
        ds.sort_unstable();
        ds.dedup();
        for (k, w) in [1i64, 7, 30].into_iter().enumerate() {
            let mut span: Option<(i64, i64)> = None;
            let flush = |s: i64, e: i64, diff: &mut Vec<i64>| {
                let (s, e) = (s.max(0), e.min(ndays as i64 - 1));
                if s <= e {
                    diff[s as usize] += 1;
                    diff[e as usize + 1] -= 1;
                }
            };
            for &d in ds.iter() {
                span = match span {
                    Some((s, e)) if d <= e + 1 => Some((s, e.max(d + w - 1))),
                    Some((s, e)) => {
                        flush(s, e, &mut diff[k]);
                        Some((d, d + w - 1))
                    }
                    None => Some((d, d + w - 1)),
                };
            }
            if let Some((s, e)) = span {
                flush(s, e, &mut diff[k]);
            }
        }
    }
    let mut out = Vec::with_capacity(ndays);
    let mut run = [0i64; 3];
    for i in 0..ndays {
        for (r, d) in run.iter_mut().zip(&diff) {
            *r += d[i];
        }
        let (dau, wau, mau) = (run[0] as u64, run[1] as u64, run[2] as u64);
        out.push(ActiveUsers {
            date: from + chrono::Days::new(i as u64),
            dau,
            wau,
            mau,
            stickiness: ratio(dau as f64, mau as f64),
        });
    }
    Ok(out)
}

/// DAU/WAU/MAU as of one local day.
pub fn active_users(
    events: &[UserEvent],
    activity_events: &[String],
    date: NaiveDate,
    zone: Zone,
) -> Result<ActiveUsers> {
    let mut s = active_users_series(events, activity_events, date, date, zone)?;
    s.pop()
        .ok_or_else(|| domain("no day in the requested range"))
}

/// Repeat-purchase rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatRate {
    /// Users with at least one purchase.
    pub buyers: u64,
    /// Users with at least two purchases.
    pub repeat_buyers: u64,
    /// repeat_buyers / buyers.
    pub rate: f64,
}

/// Share of buyers (users with a `purchase_event`) who purchased at least twice.
/// `NUMERIC_DOMAIN` when nobody purchased.
pub fn repeat_purchase_rate(events: &[UserEvent], purchase_event: &str) -> Result<RepeatRate> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for e in events.iter().filter(|e| e.name == purchase_event) {
        *counts.entry(&e.user_id).or_default() += 1;
    }
    let buyers = counts.len() as u64;
    if buyers == 0 {
        return Err(domain(format!(
            "no {purchase_event:?} events: the repeat-purchase rate is undefined"
        )));
    }
    let repeat_buyers = counts.values().filter(|&&c| c >= 2).count() as u64;
    Ok(RepeatRate {
        buyers,
        repeat_buyers,
        rate: repeat_buyers as f64 / buyers as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    fn ev(u: &str, t: &str) -> UserEvent {
        UserEvent {
            user_id: u.into(),
            name: "open".into(),
            timestamp: parse_timestamp(t).unwrap(),
        }
    }

    #[test]
    fn windows_count_distinct_users() {
        let events = vec![
            ev("a", "2024-03-31T10:00:00Z"),
            ev("a", "2024-03-30T10:00:00Z"),
            ev("b", "2024-03-25T10:00:00Z"),
            ev("c", "2024-03-02T10:00:00Z"),
            ev("d", "2024-02-29T10:00:00Z"),
        ];
        let d = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
        let a = active_users(&events, &[], d, Zone::utc()).unwrap();
        assert_eq!((a.dau, a.wau, a.mau), (1, 2, 3));
        assert_eq!(a.stickiness, Some(1.0 / 3.0));
        // The series agrees with day-by-day computation.
        let from = NaiveDate::from_ymd_opt(2024, 2, 20).unwrap();
        let s = active_users_series(&events, &[], from, d, Zone::utc()).unwrap();
        for row in &s {
            let one = active_users(&events, &[], row.date, Zone::utc()).unwrap();
            assert_eq!(row, &one);
        }
        let none = active_users(&[], &[], d, Zone::utc()).unwrap();
        assert_eq!(none.stickiness, None);
    }
}
