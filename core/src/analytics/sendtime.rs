//! Best send hour per user from message-open times.
//!
//! Each open is placed in the user's local hour (their zone, else the default
//! zone). The population's hour distribution π is the share of all opens per
//! hour. A user's smoothed distribution is additive (Dirichlet) smoothing
//! toward π: θ_h = (c_h + w·π_h) / (n + w), where c_h are the user's opens in
//! hour h, n their total and w the `weight` in pseudo-opens. With few opens
//! the population's best hour wins; with many, the user's own. The best hour
//! is argmax θ (ties → the earliest hour).

use super::{domain, invalid, UserEvent};
use crate::error::Result;
use crate::zone::Zone;
use chrono::Timelike;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The default smoothing weight: 5 pseudo-opens.
pub const DEFAULT_WEIGHT: f64 = 5.0;

/// One user's recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSendTime {
    /// The user.
    pub user_id: String,
    /// Their opens.
    pub opens: u64,
    /// The recommended local hour (0–23).
    pub best_hour: u32,
    /// θ at the best hour (the smoothed share of opens expected then).
    pub share: f64,
}

/// The result of [`best_send_hours`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendTimeReport {
    /// The smoothing weight used.
    pub weight: f64,
    /// π: the population's share of opens per local hour (24 entries).
    pub population: Vec<f64>,
    /// argmax π (ties → the earliest hour).
    pub population_best_hour: u32,
    /// Users with at least one open, by id.
    pub users: Vec<UserSendTime>,
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Recommends a send hour per user from their `open_event` events.
/// `NUMERIC_DOMAIN` with no opens; `INVALID_ARGUMENT` for a negative weight.
pub fn best_send_hours(
    events: &[UserEvent],
    open_event: &str,
    zones: &BTreeMap<String, Zone>,
    default_zone: Zone,
    weight: f64,
) -> Result<SendTimeReport> {
    if !(weight.is_finite() && weight >= 0.0) {
        return Err(
            invalid(format!("weight must be a finite number ≥ 0, got {weight}"))
                .with_path("weight"),
        );
    }
    let mut per_user: HashMap<&str, [u64; 24]> = HashMap::new();
    let mut total = [0u64; 24];
    for e in events.iter().filter(|e| e.name == open_event) {
        let zone = zones.get(&e.user_id).copied().unwrap_or(default_zone);
        let h = zone.local(e.timestamp).hour() as usize;
        per_user.entry(&e.user_id).or_insert([0; 24])[h] += 1;
        total[h] += 1;
    }
    let n: u64 = total.iter().sum();
    if n == 0 {
        return Err(domain(format!(
            "no {open_event:?} events: no send-time pattern"
        )));
    }
    let population: Vec<f64> = total.iter().map(|&c| c as f64 / n as f64).collect();
    let mut users: Vec<UserSendTime> = per_user
        .into_iter()
        .map(|(u, c)| {
            let nu: u64 = c.iter().sum();
            let theta: Vec<f64> = (0..24)
                .map(|h| (c[h] as f64 + weight * population[h]) / (nu as f64 + weight))
                .collect();
            let best = argmax(&theta);
            UserSendTime {
                user_id: u.to_string(),
                opens: nu,
                best_hour: best as u32,
                share: theta[best],
            }
        })
        .collect();
    users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(SendTimeReport {
        weight,
        population_best_hour: argmax(&population) as u32,
        population,
        users,
    })
}
