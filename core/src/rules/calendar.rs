//! Calendar arithmetic for windows and streaks: unit starts, unit shifts and
//! unit indexes, all on local dates of the profile's zone.

use super::ast::{CalendarUnit, StreakUnit};
use chrono::{Datelike, NaiveDate};

/// The first local date of the unit containing `d` (weeks start on Monday).
pub(crate) fn unit_start(d: NaiveDate, unit: CalendarUnit) -> NaiveDate {
    match unit {
        CalendarUnit::Day => d,
        CalendarUnit::Week => d
            .checked_sub_signed(chrono::Duration::days(i64::from(
                d.weekday().num_days_from_monday(),
            )))
            .unwrap_or(d),
        CalendarUnit::Month => d.with_day(1).unwrap_or(d),
        CalendarUnit::Quarter => {
            let m0 = (d.month0() / 3) * 3;
            NaiveDate::from_ymd_opt(d.year(), m0 + 1, 1).unwrap_or(d)
        }
        CalendarUnit::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
    }
}

/// The instant local `d` begins in `zone`; `None` within a few days of the ends
/// of chrono's date range, where the zone conversion could leave it (such a bound
/// is treated as unbounded by callers).
pub(crate) fn start_of(
    zone: &crate::zone::Zone,
    d: NaiveDate,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let margin = chrono::Duration::days(3);
    let lo = NaiveDate::MIN.checked_add_signed(margin)?;
    let hi = NaiveDate::MAX.checked_sub_signed(margin)?;
    (lo..=hi).contains(&d).then(|| zone.start_of_day(d))
}

/// The local date of `t` in `zone`. Instants within two days of the ends of
/// chrono's range are read in UTC, where a zone offset could leave the range.
pub(crate) fn local_date(zone: &crate::zone::Zone, t: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    let margin = chrono::Duration::days(2);
    let safe = chrono::DateTime::<chrono::Utc>::MIN_UTC
        .checked_add_signed(margin)
        .zip(chrono::DateTime::<chrono::Utc>::MAX_UTC.checked_sub_signed(margin))
        .is_some_and(|(lo, hi)| (lo..=hi).contains(&t));
    if safe {
        zone.date_at(t)
    } else {
        t.date_naive()
    }
}

/// Moves a unit start by `n` units; `None` when outside chrono's date range.
pub(crate) fn shift(d: NaiveDate, unit: CalendarUnit, n: i64) -> Option<NaiveDate> {
    match unit {
        CalendarUnit::Day => d.checked_add_signed(chrono::Duration::try_days(n)?),
        CalendarUnit::Week => d.checked_add_signed(chrono::Duration::try_days(n.checked_mul(7)?)?),
        CalendarUnit::Month => add_months(d, n),
        CalendarUnit::Quarter => add_months(d, n.checked_mul(3)?),
        CalendarUnit::Year => add_months(d, n.checked_mul(12)?),
    }
}

/// Adds months to a first-of-month date.
fn add_months(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    let idx = i64::from(d.year())
        .checked_mul(12)?
        .checked_add(i64::from(d.month0()))?
        .checked_add(n)?;
    let year = i32::try_from(idx.div_euclid(12)).ok()?;
    NaiveDate::from_ymd_opt(year, (idx.rem_euclid(12) + 1) as u32, 1)
}

/// A monotone index of the streak unit containing `d`: consecutive units have
/// consecutive indexes.
pub(crate) fn unit_index(d: NaiveDate, unit: StreakUnit) -> i64 {
    match unit {
        StreakUnit::Day => i64::from(d.num_days_from_ce()),
        // 0001-01-01 (day 1 from CE) is a Monday, so weeks are aligned on Mondays.
        StreakUnit::Week => (i64::from(d.num_days_from_ce()) - 1).div_euclid(7),
        StreakUnit::Month => i64::from(d.year()) * 12 + i64::from(d.month0()),
    }
}

/// The calendar unit of a streak unit.
pub(crate) fn streak_calendar_unit(unit: StreakUnit) -> CalendarUnit {
    match unit {
        StreakUnit::Day => CalendarUnit::Day,
        StreakUnit::Week => CalendarUnit::Week,
        StreakUnit::Month => CalendarUnit::Month,
    }
}

/// The next occurrence (≥ `today`) of `d`'s month and day; 29 February falls on
/// 28 February in common years.
pub(crate) fn anniversary(d: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    let on = |year: i32| {
        NaiveDate::from_ymd_opt(year, d.month(), d.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, d.month(), d.day() - 1))
    };
    let this = on(today.year())?;
    if this >= today {
        Some(this)
    } else {
        on(today.year().checked_add(1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::value::parse_date(s).unwrap()
    }

    #[test]
    fn unit_starts() {
        // 2026-03-04 is a Wednesday.
        assert_eq!(
            unit_start(d("2026-03-04"), CalendarUnit::Week),
            d("2026-03-02")
        );
        assert_eq!(
            unit_start(d("2026-03-02"), CalendarUnit::Week),
            d("2026-03-02")
        );
        assert_eq!(
            unit_start(d("2026-03-01"), CalendarUnit::Week),
            d("2026-02-23")
        );
        assert_eq!(
            unit_start(d("2026-08-31"), CalendarUnit::Quarter),
            d("2026-07-01")
        );
        assert_eq!(
            unit_start(d("2026-12-31"), CalendarUnit::Year),
            d("2026-01-01")
        );
        assert_eq!(
            unit_start(d("2024-02-29"), CalendarUnit::Month),
            d("2024-02-01")
        );
    }

    #[test]
    fn shifts_cross_years_and_fail_gracefully() {
        assert_eq!(
            shift(d("2026-01-01"), CalendarUnit::Month, -1),
            Some(d("2025-12-01"))
        );
        assert_eq!(
            shift(d("2026-01-01"), CalendarUnit::Quarter, -5),
            Some(d("2024-10-01"))
        );
        assert_eq!(
            shift(d("2026-03-02"), CalendarUnit::Week, -1),
            Some(d("2026-02-23"))
        );
        assert_eq!(shift(d("2026-01-01"), CalendarUnit::Year, i64::MIN), None);
        assert_eq!(
            shift(d("2026-01-01"), CalendarUnit::Day, -4_000_000_000),
            None
        );
    }

    #[test]
    fn week_indexes_are_monday_aligned() {
        let sun = unit_index(d("2026-03-01"), StreakUnit::Week);
        let mon = unit_index(d("2026-03-02"), StreakUnit::Week);
        let next_sun = unit_index(d("2026-03-08"), StreakUnit::Week);
        assert_eq!(mon, sun + 1);
        assert_eq!(next_sun, mon);
        assert_eq!(
            unit_index(d("2026-01-01"), StreakUnit::Month) - 1,
            unit_index(d("2025-12-31"), StreakUnit::Month)
        );
    }

    #[test]
    fn anniversaries() {
        assert_eq!(
            anniversary(d("1990-03-10"), d("2026-03-10")),
            Some(d("2026-03-10"))
        );
        assert_eq!(
            anniversary(d("1990-03-09"), d("2026-03-10")),
            Some(d("2027-03-09"))
        );
        assert_eq!(
            anniversary(d("2000-02-29"), d("2026-01-01")),
            Some(d("2026-02-28"))
        );
        assert_eq!(
            anniversary(d("2000-02-29"), d("2027-12-01")),
            Some(d("2028-02-29"))
        );
    }
}
