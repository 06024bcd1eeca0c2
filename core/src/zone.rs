//! Time zones: IANA names (with the `tz` feature), `UTC`, or fixed offsets.
//!
//! Calendar windows, streaks, `today` and journey send times are computed in a
//! profile's zone; a zone is always an explicit input, never the host's clock.

use crate::error::{Error, ErrorKind, Result};
#[cfg(feature = "tz")]
use chrono::Offset;
use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC (`UTC`, `+08:00`).
    Fixed(FixedOffset),
    /// An IANA zone such as `Asia/Shanghai`.
    #[cfg(feature = "tz")]
    Iana(chrono_tz::Tz),
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::utc()
    }
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset is valid"))
    }

    /// Parses `UTC`, `Z`, `+08:00` / `-05:30`, or an IANA name.
    pub fn parse(name: &str) -> Result<Zone> {
        if name == "UTC" || name == "Z" || name == "Etc/UTC" {
            return Ok(Zone::utc());
        }
        if let Some(off) = parse_offset(name) {
            return Ok(Zone::Fixed(off));
        }
        #[cfg(feature = "tz")]
        {
            if let Ok(tz) = name.parse::<chrono_tz::Tz>() {
                return Ok(Zone::Iana(tz));
            }
            let suggestion =
                crate::error::suggest(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()));
            let e = Error::new(
                ErrorKind::InvalidTimeZone,
                format!("unknown time zone {name:?} (expected an IANA name such as Asia/Shanghai, UTC, or an offset such as +08:00)"),
            );
            Err(match suggestion {
                Some(s) => e.with_suggestion(s),
                None => e,
            })
        }
        #[cfg(not(feature = "tz"))]
        Err(Error::new(
            ErrorKind::InvalidTimeZone,
            format!("unknown time zone {name:?}: this build has no IANA database (feature `tz`); use UTC or an offset such as +08:00"),
        ))
    }

    /// The canonical name (`UTC`, `+08:00`, or the IANA name).
    pub fn name(&self) -> String {
        match self {
            Zone::Fixed(o) if o.local_minus_utc() == 0 => "UTC".to_string(),
            Zone::Fixed(o) => o.to_string(),
            #[cfg(feature = "tz")]
            Zone::Iana(tz) => tz.name().to_string(),
        }
    }

    /// The UTC offset in effect at `t`.
    #[cfg_attr(not(feature = "tz"), allow(unused_variables))]
    pub fn offset_at(&self, t: DateTime<Utc>) -> FixedOffset {
        match self {
            Zone::Fixed(o) => *o,
            #[cfg(feature = "tz")]
            Zone::Iana(tz) => tz.offset_from_utc_datetime(&t.naive_utc()).fix(),
        }
    }

    /// The local wall-clock time at `t`.
    pub fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        // Saturate at the ends of chrono's range instead of overflowing.
        let offset = chrono::Duration::seconds(i64::from(self.offset_at(t).local_minus_utc()));
        t.naive_utc()
            .checked_add_signed(offset)
            .unwrap_or(t.naive_utc())
    }

    /// The local date at `t`.
    pub fn date_at(&self, t: DateTime<Utc>) -> NaiveDate {
        self.local(t).date()
    }

    /// Converts a local wall-clock time to an instant. A time skipped by a DST gap
    /// is moved later by the gap's length (02:30 in a 02:00→03:00 gap becomes
    /// 03:30); an ambiguous time (a repeated hour) resolves to its earlier occurrence.
    pub fn from_local(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Zone::Fixed(o) => resolve(o.from_local_datetime(&local), local, *o),
            #[cfg(feature = "tz")]
            Zone::Iana(tz) => {
                let day_before = local
                    .checked_sub_signed(chrono::Duration::days(1))
                    .unwrap_or(local);
                let before = self.offset_at(day_before.and_utc());
                resolve(tz.from_local_datetime(&local), local, before)
            }
        }
    }

    /// The instant at which local `date` begins (midnight, or the gap-shifted
    /// time when a DST gap swallows midnight).
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.from_local(date.and_hms_opt(0, 0, 0).expect("midnight exists"))
    }
}

fn resolve<Tz: TimeZone>(
    r: LocalResult<DateTime<Tz>>,
    local: NaiveDateTime,
    before: FixedOffset,
) -> DateTime<Utc> {
    match r {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        // Inside a DST gap: read the wall time with the offset in force before the
        // gap, i.e. move it later by the gap's length (java.time's rule).
        LocalResult::None => {
            let shift = chrono::Duration::seconds(i64::from(before.local_minus_utc()));
            local.checked_sub_signed(shift).unwrap_or(local).and_utc()
        }
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let b = s.as_bytes();
    if b.len() != 6 || (b[0] != b'+' && b[0] != b'-') || b[3] != b':' {
        return None;
    }
    let h: i32 = s[1..3].parse().ok()?;
    let m: i32 = s[4..6].parse().ok()?;
    if h > 23 || m > 59 {
        return None;
    }
    let secs = (h * 3600 + m * 60) * if b[0] == b'-' { -1 } else { 1 };
    FixedOffset::east_opt(secs)
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Zone, D::Error> {
        let s = String::deserialize(d)?;
        Zone::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    #[test]
    fn parses_names_and_offsets() {
        assert_eq!(Zone::parse("UTC").unwrap().name(), "UTC");
        assert_eq!(Zone::parse("+08:00").unwrap().name(), "+08:00");
        assert_eq!(Zone::parse("-05:30").unwrap().name(), "-05:30");
        let e = Zone::parse("Mars/Olympus").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTimeZone);
    }

    #[test]
    fn extremes_do_not_panic() {
        let z = Zone::parse("+14:00").unwrap();
        let max = chrono::DateTime::<Utc>::MAX_UTC;
        assert_eq!(z.local(max), max.naive_utc());
        let w = Zone::parse("-12:00").unwrap();
        let min = chrono::DateTime::<Utc>::MIN_UTC;
        assert_eq!(w.local(min), min.naive_utc());
        let _ = z.from_local(max.naive_utc());
        let _ = w.from_local(min.naive_utc());
    }

    #[cfg(feature = "tz")]
    #[test]
    fn dst_gap_and_overlap() {
        let ny = Zone::parse("America/New_York").unwrap();
        // 2026-03-08 02:30 does not exist in New York: moves to 03:30 EDT = 07:30Z.
        let gap = chrono::NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            ny.from_local(gap),
            parse_timestamp("2026-03-08T07:30:00Z").unwrap()
        );
        // 2026-11-01 01:30 happens twice: the earlier (EDT, 05:30Z) is chosen.
        let overlap = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        assert_eq!(
            ny.from_local(overlap),
            parse_timestamp("2026-11-01T05:30:00Z").unwrap()
        );
        assert_eq!(
            Zone::parse("Asia/Shanghai").unwrap().name(),
            "Asia/Shanghai"
        );
        assert_eq!(
            Zone::parse("asia/shanghai").unwrap_err().suggestion(),
            Some("Asia/Shanghai")
        );
    }
}
