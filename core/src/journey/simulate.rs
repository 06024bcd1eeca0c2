//! Simulation: replays users' event logs through the journeys over a period and
//! counts what would happen — a forecast before launch.

use super::engine::{Action, Input, JourneyEngine, NoticeKind, StepResult};
use super::state::UserState;
use crate::error::{Error, ErrorKind, Result};
use crate::profile::{EventLog, Profile};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts for one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeStats {
    /// Times the flow reached the node.
    pub entered: u64,
    /// Instances at the node when the period ended.
    pub waiting: u64,
    /// Instances that ended (exited early) at the node.
    pub exited: u64,
    /// Instances that converted at the node.
    pub converted: u64,
    /// Instances that completed at the node.
    pub completed: u64,
}

/// Counts for one journey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JourneyStats {
    /// Entries.
    pub entered: u64,
    /// Entries refused by the re-entry policy.
    pub entry_skipped: u64,
    /// Instances that reached the end.
    pub completed: u64,
    /// Instances that converted.
    pub converted: u64,
    /// Instances that exited early.
    pub exited: u64,
    /// Per node.
    pub nodes: BTreeMap<String, NodeStats>,
}

/// The forecast.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SimulationReport {
    /// Users simulated.
    pub users: u64,
    /// Steps taken (inputs and ticks).
    pub steps: u64,
    /// Per journey id.
    pub journeys: BTreeMap<String, JourneyStats>,
    /// Messages sent per local calendar day (`YYYY-MM-DD` in each user's zone).
    pub messages_per_day: BTreeMap<String, u64>,
    /// Suppressed messages by reason.
    pub suppressions: BTreeMap<String, u64>,
    /// Deferred messages by reason.
    pub deferrals: BTreeMap<String, u64>,
    /// Effects by type (`send_message`, `create_task` …).
    pub effects: BTreeMap<String, u64>,
}

fn add_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

impl SimulationReport {
    /// Adds `other`'s counts (users simulated separately, e.g. in parallel
    /// chunks); merging the chunks' reports gives the report of all users.
    pub fn merge(&mut self, other: &SimulationReport) {
        self.users += other.users;
        self.steps += other.steps;
        for (id, o) in &other.journeys {
            let j = self.journeys.entry(id.clone()).or_default();
            j.entered += o.entered;
            j.entry_skipped += o.entry_skipped;
            j.completed += o.completed;
            j.converted += o.converted;
            j.exited += o.exited;
            for (node, on) in &o.nodes {
                let n = j.nodes.entry(node.clone()).or_default();
                n.entered += on.entered;
                n.waiting += on.waiting;
                n.exited += on.exited;
                n.converted += on.converted;
                n.completed += on.completed;
            }
        }
        add_counts(&mut self.messages_per_day, &other.messages_per_day);
        add_counts(&mut self.suppressions, &other.suppressions);
        add_counts(&mut self.deferrals, &other.deferrals);
        add_counts(&mut self.effects, &other.effects);
    }

    fn count(&mut self, engine: &JourneyEngine, profile: &Profile, r: &StepResult) {
        self.steps += 1;
        let zone = profile.time_zone.unwrap_or(engine.policies().default_zone);
        for v in &r.visits {
            if let Some((journey, node)) = engine.visit_names(v) {
                let j = self.journeys.entry(journey.to_string()).or_default();
                j.nodes.entry(node.to_string()).or_default().entered += 1;
            }
        }
        for e in &r.effects {
            let ty = match &e.action {
                Action::SendMessage { .. } => "send_message",
                Action::UpdateTags { .. } => "update_tags",
                Action::SetTraits { .. } => "set_traits",
                Action::CreateTask { .. } => "create_task",
                Action::CallHost { .. } => "call_host",
            };
            *self.effects.entry(ty.into()).or_default() += 1;
            if e.action.is_message() {
                let day = zone
                    .date_at(e.at.to_chrono())
                    .format("%Y-%m-%d")
                    .to_string();
                *self.messages_per_day.entry(day).or_default() += 1;
            }
        }
        for n in &r.notices {
            let reason = n.reason.clone().unwrap_or_default();
            match n.kind {
                NoticeKind::Suppressed => *self.suppressions.entry(reason).or_default() += 1,
                NoticeKind::Deferred => *self.deferrals.entry(reason).or_default() += 1,
                NoticeKind::Entered
                | NoticeKind::EntrySkipped
                | NoticeKind::Completed
                | NoticeKind::Converted
                | NoticeKind::Exited => {
                    let j = self.journeys.entry(n.journey.clone()).or_default();
                    match n.kind {
                        NoticeKind::Entered => j.entered += 1,
                        NoticeKind::EntrySkipped => j.entry_skipped += 1,
                        _ => {
                            let node = j
                                .nodes
                                .entry(n.node.clone().unwrap_or_default())
                                .or_default();
                            match n.kind {
                                NoticeKind::Completed => node.completed += 1,
                                NoticeKind::Converted => node.converted += 1,
                                _ => node.exited += 1,
                            }
                            match n.kind {
                                NoticeKind::Completed => j.completed += 1,
                                NoticeKind::Converted => j.converted += 1,
                                _ => j.exited += 1,
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Like [`simulate`], with the users split into `threads` contiguous chunks
/// simulated on scoped threads. Users are independent and the chunks' reports
/// are merged in chunk order, so the report is the same for any thread count.
pub fn simulate_threads(
    engine: &JourneyEngine,
    users: &[(Profile, EventLog)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    threads: usize,
) -> Result<SimulationReport> {
    check_period(from, to)?;
    let threads = threads.clamp(1, users.len().max(1));
    if threads == 1 {
        return simulate(engine, users, from, to);
    }
    let chunk = users.len().div_ceil(threads);
    let parts: Vec<Result<SimulationReport>> = std::thread::scope(|s| {
        let handles: Vec<_> = users
            .chunks(chunk)
            .map(|part| s.spawn(move || simulate(engine, part, from, to)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::Internal,
                        "a simulation thread panicked",
                    ))
                })
            })
            .collect()
    });
    let mut report = SimulationReport::default();
    for part in parts {
        report.merge(&part?);
    }
    Ok(report)
}

/// An empty or reversed period is a caller error, reported on `start`.
fn check_period(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
    if from >= to {
        return Err(
            Error::new(ErrorKind::InvalidArgument, "start must be before end").with_path("start"),
        );
    }
    Ok(())
}

/// Replays each user's events in `[from, to)` (ticking at every wake-up in
/// between) through `engine`, starting from empty state, and reports counts.
/// Fails with `InvalidArgument` (path `start`) when `from` is not before `to`.
pub fn simulate(
    engine: &JourneyEngine,
    users: &[(Profile, EventLog)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<SimulationReport> {
    check_period(from, to)?;
    let mut report = SimulationReport::default();
    for (profile, events) in users {
        report.users += 1;
        let mut state = UserState::new();
        let step = |state: &mut UserState,
                    input: &Input,
                    at: DateTime<Utc>,
                    report: &mut SimulationReport|
         -> Result<Option<DateTime<Utc>>> {
            let r = engine.step_with_visits(state, profile, events, input, at)?;
            report.count(engine, profile, &r);
            *state = r.state;
            Ok(r.next_wake)
        };
        let mut wake = step(&mut state, &Input::Tick, from, &mut report)?;
        let in_period = events
            .events()
            .iter()
            .filter(|e| e.timestamp >= from && e.timestamp < to);
        for e in in_period {
            while let Some(w) = wake.filter(|w| *w <= e.timestamp) {
                let next = step(&mut state, &Input::Tick, w, &mut report)?;
                wake = next.filter(|n| *n > w);
            }
            wake = step(
                &mut state,
                &Input::Event(e.clone()),
                e.timestamp,
                &mut report,
            )?;
        }
        while let Some(w) = wake.filter(|w| *w < to) {
            let next = step(&mut state, &Input::Tick, w, &mut report)?;
            wake = next.filter(|n| *n > w);
        }
        for i in &state.instances {
            let j = report.journeys.entry(i.journey.to_string()).or_default();
            j.nodes.entry(i.node.to_string()).or_default().waiting += 1;
        }
    }
    Ok(report)
}
