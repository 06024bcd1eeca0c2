//! Lifecycle stages: a validated JSON model of ordered stages with entry rules,
//! evaluated per profile at `now` into a stage, the explanation of the rule that
//! decided it and a transition record; stage histories replayed day by day.
//!
//! ## Deciding the stage (normative; docs/lifecycle.md has examples)
//!
//! 1. Every stage with a `rule` is a rule `stage__<name>` of one compiled rule
//!    set. The *candidates* are the stages whose rule matches at `now`, ordered
//!    by `precedence` (higher first; ties by declaration order).
//! 2. A candidate `C` is *eligible* given the previous stage `P`:
//!    - `C == P` is always eligible;
//!    - without a previous stage, `C` is eligible unless it has `enter_from`;
//!    - otherwise `C` must be listed in `transitions[P]` (when `P` has an entry)
//!      and `P` must be in `C.enter_from` (when `C` has one).
//! 3. The *target* is the first eligible candidate; if there is none, the
//!    `default_stage` when it is eligible by the same test, else `P`.
//! 4. If the target differs from `P` but `now < since + P.min_dwell`, the
//!    profile stays in `P` (`held: "min_dwell"`).
//! 5. A change of stage yields a transition `{from, to, at: now, rule}`.
//!
//! The reason is the explanation of the deciding rule: the target's rule, or
//! `P`'s rule when the profile stays; none for a stage without a rule.

mod columnar;
pub mod request;

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{EventLog, Profile};
use crate::rules::ast::{Duration, Rule, RuleSet, Span};
use crate::rules::{parser, CompiledRuleSet, EvalInput, Explanation};
use crate::schema::{is_identifier, Schema};
use crate::value::ts_serde;
use crate::zone::Zone;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format version of [`StageState`].
pub const FORMAT_VERSION: u32 = 1;

/// Prefix of the compiled rule of each stage (`stage__repeat`).
pub const RULE_PREFIX: &str = "stage__";

/// Longest replay, in days.
pub const MAX_REPLAY_DAYS: i64 = 3_660;

const DEFAULT_MODEL: &str = include_str!("lifecycle/default_model.json");
const DEFAULT_SCHEMA: &str = include_str!("lifecycle/default_schema.json");

/// The schema of the sample event names the default models use (friend_added,
/// group_joined, message_sent/opened/replied, page_viewed, consulted,
/// coupon_claimed, purchase{amount, category, items, order_id}, referral,
/// check_in) and tag groups `lifecycle`, `rfm_segment`, `interest`, `family`,
/// `activity`.
pub fn default_schema() -> Schema {
    Schema::from_json(DEFAULT_SCHEMA).unwrap_or_default()
}

/// The default schema as JSON text.
pub fn default_schema_json() -> &'static str {
    DEFAULT_SCHEMA
}

/// One stage of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    /// Name (an identifier).
    pub name: String,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Entry rule (DSL expression); a stage without one is reachable only as the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Higher wins when several rules match.
    #[serde(default)]
    pub precedence: i32,
    /// Minimum time in this stage before leaving it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_dwell: Option<Duration>,
    /// Only enterable from these stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enter_from: Option<Vec<String>>,
}

/// A lifecycle model (JSON data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleModel {
    /// Stages, in declaration order.
    pub stages: Vec<StageDef>,
    /// Stage when no rule matches.
    pub default_stage: String,
    /// Allowed next stages per stage (a stage without an entry may go anywhere).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transitions: BTreeMap<String, Vec<String>>,
}

/// The stage a profile is in (persisted between evaluations; versioned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageState {
    /// Format version.
    pub version: u32,
    /// Stage name.
    pub stage: String,
    /// When the profile entered it.
    #[serde(with = "ts_serde")]
    pub since: DateTime<Utc>,
}

impl StageState {
    /// A state of the current format.
    pub fn new(stage: impl Into<String>, since: DateTime<Utc>) -> StageState {
        StageState {
            version: FORMAT_VERSION,
            stage: stage.into(),
            since,
        }
    }
}

/// A stage change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Previous stage.
    pub from: String,
    /// New stage.
    pub to: String,
    /// When (the evaluation instant).
    #[serde(with = "ts_serde")]
    pub at: DateTime<Utc>,
    /// The rule that decided (`stage__<to>`), none for the default stage.
    pub rule: Option<String>,
}

/// Why a profile stayed although another stage was the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The previous stage's minimum dwell has not passed.
    MinDwell,
    /// No matching stage may be entered from the previous one.
    TransitionNotAllowed,
}

/// The result of evaluating a profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageOutcome {
    /// The stage and since when.
    pub state: StageState,
    /// Stages whose rules match, in precedence order.
    pub matched: Vec<String>,
    /// The deciding rule.
    pub rule: Option<String>,
    /// Its explanation (only from [`CompiledLifecycle::evaluate`]).
    pub reason: Option<Explanation>,
    /// Why the profile stayed, if it did against a different target.
    pub held: Option<Hold>,
    /// The change, if any.
    pub transition: Option<Transition>,
}

/// The stage on one day of a replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayStage {
    /// The local date.
    pub date: NaiveDate,
    /// Stage at the end of that day.
    pub stage: String,
    /// The change that happened at the end of that day, if any.
    pub transition: Option<Transition>,
}

fn model_err(path: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidModel, msg).with_path(path)
}

impl LifecycleModel {
    /// The default model (prospect, new, activated, first_purchase, repeat, loyal,
    /// at_risk, dormant, churned, won_back); see docs/lifecycle.md.
    pub fn default_model() -> LifecycleModel {
        serde_json::from_str(DEFAULT_MODEL).unwrap_or(LifecycleModel {
            stages: Vec::new(),
            default_stage: String::new(),
            transitions: BTreeMap::new(),
        })
    }

    /// The default model as JSON text.
    pub fn default_model_json() -> &'static str {
        DEFAULT_MODEL
    }

    /// Parses a model (structure only; [`LifecycleModel::compile`] validates).
    pub fn from_json(text: &str) -> Result<LifecycleModel> {
        serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidModel,
                format!("invalid lifecycle model: {e}"),
            )
        })
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name == name)
    }

    fn check_stage(&self, path: String, name: &str) -> Result<()> {
        if self.index(name).is_some() {
            return Ok(());
        }
        let e = model_err(path, format!("unknown stage `{name}`"));
        Err(
            match crate::error::suggest(name, self.stages.iter().map(|s| s.name.as_str())) {
                Some(s) => e.with_suggestion(s),
                None => e,
            },
        )
    }

    /// Validates the model and compiles every entry rule into one rule set.
    pub fn compile(&self, schema: &Schema) -> Result<CompiledLifecycle> {
        if self.stages.is_empty() {
            return Err(model_err("stages", "a model needs at least one stage"));
        }
        for (i, s) in self.stages.iter().enumerate() {
            let p = format!("stages[{i}]");
            if !is_identifier(&s.name) {
                return Err(model_err(
                    format!("{p}.name"),
                    format!("stage name `{}` is not an identifier", s.name),
                ));
            }
            if self.stages[..i].iter().any(|o| o.name == s.name) {
                return Err(Error::new(
                    ErrorKind::DuplicateName,
                    format!("stage `{}` is defined twice", s.name),
                )
                .with_path(format!("{p}.name")));
            }
            if let Some(from) = &s.enter_from {
                for (j, f) in from.iter().enumerate() {
                    self.check_stage(format!("{p}.enter_from[{j}]"), f)?;
                }
            }
        }
        self.check_stage("default_stage".into(), &self.default_stage)?;
        for (from, tos) in &self.transitions {
            self.check_stage(format!("transitions.{from}"), from)?;
            for (j, t) in tos.iter().enumerate() {
                self.check_stage(format!("transitions.{from}[{j}]"), t)?;
            }
        }
        let mut rules = Vec::new();
        for (i, s) in self.stages.iter().enumerate() {
            if let Some(text) = &s.rule {
                let expr = parser::parse_expr(text)
                    .map_err(|e| e.prefix_path(&format!("stages[{i}].rule")))?;
                rules.push(Rule {
                    name: format!("{RULE_PREFIX}{}", s.name),
                    description: s.description.clone(),
                    expr,
                    span: Span::default(),
                });
            }
        }
        let set = RuleSet { rules };
        let compiled = CompiledRuleSet::compile(&set, schema).map_err(|e| {
            // The compiler names the rule (`rules.stage__x`); point at the stage instead.
            let stage = e.path().and_then(|p| {
                self.stages
                    .iter()
                    .position(|s| p == format!("rules.{RULE_PREFIX}{}", s.name))
            });
            match stage {
                Some(i) => e.with_path(format!("stages[{i}].rule")),
                None => e,
            }
        })?;
        // Map compiled rule order → stage index, then order by precedence.
        let rule_stage: Vec<usize> = compiled
            .rule_names()
            .iter()
            .map(|n| self.index(n.trim_start_matches(RULE_PREFIX)).unwrap_or(0))
            .collect();
        let mut order: Vec<usize> = (0..rule_stage.len()).collect();
        order.sort_by_key(|&r| {
            (
                std::cmp::Reverse(self.stages[rule_stage[r]].precedence),
                rule_stage[r],
            )
        });
        Ok(CompiledLifecycle {
            model: self.clone(),
            rules: compiled,
            rule_stage,
            order,
        })
    }
}

/// A validated, compiled lifecycle model. Immutable; evaluate many profiles.
#[derive(Debug)]
pub struct CompiledLifecycle {
    model: LifecycleModel,
    rules: CompiledRuleSet,
    rule_stage: Vec<usize>,
    order: Vec<usize>,
}

impl CompiledLifecycle {
    /// The model.
    pub fn model(&self) -> &LifecycleModel {
        &self.model
    }

    /// The compiled stage rules (`stage__<name>`).
    pub fn rules(&self) -> &CompiledRuleSet {
        &self.rules
    }

    fn eligible(&self, cand: usize, prev: Option<usize>) -> bool {
        let c = &self.model.stages[cand];
        let Some(p) = prev else {
            return c.enter_from.is_none();
        };
        if cand == p {
            return true;
        }
        let pname = &self.model.stages[p].name;
        let allowed = self
            .model
            .transitions
            .get(pname)
            .is_none_or(|to| to.contains(&c.name));
        allowed && c.enter_from.as_ref().is_none_or(|f| f.contains(pname))
    }

    /// Evaluates without building an explanation (the fast path).
    pub fn classify(
        &self,
        input: &EvalInput<'_>,
        previous: Option<&StageState>,
    ) -> Result<StageOutcome> {
        let prev = self.previous_index(previous)?;
        let hits = self.rules.evaluate(input)?;
        Ok(self.decide(&hits, prev, previous, input.now))
    }

    /// The stage index of a previous state (checked version and stage name).
    fn previous_index(&self, previous: Option<&StageState>) -> Result<Option<usize>> {
        Ok(match previous {
            None => None,
            Some(s) => {
                if s.version != FORMAT_VERSION {
                    return Err(Error::new(
                        ErrorKind::InvalidState,
                        format!("unsupported stage state version {}", s.version),
                    )
                    .with_path("version"));
                }
                Some(self.model.index(&s.stage).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidState,
                        format!("unknown stage `{}`", s.stage),
                    )
                    .with_path("stage")
                })?)
            }
        })
    }

    /// Steps 2–5 of the module docs from the stage rules' results `hits` (in
    /// compiled rule order); shared by the row and the columnar path.
    fn decide(
        &self,
        hits: &[bool],
        prev: Option<usize>,
        previous: Option<&StageState>,
        now: DateTime<Utc>,
    ) -> StageOutcome {
        let matched: Vec<usize> = self
            .order
            .iter()
            .filter(|&&r| hits.get(r).copied().unwrap_or(false))
            .map(|&r| self.rule_stage[r])
            .collect();
        let default = self.model.index(&self.model.default_stage).unwrap_or(0);
        let target = matched
            .iter()
            .copied()
            .find(|&c| self.eligible(c, prev))
            .or_else(|| self.eligible(default, prev).then_some(default));
        let names = |v: &[usize]| {
            v.iter()
                .map(|&i| self.model.stages[i].name.clone())
                .collect()
        };
        let rule_of = |i: usize| {
            self.model.stages[i]
                .rule
                .as_ref()
                .map(|_| format!("{RULE_PREFIX}{}", self.model.stages[i].name))
        };
        let (stage, held) = match (prev, target) {
            (None, t) => (t.unwrap_or(default), None),
            (Some(p), None) => (p, Some(Hold::TransitionNotAllowed)),
            (Some(p), Some(t)) if t == p => (p, None),
            (Some(p), Some(t)) => {
                let since = previous.map(|s| s.since).unwrap_or(now);
                let dwell = self.model.stages[p].min_dwell;
                // An end beyond the representable range never arrives.
                if dwell.is_some_and(|d| {
                    since
                        .checked_add_signed(d.to_chrono())
                        .is_none_or(|end| now < end)
                }) {
                    (p, Some(Hold::MinDwell))
                } else {
                    (t, None)
                }
            }
        };
        // A stage decided by default (no rule of it matched) reports no rule.
        let decided_by_rule = matched.contains(&stage);
        let rule = if decided_by_rule || held.is_some() {
            rule_of(stage)
        } else {
            None
        };
        let (state, transition) = match (prev, previous) {
            (Some(p), Some(s)) if p == stage => (s.clone(), None),
            (Some(p), _) => (
                StageState::new(self.model.stages[stage].name.clone(), now),
                Some(Transition {
                    from: self.model.stages[p].name.clone(),
                    to: self.model.stages[stage].name.clone(),
                    at: now,
                    rule: if decided_by_rule {
                        rule_of(stage)
                    } else {
                        None
                    },
                }),
            ),
            _ => (
                StageState::new(self.model.stages[stage].name.clone(), now),
                None,
            ),
        };
        StageOutcome {
            state,
            matched: names(&matched),
            rule,
            reason: None,
            held,
            transition,
        }
    }

    /// Evaluates and explains the deciding rule.
    pub fn evaluate(
        &self,
        input: &EvalInput<'_>,
        previous: Option<&StageState>,
    ) -> Result<StageOutcome> {
        let mut out = self.classify(input, previous)?;
        if let Some(rule) = &out.rule {
            out.reason = Some(self.rules.explain(input, rule)?);
        }
        Ok(out)
    }

    /// Replays the stage on each local day `from..=to` (in the profile's zone,
    /// else `default_zone`): the stage of day `D` is evaluated at the start of
    /// `D + 1` with the events strictly before that instant, carrying the state
    /// (and so dwell and transition rules) from day to day, starting from `initial`.
    pub fn replay(
        &self,
        profile: &Profile,
        events: &EventLog,
        from: NaiveDate,
        to: NaiveDate,
        default_zone: Zone,
        initial: Option<&StageState>,
    ) -> Result<Vec<DayStage>> {
        let days = (to - from).num_days();
        if !(0..MAX_REPLAY_DAYS).contains(&days) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("replay needs from <= to and at most {MAX_REPLAY_DAYS} days"),
            ));
        }
        let zone = profile.time_zone.unwrap_or(default_zone);
        let all = events.events();
        let mut state = initial.cloned();
        let mut out = Vec::with_capacity(days as usize + 1);
        for date in from.iter_days().take(days as usize + 1) {
            let next = date.succ_opt().ok_or_else(|| {
                Error::new(ErrorKind::InvalidArgument, "replay date out of range")
            })?;
            let at = zone.start_of_day(next);
            let k = all.partition_point(|e| e.timestamp < at);
            let owned;
            let log = if k == all.len() {
                events
            } else {
                owned = EventLog::new(all[..k].to_vec());
                &owned
            };
            let input = EvalInput::new(profile, log, at).with_default_zone(default_zone);
            let o = self.classify(&input, state.as_ref())?;
            out.push(DayStage {
                date,
                stage: o.state.stage.clone(),
                transition: o.transition,
            });
            state = Some(o.state);
        }
        Ok(out)
    }
}

/// Writes the stage as the rule tag `stage:<name>` of the exclusive `group`
/// (e.g. `lifecycle`), so other rules can read it with `has_tag("stage:loyal")`;
/// see [`crate::tagging::set_exclusive_tag`] for how the group is kept exclusive.
pub fn write_stage_tag(profile: &mut Profile, state: &StageState, group: &str, now: DateTime<Utc>) {
    crate::tagging::set_exclusive_tag(profile, &format!("stage:{}", state.stage), group, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_model_and_schema_parse() {
        let m = LifecycleModel::default_model();
        assert_eq!(m.stages.len(), 10);
        assert_eq!(m.default_stage, "prospect");
        assert!(default_schema().events.contains_key("purchase"));
        let again = LifecycleModel::from_json(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn unknown_fields_and_bad_references_are_rejected() {
        let e = LifecycleModel::from_json(r#"{"stages":[],"default_stage":"a","colour":1}"#)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModel);
        let m = LifecycleModel::from_json(
            r#"{"stages":[{"name":"new"},{"name":"old"}],"default_stage":"nwe"}"#,
        )
        .unwrap();
        let e = m.compile(&default_schema()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModel);
        assert_eq!(e.path(), Some("default_stage"));
        assert_eq!(e.suggestion(), Some("new"));
    }

    fn purchase(id: &str, at: &str) -> crate::profile::Event {
        crate::profile::Event {
            id: id.into(),
            name: "purchase".into(),
            timestamp: crate::value::parse_timestamp(at).unwrap(),
            properties: Default::default(),
        }
    }

    #[test]
    fn evaluation_explains_and_replay_carries_state() {
        let schema = default_schema();
        let m = LifecycleModel::default_model().compile(&schema).unwrap();
        let p = Profile::new("u");
        let log = EventLog::new(vec![purchase("a", "2026-03-02T10:00:00Z")]);
        let now = crate::value::parse_timestamp("2026-03-03T00:00:00Z").unwrap();
        let o = m.evaluate(&EvalInput::new(&p, &log, now), None).unwrap();
        assert_eq!(o.state.stage, "first_purchase");
        let reason = o.reason.unwrap();
        assert_eq!(reason.rule, "stage__first_purchase");
        assert!(reason.matched);
        let from = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
        let days = m.replay(&p, &log, from, to, Zone::utc(), None).unwrap();
        let stages: Vec<&str> = days.iter().map(|d| d.stage.as_str()).collect();
        assert_eq!(stages, ["prospect", "first_purchase", "first_purchase"]);
        assert_eq!(days[1].transition.as_ref().unwrap().from, "prospect");
        assert!(m.replay(&p, &log, to, from, Zone::utc(), None).is_err());
    }

    #[test]
    fn the_stage_tag_replaces_the_previous_one() {
        let now = crate::value::parse_timestamp("2026-03-03T00:00:00Z").unwrap();
        let mut p = Profile::new("u");
        write_stage_tag(&mut p, &StageState::new("new", now), "lifecycle", now);
        write_stage_tag(&mut p, &StageState::new("repeat", now), "lifecycle", now);
        let names: Vec<&str> = p.tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["stage:repeat"]);
        assert_eq!(p.tags[0].group.as_deref(), Some("lifecycle"));
    }
}
