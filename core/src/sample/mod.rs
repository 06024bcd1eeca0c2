//! A deterministic, seeded sample population of a mother-and-baby brand's
//! private domain, shared by the demo, tests and benchmarks.
//!
//! Every user is generated from `(seed, index)` alone ([`rng::SplitMix64::for_item`]),
//! so users stream one at a time ([`Generator::iter`]), can be produced in any
//! order or in parallel, and the same seed always gives the same population.
//!
//! Users follow one of six [`Archetype`]s (loyal, occasional, one-off buyer,
//! churned after some months, browser only, new in the last month) over a year of
//! events with a weekly rhythm, campaign messages every other Tuesday, a Double-11
//! and 618 bump, and Spring-Festival shopping followed by a holiday lull.
//! Purchase amounts are log-normal (heavy right tail).
//!
//! ```
//! use siyu_core::sample::{Generator, SampleConfig};
//! let gen = Generator::new(SampleConfig::new(10, 7)).unwrap();
//! let (profile, events) = gen.user(0);
//! assert_eq!(profile.id, "u000001");
//! assert!(profile.validate(&siyu_core::sample::schema()).is_ok());
//! assert_eq!(gen.user(0).1, events); // deterministic
//! ```

mod calendar;
mod person;
pub mod rng;
mod schema;

pub use person::Archetype;
pub use schema::{schema, SCHEMA_JSON};

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{EventLog, Profile};
use crate::zone::Zone;
use calendar::Calendar;
use chrono::{DateTime, Duration, Utc};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleConfig {
    /// Number of users.
    pub users: usize,
    /// Seed; the same seed gives the same population.
    pub seed: u64,
    /// First instant of the event history (a year before `end` by default).
    pub start: DateTime<Utc>,
    /// End of the history (exclusive); evaluate the sample at this `now`.
    pub end: DateTime<Utc>,
    /// Zone of the calendar (seasonality, campaign days) and of most users.
    pub default_zone: Zone,
}

impl SampleConfig {
    /// `users` users with `seed`, a year ending 2026-12-01 00:00 Beijing time,
    /// default zone `Asia/Shanghai` (`+08:00` in builds without the IANA database).
    pub fn new(users: usize, seed: u64) -> SampleConfig {
        let end = DateTime::from_timestamp(1_796_054_400, 0).unwrap_or_default(); // 2026-11-30T16:00:00Z
        SampleConfig {
            users,
            seed,
            start: end - Duration::days(365),
            end,
            default_zone: Zone::parse("Asia/Shanghai")
                .or_else(|_| Zone::parse("+08:00"))
                .unwrap_or_default(),
        }
    }

    /// Checks `start < end` and that the span is at most ten years.
    pub fn validate(&self) -> Result<()> {
        if self.start >= self.end {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "sample start must be before end",
            )
            .with_path("start"));
        }
        if self.end - self.start > Duration::days(3660) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "sample span must be at most ten years",
            )
            .with_path("end"));
        }
        Ok(())
    }
}

impl Default for SampleConfig {
    /// 100 000 users, seed 42.
    fn default() -> SampleConfig {
        SampleConfig::new(100_000, 42)
    }
}

/// A prepared generator: the calendar is computed once, users on demand.
#[derive(Debug, Clone)]
pub struct Generator {
    config: SampleConfig,
    calendar: Calendar,
    zones: Vec<ZoneChoice>,
}

/// A zone users may have, its share, and its UTC offset (seconds east) on each
/// calendar day, taken at local noon: converting local times through this table
/// instead of the tz database keeps generation fast; times before a night-time
/// DST switch are off by the switch's hour on that one day, which a sample can bear.
#[derive(Debug, Clone)]
struct ZoneChoice {
    zone: Option<Zone>,
    weight: f64,
    offsets: Vec<i32>,
}

impl Generator {
    /// Prepares a generator (`INVALID_ARGUMENT` for a bad config).
    pub fn new(config: SampleConfig) -> Result<Generator> {
        config.validate()?;
        let calendar = Calendar::new(config.start, config.end, config.default_zone);
        let zone = |iana: &str, fixed: &str| Zone::parse(iana).or_else(|_| Zone::parse(fixed)).ok();
        let choices = [
            (Some(config.default_zone), 88.0),
            (None, 3.0),
            (zone("Asia/Hong_Kong", "+08:00"), 3.0),
            (zone("Asia/Singapore", "+08:00"), 2.0),
            (zone("America/Los_Angeles", "-08:00"), 1.5),
            (zone("Europe/London", "+00:00"), 1.5),
            (zone("Australia/Sydney", "+10:00"), 1.0),
        ];
        let zones = choices
            .into_iter()
            .map(|(zone, weight)| {
                let z = zone.unwrap_or(config.default_zone);
                let offsets = (0..calendar.days)
                    .map(|d| {
                        let noon = calendar.date(d).and_hms_opt(12, 0, 0).unwrap_or_default();
                        z.offset_at(z.from_local(noon)).local_minus_utc()
                    })
                    .collect();
                ZoneChoice {
                    zone,
                    weight,
                    offsets,
                }
            })
            .collect();
        Ok(Generator {
            config,
            calendar,
            zones,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SampleConfig {
        &self.config
    }

    /// User `index` (0-based; id `u{index+1:06}`), independent of every other user.
    pub fn user(&self, index: usize) -> (Profile, EventLog) {
        person::generate(self, index)
    }

    /// The archetype user `index` was drawn from (hidden ground truth for tests).
    pub fn archetype(&self, index: usize) -> Archetype {
        person::archetype(self.config.seed, index)
    }

    /// Streams every user in id order.
    pub fn iter(&self) -> impl Iterator<Item = (Profile, EventLog)> + '_ {
        (0..self.config.users).map(move |i| self.user(i))
    }
}

/// Generates the whole population in id order, using the machine's cores.
///
/// This holds every event in memory (roughly 1 KB per event, ~50 events per
/// user); for large runs stream with [`Generator::iter`] / [`Generator::user`].
pub fn generate(config: &SampleConfig) -> Result<Vec<(Profile, EventLog)>> {
    let gen = Generator::new(config.clone())?;
    let n = config.users;
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
        .clamp(1, 16)
        .min(n.max(1));
    let chunk = n.div_ceil(threads.max(1)).max(1);
    let mut out = Vec::with_capacity(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|lo| {
                let gen = &gen;
                s.spawn(move || {
                    (lo..(lo + chunk).min(n))
                        .map(|i| gen.user(i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panicking worker is a bug in the generator, not bad input.
            out.extend(h.join().unwrap_or_default());
        }
    });
    if out.len() != n {
        return Err(Error::new(
            ErrorKind::Internal,
            "sample generator worker failed",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
