//! Product analytics over plain event rows: retention cohorts, activity
//! (DAU/WAU/MAU, repeat purchase), ordered funnels, growth (referral K-factor,
//! channel conversion), A/B statistics, product association and send-time
//! optimisation. See `docs/analytics.md`.
//!
//! Inputs are slices of small structs ([`UserEvent`] and friends) so bindings
//! can feed them from Arrow columns; [`events_from_profiles`] adapts the
//! engine's own `(Profile, EventLog)` pairs; retention also takes columns
//! ([`RetentionColumns`], integer codes) for large tables. Every result is serde data.

pub mod abtest;
pub mod activity;
pub mod association;
pub mod funnel;
pub mod growth;
pub mod request;
pub mod retention;
pub mod sendtime;

pub use abtest::{
    beta_binomial_beats_control, chi_square_test, sample_size_per_arm, two_proportion_z_test, Arm,
    BayesResult, ChiSquareResult, ZTestResult,
};
pub use activity::{
    active_users, active_users_series, repeat_purchase_rate, ActiveUsers, RepeatRate,
};
pub use association::{frequent_pairs, sequential_rules, AssociationRule, BasketItem};
pub use funnel::{funnel, FunnelReport, FunnelStep};
pub use growth::{channel_conversion, k_factor, ChannelConversion, ChannelTouch, KFactor};
pub use retention::{
    retention_matrix, retention_matrix_columns, CohortRow, Granularity, RetentionColumns,
    RetentionMatrix, RetentionSpec,
};
pub use sendtime::{best_send_hours, SendTimeReport, UserSendTime};

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{EventLog, Profile};
use crate::value::ts_serde;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One behavioural event row: who, what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEvent {
    /// The user (profile id).
    pub user_id: String,
    /// The event name.
    pub name: String,
    /// When it happened.
    #[serde(with = "ts_serde")]
    pub timestamp: DateTime<Utc>,
}

/// Flattens profiles and their logs into event rows.
pub fn events_from_profiles(data: &[(Profile, EventLog)]) -> Vec<UserEvent> {
    data.iter()
        .flat_map(|(p, log)| {
            log.events().iter().map(move |e| UserEvent {
                user_id: p.id.clone(),
                name: e.name.clone(),
                timestamp: e.timestamp,
            })
        })
        .collect()
}

/// A fast, deterministic, non-cryptographic hasher (the Fx hash of rustc) for
/// the hot per-event maps; inputs are ids, not attacker-chosen keys that need
/// flood resistance in a pure batch computation.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A hash map with [`FxHasher`].
pub(crate) type FastMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// Whether `name` is selected by `names` (an empty list selects every event).
pub(crate) fn selected(names: &[String], name: &str) -> bool {
    names.is_empty() || names.iter().any(|n| n == name)
}

/// `num / den`, or `None` when `den` is 0 (never NaN).
pub(crate) fn ratio(num: f64, den: f64) -> Option<f64> {
    if den == 0.0 {
        None
    } else {
        Some(num / den)
    }
}

pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

pub(crate) fn domain(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::NumericDomain, msg)
}

/// Checks a probability-like argument lies strictly inside (0, 1).
pub(crate) fn check_open_unit(name: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0 && v < 1.0) {
        return Err(
            invalid(format!("{name} must be strictly between 0 and 1, got {v}")).with_path(name),
        );
    }
    Ok(())
}
