//! The sample's calendar: per-day demand factors (weekly rhythm, Double 11,
//! 618, Spring Festival) and the brand's campaign send days.

use crate::zone::Zone;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

/// Spring Festival (lunar new year) dates; outside this table there is no bump.
const SPRING_FESTIVAL: &[(i32, u32, u32)] = &[
    (2023, 1, 22),
    (2024, 2, 10),
    (2025, 1, 29),
    (2026, 2, 17),
    (2027, 2, 6),
    (2028, 1, 26),
    (2029, 2, 13),
    (2030, 2, 3),
    (2031, 1, 23),
    (2032, 2, 11),
];

/// A brand campaign message sent to every reachable user.
#[derive(Debug, Clone)]
pub(super) struct Campaign {
    /// Day index (days since the sample's first local day).
    pub day: i64,
    /// Local send time: hour and minute.
    pub hour: u32,
    pub minute: u32,
    /// Message id, e.g. `c20261101`.
    pub id: String,
}

/// Day-indexed factors, computed once per run in the default zone.
#[derive(Debug, Clone)]
pub(super) struct Calendar {
    /// The local date of day 0.
    pub first: NaiveDate,
    /// Number of days covered.
    pub days: i64,
    /// Shopping demand factor per day (purchases, coupons, browsing).
    pub shopping: Vec<f64>,
    /// The largest shopping factor (for thinning).
    pub max_shopping: f64,
    /// Campaigns in day order.
    pub campaigns: Vec<Campaign>,
}

impl Calendar {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>, zone: Zone) -> Calendar {
        let first = zone.date_at(start);
        let last = zone.date_at(end);
        let days = (last - first).num_days() + 1;
        let mut shopping = Vec::with_capacity(days as usize);
        let mut campaigns = Vec::new();
        for d in 0..days {
            let date = first + Duration::days(d);
            shopping.push(shopping_factor(date));
            let fortnightly_tuesday =
                date.weekday() == Weekday::Tue && date.iso_week().week() % 2 == 0;
            let (m, day) = (date.month(), date.day());
            let double11_push = m == 11 && (day == 1 || day == 10);
            let festival_eve =
                spring_festival(date.year()).is_some_and(|sf| date == sf - Duration::days(1));
            if fortnightly_tuesday || double11_push || festival_eve {
                let (hour, minute) = if festival_eve { (20, 0) } else { (12, 10) };
                campaigns.push(Campaign {
                    day: d,
                    hour,
                    minute,
                    id: format!("c{}", date.format("%Y%m%d")),
                });
            }
        }
        let max_shopping = shopping.iter().copied().fold(1.0, f64::max);
        Calendar {
            first,
            days,
            shopping,
            max_shopping,
            campaigns,
        }
    }

    /// The local date of day `d`.
    pub fn date(&self, d: i64) -> NaiveDate {
        self.first + Duration::days(d)
    }

    /// The shopping factor of day `d` (1 outside the range).
    pub fn shopping(&self, d: i64) -> f64 {
        usize::try_from(d)
            .ok()
            .and_then(|i| self.shopping.get(i))
            .copied()
            .unwrap_or(1.0)
    }
}

fn spring_festival(year: i32) -> Option<NaiveDate> {
    SPRING_FESTIVAL
        .iter()
        .find(|(y, _, _)| *y == year)
        .and_then(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
}

/// Demand on `date` relative to an ordinary weekday.
fn shopping_factor(date: NaiveDate) -> f64 {
    let weekly = match date.weekday() {
        Weekday::Sat | Weekday::Sun => 1.3,
        Weekday::Fri => 1.1,
        _ => 1.0,
    };
    let (m, d) = (date.month(), date.day());
    let promo = match (m, d) {
        (11, 11) => 5.0,
        (11, 1..=10) => 1.6,
        (11, 12..=13) => 1.3,
        (6, 18) => 2.5,
        (6, 1..=17) => 1.3,
        _ => 1.0,
    };
    // Spring Festival: new-year shopping in the three weeks before, then logistics
    // stop for the holiday week.
    let festival = [date.year(), date.year() + 1]
        .iter()
        .filter_map(|y| spring_festival(*y))
        .map(|sf| -> f64 {
            match (date - sf).num_days() {
                -21..=-8 => 1.5,
                -7..=6 => 0.45,
                _ => 1.0,
            }
        })
        .fold(1.0, |a: f64, b| {
            if (b - 1.0).abs() > (a - 1.0).abs() {
                b
            } else {
                a
            }
        });
    weekly * promo * festival
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    #[test]
    fn bumps_and_campaigns() {
        let cal = Calendar::new(
            parse_timestamp("2025-12-01T00:00:00+08:00").unwrap(),
            parse_timestamp("2026-12-01T00:00:00+08:00").unwrap(),
            Zone::parse("+08:00").unwrap(),
        );
        assert_eq!(cal.first, NaiveDate::from_ymd_opt(2025, 12, 1).unwrap());
        let idx = |y, m, d| (NaiveDate::from_ymd_opt(y, m, d).unwrap() - cal.first).num_days();
        // 2026-11-11 is a Wednesday.
        assert_eq!(cal.shopping(idx(2026, 11, 11)), 5.0);
        assert!(cal.shopping(idx(2026, 2, 18)) < 0.5);
        assert!(cal.shopping(idx(2026, 2, 1)) > 1.4);
        assert!(cal.campaigns.iter().any(|c| c.id == "c20261110"));
        assert!(cal
            .campaigns
            .iter()
            .any(|c| c.id == "c20260216" && c.hour == 20));
        assert!((25..=35).contains(&cal.campaigns.len()));
    }
}
