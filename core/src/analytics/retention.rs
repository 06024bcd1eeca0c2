//! Retention cohort matrices.
//!
//! A user's cohort is the local day (or week) of their first `cohort_event`;
//! they are retained in period n when they have an activity event in the n-th
//! day (or week) after it. Period 0 counts literally (activity in the cohort
//! period itself), so it is below 100% when the cohort event is not an activity.

use super::{ratio, selected, FastMap, UserEvent};
use crate::error::{Error, ErrorKind, Result};
use crate::zone::Zone;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Period length of a cohort matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// Calendar days: cohort = first day, period n = n days later.
    Day,
    /// ISO weeks (Monday first): cohort = the week of the first day, period n = n weeks later.
    Week,
}

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionSpec {
    /// The event that places a user in a cohort (its first occurrence), e.g. `signup`.
    pub cohort_event: String,
    /// Events that count as activity (empty = every event).
    pub activity_events: Vec<String>,
    /// Days or weeks.
    pub granularity: Granularity,
    /// Number of periods per row (0..periods).
    pub periods: u32,
    /// The zone whose calendar defines days and weeks.
    pub zone: Zone,
    /// Data end: periods starting after this instant's local day are `null`.
    pub end: Option<DateTime<Utc>>,
}

/// One cohort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortRow {
    /// First local day of the cohort period.
    pub cohort: NaiveDate,
    /// Users in the cohort.
    pub size: u64,
    /// Users active in each period (`null` when the period is not yet observable).
    pub retained: Vec<Option<u64>>,
    /// `retained / size` per period.
    pub rates: Vec<Option<f64>>,
}

/// A retention matrix, cohorts in date order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionMatrix {
    /// Days or weeks.
    pub granularity: Granularity,
    /// One row per cohort.
    pub cohorts: Vec<CohortRow>,
}

fn period_start(g: Granularity, d: NaiveDate) -> NaiveDate {
    match g {
        Granularity::Day => d,
        Granularity::Week => d - chrono::Days::new(d.weekday().num_days_from_monday() as u64),
    }
}

/// Builds the cohort matrix. Users without the cohort event are ignored;
/// activity before a user's cohort period is ignored. No cohorts → an empty matrix.
pub fn retention_matrix(events: &[UserEvent], spec: &RetentionSpec) -> Result<RetentionMatrix> {
    // Dense user indices, then the shared columnar computation.
    let mut index: FastMap<&str, usize> = FastMap::default();
    let users: Vec<usize> = events
        .iter()
        .map(|e| {
            let next = index.len();
            *index.entry(e.user_id.as_str()).or_insert(next)
        })
        .collect();
    let active: Vec<bool> = events
        .iter()
        .map(|e| selected(&spec.activity_events, &e.name))
        .collect();
    matrix(
        events.len(),
        index.len(),
        |i| Some(users[i]),
        |i| events[i].name == spec.cohort_event,
        |i| active[i],
        |i| Ok(events[i].timestamp),
        spec,
    )
}

/// Event rows as columns for [`retention_matrix_columns`].
#[derive(Debug, Clone, Copy)]
pub struct RetentionColumns<'a> {
    /// User codes (dense integers, e.g. dictionary keys): equal codes are one user.
    pub users: &'a [u32],
    /// Timestamps, microseconds since the Unix epoch (UTC).
    pub timestamps: &'a [i64],
    /// Event name codes into `name_table`.
    pub names: &'a [i32],
    /// Event names.
    pub name_table: &'a [String],
}

/// [`retention_matrix`] over columns: the same matrix as for the equivalent
/// [`UserEvent`] rows, without building them.
pub fn retention_matrix_columns(
    cols: &RetentionColumns<'_>,
    spec: &RetentionSpec,
) -> Result<RetentionMatrix> {
    let n = cols.users.len();
    if cols.timestamps.len() != n || cols.names.len() != n {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "user, timestamp and name columns must have equal lengths",
        ));
    }
    let code_is = |names: &dyn Fn(&str) -> bool| -> Vec<bool> {
        cols.name_table.iter().map(|n| names(n)).collect()
    };
    let cohort = code_is(&|n| n == spec.cohort_event);
    let active = code_is(&|n| selected(&spec.activity_events, n));
    let flag = |table: &[bool], i: usize| {
        usize::try_from(cols.names[i])
            .ok()
            .and_then(|c| table.get(c).copied())
    };
    if let Some(i) = (0..n).find(|&i| flag(&cohort, i).is_none()) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "event row {i}: name code {} is outside the name table",
                cols.names[i]
            ),
        ));
    }
    let users = cols.users.iter().max().map_or(0, |&m| m as usize + 1);
    matrix(
        n,
        users,
        |i| Some(cols.users[i] as usize),
        |i| flag(&cohort, i) == Some(true),
        |i| flag(&active, i) == Some(true),
        |i| {
            DateTime::<Utc>::from_timestamp_micros(cols.timestamps[i]).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("event row {i}: timestamp out of range"),
                )
            })
        },
        spec,
    )
}

/// The matrix over `n` events given by accessors; `user(i)` is a dense index
/// below `users`.
fn matrix(
    n: usize,
    users: usize,
    user: impl Fn(usize) -> Option<usize>,
    is_cohort: impl Fn(usize) -> bool,
    is_active: impl Fn(usize) -> bool,
    ts: impl Fn(usize) -> Result<DateTime<Utc>>,
    spec: &RetentionSpec,
) -> Result<RetentionMatrix> {
    let step = match spec.granularity {
        Granularity::Day => 1,
        Granularity::Week => 7,
    };
    // First cohort event per user.
    let mut first: Vec<Option<DateTime<Utc>>> = vec![None; users];
    for i in (0..n).filter(|&i| is_cohort(i)) {
        let Some(u) = user(i) else { continue };
        let t = ts(i)?;
        let f = &mut first[u];
        *f = Some(f.map_or(t, |f| f.min(t)));
    }
    // Users with a cohort, densely numbered.
    let mut slot: Vec<u32> = vec![u32::MAX; users];
    let mut cohort: Vec<NaiveDate> = Vec::new();
    for (u, f) in first.iter().enumerate() {
        if let Some(t) = f {
            slot[u] = cohort.len() as u32;
            cohort.push(period_start(spec.granularity, spec.zone.date_at(*t)));
        }
    }
    // Distinct (user, period) activity: a bit mask per user for up to 64
    // periods, else a list.
    let periods = spec.periods as usize;
    let mut masks: Vec<u64> = vec![0; if periods <= 64 { cohort.len() } else { 0 }];
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); if periods > 64 { cohort.len() } else { 0 }];
    for i in 0..n {
        if !is_active(i) {
            continue;
        }
        let Some(u) = user(i).map(|u| slot[u]).filter(|&s| s != u32::MAX) else {
            continue;
        };
        let u = u as usize;
        let p = period_start(spec.granularity, spec.zone.date_at(ts(i)?));
        let days = (p - cohort[u]).num_days();
        if days < 0 {
            continue;
        }
        let n = (days / step) as usize;
        if n < periods {
            if periods <= 64 {
                masks[u] |= 1 << n;
            } else {
                lists[u].push(n as u32);
            }
        }
    }
    let mut rows: BTreeMap<NaiveDate, (u64, Vec<u64>)> = BTreeMap::new();
    for (u, c) in cohort.iter().enumerate() {
        let row = rows.entry(*c).or_insert_with(|| (0, vec![0; periods]));
        row.0 += 1;
        if periods <= 64 {
            let mut m = masks[u];
            while m != 0 {
                row.1[m.trailing_zeros() as usize] += 1;
                m &= m - 1;
            }
        } else {
            let ps = &mut lists[u];
            ps.sort_unstable();
            ps.dedup();
            for &p in ps.iter() {
                row.1[p as usize] += 1;
            }
        }
    }
    let last = spec
        .end
        .map(|t| period_start(spec.granularity, spec.zone.date_at(t)));
    let cohorts = rows
        .into_iter()
        .map(|(cohort, (size, counts))| {
            let retained: Vec<Option<u64>> = counts
                .iter()
                .enumerate()
                .map(|(n, &c)| {
                    let start = cohort + chrono::Days::new((n as i64 * step) as u64);
                    match last {
                        Some(l) if start > l => None,
                        _ => Some(c),
                    }
                })
                .collect();
            let rates = retained
                .iter()
                .map(|r| r.and_then(|c| ratio(c as f64, size as f64)))
                .collect();
            CohortRow {
                cohort,
                size,
                retained,
                rates,
            }
        })
        .collect();
    Ok(RetentionMatrix {
        granularity: spec.granularity,
        cohorts,
    })
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
    fn daily_matrix() {
        let events = vec![
            ev("a", "signup", "2024-01-01T10:00:00Z"),
            ev("a", "open", "2024-01-02T10:00:00Z"),
            ev("a", "open", "2024-01-02T11:00:00Z"),
            ev("b", "signup", "2024-01-01T12:00:00Z"),
            ev("b", "open", "2024-01-03T10:00:00Z"),
            ev("c", "signup", "2024-01-02T12:00:00Z"),
            ev("c", "open", "2024-01-03T12:00:00Z"),
            ev("d", "open", "2024-01-03T12:00:00Z"),
        ];
        let spec = RetentionSpec {
            cohort_event: "signup".into(),
            activity_events: vec!["open".into()],
            granularity: Granularity::Day,
            periods: 3,
            zone: Zone::utc(),
            end: Some(parse_timestamp("2024-01-03T23:00:00Z").unwrap()),
        };
        let m = retention_matrix(&events, &spec).unwrap();
        assert_eq!(m.cohorts.len(), 2);
        assert_eq!(m.cohorts[0].size, 2);
        assert_eq!(m.cohorts[0].retained, vec![Some(0), Some(1), Some(1)]);
        assert_eq!(m.cohorts[0].rates[1], Some(0.5));
        assert_eq!(m.cohorts[1].retained, vec![Some(0), Some(1), None]);
    }

    #[test]
    fn long_rows_use_the_list_path_and_agree() {
        let mut events = vec![ev("a", "signup", "2024-01-01T10:00:00Z")];
        for d in [1, 1, 5, 66, 69] {
            let t = parse_timestamp("2024-01-01T12:00:00Z").unwrap() + chrono::Days::new(d);
            events.push(UserEvent {
                user_id: "a".into(),
                name: "open".into(),
                timestamp: t,
            });
        }
        let mut spec = RetentionSpec {
            cohort_event: "signup".into(),
            activity_events: vec![],
            granularity: Granularity::Day,
            periods: 70,
            zone: Zone::utc(),
            end: None,
        };
        let long = retention_matrix(&events, &spec).unwrap();
        let r = &long.cohorts[0].retained;
        let days: Vec<usize> = (0..70).filter(|&i| r[i] == Some(1)).collect();
        assert_eq!(days, vec![0, 1, 5, 66, 69]);
        spec.periods = 64;
        let short = retention_matrix(&events, &spec).unwrap();
        assert_eq!(short.cohorts[0].retained[..], r[..64]);
    }
}
