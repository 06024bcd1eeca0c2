//! [`Instant`]: the time type of journey state and effects (ADR 0012).
//!
//! Whole seconds and nanoseconds since the Unix epoch (UTC) as plain integers,
//! so decoding, encoding, comparing and adding whole seconds to the instants
//! of a journey state is integer work; a calendar (chrono) is consulted only
//! where local time or dates matter (quiet hours, per-day caps, waits until a
//! local time, rules). It holds exactly the instants a `chrono::DateTime<Utc>`
//! can hold — including a leap second's second (nanoseconds ≥ 10⁹ within a
//! second `…:59`) — converts to and from one without loss and orders the same
//! way; its JSON form is the same RFC 3339 text.

use crate::value::{format_timestamp, parse_timestamp};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

const NANOS: u32 = 1_000_000_000;
const MIN_SECS: i64 = DateTime::<Utc>::MIN_UTC.timestamp();
const MAX_SECS: i64 = DateTime::<Utc>::MAX_UTC.timestamp();
/// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z.
const YEAR_1: i64 = -62_135_596_800;
const YEAR_10000: i64 = 253_402_300_800;

/// An instant in UTC: seconds and nanoseconds since the Unix epoch.
///
/// `Copy`, 16 bytes, ordered like the `DateTime<Utc>` it converts to
/// ([`Instant::to_chrono`], `From`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Whole seconds since the epoch, within chrono's range.
    secs: i64,
    /// Nanoseconds within the second; ≥ 10⁹ only inside a leap second.
    nanos: u32,
}

impl Instant {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Instant = Instant { secs: 0, nanos: 0 };
    /// The earliest instant (chrono's `DateTime::<Utc>::MIN_UTC`).
    pub const MIN: Instant = Instant {
        secs: MIN_SECS,
        nanos: 0,
    };
    /// The latest instant (chrono's `DateTime::<Utc>::MAX_UTC`).
    pub const MAX: Instant = Instant {
        secs: MAX_SECS,
        nanos: NANOS - 1,
    };

    /// The instant `secs` + `nanos` after the epoch, if a `DateTime<Utc>` can
    /// hold it (the same rule as `DateTime::from_timestamp`).
    #[inline]
    pub fn from_timestamp(secs: i64, nanos: u32) -> Option<Instant> {
        let ok = (MIN_SECS..=MAX_SECS).contains(&secs)
            && (nanos < NANOS || (nanos < 2 * NANOS && secs.rem_euclid(60) == 59));
        ok.then_some(Instant { secs, nanos })
    }

    /// Whole seconds since the epoch (as `DateTime::timestamp`).
    #[inline]
    pub fn timestamp(self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second (as `DateTime::timestamp_subsec_nanos`).
    #[inline]
    pub fn timestamp_subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Milliseconds since the epoch, rounded down (as `DateTime::timestamp_millis`).
    #[inline]
    pub fn timestamp_millis(self) -> i64 {
        self.secs * 1_000 + i64::from(self.nanos / 1_000_000)
    }

    /// Microseconds since the epoch, rounded down (as `DateTime::timestamp_micros`).
    #[inline]
    pub fn timestamp_micros(self) -> i64 {
        self.secs * 1_000_000 + i64::from(self.nanos / 1_000)
    }

    /// The same instant as a chrono `DateTime<Utc>`.
    #[inline]
    pub fn to_chrono(self) -> DateTime<Utc> {
        // Every `Instant` is one chrono can hold (checked when built).
        DateTime::from_timestamp(self.secs, self.nanos).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Whether this is not inside a leap second (the integer fast paths apply).
    #[inline]
    fn plain(self) -> bool {
        self.nanos < NANOS
    }

    /// `self + secs` seconds, or `None` outside the range (as chrono's
    /// `checked_add_signed` with whole seconds).
    #[inline]
    pub fn checked_add_secs(self, secs: i64) -> Option<Instant> {
        if self.plain() {
            let s = self.secs.checked_add(secs)?;
            return Instant::from_timestamp(s, self.nanos);
        }
        let d = chrono::Duration::try_seconds(secs)?;
        self.to_chrono().checked_add_signed(d).map(Instant::from)
    }

    /// `self - secs` seconds, or `None` outside the range.
    #[inline]
    pub fn checked_sub_secs(self, secs: i64) -> Option<Instant> {
        self.checked_add_secs(secs.checked_neg()?)
    }

    /// Whole seconds from `earlier` to `self`, rounded toward zero (as
    /// `(self - earlier).num_seconds()` with chrono).
    #[inline]
    pub fn seconds_since(self, earlier: Instant) -> i64 {
        if self.plain() && earlier.plain() {
            let mut s = self.secs - earlier.secs;
            let n = i64::from(self.nanos) - i64::from(earlier.nanos);
            // Round toward zero: a negative remainder on a positive span (or
            // the reverse) takes one second off.
            if s > 0 && n < 0 {
                s -= 1;
            } else if s < 0 && n > 0 {
                s += 1;
            }
            return s;
        }
        (self.to_chrono() - earlier.to_chrono()).num_seconds()
    }

    /// Whether this falls in years 1..=9999 (UTC).
    #[inline]
    pub fn in_common_era_years(self) -> bool {
        (YEAR_1..YEAR_10000).contains(&self.secs)
    }
}

impl From<DateTime<Utc>> for Instant {
    #[inline]
    fn from(t: DateTime<Utc>) -> Instant {
        Instant {
            secs: t.timestamp(),
            nanos: t.timestamp_subsec_nanos(),
        }
    }
}

impl From<Instant> for DateTime<Utc> {
    #[inline]
    fn from(t: Instant) -> DateTime<Utc> {
        t.to_chrono()
    }
}

impl PartialEq<DateTime<Utc>> for Instant {
    fn eq(&self, other: &DateTime<Utc>) -> bool {
        *self == Instant::from(*other)
    }
}

impl PartialEq<Instant> for DateTime<Utc> {
    fn eq(&self, other: &Instant) -> bool {
        Instant::from(*self) == *other
    }
}

impl fmt::Display for Instant {
    /// The canonical RFC 3339 text (`2026-03-01T08:00:00Z`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_timestamp(&self.to_chrono()))
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        crate::value::ts_serde::serialize(&self.to_chrono(), s)
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Instant, D::Error> {
        let s = String::deserialize(d)?;
        parse_timestamp(&s)
            .map(Instant::from)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds across chrono's whole range and around its ends, with plain and
    /// leap-second nanoseconds.
    fn samples() -> Vec<(i64, u32)> {
        let mut secs: Vec<i64> = vec![
            0,
            -1,
            59,
            60,
            MIN_SECS,
            MIN_SECS + 1,
            MAX_SECS,
            MAX_SECS - 1,
            YEAR_1,
            YEAR_1 - 1,
            YEAR_10000,
            YEAR_10000 - 1,
            1_483_228_799, // 2016-12-31T23:59:59 (a leap second followed)
        ];
        let mut x: i64 = 99;
        for _ in 0..3_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let span = if x & 1 == 0 {
                600_000_000_000
            } else {
                MAX_SECS
            };
            secs.push((x >> 8).rem_euclid(2 * span) - span);
        }
        let mut out = Vec::new();
        for s in secs {
            for n in [0, 1, 500_000_000, 999_999_999, 1_000_000_000, 1_999_999_999] {
                out.push((s, n));
            }
        }
        out
    }

    #[test]
    fn matches_chrono_for_construction_order_and_arithmetic() {
        let all = samples();
        let mut prev: Option<(Instant, DateTime<Utc>)> = None;
        for &(s, n) in &all {
            let c = DateTime::from_timestamp(s, n);
            let i = Instant::from_timestamp(s, n);
            assert_eq!(i.is_some(), c.is_some(), "{s} {n}");
            let (Some(i), Some(c)) = (i, c) else { continue };
            assert_eq!(i.to_chrono(), c);
            assert_eq!(Instant::from(c), i);
            assert_eq!(i.timestamp_millis(), c.timestamp_millis());
            assert_eq!(i.timestamp_micros(), c.timestamp_micros());
            assert_eq!(i.in_common_era_years(), {
                use chrono::Datelike;
                (1..=9999).contains(&c.year())
            });
            for d in [
                0,
                1,
                -1,
                86_400,
                -7 * 86_400,
                3_600 * 24 * 365 * 300,
                i64::MAX / 2,
            ] {
                let want = chrono::Duration::try_seconds(d)
                    .and_then(|d| c.checked_add_signed(d))
                    .map(Instant::from);
                assert_eq!(i.checked_add_secs(d), want, "{s} {n} + {d}");
                let want = chrono::Duration::try_seconds(d)
                    .and_then(|d| c.checked_sub_signed(d))
                    .map(Instant::from);
                assert_eq!(i.checked_sub_secs(d), want, "{s} {n} - {d}");
            }
            if let Some((pi, pc)) = prev {
                assert_eq!(i.cmp(&pi), c.cmp(&pc), "{i:?} vs {pi:?}");
                // Spans beyond chrono's Duration range are not asked for.
                if (s - pi.timestamp()).abs() < i64::MAX / 1_000_000 {
                    assert_eq!(
                        i.seconds_since(pi),
                        (c - pc).num_seconds(),
                        "{i:?} - {pi:?}"
                    );
                    assert_eq!(pi.seconds_since(i), (pc - c).num_seconds());
                }
            }
            prev = Some((i, c));
        }
    }

    #[test]
    fn json_form_is_the_timestamp_text() {
        for (s, n) in [
            (0, 0),
            (1_772_942_400, 0),
            (1_772_942_400, 5),
            (-1, 999_999_999),
        ] {
            let i = Instant::from_timestamp(s, n).unwrap();
            let v = serde_json::to_value(i).unwrap();
            assert_eq!(v, serde_json::json!(format_timestamp(&i.to_chrono())));
            assert_eq!(serde_json::from_value::<Instant>(v).unwrap(), i);
        }
    }
}
