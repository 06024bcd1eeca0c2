//! The engine: a pure `step(state, profile, events, input, now)` over many
//! journey definitions, returning the new state, effects for the host, notices
//! (suppressions, deferrals, entries, exits …) and the next wake-up instant.
//!
//! Time semantics (normative text in `docs/journeys.md`):
//! * deadlines are absolute instants; a step processes every due item up to
//!   `now` in due order — time, then journey priority, key, entry number —,
//!   carrying each out at its *due* time (effects carry that time as `at`);
//! * a `now` earlier than the last one seen is clamped to it (never replayed);
//! * an event is applied at its timestamp clamped into `[last now, now]`: due
//!   items before it run first, then goals/exits, waits for events, entries;
//! * rule criteria (goals, exits) are checked on every input and whenever an
//!   instance wakes, both at the instant concerned.

use super::definition::{Criterion, JourneyDefinition, LatePolicy, NodeKind, Reentry, Trigger};
use super::filter::{passes, JourneyFilters};
use super::instant::Instant;
use super::policy::{time_or_midnight, Policies, QuietMode};
use super::state::{Instance, JourneyRecord, SendRecord, UserState};
use super::validate::{analyze, check_schema_filters, check_structure, ValidationReport};
use crate::error::{Error, ErrorKind, Result};
use crate::hashing;
use crate::profile::{Event, EventLog, Profile};
use crate::rules::{parser, CompiledRuleSet, EvalInput, Rule, RuleSet};
use crate::schema::Schema;
use crate::value::{ts_serde, Value};
use crate::zone::Zone;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use compact_str::CompactString;
use serde::Serialize;
use std::collections::HashMap;

/// Transitions one instance may make in one wake-up before it is stopped
/// (`exited`, reason `loop_limit`); validation rules out wait-free cycles, so
/// only waits that complete at once (a date already past) can get here.
pub const MAX_TRANSITIONS: u32 = 1_000;

/// An input to [`JourneyEngine::step`].
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A behavioural event (applied at its timestamp, clamped to `[last now, now]`).
    Event(Event),
    /// Time passed.
    Tick,
    /// The profile or a segment changed (re-checks segment triggers and rule criteria).
    ProfileChanged,
    /// The outcome of an earlier effect.
    Outcome {
        /// The effect id.
        effect: String,
        /// Delivered (`true`) or failed.
        delivered: bool,
    },
    /// Enter the user explicitly.
    Enter {
        /// Journey id.
        journey: String,
        /// Concurrency key.
        key: Option<String>,
    },
}

impl Input {
    /// Reads the JSON form: `{"type": "event", "event": {...}}`, `{"type": "tick"}`,
    /// `{"type": "profile_changed"}`, `{"type": "outcome", "effect": id, "status":
    /// "delivered"|"failed"}`, `{"type": "enter", "journey": id, "key"?: k}`.
    pub fn from_json_value(v: &serde_json::Value, schema: &Schema) -> Result<Input> {
        let bad =
            |m: &str| Error::new(ErrorKind::InvalidArgument, m.to_string()).with_path("input");
        let ty = v
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| bad("an input needs a string \"type\""))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        Ok(match ty {
            "event" => Input::Event(
                Event::from_json_value(v.get("event").unwrap_or(&serde_json::Value::Null), schema)
                    .map_err(|e| e.prefix_path("input.event"))?,
            ),
            "tick" => Input::Tick,
            "profile_changed" => Input::ProfileChanged,
            "outcome" => Input::Outcome {
                effect: s("effect").ok_or_else(|| bad("an outcome needs \"effect\""))?,
                delivered: match s("status").as_deref() {
                    Some("delivered") => true,
                    Some("failed") => false,
                    _ => return Err(bad("outcome status is \"delivered\" or \"failed\"")),
                },
            },
            "enter" => Input::Enter {
                journey: s("journey").ok_or_else(|| bad("enter needs \"journey\""))?,
                key: s("key"),
            },
            other => return Err(bad(&format!("unknown input type {other:?}"))),
        })
    }
}

/// What the host must carry out.
///
/// Its id ([`Effect::id`]) is built from the journey, entry number, key, node
/// and step on demand (the JSON form has it as `"id"`, first), so producing
/// an effect does not allocate for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// Journey id.
    pub journey: CompactString,
    /// Node id.
    pub node: CompactString,
    /// Instance key (empty when the journey has none).
    pub key: CompactString,
    /// Entry number of the instance (part of the id).
    pub seq: u32,
    /// Nodes the instance had processed when it reached this one, this one
    /// included (part of the id).
    pub step: u32,
    /// Due time (the instant the flow reached the node).
    pub at: Instant,
    /// The action.
    pub action: Action,
}

impl Effect {
    /// The unique, deterministic id `<journey>#<seq>[#<key>]/<node>/<step>`;
    /// use it as the idempotency key (outcomes name it).
    pub fn id(&self) -> CompactString {
        effect_id(&self.journey, self.seq, &self.key, &self.node, self.step)
    }

    /// Writes [`Effect::id`] to `out` (e.g. a reused buffer, without allocating).
    pub fn write_id(&self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        let (mut seq, mut step) = ([0u8; 10], [0u8; 10]);
        out.write_str(&self.journey)?;
        out.write_char('#')?;
        out.write_str(u32_digits(self.seq, &mut seq))?;
        if !self.key.is_empty() {
            out.write_char('#')?;
            out.write_str(&self.key)?;
        }
        out.write_char('/')?;
        out.write_str(&self.node)?;
        out.write_char('/')?;
        out.write_str(u32_digits(self.step, &mut step))
    }
}

/// [`Effect::id`] as `Display` (written straight into a serializer).
struct EffectIdText<'e>(&'e Effect);

impl std::fmt::Display for EffectIdText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.write_id(f)
    }
}

impl Serialize for EffectIdText<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Effect {
    /// `{"id", "journey", "node", "key"?, "at", "type", ...the action's fields}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'e> {
            id: EffectIdText<'e>,
            journey: &'e str,
            node: &'e str,
            #[serde(skip_serializing_if = "str::is_empty")]
            key: &'e str,
            at: Instant,
            #[serde(flatten)]
            action: &'e Action,
        }
        Json {
            id: EffectIdText(self),
            journey: &self.journey,
            node: &self.node,
            key: &self.key,
            at: self.at,
            action: &self.action,
        }
        .serialize(s)
    }
}

/// Effect actions. JSON: `"type"` names the action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Send a message.
    SendMessage {
        /// Channel.
        channel: CompactString,
        /// Template id.
        template: CompactString,
        /// Purpose.
        purpose: CompactString,
    },
    /// Add and remove tags.
    UpdateTags {
        /// Added.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        add: Vec<String>,
        /// Removed.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        remove: Vec<String>,
    },
    /// Set traits.
    SetTraits {
        /// Values.
        traits: std::collections::BTreeMap<String, serde_json::Value>,
    },
    /// Create a staff task.
    CreateTask {
        /// Queue or role.
        assignee: String,
        /// Template or title.
        template: String,
    },
    /// Call the host.
    CallHost {
        /// Action name.
        action: String,
        /// Parameters.
        #[serde(skip_serializing_if = "serde_json::Value::is_null")]
        params: serde_json::Value,
    },
}

impl Action {
    /// Whether this is a message.
    pub fn is_message(&self) -> bool {
        matches!(self, Action::SendMessage { .. })
    }
}

/// Kinds of [`Notice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A user entered a journey.
    Entered,
    /// An entry was refused (reason: `once`, `cooldown`, `active`, `max_entries`, `missing_key`).
    EntrySkipped,
    /// The flow reached its end.
    Completed,
    /// A goal was reached (reason: the goal's id).
    Converted,
    /// The instance ended early (reason: `exit:<id>`, `late`, `missing_trait`, `loop_limit`).
    Exited,
    /// A message was not sent (reason: `no_consent`, `quiet_hours`, `frequency_cap`).
    Suppressed,
    /// A message was held until `until` (reason: `quiet_hours`).
    Deferred,
    /// A node was skipped (reason: `late`).
    Skipped,
    /// A random split assigned a branch (detail: the branch).
    Assigned,
    /// The event id was seen before; the event was ignored.
    Duplicate,
    /// `now` was earlier than the last seen and was clamped.
    ClockClamped,
}

/// Something that happened, for reporting and explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// What.
    #[serde(rename = "type")]
    pub kind: NoticeKind,
    /// Journey id (empty for user-level notices).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub journey: String,
    /// Instance key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Node id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// When (due time).
    #[serde(with = "ts_serde")]
    pub at: DateTime<Utc>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// More detail (the cap hit, the branch chosen, the effect that was suppressed …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For deferrals: the new due time.
    #[serde(skip_serializing_if = "Option::is_none", with = "ts_serde::option")]
    pub until: Option<DateTime<Utc>>,
}

/// A node visit (for simulation statistics); resolve names with
/// [`JourneyEngine::visit_names`]. Indices keep the hot path free of allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// Index of the definition in the engine.
    pub definition: usize,
    /// Index of the node in the definition.
    pub node: usize,
}

/// The result of one step (`Default`: an empty one, to reuse with
/// [`JourneyEngine::step_into`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepResult {
    /// The new state (persist it; the input state is untouched).
    pub state: UserState,
    /// Effects for the host, in order.
    pub effects: Vec<Effect>,
    /// Notices, in order.
    pub notices: Vec<Notice>,
    /// When to call again with a tick at the latest (none: only on inputs).
    pub next_wake: Option<DateTime<Utc>>,
    /// Node visits, in order: filled only by
    /// [`JourneyEngine::step_with_visits`] (simulation statistics), empty
    /// otherwise (recording them costs the hot path an allocation).
    pub visits: Vec<Visit>,
}

struct CompiledJourney {
    def: JourneyDefinition,
    rules: Option<CompiledRuleSet>,
    rule_index: HashMap<String, usize>,
    /// Event filters, compiled once.
    filters: JourneyFilters,
    report: ValidationReport,
    /// Position of the journey id in priority order.
    rank: usize,
    /// Position in `JourneyEngine::journeys`.
    index: usize,
    /// The node ids (as `def.nodes`), ready to copy into an instance.
    node_ids: Vec<CompactString>,
    /// The `send_message` action of each message node (as `def.nodes`).
    messages: Vec<Option<Action>>,
}

/// Many journey definitions (all versions), the policies and the schema; steps
/// one user's state across all journeys. Immutable and `Send + Sync`.
pub struct JourneyEngine {
    schema: Schema,
    policies: Policies,
    journeys: Vec<CompiledJourney>,
    /// For each journey id in priority order: the index of its latest version.
    latest: Vec<usize>,
    /// The subset of `latest` with date triggers (the only ones with agenda entries).
    dated: Vec<usize>,
    /// Quiet hours `(start, end)`, parsed once.
    quiet: Option<(NaiveTime, NaiveTime)>,
}

impl std::fmt::Debug for JourneyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JourneyEngine")
            .field(
                "journeys",
                &self
                    .journeys
                    .iter()
                    .map(|j| (&j.def.id, j.def.version))
                    .collect::<Vec<_>>(),
            )
            .field("policies", &self.policies)
            .finish()
    }
}

fn rule_texts(def: &JourneyDefinition) -> Vec<(String, String)> {
    let mut v = Vec::new();
    if let Trigger::Segment { rule } = &def.trigger {
        v.push(("trigger.rule".to_string(), rule.clone()));
    }
    for (what, list) in [("goals", &def.goals), ("exit", &def.exit)] {
        for (i, c) in list.iter().enumerate() {
            if let Some(r) = &c.rule {
                v.push((format!("{what}[{i}].rule"), r.clone()));
            }
        }
    }
    for (i, n) in def.nodes.iter().enumerate() {
        match &n.kind {
            NodeKind::SplitRule { rule, .. } => v.push((format!("nodes[{i}].rule"), rule.clone())),
            NodeKind::SplitMulti { branches, .. } => {
                for (j, b) in branches.iter().enumerate() {
                    v.push((format!("nodes[{i}].branches[{j}].rule"), b.rule.clone()));
                }
            }
            _ => {}
        }
    }
    v
}

impl JourneyEngine {
    /// Validates and compiles `definitions` (any number of versions per id) against `schema`.
    pub fn new(
        schema: Schema,
        definitions: Vec<JourneyDefinition>,
        policies: Policies,
    ) -> Result<JourneyEngine> {
        policies.check()?;
        let mut journeys = Vec::with_capacity(definitions.len());
        let mut seen = std::collections::BTreeSet::new();
        for (d, def) in definitions.into_iter().enumerate() {
            let at = format!("journeys[{d}]");
            check_structure(&def).map_err(|e| e.prefix_path(&at))?;
            let filters = check_schema_filters(&def, &schema).map_err(|e| e.prefix_path(&at))?;
            if !seen.insert((def.id.clone(), def.version)) {
                return Err(Error::new(
                    ErrorKind::DuplicateName,
                    format!(
                        "journey `{}` version {} is given twice",
                        def.id, def.version
                    ),
                )
                .with_path(at));
            }
            let texts = rule_texts(&def);
            let mut rule_index = HashMap::new();
            let mut set = RuleSet::default();
            for (path, text) in texts {
                if rule_index.contains_key(&text) {
                    continue;
                }
                let expr = parser::parse_expr(&text)
                    .map_err(|e| e.prefix_path(&format!("{at}.{path}")))?;
                rule_index.insert(text, set.rules.len());
                set.rules.push(Rule {
                    name: format!("r{}", set.rules.len()),
                    description: None,
                    expr,
                    span: Default::default(),
                });
            }
            let rules = if set.rules.is_empty() {
                None
            } else {
                Some(CompiledRuleSet::compile(&set, &schema).map_err(|e| e.prefix_path(&at))?)
            };
            let report = analyze(&def);
            let node_ids = def.nodes.iter().map(|n| n.id.as_str().into()).collect();
            let messages = def
                .nodes
                .iter()
                .map(|n| match &n.kind {
                    NodeKind::Message {
                        channel,
                        template,
                        purpose,
                        ..
                    } => Some(Action::SendMessage {
                        channel: channel.as_str().into(),
                        template: template.as_str().into(),
                        purpose: purpose.as_deref().unwrap_or("").into(),
                    }),
                    _ => None,
                })
                .collect();
            journeys.push(CompiledJourney {
                node_ids,
                messages,
                def,
                rules,
                rule_index,
                filters,
                report,
                rank: 0,
                index: journeys.len(),
            });
        }
        // Priority order: priority descending, then id.
        let mut ids: Vec<(i32, String)> = Vec::new();
        for j in &journeys {
            let latest = journeys
                .iter()
                .filter(|k| k.def.id == j.def.id)
                .max_by_key(|k| k.def.version)
                .map(|k| k.def.priority)
                .unwrap_or(0);
            if !ids.iter().any(|(_, id)| *id == j.def.id) {
                ids.push((latest, j.def.id.clone()));
            }
        }
        ids.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for j in &mut journeys {
            j.rank = ids.iter().position(|(_, id)| *id == j.def.id).unwrap_or(0);
        }
        let latest: Vec<usize> = ids
            .iter()
            .filter_map(|(_, id)| {
                journeys
                    .iter()
                    .enumerate()
                    .filter(|(_, j)| j.def.id == *id)
                    .max_by_key(|(_, j)| j.def.version)
                    .map(|(i, _)| i)
            })
            .collect();
        let dated = latest
            .iter()
            .copied()
            .filter(|&j: &usize| matches!(journeys[j].def.trigger, Trigger::Date { .. }))
            .collect();
        let quiet = policies.quiet_hours.as_ref().and_then(|q| {
            Some((
                super::definition::parse_time_of_day(&q.start)?,
                super::definition::parse_time_of_day(&q.end)?,
            ))
        });
        Ok(JourneyEngine {
            schema,
            policies,
            journeys,
            latest,
            dated,
            quiet,
        })
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The policies.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// All loaded definitions.
    pub fn definitions(&self) -> impl Iterator<Item = &JourneyDefinition> {
        self.journeys.iter().map(|j| &j.def)
    }

    /// The definition of `id` at `version` (`None`: the latest).
    pub fn definition(&self, id: &str, version: Option<u32>) -> Option<&JourneyDefinition> {
        self.find(id, version).map(|i| &self.journeys[i].def)
    }

    /// The journey id and node id of a [`Visit`].
    pub fn visit_names(&self, v: &Visit) -> Option<(&str, &str)> {
        let def = &self.journeys.get(v.definition)?.def;
        Some((def.id.as_str(), def.nodes.get(v.node)?.id.as_str()))
    }

    /// The validation report of `id` (latest version).
    pub fn report(&self, id: &str) -> Option<&ValidationReport> {
        self.find(id, None).map(|i| &self.journeys[i].report)
    }

    fn find(&self, id: &str, version: Option<u32>) -> Option<usize> {
        match version {
            None => self
                .latest
                .iter()
                .copied()
                .find(|&i| self.journeys[i].def.id == id),
            Some(v) => self
                .journeys
                .iter()
                .position(|j| j.def.version == v && j.def.id == id),
        }
    }

    /// Processes one input for one user at `now` across all journeys. Pure: the
    /// input state is not modified; on error nothing changes.
    pub fn step(
        &self,
        state: &UserState,
        profile: &Profile,
        events: &EventLog,
        input: &Input,
        now: DateTime<Utc>,
    ) -> Result<StepResult> {
        self.step_owned(state.clone(), profile, events, input, now)
    }

    /// As [`JourneyEngine::step`], also recording the node visits
    /// ([`StepResult::visits`]; `simulate` counts them).
    pub fn step_with_visits(
        &self,
        state: &UserState,
        profile: &Profile,
        events: &EventLog,
        input: &Input,
        now: DateTime<Utc>,
    ) -> Result<StepResult> {
        let bufs = Buffers {
            record_visits: true,
            ..Buffers::default()
        };
        self.run_step(state.clone(), profile, events, input, now, bufs)
    }

    /// As [`JourneyEngine::step`], consuming the state (saves a copy when the
    /// host has just restored it, e.g. from bytes). On error the state is dropped;
    /// the host still holds its persisted form.
    pub fn step_owned(
        &self,
        state: UserState,
        profile: &Profile,
        events: &EventLog,
        input: &Input,
        now: DateTime<Utc>,
    ) -> Result<StepResult> {
        self.run_step(state, profile, events, input, now, Buffers::default())
    }

    /// As [`JourneyEngine::step_owned`], writing the result into `out` and reusing
    /// its effect, notice and visit vectors (their allocations), for a host that
    /// steps many users in a loop. `out.state` is replaced by the new state (take
    /// or swap it out first to reuse it as the next scratch state). On error the
    /// vectors of `out` are empty and its state and `next_wake` are unchanged.
    pub fn step_into(
        &self,
        state: UserState,
        profile: &Profile,
        events: &EventLog,
        input: &Input,
        now: DateTime<Utc>,
        out: &mut StepResult,
    ) -> Result<()> {
        let mut bufs = Buffers {
            effects: std::mem::take(&mut out.effects),
            notices: std::mem::take(&mut out.notices),
            visits: std::mem::take(&mut out.visits),
            record_visits: false,
        };
        bufs.effects.clear();
        bufs.notices.clear();
        bufs.visits.clear();
        *out = self.run_step(state, profile, events, input, now, bufs)?;
        Ok(())
    }

    fn run_step(
        &self,
        state: UserState,
        profile: &Profile,
        events: &EventLog,
        input: &Input,
        now: DateTime<Utc>,
        bufs: Buffers,
    ) -> Result<StepResult> {
        for inst in &state.instances {
            if self.find(&inst.journey, Some(inst.version)).is_none() {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    format!(
                        "instance of journey `{}` version {} has no loaded definition",
                        inst.journey, inst.version
                    ),
                ));
            }
        }
        let now_in = now;
        let now = Instant::from(now);
        if !now.in_common_era_years() {
            return Err(Error::new(
                ErrorKind::InvalidTime,
                format!("now {now_in} is outside years 1..=9999"),
            ));
        }
        let last_now = state.last_now;
        let mut run = Run {
            engine: self,
            profile,
            events,
            zone: profile.time_zone.unwrap_or(self.policies.default_zone),
            now,
            now_chrono: now_in,
            start: state.last_now,
            state,
            effects: bufs.effects,
            notices: bufs.notices,
            visits: bufs.visits,
            record_visits: bufs.record_visits,
        };
        if let Some(last) = last_now {
            if now < last {
                run.now = last;
                run.now_chrono = last.to_chrono();
                run.notice(
                    NoticeKind::ClockClamped,
                    "",
                    "",
                    None,
                    last,
                    None,
                    Some(now_in.to_rfc3339()),
                );
            }
        }
        let now = run.now;
        run.start = Some(last_now.unwrap_or(now));
        let mut input = input;
        let duplicate;
        if let Input::Event(e) = input {
            duplicate = run.state.seen.iter().any(|s| *s == e.id);
            if duplicate {
                run.notice(
                    NoticeKind::Duplicate,
                    "",
                    "",
                    None,
                    now,
                    None,
                    Some(e.id.clone()),
                );
                input = &Input::Tick;
            } else {
                run.state.seen.push(e.id.as_str().into());
            }
        }
        let t_in = match input {
            Input::Event(e) => Instant::from(e.timestamp).clamp(run.start.unwrap_or(now), now),
            _ => now,
        };
        run.agenda(t_in)?;
        run.apply(input, t_in)?;
        run.agenda(now)?;
        // Bookkeeping: bounded windows.
        if !run.state.sends.is_empty() {
            let horizon = now
                .checked_sub_secs(self.policies.ledger_horizon())
                .unwrap_or(Instant::MIN);
            run.state.sends.retain(|s| s.at > horizon);
        }
        let window = self.policies.dedup_window;
        if run.state.seen.len() > window {
            let cut = run.state.seen.len() - window;
            run.state.seen.drain(..cut);
        }
        run.state.last_now = Some(now);
        let next_wake = run.next_wake().map(Instant::to_chrono);
        Ok(StepResult {
            state: run.state,
            effects: run.effects,
            notices: run.notices,
            next_wake,
            visits: run.visits,
        })
    }
}

/// Output vectors of a step (empty; possibly with capacity to reuse).
#[derive(Default)]
struct Buffers {
    effects: Vec<Effect>,
    notices: Vec<Notice>,
    visits: Vec<Visit>,
    /// Whether to record visits.
    record_visits: bool,
}

/// One user's journeys held in memory: the engine's definitions plus the user's
/// state (instances, cap ledger, records). [`UserJourneys::handle`] steps it and
/// keeps the new state only when the step succeeds.
#[derive(Debug)]
pub struct UserJourneys<'e> {
    engine: &'e JourneyEngine,
    state: UserState,
}

impl<'e> UserJourneys<'e> {
    /// The current state (persist it with `to_bytes` / `to_json`).
    pub fn state(&self) -> &UserState {
        &self.state
    }

    /// Steps the user with `input` at `now`; on error the state is unchanged.
    pub fn handle(
        &mut self,
        profile: &Profile,
        events: &EventLog,
        input: &Input,
        now: DateTime<Utc>,
    ) -> Result<StepResult> {
        let r = self.engine.step(&self.state, profile, events, input, now)?;
        self.state = r.state.clone();
        Ok(r)
    }

    /// Gives the state back.
    pub fn into_state(self) -> UserState {
        self.state
    }
}

impl JourneyEngine {
    /// Holds `state` (a user's journeys) for repeated [`UserJourneys::handle`] calls.
    pub fn user(&self, state: UserState) -> UserJourneys<'_> {
        UserJourneys {
            engine: self,
            state,
        }
    }
}

struct Run<'a> {
    engine: &'a JourneyEngine,
    profile: &'a Profile,
    events: &'a EventLog,
    zone: Zone,
    /// The clamped real `now` of this step.
    now: Instant,
    /// `now` as chrono: most conversions in a step are of `now` itself (a
    /// host calls at the due time), and each costs a calendar computation.
    now_chrono: DateTime<Utc>,
    /// The last `now` before this step (date triggers fire after it).
    start: Option<Instant>,
    state: UserState,
    effects: Vec<Effect>,
    notices: Vec<Notice>,
    visits: Vec<Visit>,
    record_visits: bool,
}

/// How a flow continues after a wake-up or input.
enum Resume<'a> {
    /// Run from a node (`None`: the flow ends, completed).
    Goto(Option<&'a str>),
    /// Re-run the current node (deferred message, migrated instance).
    Rerun,
}

/// `t + secs`, or `INVALID_TIME` when the instant leaves chrono's range.
fn add_secs(t: Instant, secs: i64) -> Result<Instant> {
    t.checked_add_secs(secs).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidTime,
            format!("{} + {secs}s is out of range", t.to_chrono()),
        )
    })
}

/// The decimal digits of `n`, written at the end of `buf`.
fn u32_digits(mut n: u32, buf: &mut [u8; 10]) -> &str {
    const SMALL: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    if n < 10 {
        return SMALL[n as usize];
    }
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits only.
    std::str::from_utf8(&buf[i..]).unwrap_or_default()
}

/// `<journey>#<seq>[#<key>]/<node>/<step>` (see [`Effect::id`]), built
/// without the format machinery (hot path).
fn effect_id(journey: &str, seq: u32, key: &str, node: &str, step: u32) -> CompactString {
    let (mut seq_buf, mut step_buf) = ([0u8; 10], [0u8; 10]);
    let (seq, step) = (
        u32_digits(seq, &mut seq_buf),
        u32_digits(step, &mut step_buf),
    );
    let keyed = !key.is_empty();
    let len =
        journey.len() + seq.len() + node.len() + step.len() + 3 + usize::from(keyed) + key.len();
    if len <= std::mem::size_of::<CompactString>() {
        // Inline: no allocation.
        return if keyed {
            concat(&[journey, "#", seq, "#", key, "/", node, "/", step])
        } else {
            concat(&[journey, "#", seq, "/", node, "/", step])
        };
    }
    // One exact buffer; the one-byte separators are pushed, not copied.
    let mut s = String::with_capacity(len);
    s.push_str(journey);
    s.push('#');
    s.push_str(seq);
    if keyed {
        s.push('#');
        s.push_str(key);
    }
    s.push('/');
    s.push_str(node);
    s.push('/');
    s.push_str(step);
    CompactString::from(s)
}

/// `parts` joined, sized once: inline when short (no allocation), else one
/// exact heap buffer.
fn concat(parts: &[&str]) -> CompactString {
    const INLINE: usize = std::mem::size_of::<CompactString>();
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len <= INLINE {
        let mut b = [0u8; INLINE];
        let mut at = 0;
        for p in parts {
            b[at..at + p.len()].copy_from_slice(p.as_bytes());
            at += p.len();
        }
        // Whole `str`s joined: valid UTF-8.
        CompactString::from(std::str::from_utf8(&b[..len]).unwrap_or_default())
    } else {
        let mut s = String::with_capacity(len);
        for p in parts {
            s.push_str(p);
        }
        CompactString::from(s)
    }
}

/// Why a message is not sent now.
enum Hold {
    /// No consent for the channel and purpose.
    Consent,
    /// Inside quiet hours, held until the instant given.
    Defer(Instant),
    /// Inside quiet hours, dropped.
    Quiet,
    /// A frequency cap (its detail) would be exceeded.
    Cap(String),
}

/// Agenda order: due time, instances before date entries, journey rank, key, entry number.
type AgendaKey<'k> = (Instant, u8, usize, &'k str, u32);

enum Agenda {
    Instance(usize),
    Date(usize, Instant),
}

impl<'a> Run<'a> {
    #[allow(clippy::too_many_arguments)]
    fn notice(
        &mut self,
        kind: NoticeKind,
        journey: &str,
        key: &str,
        node: Option<&str>,
        at: Instant,
        reason: Option<&str>,
        detail: Option<String>,
    ) {
        self.notices.push(Notice {
            kind,
            journey: journey.to_string(),
            key: key.to_string(),
            node: node.map(str::to_string),
            at: at.to_chrono(),
            reason: reason.map(str::to_string),
            detail,
            until: None,
        });
    }

    fn cj(&self, inst: &Instance) -> Result<&'a CompiledJourney> {
        let e = self.engine;
        e.find(&inst.journey, Some(inst.version))
            .map(|i| &e.journeys[i])
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidState,
                    format!("no definition for journey `{}`", inst.journey),
                )
            })
    }

    fn rank(&self, inst: &Instance) -> usize {
        self.cj(inst).map(|c| c.rank).unwrap_or(usize::MAX)
    }

    fn record_mut(&mut self, journey: &str) -> &mut JourneyRecord {
        let pos = match self
            .state
            .journeys
            .iter()
            .position(|r| r.journey == journey)
        {
            Some(p) => p,
            None => {
                self.state.journeys.push(JourneyRecord {
                    journey: journey.into(),
                    ..Default::default()
                });
                self.state.journeys.len() - 1
            }
        };
        &mut self.state.journeys[pos]
    }

    /// `t` as chrono, without the calendar computation when it is `now`.
    fn chrono(&self, t: Instant) -> DateTime<Utc> {
        if t == self.now {
            self.now_chrono
        } else {
            t.to_chrono()
        }
    }

    /// Whether event `e` passes a compiled event filter at `t`.
    fn passes(&self, f: Option<&crate::rules::EventFilter>, e: &Event, t: Instant) -> Result<bool> {
        passes(
            f,
            e,
            self.profile,
            self.chrono(t),
            self.engine.policies.default_zone,
        )
    }

    fn rule(&self, cj: &CompiledJourney, text: &str, at: Instant) -> Result<bool> {
        let (Some(rules), Some(&i)) = (&cj.rules, cj.rule_index.get(text)) else {
            return Err(Error::new(
                ErrorKind::Internal,
                "journey rule was not compiled",
            ));
        };
        let input = EvalInput::new(self.profile, self.events, self.chrono(at))
            .with_default_zone(self.engine.policies.default_zone);
        Ok(rules.evaluate(&input)?.get(i).copied().unwrap_or(false))
    }

    /// The next date-trigger instant of journey `j` in `(after, upto]`.
    fn date_target(&self, j: usize, after: Instant, upto: Instant) -> Option<Instant> {
        let (after, upto) = (after.to_chrono(), upto.to_chrono());
        self.date_target_chrono(j, after, upto).map(Instant::from)
    }

    fn date_target_chrono(
        &self,
        j: usize,
        after: DateTime<Utc>,
        upto: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let cj = &self.engine.journeys[j];
        let Trigger::Date {
            trait_name,
            offset,
            time,
            annual,
        } = &cj.def.trigger
        else {
            return None;
        };
        let value = self.profile.traits.get(trait_name)?;
        let time = time_or_midnight(time.as_deref());
        // Dates outside years 1..=9999 are ignored: zone arithmetic near chrono's
        // limits would overflow.
        let at_date = |d: NaiveDate| {
            if !(1..=9999).contains(&d.year()) {
                return None;
            }
            d.and_time(time)
                .checked_add_signed(chrono::Duration::seconds(offset.seconds))
                .map(|l| self.zone.from_local(l))
        };
        let ok = |t: DateTime<Utc>| t > after && t <= upto;
        match (value, annual) {
            (Value::Timestamp(ts), false) => ts
                .checked_add_signed(chrono::Duration::seconds(offset.seconds))
                .filter(|t| ok(*t)),
            (Value::Date(d), false) => at_date(*d).filter(|t| ok(*t)),
            (Value::Date(_) | Value::Timestamp(_), true) => {
                let d = match value {
                    Value::Date(d) => *d,
                    Value::Timestamp(ts) if (1..=9999).contains(&ts.year()) => {
                        self.zone.date_at(*ts)
                    }
                    _ => return None,
                };
                let y0 = self.zone.date_at(after).year() - 1;
                let y1 = self.zone.date_at(upto).year() + 1;
                (y0..=y1)
                    .filter_map(|y| {
                        NaiveDate::from_ymd_opt(y, d.month(), d.day())
                            .or_else(|| NaiveDate::from_ymd_opt(y, d.month(), d.day() - 1))
                    })
                    .filter_map(at_date)
                    .filter(|t| ok(*t))
                    .min()
            }
            _ => None,
        }
    }

    fn date_cursor(&self, j: usize) -> Instant {
        let id = &self.engine.journeys[j].def.id;
        let start = self.start.unwrap_or(self.now);
        match self.state.record(id).and_then(|r| r.last_date) {
            Some(l) => l.max(start),
            None => start,
        }
    }

    /// Processes every due item up to `limit`, earliest first.
    fn agenda(&mut self, limit: Instant) -> Result<()> {
        loop {
            // Order: due time, instances before date entries, journey priority, key, entry number.
            let mut best: Option<(AgendaKey, Agenda)> = None;
            for (i, inst) in self.state.instances.iter().enumerate() {
                if let Some(due) = inst.due.filter(|d| *d <= limit) {
                    // The rank (a definition lookup) only matters on a tie in time.
                    if best.as_ref().is_some_and(|(b, _)| due > b.0) {
                        continue;
                    }
                    let k = (due, 0, self.rank(inst), inst.key.as_str(), inst.seq);
                    if best.as_ref().is_none_or(|(b, _)| k < *b) {
                        best = Some((k, Agenda::Instance(i)));
                    }
                }
            }
            for &j in &self.engine.dated {
                if let Some(t) = self.date_target(j, self.date_cursor(j), limit) {
                    let k = (t, 1, self.engine.journeys[j].rank, "", 0);
                    if best.as_ref().is_none_or(|(b, _)| k < *b) {
                        best = Some((k, Agenda::Date(j, t)));
                    }
                }
            }
            let best = best.map(|((t, ..), a)| (t, a));
            match best {
                None => return Ok(()),
                Some((t, Agenda::Instance(i))) => self.wake(i, t)?,
                Some((_, Agenda::Date(j, t))) => {
                    let id = self.engine.journeys[j].def.id.clone();
                    self.record_mut(&id).last_date = Some(t);
                    self.enter(j, String::new(), t)?;
                }
            }
        }
    }

    /// Wakes instance `i` at its due time `t`.
    fn wake(&mut self, i: usize, t: Instant) -> Result<()> {
        let cj = self.cj(&self.state.instances[i])?;
        if let Some((kind, reason)) = self.criterion_hit(cj, &self.state.instances[i], t, None)? {
            let inst = self.state.instances.remove(i);
            self.finish(&inst, kind, Some(&reason), t);
            return Ok(());
        }
        // The instance is worked on in place (not moved out and back): the
        // flow never looks at the other instances, so the vector is set aside
        // meanwhile.
        let mut instances = std::mem::take(&mut self.state.instances);
        let active = self.wake_flow(cj, &mut instances[i], t);
        self.state.instances = instances;
        if !active? {
            self.state.instances.remove(i);
        }
        Ok(())
    }

    /// The flow part of [`Run::wake`]: whether the instance is still active.
    fn wake_flow(
        &mut self,
        cj: &'a CompiledJourney,
        inst: &mut Instance,
        t: Instant,
    ) -> Result<bool> {
        let node = cj.def.node(&inst.node).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidState,
                format!("unknown node `{}`", inst.node),
            )
        })?;
        let resume = if !inst.armed {
            Resume::Rerun
        } else {
            match &node.kind {
                NodeKind::Wait { next, .. }
                | NodeKind::WaitUntilTime { next, .. }
                | NodeKind::WaitUntilDate { next, .. } => Resume::Goto(next.as_deref()),
                NodeKind::WaitEvent { on_timeout, .. } => Resume::Goto(on_timeout.as_deref()),
                NodeKind::Call { on_failure, .. } => {
                    inst.pending = None;
                    Resume::Goto(on_failure.as_deref())
                }
                _ => Resume::Rerun,
            }
        };
        self.flow(cj, inst, resume, t)
    }

    /// The first goal (then exit criterion) that holds for `inst` at `t`.
    fn criterion_hit(
        &self,
        cj: &CompiledJourney,
        inst: &Instance,
        t: Instant,
        event: Option<&Event>,
    ) -> Result<Option<(NoticeKind, String)>> {
        let hit = |c: &Criterion, f: Option<&Option<_>>| -> Result<bool> {
            if let Some(name) = &c.event {
                return match event {
                    Some(e) if e.name == *name && Instant::from(e.timestamp) >= inst.entered_at => {
                        self.passes(f.and_then(Option::as_ref), e, t)
                    }
                    _ => Ok(false),
                };
            }
            match &c.rule {
                Some(r) => self.rule(cj, r, t),
                None => Ok(false),
            }
        };
        for (i, g) in cj.def.goals.iter().enumerate() {
            if hit(g, cj.filters.goals.get(i))? {
                let id = g.id.clone().unwrap_or_else(|| format!("goals[{i}]"));
                return Ok(Some((NoticeKind::Converted, id)));
            }
        }
        for (i, x) in cj.def.exit.iter().enumerate() {
            if hit(x, cj.filters.exit.get(i))? {
                let id =
                    x.id.as_deref()
                        .map_or_else(|| format!("exit[{i}]"), str::to_string);
                return Ok(Some((NoticeKind::Exited, format!("exit:{id}"))));
            }
        }
        Ok(None)
    }

    fn finish(&mut self, inst: &Instance, kind: NoticeKind, reason: Option<&str>, t: Instant) {
        let (j, k, n) = (inst.journey.clone(), inst.key.clone(), inst.node.clone());
        self.notice(kind, &j, &k, Some(&n), t, reason, None);
    }

    /// Applies consent, quiet hours and frequency caps, in that order, to a
    /// message due at `t`: `None` means send it. The user's local time is
    /// computed once and shared by the quiet-hour and per-day checks.
    fn message_check(&self, channel: &str, purpose: &str, t: Instant) -> Option<Hold> {
        let dt = self.chrono(t);
        if !self.profile.has_consent(channel, purpose, dt) {
            return Some(Hold::Consent);
        }
        let policies = &self.engine.policies;
        if self.engine.quiet.is_none() && policies.caps.is_empty() {
            return None;
        }
        let local = self.zone.local(dt);
        if let Some(times) = self.engine.quiet {
            if let Some(until) = policies.quiet_until_local(times, channel, dt, local, &self.zone) {
                let until = Instant::from(until);
                let mode = policies
                    .quiet_hours
                    .as_ref()
                    .map(|q| q.mode)
                    .unwrap_or_default();
                return Some(if mode == QuietMode::Defer && until > t {
                    Hold::Defer(until)
                } else {
                    Hold::Quiet
                });
            }
        }
        policies
            .cap_exceeded_on(channel, t, local.date(), &self.zone, &self.state.sends)
            .map(Hold::Cap)
    }

    fn effect(&mut self, inst: &Instance, t: Instant, action: Action) {
        self.effects.push(Effect {
            journey: inst.journey.clone(),
            node: inst.node.clone(),
            key: inst.key.clone(),
            seq: inst.seq,
            step: inst.steps,
            at: t,
            action,
        });
    }

    /// Runs the flow of `inst` from `resume` at due time `t` until it waits or ends;
    /// re-inserts it at `slot` (or appends) while active.
    fn advance(
        &mut self,
        cj: &'a CompiledJourney,
        mut inst: Instance,
        resume: Resume<'a>,
        t: Instant,
        slot: Option<usize>,
    ) -> Result<()> {
        if self.flow(cj, &mut inst, resume, t)? {
            match slot {
                Some(i) => self.state.instances.insert(i, inst),
                None => self.state.instances.push(inst),
            }
        }
        Ok(())
    }

    /// Runs the flow of `inst` from `resume` at due time `t` until it waits
    /// (returns true: still active) or ends.
    fn flow(
        &mut self,
        cj: &'a CompiledJourney,
        inst: &mut Instance,
        resume: Resume<'a>,
        t: Instant,
    ) -> Result<bool> {
        let mut rerun = matches!(resume, Resume::Rerun);
        let mut cur: Option<&str> = match resume {
            Resume::Goto(n) => n,
            Resume::Rerun => Some(cj.def.node(&inst.node).map(|n| n.id.as_str()).unwrap_or("")),
        };
        let mut transitions = 0u32;
        let active = loop {
            let Some(id) = cur else {
                self.finish(inst, NoticeKind::Completed, None, t);
                break false;
            };
            transitions += 1;
            if transitions > MAX_TRANSITIONS {
                self.finish(inst, NoticeKind::Exited, Some("loop_limit"), t);
                break false;
            }
            let node_index = cj.def.node_index(id).ok_or_else(|| {
                Error::new(ErrorKind::InvalidState, format!("unknown node `{id}`"))
            })?;
            let node = &cj.def.nodes[node_index];
            if !rerun {
                // Inline (short) ids copy without allocating.
                inst.node.clone_from(&cj.node_ids[node_index]);
                inst.since = t;
                inst.steps += 1;
                if self.record_visits {
                    self.visits.push(Visit {
                        definition: cj.index,
                        node: node_index,
                    });
                }
            }
            rerun = false;
            inst.armed = false;
            inst.due = None;
            // Late policy: lateness is the real `now` minus the node's due time.
            if let Some(late) = node.late {
                let grace = late.grace.map(|g| g.seconds()).unwrap_or(0);
                let is_action = !matches!(
                    node.kind,
                    NodeKind::SplitRule { .. }
                        | NodeKind::SplitMulti { .. }
                        | NodeKind::SplitRandom { .. }
                        | NodeKind::Goal {}
                        | NodeKind::End {}
                );
                if is_action && self.now.seconds_since(t) > grace {
                    match late.policy {
                        LatePolicy::Fire => {}
                        LatePolicy::Exit => {
                            self.finish(inst, NoticeKind::Exited, Some("late"), t);
                            break false;
                        }
                        LatePolicy::Skip => {
                            self.finish(inst, NoticeKind::Skipped, Some("late"), t);
                            cur = match &node.kind {
                                NodeKind::WaitEvent { on_timeout, .. } => on_timeout.as_deref(),
                                k => k.edges().first().and_then(|e| e.1),
                            };
                            continue;
                        }
                    }
                }
            }
            match &node.kind {
                NodeKind::Message {
                    channel,
                    template,
                    purpose,
                    next,
                } => {
                    let purpose = purpose.as_deref().unwrap_or("");
                    let what = || Some(format!("{channel}/{template}"));
                    match self.message_check(channel, purpose, t) {
                        Some(Hold::Consent) => self.notice(
                            NoticeKind::Suppressed,
                            &inst.journey,
                            &inst.key,
                            Some(id),
                            t,
                            Some("no_consent"),
                            what(),
                        ),
                        Some(Hold::Defer(until)) => {
                            self.notice(
                                NoticeKind::Deferred,
                                &inst.journey,
                                &inst.key,
                                Some(id),
                                t,
                                Some("quiet_hours"),
                                what(),
                            );
                            if let Some(n) = self.notices.last_mut() {
                                n.until = Some(until.to_chrono());
                            }
                            inst.due = Some(until);
                            break true;
                        }
                        Some(Hold::Quiet) => self.notice(
                            NoticeKind::Suppressed,
                            &inst.journey,
                            &inst.key,
                            Some(id),
                            t,
                            Some("quiet_hours"),
                            what(),
                        ),
                        Some(Hold::Cap(cap)) => self.notice(
                            NoticeKind::Suppressed,
                            &inst.journey,
                            &inst.key,
                            Some(id),
                            t,
                            Some("frequency_cap"),
                            Some(cap),
                        ),
                        None => {
                            // The node's action, built once per engine (short
                            // strings: the copies do not allocate).
                            let action = match &cj.messages[node_index] {
                                Some(a) => a.clone(),
                                None => Action::SendMessage {
                                    channel: channel.as_str().into(),
                                    template: template.as_str().into(),
                                    purpose: purpose.into(),
                                },
                            };
                            let channel = match &action {
                                Action::SendMessage { channel, .. } => channel.clone(),
                                _ => channel.as_str().into(),
                            };
                            self.effect(inst, t, action);
                            self.state.sends.push(SendRecord {
                                at: t,
                                channel,
                                effect: effect_id(
                                    &inst.journey,
                                    inst.seq,
                                    &inst.key,
                                    &inst.node,
                                    inst.steps,
                                ),
                            });
                        }
                    }
                    cur = next.as_deref();
                }
                NodeKind::Tags { add, remove, next } => {
                    self.effect(
                        inst,
                        t,
                        Action::UpdateTags {
                            add: add.clone(),
                            remove: remove.clone(),
                        },
                    );
                    cur = next.as_deref();
                }
                NodeKind::SetTraits { traits, next } => {
                    self.effect(
                        inst,
                        t,
                        Action::SetTraits {
                            traits: traits.clone(),
                        },
                    );
                    cur = next.as_deref();
                }
                NodeKind::Task {
                    assignee,
                    template,
                    next,
                } => {
                    self.effect(
                        inst,
                        t,
                        Action::CreateTask {
                            assignee: assignee.clone(),
                            template: template.clone(),
                        },
                    );
                    cur = next.as_deref();
                }
                NodeKind::Call {
                    action,
                    params,
                    next,
                    on_failure,
                    timeout,
                } => {
                    self.effect(
                        inst,
                        t,
                        Action::CallHost {
                            action: action.clone(),
                            params: params.clone(),
                        },
                    );
                    if on_failure.is_some() {
                        let secs = timeout.map(|d| d.seconds()).unwrap_or(86_400);
                        inst.pending = Some(effect_id(
                            &inst.journey,
                            inst.seq,
                            &inst.key,
                            &inst.node,
                            inst.steps,
                        ));
                        inst.armed = true;
                        inst.due = Some(add_secs(t, secs)?);
                        break true;
                    }
                    cur = next.as_deref();
                }
                NodeKind::Wait { duration, .. } => {
                    inst.armed = true;
                    inst.due = Some(add_secs(t, duration.seconds())?);
                    break true;
                }
                NodeKind::WaitUntilTime {
                    time,
                    weekdays,
                    fallback_zone,
                    ..
                } => {
                    let zone = match (self.profile.time_zone, fallback_zone) {
                        (Some(z), _) => z,
                        (None, Some(f)) => Zone::parse(f)?,
                        (None, None) => self.engine.policies.default_zone,
                    };
                    let time = time_or_midnight(Some(time));
                    // Allowed weekdays as a bit set (no allocation per wait).
                    let days = weekdays
                        .iter()
                        .filter_map(|w| super::definition::parse_weekday(w))
                        .fold(0u8, |m, d| m | 1 << d.num_days_from_monday());
                    let local = zone.local(self.chrono(t)).date();
                    let due = (0..=8)
                        .filter_map(|k| local.checked_add_days(chrono::Days::new(k)))
                        .filter(|d| {
                            days == 0 || days & 1 << d.weekday().num_days_from_monday() != 0
                        })
                        .map(|d| Instant::from(zone.from_local(d.and_time(time))))
                        .find(|x| *x > t)
                        .ok_or_else(|| Error::new(ErrorKind::Internal, "no allowed weekday"))?;
                    inst.armed = true;
                    inst.due = Some(due);
                    break true;
                }
                NodeKind::WaitUntilDate {
                    trait_name,
                    offset,
                    time,
                    next,
                    missing,
                } => {
                    let time = time_or_midnight(time.as_deref());
                    let off = chrono::Duration::seconds(offset.seconds);
                    let time_of = |d: NaiveDate| {
                        if !(1..=9999).contains(&d.year()) {
                            return None;
                        }
                        d.and_time(time)
                            .checked_add_signed(off)
                            .map(|l| self.zone.from_local(l))
                    };
                    let target = match self.profile.traits.get(trait_name) {
                        Some(Value::Timestamp(ts)) => ts.checked_add_signed(off),
                        Some(Value::Date(d)) => time_of(*d),
                        _ => None,
                    }
                    .map(Instant::from);
                    match target {
                        None => match missing {
                            Some(m) => cur = Some(m.as_str()),
                            None => {
                                self.finish(inst, NoticeKind::Exited, Some("missing_trait"), t);
                                break false;
                            }
                        },
                        Some(x) if x <= t => cur = next.as_deref(),
                        Some(x) => {
                            inst.armed = true;
                            inst.due = Some(x);
                            break true;
                        }
                    }
                }
                NodeKind::WaitEvent { timeout, .. } => {
                    inst.armed = true;
                    inst.due = Some(add_secs(t, timeout.seconds())?);
                    break true;
                }
                NodeKind::SplitRule {
                    rule,
                    on_true,
                    on_false,
                } => {
                    cur = if self.rule(cj, rule, t)? {
                        on_true.as_deref()
                    } else {
                        on_false.as_deref()
                    };
                }
                NodeKind::SplitMulti { branches, default } => {
                    let mut target = default.as_deref();
                    for b in branches {
                        if self.rule(cj, &b.rule, t)? {
                            target = b.next.as_deref();
                            break;
                        }
                    }
                    cur = target;
                }
                NodeKind::SplitRandom { branches } => {
                    let jid = inst.journey.clone();
                    let stored = self
                        .state
                        .record(&jid)
                        .and_then(|r| r.assignments.iter().find(|(n, _)| n == id))
                        .and_then(|(_, b)| branches.iter().position(|x| x.name == *b));
                    let choice = match stored {
                        Some(c) => c,
                        None => {
                            let seed = format!("{}:{}", inst.journey, id);
                            let n = hashing::hash(&seed, &self.profile.id, 2).unwrap_or(0.0);
                            let weights: Vec<f64> = branches.iter().map(|b| b.weight).collect();
                            let c = hashing::choose_weighted(n, &weights).unwrap_or(0);
                            let name = branches[c].name.clone();
                            let rec = self.record_mut(&jid);
                            rec.assignments.retain(|(n, _)| n != id);
                            rec.assignments.push((id.to_string(), name.clone()));
                            let k = inst.key.clone();
                            self.notice(
                                NoticeKind::Assigned,
                                &jid,
                                &k,
                                Some(id),
                                t,
                                None,
                                Some(name),
                            );
                            c
                        }
                    };
                    cur = branches[choice].next.as_deref();
                }
                NodeKind::Goal {} => {
                    self.finish(inst, NoticeKind::Converted, Some(id), t);
                    break false;
                }
                NodeKind::End {} => {
                    self.finish(inst, NoticeKind::Completed, None, t);
                    break false;
                }
            }
        };
        Ok(active)
    }

    /// Enters the user into journey `j` (latest version) at `t`, if its policy allows.
    fn enter(&mut self, j: usize, key: String, t: Instant) -> Result<()> {
        let cj: &'a CompiledJourney = &self.engine.journeys[j];
        let def = &cj.def;
        let active = |k: Option<&str>| {
            self.state
                .instances
                .iter()
                .any(|i| i.journey == def.id && k.is_none_or(|k| i.key == k))
        };
        let rec = self.state.record(&def.id).cloned().unwrap_or_default();
        let refuse = if def.max_entries.is_some_and(|m| rec.entries >= m) {
            Some("max_entries")
        } else {
            match &def.reentry {
                Reentry::Once if rec.entries >= 1 => Some("once"),
                Reentry::Once => None,
                Reentry::Cooldown { .. } if active(None) => Some("active"),
                Reentry::Cooldown { cooldown } => rec
                    .last_entry
                    .filter(|l| {
                        l.to_chrono()
                            .checked_add_signed(cooldown.to_chrono())
                            .is_none_or(|e| Instant::from(e) > t)
                    })
                    .map(|_| "cooldown"),
                Reentry::Concurrent { .. } if active(Some(&key)) => Some("active"),
                Reentry::Concurrent { .. } => None,
            }
        };
        if let Some(r) = refuse {
            self.notice(
                NoticeKind::EntrySkipped,
                &def.id,
                &key,
                None,
                t,
                Some(r),
                None,
            );
            return Ok(());
        }
        let rec = self.record_mut(&def.id);
        rec.entries += 1;
        rec.last_entry = Some(t);
        let seq = rec.entries;
        let inst = Instance {
            journey: def.id.as_str().into(),
            version: def.version,
            key: key.into(),
            seq,
            entered_at: t,
            node: CompactString::default(),
            since: t,
            due: None,
            armed: false,
            steps: 0,
            pending: None,
        };
        self.notice(NoticeKind::Entered, &def.id, &inst.key, None, t, None, None);
        self.advance(cj, inst, Resume::Goto(def.start_id()), t, None)
    }

    /// Applies the input at `t` (after due items up to `t` ran).
    fn apply(&mut self, input: &Input, t: Instant) -> Result<()> {
        let event = match input {
            Input::Event(e) => Some(e),
            _ => None,
        };
        // 1. Goals and exit criteria of every active instance.
        let mut i = 0;
        while i < self.state.instances.len() {
            let cj = self.cj(&self.state.instances[i])?;
            if cj.def.goals.is_empty() && cj.def.exit.is_empty() {
                i += 1;
                continue;
            }
            if let Some((kind, reason)) =
                self.criterion_hit(cj, &self.state.instances[i], t, event)?
            {
                let inst = self.state.instances.remove(i);
                self.finish(&inst, kind, Some(&reason), t);
            } else {
                i += 1;
            }
        }
        // 2. Waits for events, outcomes.
        match input {
            Input::Event(e) => {
                let mut order: Vec<usize> = (0..self.state.instances.len()).collect();
                order.sort_by_key(|&i| {
                    let inst = &self.state.instances[i];
                    (self.rank(inst), inst.key.clone(), inst.seq)
                });
                let mut targets = Vec::new();
                for i in order {
                    let inst = &self.state.instances[i];
                    let cj = self.cj(inst)?;
                    if let Some(ni) = cj.def.node_index(&inst.node) {
                        if let NodeKind::WaitEvent {
                            event, on_event, ..
                        } = &cj.def.nodes[ni].kind
                        {
                            let filter = cj.filters.nodes.get(ni).and_then(Option::as_ref);
                            if inst.armed
                                && *event == e.name
                                && Instant::from(e.timestamp) >= inst.since
                                && self.passes(filter, e, t)?
                            {
                                targets.push((
                                    inst.journey.clone(),
                                    inst.key.clone(),
                                    inst.seq,
                                    on_event.as_deref(),
                                ));
                            }
                        }
                    }
                }
                for (j, k, s, next) in targets {
                    if let Some(pos) = self
                        .state
                        .instances
                        .iter()
                        .position(|x| x.journey == j && x.key == k && x.seq == s)
                    {
                        let inst = self.state.instances.remove(pos);
                        let cj = self.cj(&inst)?;
                        self.advance(cj, inst, Resume::Goto(next), t, Some(pos))?;
                    }
                }
            }
            Input::Outcome { effect, delivered } => {
                if !delivered {
                    self.state.sends.retain(|s| s.effect != *effect);
                }
                if let Some(pos) = self
                    .state
                    .instances
                    .iter()
                    .position(|x| x.pending.as_deref() == Some(effect.as_str()))
                {
                    let mut inst = self.state.instances.remove(pos);
                    inst.pending = None;
                    let cj = self.cj(&inst)?;
                    let next = match cj.def.node(&inst.node).map(|n| &n.kind) {
                        Some(NodeKind::Call {
                            next, on_failure, ..
                        }) => {
                            if *delivered {
                                next.as_deref()
                            } else {
                                on_failure.as_deref()
                            }
                        }
                        _ => None,
                    };
                    self.advance(cj, inst, Resume::Goto(next), t, Some(pos))?;
                }
            }
            _ => {}
        }
        // 3. Entries, in priority order.
        for idx in 0..self.engine.latest.len() {
            let j = self.engine.latest[idx];
            let def = &self.engine.journeys[j].def;
            let filter = self.engine.journeys[j].filters.trigger.as_deref();
            let hit = match (&def.trigger, input) {
                (Trigger::Event { event, .. }, Input::Event(e)) if *event == e.name => {
                    self.passes(filter, e, t)?
                }
                _ => false,
            };
            match (&def.trigger, input) {
                (Trigger::Event { .. }, Input::Event(e)) if hit => {
                    let key = match &def.reentry {
                        Reentry::Concurrent { key: Some(p) } => match e.properties.get(p) {
                            Some(Value::String(s)) => Some(s.clone()),
                            Some(v) => Some(v.to_string()),
                            None => None,
                        },
                        _ => Some(String::new()),
                    };
                    match key {
                        Some(k) => self.enter(j, k, t)?,
                        None => {
                            let id = def.id.clone();
                            self.notice(
                                NoticeKind::EntrySkipped,
                                &id,
                                "",
                                None,
                                t,
                                Some("missing_key"),
                                None,
                            );
                        }
                    }
                }
                (Trigger::Segment { rule }, _) => {
                    let member = self.rule(&self.engine.journeys[j], rule, t)?;
                    let id = def.id.clone();
                    let was = self.state.record(&id).is_some_and(|r| r.in_segment);
                    if member != was {
                        self.record_mut(&id).in_segment = member;
                    }
                    if member && !was {
                        self.enter(j, String::new(), t)?;
                    }
                }
                _ => {}
            }
            if let Input::Enter { journey, key } = input {
                if *journey == self.engine.journeys[j].def.id {
                    self.enter(j, key.clone().unwrap_or_default(), t)?;
                }
            }
        }
        if let Input::Enter { journey, .. } = input {
            if self.engine.find(journey, None).is_none() {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("unknown journey `{journey}`"),
                )
                .with_path("input.journey"));
            }
        }
        Ok(())
    }

    fn next_wake(&self) -> Option<Instant> {
        let inst = self.state.instances.iter().filter_map(|i| i.due).min();
        let date = if self.engine.dated.is_empty() {
            None
        } else {
            let far = self.now.checked_add_secs(800 * 86_400).unwrap_or(self.now);
            self.engine
                .dated
                .iter()
                .filter_map(|&j| self.date_target(j, self.now.max(self.date_cursor(j)), far))
                .min()
        };
        match (inst, date) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::JourneyDefinition;
    use crate::value::parse_timestamp;

    #[test]
    fn extreme_instants_are_errors_or_ignored_never_panics() {
        let def = JourneyDefinition::from_json(
            r#"{"id":"j","trigger":{"type":"date","trait":"d","annual":true},
                "nodes":[{"id":"w","type":"wait_until_date","trait":"d","next":"x"},{"id":"x","type":"wait","duration":"5000w"}]}"#,
        )
        .unwrap();
        let schema = Schema::from_json(r#"{"traits":{"d":"date"}}"#).unwrap();
        let e = JourneyEngine::new(schema.clone(), vec![def], Policies::default()).unwrap();
        let log = EventLog::default();
        let p = Profile::new("u1");
        let r = e.step(
            &UserState::new(),
            &p,
            &log,
            &Input::Tick,
            DateTime::<Utc>::MAX_UTC,
        );
        assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidTime);
        let p = Profile::from_json_value(
            &serde_json::json!({"id": "u1", "traits": {"d": "+200000-01-01"}}),
            &schema,
        );
        if let Ok(p) = p {
            let t = parse_timestamp("9999-12-31T00:00:00Z").unwrap();
            let enter = Input::Enter {
                journey: "j".into(),
                key: None,
            };
            let r = e.step(&UserState::new(), &p, &log, &enter, t).unwrap();
            // The far date is ignored (treated as missing): the instance exits.
            assert!(r
                .notices
                .iter()
                .any(|n| n.reason.as_deref() == Some("missing_trait")));
        }
        // A deadline 5000 weeks after year 9999 is still inside chrono's range.
        let t = parse_timestamp("9999-12-31T00:00:00Z").unwrap();
        let p = Profile::from_json_value(
            &serde_json::json!({"id": "u1", "traits": {"d": "2000-01-01"}}),
            &schema,
        )
        .unwrap();
        let enter = Input::Enter {
            journey: "j".into(),
            key: None,
        };
        assert!(e.step(&UserState::new(), &p, &log, &enter, t).is_ok());
    }

    #[test]
    fn user_journeys_keep_state_only_on_success() {
        let def = JourneyDefinition::from_json(
            r#"{"id":"j","trigger":{"type":"explicit"},"nodes":[{"id":"w","type":"wait","duration":"1h"}]}"#,
        )
        .unwrap();
        let e = JourneyEngine::new(Schema::default(), vec![def], Policies::default()).unwrap();
        let p = Profile::new("u1");
        let log = EventLog::default();
        let t = parse_timestamp("2026-03-02T10:00:00Z").unwrap();
        let mut u = e.user(UserState::new());
        let enter = Input::Enter {
            journey: "j".into(),
            key: None,
        };
        let r = u.handle(&p, &log, &enter, t).unwrap();
        assert_eq!(r.next_wake, Some(t + chrono::Duration::hours(1)));
        assert_eq!(u.state().instances.len(), 1);
        let bad = Input::Enter {
            journey: "nope".into(),
            key: None,
        };
        assert_eq!(
            u.handle(&p, &log, &bad, t).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(u.state().instances.len(), 1);
        assert_eq!(u.into_state().last_now, Some(t.into()));
    }

    /// An effect's id, built on demand, is the text the engine records in
    /// the cap ledger and writes as JSON `"id"` (first key), with and
    /// without a key, short (inline) and long.
    #[test]
    fn effect_ids_agree_everywhere() {
        for (journey, key) in [
            ("j", ""),
            ("j", "o1"),
            ("a_rather_long_journey_id", "order-12345"),
        ] {
            let def = JourneyDefinition::from_json(&format!(
                r#"{{"id":"{journey}","trigger":{{"type":"explicit"}},"reentry":{{"mode":"concurrent"}},
                "nodes":[{{"id":"t","type":"tags","add":["x"],"next":"m"}},
                {{"id":"m","type":"message","channel":"sms","template":"hi","purpose":"service"}}]}}"#
            ))
            .unwrap();
            let e = JourneyEngine::new(Schema::default(), vec![def], Policies::default()).unwrap();
            let p = Profile::from_json_value(
                &serde_json::json!({"id": "u1", "consents": [
                    {"channel": "sms", "purpose": "service", "status": "granted", "at": "2026-01-01T00:00:00Z"}]}),
                &Schema::default(),
            )
            .unwrap();
            let enter = Input::Enter {
                journey: journey.into(),
                key: Some(key.into()),
            };
            let t = parse_timestamp("2026-03-02T10:00:00Z").unwrap();
            let r = e
                .step(&UserState::new(), &p, &EventLog::default(), &enter, t)
                .unwrap();
            assert_eq!(r.effects.len(), 2);
            for (f, node, step) in [(&r.effects[0], "t", 1), (&r.effects[1], "m", 2)] {
                let want = if key.is_empty() {
                    format!("{journey}#1/{node}/{step}")
                } else {
                    format!("{journey}#1#{key}/{node}/{step}")
                };
                assert_eq!(f.id(), want);
                let mut s = String::new();
                f.write_id(&mut s).unwrap();
                assert_eq!(s, want);
                let json = serde_json::to_string(f).unwrap();
                assert!(json.starts_with(&format!("{{\"id\":\"{want}\",")), "{json}");
            }
            assert_eq!(r.state.sends[0].effect, r.effects[1].id());
        }
    }

    /// Visits are recorded only on request; everything else is the same.
    #[test]
    fn visits_only_when_asked() {
        let def = JourneyDefinition::from_json(
            r#"{"id":"j","trigger":{"type":"explicit"},"nodes":[{"id":"t","type":"tags","add":["x"],"next":"w"},{"id":"w","type":"wait","duration":"1h"}]}"#,
        )
        .unwrap();
        let e = JourneyEngine::new(Schema::default(), vec![def], Policies::default()).unwrap();
        let (p, log) = (Profile::new("u1"), EventLog::default());
        let t = parse_timestamp("2026-03-02T10:00:00Z").unwrap();
        let enter = Input::Enter {
            journey: "j".into(),
            key: None,
        };
        let s = UserState::new();
        let mut with = e.step_with_visits(&s, &p, &log, &enter, t).unwrap();
        let without = e.step(&s, &p, &log, &enter, t).unwrap();
        assert_eq!(with.visits.len(), 2);
        assert_eq!(e.visit_names(&with.visits[1]), Some(("j", "w")));
        assert!(without.visits.is_empty());
        with.visits.clear();
        assert_eq!(with, without);
    }

    #[test]
    fn u32_digits_and_concat_write_ids() {
        for n in [0u32, 7, 10, 1234, u32::MAX] {
            let mut b = [0u8; 10];
            assert_eq!(concat(&["x", u32_digits(n, &mut b)]), format!("x{n}"));
        }
        // Inline up to 24 bytes, on the heap beyond.
        let short = concat(&["abcdefghij", "/", "klmnopqrstuvw"]);
        assert_eq!(
            (short.as_str(), short.is_heap_allocated()),
            ("abcdefghij/klmnopqrstuvw", false)
        );
        let long = concat(&["abcdefghij", "/", "klmnopqrstuvwx", "中"]);
        assert_eq!(long, "abcdefghij/klmnopqrstuvwx中");
        assert!(long.is_heap_allocated());
    }
}
