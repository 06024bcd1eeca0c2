//! Growth metrics: referral K-factor and conversion by acquisition channel.

use super::{domain, invalid, ratio, UserEvent};
use crate::error::Result;
use crate::value::ts_serde;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The viral coefficient K = invites per user × invite conversion rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KFactor {
    /// invites / users.
    pub invites_per_user: f64,
    /// conversions / invites (`null` when no invites were sent).
    pub conversion_rate: Option<f64>,
    /// conversions / users: new users brought by each existing user.
    pub k_factor: f64,
}

/// Computes the K-factor from `users` who could invite, the `invites` they
/// sent and the `conversions` (invited people who became users).
/// `NUMERIC_DOMAIN` for 0 users; `INVALID_ARGUMENT` when conversions exceed invites.
pub fn k_factor(users: u64, invites: u64, conversions: u64) -> Result<KFactor> {
    if users == 0 {
        return Err(domain("the K-factor needs at least one user"));
    }
    if conversions > invites {
        return Err(invalid(format!(
            "conversions ({conversions}) cannot exceed invites ({invites})"
        )));
    }
    Ok(KFactor {
        invites_per_user: invites as f64 / users as f64,
        conversion_rate: ratio(conversions as f64, invites as f64),
        k_factor: conversions as f64 / users as f64,
    })
}

/// A user reached through a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelTouch {
    /// The user.
    pub user_id: String,
    /// The channel (e.g. `wechat_group`, `sms`).
    pub channel: String,
    /// When.
    #[serde(with = "ts_serde")]
    pub timestamp: DateTime<Utc>,
}

/// Conversion of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConversion {
    /// The channel.
    pub channel: String,
    /// Users first touched by this channel.
    pub users: u64,
    /// Of those, users who converted.
    pub converted: u64,
    /// converted / users.
    pub rate: f64,
}

/// Conversion by channel with first-touch attribution: each user belongs to
/// the channel of their earliest touch (ties: input order) and converts when
/// they have a `conversion_event` at or after that touch and, if `window` is
/// given, within it. Channels are sorted by name.
pub fn channel_conversion(
    touches: &[ChannelTouch],
    events: &[UserEvent],
    conversion_event: &str,
    window: Option<TimeDelta>,
) -> Result<Vec<ChannelConversion>> {
    if window.is_some_and(|w| w <= TimeDelta::zero()) {
        return Err(invalid("the conversion window must be positive").with_path("window"));
    }
    let mut first: HashMap<&str, (DateTime<Utc>, &str)> = HashMap::new();
    for t in touches {
        match first.get(t.user_id.as_str()) {
            Some((ts, _)) if *ts <= t.timestamp => {}
            _ => {
                first.insert(&t.user_id, (t.timestamp, &t.channel));
            }
        }
    }
    let mut converted: HashMap<&str, bool> = HashMap::new();
    for e in events.iter().filter(|e| e.name == conversion_event) {
        if let Some((ts, _)) = first.get(e.user_id.as_str()) {
            let ok = e.timestamp >= *ts && window.is_none_or(|w| e.timestamp <= *ts + w);
            if ok {
                converted.insert(&e.user_id, true);
            }
        }
    }
    let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (u, (_, ch)) in &first {
        let row = by.entry(ch).or_default();
        row.0 += 1;
        if converted.contains_key(u) {
            row.1 += 1;
        }
    }
    Ok(by
        .into_iter()
        .map(|(ch, (users, conv))| ChannelConversion {
            channel: ch.to_string(),
            users,
            converted: conv,
            rate: conv as f64 / users as f64,
        })
        .collect())
}
