//! Journey definitions: the JSON document an operator writes (schema:
//! `conformance/schema/journey.schema.json`; prose: `docs/journeys.md`).

use crate::error::{Error, ErrorKind, Result};
use crate::profile::Event;
use crate::rules::ast::Duration;
use crate::value::{parse_date, parse_timestamp, Value};
use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A journey definition (one version of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyDefinition {
    /// Stable id, `[A-Za-z0-9_-]+`; part of random-split seeds and effect ids.
    pub id: String,
    /// Version (≥ 1); instances stay pinned to the version they entered.
    #[serde(default = "one")]
    pub version: u32,
    /// Human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Higher runs first when several journeys act at the same instant (and so
    /// gets frequency-cap room first). Ties: journey id order.
    #[serde(default)]
    pub priority: i32,
    /// How users enter.
    pub trigger: Trigger,
    /// Re-entry policy (default: once).
    #[serde(default)]
    pub reentry: Reentry,
    /// The most entries one user may ever make (none: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_entries: Option<u32>,
    /// Id of the first node (default: the first in `nodes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Conversion goals, checked on every input: reaching one records a
    /// conversion and ends the instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<Criterion>,
    /// Exit criteria, checked on every input: meeting one ends the instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exit: Vec<Criterion>,
    /// The nodes, in any order.
    pub nodes: Vec<Node>,
}

fn one() -> u32 {
    1
}

/// How users enter a journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// An event (with a property filter) enters the user at the event's time.
    Event {
        /// Event name.
        event: String,
        /// Property filter (legacy form; read as its `where` equivalent).
        #[serde(default, skip_serializing_if = "Filter::is_empty")]
        filter: Filter,
        /// Rule-language condition on the event (the text after `where` in
        /// `count(event where ...)`): bare names are its properties,
        /// `trait.NAME` the profile's traits. Replaces `filter` (give one).
        #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
        r#where: Option<String>,
    },
    /// The user enters when the rule becomes true (checked on every input).
    Segment {
        /// Rule DSL expression.
        rule: String,
    },
    /// A date or timestamp trait ± offset ("birthday", "3 days after purchase").
    Date {
        /// The trait (date or timestamp).
        #[serde(rename = "trait")]
        trait_name: String,
        /// Signed offset, e.g. `"-1d"`, `"3d"`.
        #[serde(default)]
        offset: Offset,
        /// Local time of day for date traits (default `00:00`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<String>,
        /// Repeat every year on the date's month and day (birthdays).
        #[serde(default)]
        annual: bool,
    },
    /// Only an explicit `enter` input enters the user.
    Explicit,
}

/// Re-entry policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reentry {
    /// At most one entry, ever.
    #[default]
    Once,
    /// Again once the previous entry is at least `cooldown` old and no instance is active.
    Cooldown {
        /// Minimum time between entries.
        cooldown: Duration,
    },
    /// One active instance per key: the event property `key` (event triggers) or
    /// the key given with an explicit `enter`.
    Concurrent {
        /// Event property holding the key (event triggers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
}

/// A goal or exit criterion: an event (with filter) or a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Name reported when it fires (default: `goal[i]` / `exit[i]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Event name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Event property filter (legacy form; read as its `where` equivalent).
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub filter: Filter,
    /// Rule-language condition on the event (the text after `where` in
    /// `count(event where ...)`): bare names are its properties,
    /// `trait.NAME` the profile's traits. Replaces `filter` (give one).
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub r#where: Option<String>,
    /// Rule DSL expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// What happens when a node is reached later than it was due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LatePolicy {
    /// Carry the node out late (default).
    #[default]
    Fire,
    /// Skip the node (an action is not carried out; the flow moves on).
    Skip,
    /// End the instance.
    Exit,
}

/// Late handling of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Late {
    /// The policy.
    #[serde(default)]
    pub policy: LatePolicy,
    /// Lateness tolerated before the policy applies (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<Duration>,
}

/// A node of the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Id, unique in the journey.
    pub id: String,
    /// Late policy (applies when the node is reached after its due time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late: Option<Late>,
    /// What the node does.
    #[serde(flatten)]
    pub kind: NodeKind,
}

/// The node types. JSON: `"type"` names the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeKind {
    /// Send a message (subject to consent, quiet hours and frequency caps).
    Message {
        /// Channel (`wechat`, `sms`, `app_push` …).
        channel: String,
        /// Template id.
        template: String,
        /// Purpose (`marketing`, `service` …); required.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        purpose: Option<String>,
        /// Next node (none: the journey completes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Add and/or remove tags.
    Tags {
        /// Tags to add.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        add: Vec<String>,
        /// Tags to remove.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        remove: Vec<String>,
        /// Next node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Set traits (values as plain JSON).
    SetTraits {
        /// Trait values.
        traits: BTreeMap<String, serde_json::Value>,
        /// Next node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Create a task for staff (human hand-off).
    Task {
        /// Who should act (a queue or role, e.g. `store_staff`, `manager`).
        assignee: String,
        /// Task template or title.
        template: String,
        /// Next node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Ask the host to do something (an effect with an idempotency key).
    Call {
        /// Host action name.
        action: String,
        /// Parameters passed through.
        #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
        params: serde_json::Value,
        /// Next node (on success, or at once when `on_failure` is absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
        /// When set, the instance waits for the effect's outcome: `failed` (or no
        /// outcome within `timeout`) goes here.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_failure: Option<String>,
        /// How long to wait for an outcome (default 24h).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<Duration>,
    },
    /// Wait a fixed duration.
    Wait {
        /// How long.
        duration: Duration,
        /// Next node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Wait until a local time of day on an allowed weekday, in the user's zone.
    WaitUntilTime {
        /// `HH:MM` local time.
        time: String,
        /// Allowed weekdays (`mon` … `sun`; default all).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        weekdays: Vec<String>,
        /// Zone used when the profile has none (default: the engine's default zone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback_zone: Option<String>,
        /// Next node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Wait until a date or timestamp trait ± offset.
    WaitUntilDate {
        /// The trait.
        #[serde(rename = "trait")]
        trait_name: String,
        /// Signed offset.
        #[serde(default)]
        offset: Offset,
        /// Local time of day for date traits (default `00:00`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<String>,
        /// Next node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
        /// Where to go when the trait is missing (default: exit).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        missing: Option<String>,
    },
    /// Wait for an event (with filter) until a timeout; branches on which came first.
    WaitEvent {
        /// Event name.
        event: String,
        /// Property filter (legacy form; read as its `where` equivalent).
        #[serde(default, skip_serializing_if = "Filter::is_empty")]
        filter: Filter,
        /// Rule-language condition on the event (the text after `where` in
        /// `count(event where ...)`): bare names are its properties,
        /// `trait.NAME` the profile's traits. Replaces `filter` (give one).
        #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
        r#where: Option<String>,
        /// How long to wait.
        timeout: Duration,
        /// Next node when the event arrives.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_event: Option<String>,
        /// Next node on timeout.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_timeout: Option<String>,
    },
    /// Branch on a rule.
    SplitRule {
        /// Rule DSL expression.
        rule: String,
        /// Next node when true.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_true: Option<String>,
        /// Next node when false (or unknown).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_false: Option<String>,
    },
    /// Multi-way branch: the first branch whose rule holds, else `default`.
    SplitMulti {
        /// Branches in order.
        branches: Vec<RuleBranch>,
        /// Next node when none holds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
    },
    /// Random (A/B) split by weights using GrowthBook hashing v2 with seed
    /// `"<journey id>:<node id>"` and the profile id; the choice is remembered.
    SplitRandom {
        /// Branches.
        branches: Vec<WeightedBranch>,
    },
    /// A conversion: records it and ends the instance.
    Goal {},
    /// Ends the instance.
    End {},
}

/// A branch of a multi-way split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBranch {
    /// Rule DSL expression.
    pub rule: String,
    /// Next node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A branch of a random split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedBranch {
    /// Branch name (stored as the assignment; keep it stable across edits).
    pub name: String,
    /// Relative weight (≥ 0).
    pub weight: f64,
    /// Next node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A signed duration such as `-1d`, `+3d`, `90m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offset {
    /// Seconds (may be negative).
    pub seconds: i64,
    /// The text as written.
    text: Option<Duration>,
    negative: bool,
}

impl Offset {
    /// Parses `[+-]<n><s|m|h|d|w>`.
    pub fn parse(s: &str) -> Option<Offset> {
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let d = Duration::parse(rest)?;
        Some(Offset {
            seconds: if negative { -d.seconds() } else { d.seconds() },
            text: Some(d),
            negative,
        })
    }
}

impl Serialize for Offset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.text {
            Some(d) if self.negative => s.collect_str(&format_args!("-{d}")),
            Some(d) => s.collect_str(&d),
            None => s.serialize_str("0s"),
        }
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Offset, D::Error> {
        let s = String::deserialize(d)?;
        Offset::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid offset {s:?} (expected e.g. \"-1d\", \"3d\", \"+12h\")"
            ))
        })
    }
}

/// The legacy event property filter document (definitions written before
/// `where`): every listed property must match. A value is either a plain JSON
/// value (equality) or an object of operators
/// `{"eq"|"ne"|"gt"|"gte"|"lt"|"lte": v, "in": [..]}` (all must hold). A missing
/// property never matches. The engine does not evaluate this form: it reads it
/// as the equivalent rule-language condition ([`super::filter`]);
/// [`Filter::matches`] stays as the reference semantics of the old form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Filter(pub BTreeMap<String, serde_json::Value>);

impl Filter {
    /// Whether the filter has no conditions.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks the shape of every condition.
    pub fn check(&self) -> std::result::Result<(), String> {
        for (prop, cond) in &self.0 {
            if let serde_json::Value::Object(ops) = cond {
                if ops.is_empty() {
                    return Err(format!("filter on `{prop}` has no operator"));
                }
                for (op, v) in ops {
                    match op.as_str() {
                        "eq" | "ne" | "gt" | "gte" | "lt" | "lte" => {}
                        "in" if v.is_array() => {}
                        "in" => return Err(format!("filter `{prop}.in` must be an array")),
                        other => {
                            return Err(format!(
                                "unknown filter operator `{other}` on `{prop}` (expected eq, ne, gt, gte, lt, lte, in)"
                            ))
                        }
                    }
                }
            } else if cond.is_null() {
                return Err(format!("filter on `{prop}` is null"));
            }
        }
        Ok(())
    }

    /// Whether `event` satisfies the filter.
    pub fn matches(&self, event: &Event) -> bool {
        self.0.iter().all(|(prop, cond)| {
            let Some(actual) = event.properties.get(prop) else {
                return false;
            };
            match cond {
                serde_json::Value::Object(ops) => ops.iter().all(|(op, v)| {
                    if op == "in" {
                        return v
                            .as_array()
                            .is_some_and(|a| a.iter().any(|x| cmp(actual, x) == Some(Ord::Equal)));
                    }
                    let c = cmp(actual, v);
                    match op.as_str() {
                        "eq" => c == Some(Ord::Equal),
                        "ne" => c.is_some_and(|c| c != Ord::Equal),
                        "gt" => c == Some(Ord::Greater),
                        "gte" => matches!(c, Some(Ord::Greater | Ord::Equal)),
                        "lt" => c == Some(Ord::Less),
                        "lte" => matches!(c, Some(Ord::Less | Ord::Equal)),
                        _ => false,
                    }
                }),
                other => cmp(actual, other) == Some(Ord::Equal),
            }
        })
    }
}

type Ord = std::cmp::Ordering;

/// Compares a typed property with a plain JSON constant (strings are read as
/// timestamps or dates when the property has that type).
fn cmp(actual: &Value, expected: &serde_json::Value) -> Option<Ord> {
    let exp = match (actual, expected) {
        (Value::Timestamp(_), serde_json::Value::String(s)) => {
            Value::Timestamp(parse_timestamp(s).ok()?)
        }
        (Value::Date(_), serde_json::Value::String(s)) => Value::Date(parse_date(s).ok()?),
        (Value::StringList(l), serde_json::Value::String(s)) => {
            // A list property "equals" a string when it contains it.
            return Some(if l.iter().any(|x| x == s) {
                Ord::Equal
            } else {
                Ord::Less
            });
        }
        (_, e) => Value::infer_json(e)?,
    };
    actual.compare(&exp)
}

/// Parses `HH:MM` (or `HH:MM:SS`). Hand-written: it runs on every send-time
/// and quiet-hours check, where chrono's format parser is comparatively slow.
pub fn parse_time_of_day(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    let two = |i: usize| -> Option<u32> {
        let (h, l) = (*b.get(i)?, *b.get(i + 1)?);
        (h.is_ascii_digit() && l.is_ascii_digit())
            .then(|| u32::from(h - b'0') * 10 + u32::from(l - b'0'))
    };
    let (h, m, sec) = match b.len() {
        5 if b[2] == b':' => (two(0)?, two(3)?, 0),
        8 if b[2] == b':' && b[5] == b':' => (two(0)?, two(3)?, two(6)?),
        _ => return None,
    };
    NaiveTime::from_hms_opt(h, m, sec)
}

/// Parses a weekday abbreviation (`mon` … `sun`, case-insensitive).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    const DAYS: [(&str, Weekday); 7] = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];
    DAYS.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, d)| *d)
}

impl NodeKind {
    /// The type name used in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Message { .. } => "message",
            NodeKind::Tags { .. } => "tags",
            NodeKind::SetTraits { .. } => "set_traits",
            NodeKind::Task { .. } => "task",
            NodeKind::Call { .. } => "call",
            NodeKind::Wait { .. } => "wait",
            NodeKind::WaitUntilTime { .. } => "wait_until_time",
            NodeKind::WaitUntilDate { .. } => "wait_until_date",
            NodeKind::WaitEvent { .. } => "wait_event",
            NodeKind::SplitRule { .. } => "split_rule",
            NodeKind::SplitMulti { .. } => "split_multi",
            NodeKind::SplitRandom { .. } => "split_random",
            NodeKind::Goal {} => "goal",
            NodeKind::End {} => "end",
        }
    }

    /// Whether the node waits (blocks the flow until time passes or an input arrives).
    pub fn is_wait(&self) -> bool {
        matches!(
            self,
            NodeKind::Wait { .. }
                | NodeKind::WaitUntilTime { .. }
                | NodeKind::WaitUntilDate { .. }
                | NodeKind::WaitEvent { .. }
        ) || matches!(
            self,
            NodeKind::Call {
                on_failure: Some(_),
                ..
            }
        )
    }

    /// The outgoing edges as `(label, target)`, in a fixed order.
    pub fn edges(&self) -> Vec<(String, Option<&str>)> {
        fn n(o: &Option<String>) -> Option<&str> {
            o.as_deref()
        }
        match self {
            NodeKind::Message { next, .. }
            | NodeKind::Tags { next, .. }
            | NodeKind::SetTraits { next, .. }
            | NodeKind::Task { next, .. }
            | NodeKind::Wait { next, .. }
            | NodeKind::WaitUntilTime { next, .. } => vec![("next".into(), n(next))],
            NodeKind::Call {
                next, on_failure, ..
            } => {
                let mut v = vec![("next".into(), n(next))];
                if on_failure.is_some() {
                    v.push(("on_failure".into(), n(on_failure)));
                }
                v
            }
            NodeKind::WaitUntilDate { next, missing, .. } => {
                let mut v = vec![("next".into(), n(next))];
                if missing.is_some() {
                    v.push(("missing".into(), n(missing)));
                }
                v
            }
            NodeKind::WaitEvent {
                on_event,
                on_timeout,
                ..
            } => vec![
                ("on_event".into(), n(on_event)),
                ("on_timeout".into(), n(on_timeout)),
            ],
            NodeKind::SplitRule {
                on_true, on_false, ..
            } => vec![
                ("on_true".into(), n(on_true)),
                ("on_false".into(), n(on_false)),
            ],
            NodeKind::SplitMulti { branches, default } => {
                let mut v: Vec<_> = branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (format!("branches[{i}].next"), n(&b.next)))
                    .collect();
                v.push(("default".into(), n(default)));
                v
            }
            NodeKind::SplitRandom { branches } => branches
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("branches[{i}].next"), n(&b.next)))
                .collect(),
            NodeKind::Goal {} | NodeKind::End {} => vec![],
        }
    }
}

impl JourneyDefinition {
    /// Parses a definition from JSON text and validates it (see [`super::validate`]).
    pub fn from_json(text: &str) -> Result<JourneyDefinition> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidModel,
                format!("invalid_json: journey is not valid JSON: {e}"),
            )
        })?;
        JourneyDefinition::from_json_value(&v)
    }

    /// Parses a definition from a JSON value and validates its structure.
    /// Node errors carry the path `nodes[i]`.
    pub fn from_json_value(v: &serde_json::Value) -> Result<JourneyDefinition> {
        let bad = |path: &str, msg: String| {
            Error::new(ErrorKind::InvalidModel, format!("invalid_field: {msg}")).with_path(path)
        };
        let obj = v
            .as_object()
            .ok_or_else(|| bad("", "a journey is a JSON object".into()))?;
        // Nodes first, one by one, so errors point at the node.
        if let Some(nodes) = obj.get("nodes").and_then(|n| n.as_array()) {
            for (i, n) in nodes.iter().enumerate() {
                serde_json::from_value::<Node>(n.clone())
                    .map_err(|e| bad(&format!("nodes[{i}]"), e.to_string()))?;
            }
        }
        for key in ["trigger", "reentry"] {
            if let Some(t) = obj.get(key) {
                let r = if key == "trigger" {
                    serde_json::from_value::<Trigger>(t.clone()).map(|_| ())
                } else {
                    serde_json::from_value::<Reentry>(t.clone()).map(|_| ())
                };
                r.map_err(|e| bad(key, e.to_string()))?;
            }
        }
        let def: JourneyDefinition =
            serde_json::from_value(v.clone()).map_err(|e| bad("", e.to_string()))?;
        super::validate::check_structure(&def)?;
        Ok(def)
    }

    /// Writes the JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The node with `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Index of the node with `id`.
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// The start node's id.
    pub fn start_id(&self) -> Option<&str> {
        self.start
            .as_deref()
            .or_else(|| self.nodes.first().map(|n| n.id.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nodes_parse_with_type_tag() {
        let n: Node =
            serde_json::from_value(json!({"id":"w","type":"wait","duration":"7d","next":"x"}))
                .unwrap();
        assert_eq!(n.kind.type_name(), "wait");
        let e = serde_json::from_value::<Node>(
            json!({"id":"w","type":"wait","duration":"7d","nxt":"x"}),
        );
        assert!(e.is_err());
        let back = serde_json::to_value(&n).unwrap();
        assert_eq!(
            back,
            json!({"id":"w","type":"wait","duration":"7d","next":"x"})
        );
    }

    #[test]
    fn times_and_weekdays_parse() {
        assert_eq!(
            parse_time_of_day("09:30"),
            NaiveTime::from_hms_opt(9, 30, 0)
        );
        assert_eq!(
            parse_time_of_day("23:59:59"),
            NaiveTime::from_hms_opt(23, 59, 59)
        );
        for bad in ["24:00", "9:30", "09:60", "0930", "09:30:", "ab:cd", ""] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
        assert_eq!(parse_weekday("Fri"), Some(Weekday::Fri));
        assert_eq!(parse_weekday("friday"), None);
    }

    #[test]
    fn offsets_parse_signed() {
        assert_eq!(Offset::parse("-1d").unwrap().seconds, -86_400);
        assert_eq!(Offset::parse("+2h").unwrap().seconds, 7_200);
        assert!(Offset::parse("1x").is_none());
        assert_eq!(
            serde_json::to_value(Offset::parse("-1d").unwrap()).unwrap(),
            json!("-1d")
        );
    }
}
