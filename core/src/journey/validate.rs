//! Validation of journey definitions.
//!
//! Every validation error is `INVALID_MODEL` (or the schema's `UNKNOWN_EVENT` /
//! `UNKNOWN_TRAIT` when a schema is given) with a `path` into the document and a
//! message that starts with a stable machine-readable **sub-code** followed by
//! `": "`. The sub-codes (documented in `docs/journeys.md`):
//!
//! | sub-code | meaning |
//! | --- | --- |
//! | `unknown_node` | `start` or an edge names a node that does not exist |
//! | `unreachable_node` | a node cannot be reached from the start |
//! | `cycle_without_wait` | a cycle passes through no wait node (an infinite loop) |
//! | `split_missing_branch` | a rule, multi-way or random split lacks a branch target |
//! | `message_without_purpose` | a message node has no purpose |
//! | `duplicate_node` | two nodes share an id |
//! | `invalid_field` | a field has the wrong shape or value (id, time, weekday, zone, filter, weights …) |
//! | `invalid_json` | the text is not JSON |

use super::definition::{
    parse_time_of_day, parse_weekday, Criterion, JourneyDefinition, NodeKind, Trigger,
};
use super::filter::{check_filter, JourneyFilters};
use crate::error::{Error, ErrorKind, Result};
use crate::schema::Schema;
use crate::zone::Zone;
use std::collections::{BTreeMap, BTreeSet};

fn err(sub: &str, path: impl Into<String>, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidModel, format!("{sub}: {msg}")).with_path(path)
}

/// The machine-readable sub-code of a journey validation error (the message
/// prefix before `": "`), if it has one.
pub fn sub_code(e: &Error) -> Option<&str> {
    let (head, _) = e.message().split_once(": ")?;
    head.bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_')
        .then_some(head)
}

/// Checks the graph and every field that needs no schema. Called by
/// [`JourneyDefinition::from_json`].
pub fn check_structure(def: &JourneyDefinition) -> Result<()> {
    if def.id.is_empty()
        || !def
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(err(
            "invalid_field",
            "id",
            format!("journey id {:?} must match [A-Za-z0-9_-]+", def.id),
        ));
    }
    if def.version == 0 {
        return Err(err("invalid_field", "version", "version must be ≥ 1"));
    }
    if def.nodes.is_empty() {
        return Err(err(
            "invalid_field",
            "nodes",
            "a journey needs at least one node",
        ));
    }
    let mut index = BTreeMap::new();
    for (i, n) in def.nodes.iter().enumerate() {
        if n.id.is_empty() || n.id.contains(|c: char| c.is_whitespace() || c == ':') {
            return Err(err(
                "invalid_field",
                format!("nodes[{i}].id"),
                format!("node id {:?} must be non-empty without spaces or ':'", n.id),
            ));
        }
        if index.insert(n.id.as_str(), i).is_some() {
            return Err(err(
                "duplicate_node",
                format!("nodes[{i}].id"),
                format!("node id `{}` is used twice", n.id),
            ));
        }
    }
    if let Some(s) = &def.start {
        if !index.contains_key(s.as_str()) {
            return Err(err(
                "unknown_node",
                "start",
                format!("start node `{s}` does not exist"),
            ))
            .map_err(|e| with_suggestion(e, s, &index));
        }
    }
    for (i, n) in def.nodes.iter().enumerate() {
        for (label, target) in n.kind.edges() {
            if let Some(t) = target {
                if !index.contains_key(t) {
                    return Err(with_suggestion(
                        err(
                            "unknown_node",
                            format!("nodes[{i}].{label}"),
                            format!("node `{}` refers to unknown node `{t}`", n.id),
                        ),
                        t,
                        &index,
                    ));
                }
            }
        }
    }
    for (i, n) in def.nodes.iter().enumerate() {
        if let NodeKind::Message { purpose, .. } = &n.kind {
            if purpose.as_deref().is_none_or(str::is_empty) {
                return Err(err(
                    "message_without_purpose",
                    format!("nodes[{i}].purpose"),
                    format!(
                        "message node `{}` needs a purpose (e.g. \"marketing\", \"service\")",
                        n.id
                    ),
                ));
            }
        }
    }
    for (i, n) in def.nodes.iter().enumerate() {
        let missing = |label: &str| {
            err(
                "split_missing_branch",
                format!("nodes[{i}].{label}"),
                format!("split `{}` has no target for `{label}`", n.id),
            )
        };
        match &n.kind {
            NodeKind::SplitRule {
                on_true, on_false, ..
            } => {
                if on_true.is_none() {
                    return Err(missing("on_true"));
                }
                if on_false.is_none() {
                    return Err(missing("on_false"));
                }
            }
            NodeKind::SplitMulti { branches, default } => {
                if branches.is_empty() {
                    return Err(missing("branches"));
                }
                for (j, b) in branches.iter().enumerate() {
                    if b.next.is_none() {
                        return Err(missing(&format!("branches[{j}].next")));
                    }
                }
                if default.is_none() {
                    return Err(missing("default"));
                }
            }
            NodeKind::SplitRandom { branches } => {
                if branches.is_empty() {
                    return Err(missing("branches"));
                }
                for (j, b) in branches.iter().enumerate() {
                    if b.next.is_none() {
                        return Err(missing(&format!("branches[{j}].next")));
                    }
                }
            }
            _ => {}
        }
    }
    check_fields(def)?;
    check_reachable(def, &index)?;
    check_cycles(def, &index)?;
    Ok(())
}

fn with_suggestion(e: Error, name: &str, index: &BTreeMap<&str, usize>) -> Error {
    match crate::error::suggest(name, index.keys().copied()) {
        Some(s) => e.with_suggestion(s),
        None => e,
    }
}

fn check_time(path: String, t: &str) -> Result<()> {
    parse_time_of_day(t).map(|_| ()).ok_or_else(|| {
        err(
            "invalid_field",
            path,
            format!("invalid time of day {t:?} (expected HH:MM)"),
        )
    })
}

fn check_criteria(list: &[Criterion], what: &str) -> Result<()> {
    for (i, c) in list.iter().enumerate() {
        let path = format!("{what}[{i}]");
        if c.event.is_some() == c.rule.is_some() {
            return Err(err(
                "invalid_field",
                path,
                "a criterion needs exactly one of \"event\" or \"rule\"",
            ));
        }
        if c.rule.is_some() && (!c.filter.is_empty() || c.r#where.is_some()) {
            let field = if c.r#where.is_some() {
                "where"
            } else {
                "filter"
            };
            return Err(err(
                "invalid_field",
                format!("{path}.{field}"),
                "a filter applies only to an event criterion",
            ));
        }
        check_filter(&path, &c.filter, c.r#where.as_deref())?;
    }
    Ok(())
}

/// The longest duration or offset a definition may use (100 years of 365.25
/// days): keeps every deadline inside chrono's range.
pub const MAX_DURATION_SECS: i64 = 3_155_760_000;

fn check_span(path: String, secs: i64) -> Result<()> {
    if secs.abs() > MAX_DURATION_SECS {
        return Err(err(
            "invalid_field",
            path,
            "durations and offsets are limited to 100 years",
        ));
    }
    Ok(())
}

fn check_spans(def: &JourneyDefinition) -> Result<()> {
    use super::definition::Reentry;
    if let Trigger::Date { offset, .. } = &def.trigger {
        check_span("trigger.offset".into(), offset.seconds)?;
    }
    if let Reentry::Cooldown { cooldown } = &def.reentry {
        check_span("reentry.cooldown".into(), cooldown.seconds())?;
    }
    for (i, n) in def.nodes.iter().enumerate() {
        let p = |f: &str| format!("nodes[{i}].{f}");
        if let Some(g) = n.late.and_then(|l| l.grace) {
            check_span(p("late.grace"), g.seconds())?;
        }
        match &n.kind {
            NodeKind::Wait { duration, .. } => check_span(p("duration"), duration.seconds())?,
            NodeKind::WaitEvent { timeout, .. } => check_span(p("timeout"), timeout.seconds())?,
            NodeKind::Call {
                timeout: Some(t), ..
            } => check_span(p("timeout"), t.seconds())?,
            NodeKind::WaitUntilDate { offset, .. } => check_span(p("offset"), offset.seconds)?,
            _ => {}
        }
    }
    Ok(())
}

fn check_fields(def: &JourneyDefinition) -> Result<()> {
    check_spans(def)?;
    match &def.trigger {
        Trigger::Event {
            filter, r#where, ..
        } => check_filter("trigger", filter, r#where.as_deref())?,
        Trigger::Date { time: Some(t), .. } => check_time("trigger.time".into(), t)?,
        _ => {}
    }
    if def.max_entries == Some(0) {
        return Err(err(
            "invalid_field",
            "max_entries",
            "max_entries must be ≥ 1",
        ));
    }
    check_criteria(&def.goals, "goals")?;
    check_criteria(&def.exit, "exit")?;
    for (i, n) in def.nodes.iter().enumerate() {
        let p = |f: &str| format!("nodes[{i}].{f}");
        match &n.kind {
            NodeKind::WaitUntilTime {
                time,
                weekdays,
                fallback_zone,
                ..
            } => {
                check_time(p("time"), time)?;
                for (j, w) in weekdays.iter().enumerate() {
                    if parse_weekday(w).is_none() {
                        return Err(err(
                            "invalid_field",
                            p(&format!("weekdays[{j}]")),
                            format!("invalid weekday {w:?} (expected mon … sun)"),
                        ));
                    }
                }
                if let Some(z) = fallback_zone {
                    Zone::parse(z)
                        .map_err(|e| err("invalid_field", p("fallback_zone"), e.message()))?;
                }
            }
            NodeKind::WaitUntilDate { time: Some(t), .. } => check_time(p("time"), t)?,
            NodeKind::WaitEvent {
                filter, r#where, ..
            } => check_filter(&format!("nodes[{i}]"), filter, r#where.as_deref())?,
            NodeKind::SplitRandom { branches } => {
                let mut names = BTreeSet::new();
                for (j, b) in branches.iter().enumerate() {
                    if !b.weight.is_finite() || b.weight < 0.0 {
                        return Err(err(
                            "invalid_field",
                            p(&format!("branches[{j}].weight")),
                            "a weight must be a finite number ≥ 0",
                        ));
                    }
                    if !names.insert(b.name.as_str()) || b.name.is_empty() {
                        return Err(err(
                            "invalid_field",
                            p(&format!("branches[{j}].name")),
                            format!("branch name {:?} is empty or used twice", b.name),
                        ));
                    }
                }
                if branches.iter().all(|b| b.weight == 0.0) {
                    return Err(err(
                        "invalid_field",
                        p("branches"),
                        "at least one weight must be > 0",
                    ));
                }
            }
            NodeKind::Message {
                channel, template, ..
            } if channel.is_empty() || template.is_empty() => {
                return Err(err(
                    "invalid_field",
                    p("channel"),
                    "a message needs a channel and a template",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_reachable(def: &JourneyDefinition, index: &BTreeMap<&str, usize>) -> Result<()> {
    let start = def
        .start_id()
        .and_then(|s| index.get(s))
        .copied()
        .unwrap_or(0);
    let mut seen = vec![false; def.nodes.len()];
    let mut stack = vec![start];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        for (_, t) in def.nodes[i].kind.edges() {
            if let Some(j) = t.and_then(|t| index.get(t)) {
                stack.push(*j);
            }
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(err(
            "unreachable_node",
            format!("nodes[{i}]"),
            format!(
                "node `{}` cannot be reached from the start node",
                def.nodes[i].id
            ),
        ));
    }
    Ok(())
}

/// Rejects cycles made only of non-wait nodes: they would loop forever at one instant.
fn check_cycles(def: &JourneyDefinition, index: &BTreeMap<&str, usize>) -> Result<()> {
    // 0 = unvisited, 1 = on the stack, 2 = done. Edges leaving wait nodes are cut.
    let n = def.nodes.len();
    let mut mark = vec![0u8; n];
    for root in 0..n {
        if mark[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = 1;
        while let Some(&mut (i, ref mut e)) = stack.last_mut() {
            let node = &def.nodes[i];
            let edges = if node.kind.is_wait() {
                Vec::new()
            } else {
                node.kind.edges()
            };
            if *e < edges.len() {
                let target = edges[*e].1.and_then(|t| index.get(t)).copied();
                *e += 1;
                if let Some(j) = target {
                    match mark[j] {
                        0 => {
                            mark[j] = 1;
                            stack.push((j, 0));
                        }
                        1 => {
                            return Err(err(
                                "cycle_without_wait",
                                format!("nodes[{j}]"),
                                format!(
                                    "node `{}` is on a cycle with no wait node (an infinite loop)",
                                    def.nodes[j].id
                                ),
                            ))
                        }
                        _ => {}
                    }
                }
            } else {
                mark[i] = 2;
                stack.pop();
            }
        }
    }
    Ok(())
}

/// Checks event, property-filter and trait names against a schema, and
/// compiles the event filters (`UNKNOWN_PROPERTY` with a suggestion,
/// `TYPE_MISMATCH` …, with the path of the filter).
pub fn check_schema(def: &JourneyDefinition, schema: &Schema) -> Result<()> {
    check_schema_filters(def, schema).map(|_| ())
}

/// [`check_schema`], keeping the compiled filters.
pub(crate) fn check_schema_filters(
    def: &JourneyDefinition,
    schema: &Schema,
) -> Result<JourneyFilters> {
    check_schema_names(def, schema)?;
    JourneyFilters::compile(def, schema)
}

fn check_schema_names(def: &JourneyDefinition, schema: &Schema) -> Result<()> {
    let event = |name: &str, path: String| {
        schema
            .event_def(name)
            .map(|_| ())
            .map_err(|e| e.with_path(path))
    };
    match &def.trigger {
        Trigger::Event { event: e, .. } => event(e, "trigger.event".into())?,
        Trigger::Date { trait_name, .. } => {
            schema
                .trait_def(trait_name)
                .map_err(|e| e.with_path("trigger.trait"))?;
        }
        _ => {}
    }
    if let super::definition::Reentry::Concurrent { key: Some(k) } = &def.reentry {
        if let Trigger::Event { event: e, .. } = &def.trigger {
            schema
                .property_def(e, k)
                .map_err(|err| err.with_path("reentry.key"))?;
        }
    }
    for (what, list) in [("goals", &def.goals), ("exit", &def.exit)] {
        for (i, c) in list.iter().enumerate() {
            if let Some(e) = &c.event {
                event(e, format!("{what}[{i}].event"))?;
            }
        }
    }
    for (i, n) in def.nodes.iter().enumerate() {
        match &n.kind {
            NodeKind::WaitEvent { event: e, .. } => event(e, format!("nodes[{i}].event"))?,
            NodeKind::WaitUntilDate { trait_name, .. } => {
                schema
                    .trait_def(trait_name)
                    .map_err(|e| e.with_path(format!("nodes[{i}].trait")))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// What validation learns about a valid definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValidationReport {
    /// The most messages one instance can send within any 24-hour window along
    /// any path; `None` when a loop driven only by events (or a too complex graph)
    /// makes it unbounded — frequency caps still apply.
    pub max_messages_per_day: Option<u32>,
    /// Number of nodes.
    pub nodes: usize,
}

const DAY: i64 = 86_400;
const SEARCH_BUDGET: usize = 200_000;

/// Analyses a structurally valid definition.
pub fn analyze(def: &JourneyDefinition) -> ValidationReport {
    let index: BTreeMap<&str, usize> = def
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut search = Search {
        def,
        index: &index,
        budget: SEARCH_BUDGET,
        unbounded: false,
        path: Vec::new(),
        daily: BTreeMap::new(),
    };
    let mut best = 0;
    for i in 0..def.nodes.len() {
        best = best.max(search.dfs(i, 0));
        if search.unbounded {
            break;
        }
    }
    ValidationReport {
        max_messages_per_day: (!search.unbounded).then_some(best),
        nodes: def.nodes.len(),
    }
}

struct Search<'a> {
    def: &'a JourneyDefinition,
    index: &'a BTreeMap<&'a str, usize>,
    budget: usize,
    unbounded: bool,
    path: Vec<(usize, i64, usize)>,
    /// wait_until_time node → elapsed time of its first visit on the path.
    daily: BTreeMap<usize, i64>,
}

impl Search<'_> {
    /// The most messages from node `i` reached at `elapsed` seconds into the window.
    fn dfs(&mut self, i: usize, elapsed: i64) -> u32 {
        if elapsed >= DAY || self.unbounded {
            return 0;
        }
        // A revisit at the same elapsed time is a zero-duration loop, unless a
        // daily send time was passed since (the next pass is a day later).
        let key = (i, elapsed, self.daily.len());
        if self.budget == 0 || self.path.contains(&key) {
            self.unbounded = true;
            return 0;
        }
        self.budget -= 1;
        let node = &self.def.nodes[i].kind;
        let here = u32::from(matches!(node, NodeKind::Message { .. }));
        let mut first_daily = false;
        let mut elapsed_in = elapsed;
        if let NodeKind::WaitUntilTime { .. } = node {
            // The same time of day comes round again only a day later.
            match self.daily.get(&i) {
                Some(first) => elapsed_in = elapsed.max(first + DAY),
                None => {
                    self.daily.insert(i, elapsed);
                    first_daily = true;
                }
            }
            if elapsed_in >= DAY {
                return 0;
            }
        }
        self.path.push(key);
        let mut best = 0;
        for (label, target) in node.edges() {
            let Some(j) = target.and_then(|t| self.index.get(t)).copied() else {
                continue;
            };
            let min = match node {
                NodeKind::Wait { duration, .. } => duration.seconds(),
                NodeKind::WaitEvent { timeout, .. } if label == "on_timeout" => timeout.seconds(),
                _ => 0,
            };
            best = best.max(self.dfs(j, elapsed_in + min));
        }
        self.path.pop();
        if first_daily {
            self.daily.remove(&i);
        }
        here + best
    }
}
