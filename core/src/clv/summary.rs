//! From transactions to the per-customer summary the value models need.
//!
//! Semantics of `lifetimes`' `summary_data_from_transaction_data` with daily
//! periods: transactions on one local calendar day are merged (values summed);
//! `frequency` counts purchase days after the first; `recency` is the age at the
//! last purchase day and `T` the age at the observation end, both measured from
//! the first purchase day in the chosen unit; `monetary_value` is the mean
//! merged value of the repeat days (0 without repeats).

use crate::error::{Error, ErrorKind, Result};
use crate::value::ts_serde;
use crate::zone::Zone;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// The customer.
    pub customer_id: String,
    /// When it happened.
    #[serde(with = "ts_serde")]
    pub timestamp: DateTime<Utc>,
    /// Its monetary value (≥ 0).
    pub value: f64,
}

/// The time unit of recency and T.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Days.
    Days,
    /// Weeks of 7 days (the unit of the CDNOW papers).
    #[default]
    Weeks,
}

impl TimeUnit {
    /// Days per unit.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }
}

/// How to build a summary.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SummaryOptions {
    /// The unit of recency and T.
    pub unit: TimeUnit,
    /// The zone whose calendar days define "same day".
    pub zone: Zone,
    /// Round recency, T and monetary values to this many decimals (the published
    /// CDNOW summaries use 2); `None` keeps full precision.
    pub decimals: Option<u32>,
}

/// One customer's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerSummary {
    /// The customer.
    pub customer_id: String,
    /// Repeat purchase days x.
    pub frequency: u64,
    /// Age at the last purchase day, t_x.
    pub recency: f64,
    /// Age at the observation end, T.
    #[serde(rename = "T")]
    pub t: f64,
    /// Mean value of the repeat purchase days (0 when x = 0).
    pub monetary_value: f64,
}

/// One customer's calibration summary plus what happened in the hold-out period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationHoldout {
    /// The customer.
    pub customer_id: String,
    /// Repeat purchase days in the calibration period.
    pub frequency_cal: u64,
    /// Recency in the calibration period.
    pub recency_cal: f64,
    /// Age at the calibration end.
    #[serde(rename = "T_cal")]
    pub t_cal: f64,
    /// Mean repeat-day value in the calibration period.
    pub monetary_value_cal: f64,
    /// Purchase days in the hold-out period.
    pub frequency_holdout: u64,
    /// Mean purchase-day value in the hold-out period (0 without purchases).
    pub monetary_value_holdout: f64,
    /// Length of the hold-out period.
    pub duration_holdout: f64,
}

/// Rounds half away from zero in decimal: the scaled value is first snapped to
/// 6 further decimals, so a mean such as 18.135 that binary arithmetic holds as
/// 18.134999… still rounds up like the decimal number it stands for.
fn round(v: f64, decimals: Option<u32>) -> f64 {
    match decimals {
        Some(d) => {
            let f = 10f64.powi(d as i32);
            let scaled = ((v * f) * 1e6).round() / 1e6;
            scaled.round() / f
        }
        None => v,
    }
}

/// Per customer: merged purchase days (local date → summed value).
fn days_by_customer(
    txns: &[Transaction],
    zone: Zone,
    end: NaiveDate,
) -> Result<BTreeMap<&str, BTreeMap<NaiveDate, f64>>> {
    let mut by: BTreeMap<&str, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    for (i, t) in txns.iter().enumerate() {
        if t.customer_id.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "empty customer_id")
                .with_path(format!("[{i}].customer_id")));
        }
        if !t.value.is_finite() || t.value < 0.0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "transaction value must be a finite number ≥ 0, got {}",
                    t.value
                ),
            )
            .with_path(format!("[{i}].value")));
        }
        let day = zone.date_at(t.timestamp);
        if day > end {
            continue;
        }
        *by.entry(&t.customer_id)
            .or_default()
            .entry(day)
            .or_insert(0.0) += t.value;
    }
    Ok(by)
}

fn summary_of(
    id: &str,
    days: &BTreeMap<NaiveDate, f64>,
    end: NaiveDate,
    opts: &SummaryOptions,
) -> Option<CustomerSummary> {
    let (&first, _) = days.iter().next()?;
    let (&last, _) = days.iter().next_back()?;
    let x = days.len() as u64 - 1;
    let repeat: f64 = days.values().skip(1).sum();
    let unit = opts.unit.days();
    Some(CustomerSummary {
        customer_id: id.to_string(),
        frequency: x,
        recency: round((last - first).num_days() as f64 / unit, opts.decimals),
        t: round((end - first).num_days() as f64 / unit, opts.decimals),
        monetary_value: if x == 0 {
            0.0
        } else {
            round(repeat / x as f64, opts.decimals)
        },
    })
}

/// Summarises transactions up to and including the local day `observation_end`
/// (later transactions are ignored), one row per customer ordered by id.
///
/// Errors: `INVALID_ARGUMENT` for an empty customer id or a negative or
/// non-finite value; `NUMERIC_DOMAIN` when no transaction falls on or before
/// `observation_end`.
pub fn summarize(
    txns: &[Transaction],
    observation_end: NaiveDate,
    opts: &SummaryOptions,
) -> Result<Vec<CustomerSummary>> {
    let by = days_by_customer(txns, opts.zone, observation_end)?;
    if by.is_empty() {
        return Err(Error::new(
            ErrorKind::NumericDomain,
            "no transactions on or before the observation end",
        ));
    }
    Ok(by
        .iter()
        .filter_map(|(id, days)| summary_of(id, days, observation_end, opts))
        .collect())
}

/// Splits at `calibration_end` (inclusive): customers whose first purchase is
/// in the calibration period get their calibration summary plus their
/// hold-out purchases in (`calibration_end`, `observation_end`].
///
/// Errors as [`summarize`], plus `INVALID_ARGUMENT` unless
/// `calibration_end < observation_end`.
pub fn calibration_and_holdout(
    txns: &[Transaction],
    calibration_end: NaiveDate,
    observation_end: NaiveDate,
    opts: &SummaryOptions,
) -> Result<Vec<CalibrationHoldout>> {
    if calibration_end >= observation_end {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("calibration_end {calibration_end} must be before observation_end {observation_end}"),
        ));
    }
    let by = days_by_customer(txns, opts.zone, observation_end)?;
    let duration = round(
        (observation_end - calibration_end).num_days() as f64 / opts.unit.days(),
        opts.decimals,
    );
    let mut out = Vec::new();
    for (id, days) in &by {
        let cal: BTreeMap<NaiveDate, f64> = days
            .range(..=calibration_end)
            .map(|(d, v)| (*d, *v))
            .collect();
        let Some(s) = summary_of(id, &cal, calibration_end, opts) else {
            continue;
        };
        let hold: Vec<f64> = days
            .range(calibration_end.succ_opt().unwrap_or(calibration_end)..)
            .filter(|(d, _)| **d > calibration_end)
            .map(|(_, v)| *v)
            .collect();
        let n = hold.len() as u64;
        out.push(CalibrationHoldout {
            customer_id: s.customer_id,
            frequency_cal: s.frequency,
            recency_cal: s.recency,
            t_cal: s.t,
            monetary_value_cal: s.monetary_value,
            frequency_holdout: n,
            monetary_value_holdout: if n == 0 {
                0.0
            } else {
                round(hold.iter().sum::<f64>() / n as f64, opts.decimals)
            },
            duration_holdout: duration,
        });
    }
    if out.is_empty() {
        return Err(Error::new(
            ErrorKind::NumericDomain,
            "no customer made a first purchase on or before the calibration end",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    fn tx(id: &str, ts: &str, v: f64) -> Transaction {
        Transaction {
            customer_id: id.into(),
            timestamp: parse_timestamp(ts).unwrap(),
            value: v,
        }
    }

    #[test]
    fn merges_same_day_and_measures_in_days() {
        let txns = vec![
            tx("a", "2024-01-01T09:00:00Z", 10.0),
            tx("a", "2024-01-01T18:00:00Z", 5.0),
            tx("a", "2024-01-08T10:00:00Z", 20.0),
            tx("a", "2024-01-15T10:00:00Z", 40.0),
            tx("b", "2024-01-10T10:00:00Z", 7.0),
            tx("b", "2024-03-01T10:00:00Z", 7.0),
        ];
        let end = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
        let opts = SummaryOptions {
            unit: TimeUnit::Days,
            ..Default::default()
        };
        let s = summarize(&txns, end, &opts).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].frequency, s[0].recency, s[0].t), (2, 14.0, 30.0));
        assert_eq!(s[0].monetary_value, 30.0);
        assert_eq!((s[1].frequency, s[1].recency, s[1].t), (0, 0.0, 21.0));
        assert_eq!(s[1].monetary_value, 0.0);
    }

    #[test]
    fn zone_decides_the_day() {
        // 23:30 UTC and 00:30 UTC next day are the same day in UTC−05:00.
        let txns = vec![
            tx("a", "2024-01-01T23:30:00Z", 1.0),
            tx("a", "2024-01-02T00:30:00Z", 1.0),
        ];
        let end = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
        let utc = summarize(&txns, end, &SummaryOptions::default()).unwrap();
        assert_eq!(utc[0].frequency, 1);
        let opts = SummaryOptions {
            zone: Zone::parse("-05:00").unwrap(),
            ..Default::default()
        };
        assert_eq!(summarize(&txns, end, &opts).unwrap()[0].frequency, 0);
    }

    #[test]
    fn holdout_split() {
        let txns = vec![
            tx("a", "2024-01-01T00:00:00Z", 10.0),
            tx("a", "2024-01-08T00:00:00Z", 20.0),
            tx("a", "2024-02-05T00:00:00Z", 30.0),
            tx("a", "2024-02-06T00:00:00Z", 50.0),
            tx("b", "2024-02-01T00:00:00Z", 5.0),
        ];
        let cal = NaiveDate::from_ymd_opt(2024, 1, 28).unwrap();
        let end = NaiveDate::from_ymd_opt(2024, 2, 25).unwrap();
        let s = calibration_and_holdout(&txns, cal, end, &SummaryOptions::default()).unwrap();
        assert_eq!(s.len(), 1, "b first bought in the hold-out period");
        assert_eq!(s[0].frequency_cal, 1);
        assert_eq!(s[0].recency_cal, 1.0);
        assert_eq!(s[0].t_cal, 27.0 / 7.0);
        assert_eq!(s[0].frequency_holdout, 2);
        assert_eq!(s[0].monetary_value_holdout, 40.0);
        assert_eq!(s[0].duration_holdout, 4.0);
        let e = calibration_and_holdout(&txns, end, cal, &SummaryOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn bad_transactions() {
        let end = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
        let e = summarize(
            &[tx("a", "2024-01-01T00:00:00Z", -1.0)],
            end,
            &Default::default(),
        );
        assert_eq!(e.unwrap_err().path(), Some("[0].value"));
        let e = summarize(&[], end, &Default::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NumericDomain);
    }
}
