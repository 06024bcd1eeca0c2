//! User-level policies applied to every message of every journey: consent,
//! quiet hours and frequency caps (per channel per calendar day in the user's
//! zone, and per rolling window), plus the engine's default zone and the event
//! de-duplication window.

use super::definition::parse_time_of_day;
use super::instant::Instant;
use super::state::SendRecord;
use crate::error::{Error, ErrorKind, Result};
use crate::rules::ast::Duration;
use crate::zone::Zone;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// Default number of recent event ids remembered for de-duplication.
pub const DEFAULT_DEDUP_WINDOW: usize = 256;

/// Engine-wide policies. JSON:
/// `{"default_zone": "Asia/Shanghai", "caps": [...], "quiet_hours": {...}, "dedup_window": 256}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// Zone for users without one (default UTC).
    #[serde(default)]
    pub default_zone: Zone,
    /// Frequency caps; a message must satisfy all that apply to its channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<Cap>,
    /// Quiet hours in the user's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// How many recent event ids are remembered to ignore duplicates.
    #[serde(default = "default_dedup")]
    pub dedup_window: usize,
}

fn default_dedup() -> usize {
    DEFAULT_DEDUP_WINDOW
}

impl Default for Policies {
    fn default() -> Policies {
        Policies {
            default_zone: Zone::utc(),
            caps: Vec::new(),
            quiet_hours: None,
            dedup_window: DEFAULT_DEDUP_WINDOW,
        }
    }
}

/// A frequency cap for one channel (or `"*"`: all channels together).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    /// Channel name, or `"*"` for all channels.
    pub channel: String,
    /// At most this many messages per calendar day in the user's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u32>,
    /// Rolling window length (with `max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// At most this many messages in any rolling `window` ending at the send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// What happens to a message due inside quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QuietMode {
    /// Hold it until quiet hours end (default).
    #[default]
    Defer,
    /// Do not send it.
    Drop,
}

/// Quiet hours `[start, end)` in local time; `start > end` wraps midnight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM` start (inclusive).
    pub start: String,
    /// `HH:MM` end (exclusive).
    pub end: String,
    /// Defer or drop.
    #[serde(default)]
    pub mode: QuietMode,
    /// Channels it applies to (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

impl Policies {
    /// Parses and checks policies from JSON.
    pub fn from_json_value(v: &serde_json::Value) -> Result<Policies> {
        let p: Policies = serde_json::from_value(v.clone()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidModel,
                format!("invalid_field: invalid policies: {e}"),
            )
            .with_path("policies")
        })?;
        p.check()?;
        Ok(p)
    }

    /// Checks caps and quiet hours.
    pub fn check(&self) -> Result<()> {
        let bad = |path: String, msg: &str| {
            Error::new(ErrorKind::InvalidModel, format!("invalid_field: {msg}")).with_path(path)
        };
        for (i, c) in self.caps.iter().enumerate() {
            if c.channel.is_empty() {
                return Err(bad(format!("policies.caps[{i}].channel"), "empty channel"));
            }
            if c.window.is_some() != c.max.is_some() {
                return Err(bad(
                    format!("policies.caps[{i}]"),
                    "a rolling cap needs both \"window\" and \"max\"",
                ));
            }
            if c.window
                .is_some_and(|w| w.seconds() > super::validate::MAX_DURATION_SECS)
            {
                return Err(bad(
                    format!("policies.caps[{i}].window"),
                    "window is limited to 100 years",
                ));
            }
            if c.window.is_some_and(|w| w.seconds() == 0) {
                return Err(bad(
                    format!("policies.caps[{i}].window"),
                    "window must be > 0",
                ));
            }
            if c.per_day.is_none() && c.max.is_none() {
                return Err(bad(
                    format!("policies.caps[{i}]"),
                    "a cap needs \"per_day\" or \"window\" + \"max\"",
                ));
            }
        }
        if let Some(q) = &self.quiet_hours {
            for (f, t) in [("start", &q.start), ("end", &q.end)] {
                if parse_time_of_day(t).is_none() {
                    return Err(bad(
                        format!("policies.quiet_hours.{f}"),
                        "invalid time of day (expected HH:MM)",
                    ));
                }
            }
            if q.start == q.end {
                return Err(bad(
                    "policies.quiet_hours".into(),
                    "quiet hours need start != end",
                ));
            }
        }
        Ok(())
    }

    /// How long sends must be remembered for the caps (at least two days for
    /// calendar-day caps).
    pub fn ledger_horizon(&self) -> i64 {
        self.caps
            .iter()
            .filter_map(|c| c.window.map(|w| w.seconds()))
            .fold(2 * 86_400, i64::max)
    }

    /// If `at` falls in quiet hours for `channel`, the instant they end.
    pub fn quiet_until(
        &self,
        channel: &str,
        at: DateTime<Utc>,
        zone: &Zone,
    ) -> Option<DateTime<Utc>> {
        let q = self.quiet_hours.as_ref()?;
        let times = (parse_time_of_day(&q.start)?, parse_time_of_day(&q.end)?);
        self.quiet_until_local(times, channel, at, zone.local(at), zone)
    }

    /// [`Policies::quiet_until`] with the quiet hours already parsed and `at`
    /// already converted to the user's local time (the engine does both once).
    pub(crate) fn quiet_until_local(
        &self,
        (start, end): (NaiveTime, NaiveTime),
        channel: &str,
        at: DateTime<Utc>,
        local: NaiveDateTime,
        zone: &Zone,
    ) -> Option<DateTime<Utc>> {
        let q = self.quiet_hours.as_ref()?;
        if !q.channels.is_empty() && !q.channels.iter().any(|c| c == channel) {
            return None;
        }
        let t = local.time();
        let date = local.date();
        let end_on = |d: chrono::NaiveDate| zone.from_local(d.and_time(end));
        let inside = if start < end {
            t >= start && t < end
        } else {
            t >= start || t < end
        };
        if !inside {
            return None;
        }
        // Wrapping hours: the evening part ends tomorrow, the morning part today.
        let until = if start > end && t >= start {
            end_on(date.succ_opt()?)
        } else {
            end_on(date)
        };
        Some(until.max(at))
    }

    /// The first cap `channel` would exceed by one more send at `at`, as a reason
    /// detail (`"wechat per_day 2"`), given earlier sends in `ledger`.
    pub fn cap_exceeded(
        &self,
        channel: &str,
        at: DateTime<Utc>,
        zone: &Zone,
        ledger: &[SendRecord],
    ) -> Option<String> {
        self.cap_exceeded_on(channel, at.into(), zone.date_at(at), zone, ledger)
    }

    /// [`Policies::cap_exceeded`] with `day`, the local date of `at`, known.
    pub(crate) fn cap_exceeded_on(
        &self,
        channel: &str,
        at: Instant,
        day: NaiveDate,
        zone: &Zone,
        ledger: &[SendRecord],
    ) -> Option<String> {
        for c in &self.caps {
            let applies = |ch: &str| c.channel == "*" || c.channel == ch;
            if !applies(channel) {
                continue;
            }
            if let Some(limit) = c.per_day {
                // Sends three days or more before `at` cannot share its local
                // date (no zone's offset ever moved by 48 hours), so they skip
                // the zone lookup.
                let n = ledger
                    .iter()
                    .filter(|s| {
                        applies(&s.channel)
                            && s.at <= at
                            && s.at.timestamp() > at.timestamp() - 3 * 86_400
                            && zone.date_at(s.at.to_chrono()) == day
                    })
                    .count();
                if n as u64 >= u64::from(limit) {
                    return Some(format!("{} per_day {limit}", c.channel));
                }
            }
            if let (Some(w), Some(max)) = (c.window, c.max) {
                let from = at.checked_sub_secs(w.seconds()).unwrap_or(Instant::MIN);
                let n = ledger
                    .iter()
                    .filter(|s| applies(&s.channel) && s.at > from && s.at <= at)
                    .count();
                if n as u64 >= u64::from(max) {
                    return Some(format!("{} {} max {max}", c.channel, w));
                }
            }
        }
        None
    }
}

/// Parses an `HH:MM` string known to be valid (checked at validation), else midnight.
pub fn time_or_midnight(t: Option<&str>) -> NaiveTime {
    t.and_then(parse_time_of_day).unwrap_or(NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;
    use serde_json::json;

    #[test]
    fn quiet_hours_wrap_midnight() {
        let p = Policies::from_json_value(
            &json!({"default_zone":"+08:00","quiet_hours":{"start":"21:00","end":"08:00"}}),
        )
        .unwrap();
        let z = p.default_zone;
        let t = |s| parse_timestamp(s).unwrap();
        // 22:00 local → until 08:00 next day local.
        assert_eq!(
            p.quiet_until("wechat", t("2026-03-01T22:00:00+08:00"), &z),
            Some(t("2026-03-02T08:00:00+08:00"))
        );
        assert_eq!(
            p.quiet_until("wechat", t("2026-03-02T07:00:00+08:00"), &z),
            Some(t("2026-03-02T08:00:00+08:00"))
        );
        assert_eq!(
            p.quiet_until("wechat", t("2026-03-02T12:00:00+08:00"), &z),
            None
        );
    }

    #[test]
    fn bad_caps_are_rejected() {
        let e = Policies::from_json_value(&json!({"caps":[{"channel":"sms","window":"1d"}]}))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModel);
        assert_eq!(e.path(), Some("policies.caps[0]"));
    }
}
