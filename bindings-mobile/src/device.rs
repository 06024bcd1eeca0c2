//! The device API: definitions, the user's profile and events, offline evaluation.

use crate::error::{guard, SiyuError};
use chrono::{DateTime, Utc};
use siyu_core::rules::{EvalInput, ExplainNode};
use siyu_core::value::parse_timestamp;
use siyu_core::{
    CompiledRuleSet, Error, ErrorKind, Event, EventLog, Profile, RuleSet, Schema, Zone,
};
use std::sync::{Arc, Mutex, MutexGuard};

/// One rule's verdict.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SegmentResult {
    /// The rule (segment) name.
    pub name: String,
    /// Whether the profile is a member.
    pub member: bool,
}

/// One clause of an explanation, flattened in pre-order (`depth` 0 is the root).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ExplainLine {
    /// Nesting depth (0 = the rule's root clause).
    pub depth: u32,
    /// The clause as DSL text.
    pub clause: String,
    /// `"true"`, `"false"` or `"unknown"`.
    pub truth: String,
    /// What was observed, e.g. `count = 2, needed >= 3`.
    pub observed: Option<String>,
}

/// Why a rule matched or not.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Explanation {
    /// The rule's name.
    pub rule: String,
    /// Whether the profile is a member.
    pub matched: bool,
    /// The clause tree, flattened in pre-order.
    pub lines: Vec<ExplainLine>,
    /// The core's JSON form of the explanation (`{"rule","matched","root"}`).
    pub json: String,
}

fn flatten(node: &ExplainNode, depth: u32, out: &mut Vec<ExplainLine>) {
    let truth = serde_json::to_value(node.truth)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    out.push(ExplainLine {
        depth,
        clause: node.clause.clone(),
        truth,
        observed: node.observed.clone(),
    });
    for c in &node.children {
        flatten(c, depth + 1, out);
    }
}

fn to_explanation(e: &siyu_core::rules::Explanation) -> siyu_core::Result<Explanation> {
    let mut lines = Vec::new();
    flatten(&e.root, 0, &mut lines);
    let json =
        serde_json::to_string(e).map_err(|x| Error::new(ErrorKind::Internal, x.to_string()))?;
    Ok(Explanation {
        rule: e.rule.clone(),
        matched: e.matched,
        lines,
        json,
    })
}

fn parse_json(text: &str, kind: ErrorKind, what: &str) -> siyu_core::Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::new(kind, format!("{what} is not valid JSON: {e}")))
}

fn write_json(v: &serde_json::Value) -> siyu_core::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

/// Rules arrive as DSL text or as the JSON form; JSON starts with `{` (DSL never does).
fn read_rules(rules: &str) -> siyu_core::Result<RuleSet> {
    if rules.trim_start().starts_with('{') {
        RuleSet::from_json(rules)
    } else {
        RuleSet::parse(rules)
    }
}

fn read_now_zone(now: &str, zone: Option<&str>) -> siyu_core::Result<(DateTime<Utc>, Zone)> {
    let now = parse_timestamp(now).map_err(|e| e.prefix_path("now"))?;
    let zone = match zone {
        Some(z) => Zone::parse(z).map_err(|e| e.prefix_path("default_zone"))?,
        None => Zone::utc(),
    };
    Ok((now, zone))
}

/// The crate version (shared by every siyu binding).
#[uniffi::export]
pub fn version() -> String {
    siyu_core::VERSION.to_string()
}

/// Validates a schema document and returns its normalised JSON.
#[uniffi::export]
pub fn validate_schema(schema_json: String) -> Result<String, SiyuError> {
    guard(|| Ok(Schema::from_json(&schema_json)?.to_json()))
}

/// Validates a profile against a schema and returns its normalised JSON.
#[uniffi::export]
pub fn validate_profile(schema_json: String, profile_json: String) -> Result<String, SiyuError> {
    guard(|| {
        let schema = Schema::from_json(&schema_json)?;
        let v = parse_json(&profile_json, ErrorKind::InvalidProfile, "profile")?;
        write_json(&Profile::from_json_value(&v, &schema)?.to_json())
    })
}

/// Validates events (a JSON array) and returns them sorted and de-duplicated as JSON.
#[uniffi::export]
pub fn validate_events(schema_json: String, events_json: String) -> Result<String, SiyuError> {
    guard(|| {
        let schema = Schema::from_json(&schema_json)?;
        let v = parse_json(&events_json, ErrorKind::InvalidEvent, "events")?;
        write_json(&EventLog::from_json_value(&v, &schema)?.to_json())
    })
}

/// Validates a zone name (IANA, or a fixed offset like `+08:00`) and returns its canonical name.
#[uniffi::export]
pub fn parse_zone(name: String) -> Result<String, SiyuError> {
    guard(|| Zone::parse(&name).map(|z| z.name()))
}

/// Parses rules (DSL text or the JSON form) and returns the JSON form with AST objects.
#[uniffi::export]
pub fn rules_to_json(rules: String) -> Result<String, SiyuError> {
    guard(|| Ok(read_rules(&rules)?.to_json()))
}

/// Parses rules (DSL text or the JSON form) and returns the canonical DSL text.
#[uniffi::export]
pub fn rules_to_text(rules: String) -> Result<String, SiyuError> {
    guard(|| Ok(read_rules(&rules)?.to_text()))
}

/// What a device holds for its user.
#[derive(Default)]
struct State {
    profile: Option<Profile>,
    events: EventLog,
}

/// A device-side engine: compiled definitions plus the user's profile and
/// recent events. Thread-safe; every failed call leaves the state unchanged.
#[derive(uniffi::Object)]
pub struct Device {
    schema: Schema,
    compiled: CompiledRuleSet,
    state: Mutex<State>,
}

impl Device {
    fn state(&self) -> MutexGuard<'_, State> {
        // State is only replaced after full validation, so a poisoned lock still holds a valid state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with_input<T>(
        &self,
        now: &str,
        zone: Option<&str>,
        f: impl FnOnce(&EvalInput<'_>) -> siyu_core::Result<T>,
    ) -> siyu_core::Result<T> {
        let (now, zone) = read_now_zone(now, zone)?;
        let state = self.state();
        let profile = state.profile.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "no profile set: call setProfile first",
            )
        })?;
        let input = EvalInput::new(profile, &state.events, now).with_default_zone(zone);
        f(&input)
    }

    /// The held profile and a copy of the events, for the journey runner.
    pub(crate) fn snapshot(&self) -> siyu_core::Result<(Profile, Vec<Event>)> {
        let state = self.state();
        let profile = state.profile.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "no profile set: call setProfile first",
            )
        })?;
        Ok((profile, state.events.events().to_vec()))
    }

    /// Adds one already validated event (journey event inputs).
    pub(crate) fn push_event(&self, event: Event) {
        let mut state = self.state();
        let mut all = std::mem::take(&mut state.events).into_events();
        all.push(event);
        state.events = EventLog::new(all);
    }

    fn parse_events(&self, events_json: &str) -> siyu_core::Result<Vec<Event>> {
        let v = parse_json(events_json, ErrorKind::InvalidEvent, "events")?;
        Ok(EventLog::from_json_value(&v, &self.schema)?.into_events())
    }
}

#[uniffi::export]
impl Device {
    /// Loads definitions: a schema document (JSON) and rules (DSL text or the JSON form).
    #[uniffi::constructor]
    pub fn new(schema_json: String, rules: String) -> Result<Arc<Device>, SiyuError> {
        guard(|| {
            let schema = Schema::from_json(&schema_json)?;
            // DSL text compiles from the text itself so compile errors carry line/column.
            let compiled = if rules.trim_start().starts_with('{') {
                CompiledRuleSet::compile(&RuleSet::from_json(&rules)?, &schema)?
            } else {
                CompiledRuleSet::compile_text(&rules, &schema)?
            };
            Ok(Arc::new(Device {
                schema,
                compiled,
                state: Mutex::new(State::default()),
            }))
        })
    }

    /// Rule (segment) names in declaration order.
    pub fn rule_names(&self) -> Vec<String> {
        self.compiled.rule_names().to_vec()
    }

    /// Sets (replaces) the user's profile after validating it against the schema.
    pub fn set_profile(&self, profile_json: String) -> Result<(), SiyuError> {
        guard(|| {
            let v = parse_json(&profile_json, ErrorKind::InvalidProfile, "profile")?;
            let profile = Profile::from_json_value(&v, &self.schema)?;
            self.state().profile = Some(profile);
            Ok(())
        })
    }

    /// The held profile as normalised JSON, if one is set.
    pub fn profile_json(&self) -> Option<String> {
        let state = self.state();
        state
            .profile
            .as_ref()
            .and_then(|p| serde_json::to_string(&p.to_json()).ok())
    }

    /// Adds events (a JSON array), all or nothing; events whose id is already held
    /// are ignored. Returns the number of events held.
    pub fn add_events(&self, events_json: String) -> Result<u32, SiyuError> {
        guard(|| {
            let new = self.parse_events(&events_json)?;
            let mut state = self.state();
            let mut all = std::mem::take(&mut state.events).into_events();
            all.extend(new);
            state.events = EventLog::new(all);
            Ok(u32::try_from(state.events.len()).unwrap_or(u32::MAX))
        })
    }

    /// Replaces all held events (a JSON array), all or nothing. Returns the number held.
    pub fn replace_events(&self, events_json: String) -> Result<u32, SiyuError> {
        guard(|| {
            let log = EventLog::new(self.parse_events(&events_json)?);
            let mut state = self.state();
            state.events = log;
            Ok(u32::try_from(state.events.len()).unwrap_or(u32::MAX))
        })
    }

    /// Drops events before `cutoff` (RFC 3339), e.g. beyond the longest rule window
    /// the server says it uses. Returns the number of events held.
    pub fn prune_events_before(&self, cutoff: String) -> Result<u32, SiyuError> {
        guard(|| {
            let cutoff = parse_timestamp(&cutoff).map_err(|e| e.prefix_path("cutoff"))?;
            let mut state = self.state();
            let kept: Vec<Event> = std::mem::take(&mut state.events)
                .into_events()
                .into_iter()
                .filter(|e| e.timestamp >= cutoff)
                .collect();
            state.events = EventLog::new(kept);
            Ok(u32::try_from(state.events.len()).unwrap_or(u32::MAX))
        })
    }

    /// The number of held events.
    pub fn event_count(&self) -> u32 {
        u32::try_from(self.state().events.len()).unwrap_or(u32::MAX)
    }

    /// The held events as JSON (sorted by time, de-duplicated by id).
    pub fn events_json(&self) -> String {
        serde_json::to_string(&self.state().events.to_json()).unwrap_or_else(|_| "[]".into())
    }

    /// Evaluates every rule at `now` (RFC 3339); `default_zone` applies when the
    /// profile has no zone (UTC when absent).
    pub fn evaluate(
        &self,
        now: String,
        default_zone: Option<String>,
    ) -> Result<Vec<SegmentResult>, SiyuError> {
        guard(|| {
            self.with_input(&now, default_zone.as_deref(), |input| {
                let verdicts = self.compiled.evaluate(input)?;
                Ok(self
                    .compiled
                    .rule_names()
                    .iter()
                    .zip(verdicts)
                    .map(|(name, member)| SegmentResult {
                        name: name.clone(),
                        member,
                    })
                    .collect())
            })
        })
    }

    /// Explains one rule's verdict at `now`.
    pub fn explain(
        &self,
        rule: String,
        now: String,
        default_zone: Option<String>,
    ) -> Result<Explanation, SiyuError> {
        guard(|| {
            self.with_input(&now, default_zone.as_deref(), |input| {
                to_explanation(&self.compiled.explain(input, &rule)?)
            })
        })
    }

    /// Explains every rule at `now` (one explanation per rule, in declaration order).
    pub fn explain_all(
        &self,
        now: String,
        default_zone: Option<String>,
    ) -> Result<Vec<Explanation>, SiyuError> {
        guard(|| {
            self.with_input(&now, default_zone.as_deref(), |input| {
                self.compiled
                    .rule_names()
                    .iter()
                    .map(|name| to_explanation(&self.compiled.explain(input, name)?))
                    .collect()
            })
        })
    }
}
