//! Rule-driven (dynamic) tags: when a rule holds, a tag is added; it goes away
//! when the rule stops holding (`live`) or only when its TTL passes (`sticky`).
//! Tag names may take values from the matching events (`interest:{category}`).
//!
//! Applying a [`CompiledTagRules`] to a profile at `now` returns a [`TagDiff`]
//! (added, removed, expired — each with its rule and reason). The exact steps:
//!
//! 1. All `when` rules are evaluated on the profile as given (one compiled set).
//! 2. *Desired* tags: for each holding rule in declaration order, its tag — or for
//!    a template, one tag per distinct rendered name from the `values_from`
//!    events (up to `now`, within the window), most recent event first; events
//!    missing a placeholder property are skipped.
//! 3. *Expired*: every `rule`-sourced tag with `expires_at <= now` is removed.
//! 4. *Exclusive groups* (declared `exclusive` in the schema): if a live tag of
//!    another source (manual, import, staff) is in the group, no rule tag of the
//!    group is desired and rule tags of the group are removed; otherwise the
//!    first desired tag of the group wins and other rule tags of the group are
//!    removed (reason `exclusive_group`), sticky or not.
//! 5. *Stopped*: a rule-sourced tag owned by a `live` rule (the first rule whose
//!    tag or template matches its name) that is not desired is removed.
//! 6. *Added*: each desired tag not present (by name, any source) is added with
//!    source `rule`, `added_at = now`, `expires_at = now + ttl`. An existing tag is
//!    never refreshed. A tag that expired in step 3 and is desired again is
//!    reported both as expired and as added.
//!
//! Tags of source manual, import and staff are never removed. Applying twice at
//! the same `now` changes nothing the second time, as long as the rules do not
//! read tags the same rule set writes.

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{EventLog, Profile, Tag, TagSource};
use crate::rules::ast::{Duration, Rule, RuleSet, Span};
use crate::rules::{parser, CompiledRuleSet, EvalInput};
use crate::schema::Schema;
use crate::value::{ts_serde, Value};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Prefix of the compiled rule of each tag rule (`tag__3`).
pub const RULE_PREFIX: &str = "tag__";

mod columnar;

/// When a rule tag is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Present exactly while the rule holds (and the TTL has not passed).
    #[default]
    Live,
    /// Once added, kept until its TTL passes (forever without one).
    Sticky,
}

/// Where a templated tag takes its values from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValuesFrom {
    /// Event name.
    pub event: String,
    /// Rolling window `(now − within, now]`; default all events up to `now`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Duration>,
}

/// One tag rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRule {
    /// Rule id reported in diffs (default: the tag text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Tag name, or a template with `{property}` placeholders.
    pub tag: String,
    /// Tag group (declared in the schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Condition (DSL expression).
    pub when: String,
    /// Removal policy.
    #[serde(default)]
    pub policy: Policy,
    /// Time to live from when the tag is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Source events of a template's values (required with placeholders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_from: Option<ValuesFrom>,
}

/// A set of tag rules (JSON `{"rules": [...]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRuleSet {
    /// The rules, in priority order.
    pub rules: Vec<TagRule>,
}

/// Why a tag changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeReason {
    /// The rule holds (added).
    RuleHolds,
    /// The live rule no longer holds (removed).
    RuleStopped,
    /// Another tag won the exclusive group (removed).
    ExclusiveGroup,
    /// The TTL passed (expired).
    Ttl,
}

/// One tag change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagChange {
    /// Tag name.
    pub tag: String,
    /// Its group.
    pub group: Option<String>,
    /// The rule that caused the change (none for expiry of a tag no rule owns).
    pub rule: Option<String>,
    /// Why.
    pub reason: ChangeReason,
    /// For additions: when the tag expires.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The result of applying tag rules.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TagDiff {
    /// Tags added.
    pub added: Vec<TagChange>,
    /// Tags removed by rules (stopped holding, or lost an exclusive group).
    pub removed: Vec<TagChange>,
    /// Tags whose TTL passed.
    pub expired: Vec<TagChange>,
}

impl TagDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.expired.is_empty()
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Prop(String),
}

#[derive(Debug)]
struct Prepared {
    id: String,
    pieces: Vec<Piece>,
    pattern: regex::Regex,
    exclusive: bool,
}

/// Compiled tag rules.
#[derive(Debug)]
pub struct CompiledTagRules {
    set: TagRuleSet,
    prepared: Vec<Prepared>,
    rules: CompiledRuleSet,
}

fn model_err(path: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidModel, msg).with_path(path)
}

fn parse_template(t: &str, path: &str) -> Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(model_err(path, "unbalanced `}` in tag template"));
        }
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| model_err(path, "unclosed `{` in tag template"))?;
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let name = &rest[open + 1..close];
        if !crate::schema::is_identifier(name) {
            return Err(model_err(
                path,
                format!("`{{{name}}}` is not a property placeholder"),
            ));
        }
        out.push(Piece::Prop(name.to_string()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
}

fn render(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

impl TagRuleSet {
    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<TagRuleSet> {
        serde_json::from_str(text)
            .map_err(|e| Error::new(ErrorKind::InvalidModel, format!("invalid tag rules: {e}")))
    }

    /// Validates against `schema` and compiles every `when` into one rule set.
    pub fn compile(&self, schema: &Schema) -> Result<CompiledTagRules> {
        let mut prepared = Vec::with_capacity(self.rules.len());
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, r) in self.rules.iter().enumerate() {
            let p = format!("rules[{i}]");
            if r.tag.is_empty() {
                return Err(model_err(format!("{p}.tag"), "tag must not be empty"));
            }
            let pieces = parse_template(&r.tag, &format!("{p}.tag"))?;
            let props: Vec<&str> = pieces
                .iter()
                .filter_map(|x| match x {
                    Piece::Prop(n) => Some(n.as_str()),
                    Piece::Text(_) => None,
                })
                .collect();
            match (&r.values_from, props.is_empty()) {
                (None, false) => {
                    return Err(model_err(
                        format!("{p}.values_from"),
                        "a tag template needs `values_from`",
                    ))
                }
                (Some(_), true) => {
                    return Err(model_err(
                        format!("{p}.values_from"),
                        "`values_from` needs `{property}` placeholders in the tag",
                    ))
                }
                (Some(vf), false) => {
                    schema
                        .event_def(&vf.event)
                        .map_err(|e| e.with_path(format!("{p}.values_from.event")))?;
                    for prop in &props {
                        schema
                            .property_def(&vf.event, prop)
                            .map_err(|e| e.with_path(format!("{p}.tag")))?;
                    }
                }
                (None, true) => {}
            }
            let exclusive = match &r.group {
                Some(g) => {
                    schema
                        .tag_group(g)
                        .map_err(|e| e.with_path(format!("{p}.group")))?
                        .exclusive
                }
                None => false,
            };
            if r.ttl.is_some_and(|d| d.seconds() <= 0) {
                return Err(model_err(format!("{p}.ttl"), "ttl must be positive"));
            }
            let pattern: String = pieces
                .iter()
                .map(|x| match x {
                    Piece::Text(t) => regex::escape(t),
                    Piece::Prop(_) => ".+".to_string(),
                })
                .collect();
            let pattern = regex::Regex::new(&format!("^(?s:{pattern})$"))
                .map_err(|e| model_err(format!("{p}.tag"), e.to_string()))?;
            let expr =
                parser::parse_expr(&r.when).map_err(|e| e.prefix_path(&format!("{p}.when")))?;
            rules.push(Rule {
                name: format!("{RULE_PREFIX}{i}"),
                description: None,
                expr,
                span: Span::default(),
            });
            prepared.push(Prepared {
                id: r.id.clone().unwrap_or_else(|| r.tag.clone()),
                pieces,
                pattern,
                exclusive,
            });
        }
        let compiled = CompiledRuleSet::compile(&RuleSet { rules }, schema).map_err(|e| {
            // The compiler names the rule (`rules.tag__3`); point at the tag rule instead.
            let index = e
                .path()
                .and_then(|p| p.strip_prefix("rules."))
                .and_then(|p| p.strip_prefix(RULE_PREFIX))
                .and_then(|i| i.parse::<usize>().ok());
            match index {
                Some(i) => e.with_path(format!("rules[{i}].when")),
                None => e,
            }
        })?;
        Ok(CompiledTagRules {
            set: self.clone(),
            prepared,
            rules: compiled,
        })
    }
}

impl CompiledTagRules {
    /// The rules.
    pub fn rule_set(&self) -> &TagRuleSet {
        &self.set
    }

    /// The compiled `when` rules (`tag__<index>`).
    pub fn rules(&self) -> &CompiledRuleSet {
        &self.rules
    }

    fn owner(&self, name: &str) -> Option<usize> {
        self.prepared.iter().position(|p| p.pattern.is_match(name))
    }

    fn render_all(&self, i: usize, events: &EventLog, now: DateTime<Utc>, out: &mut Vec<String>) {
        let prep = &self.prepared[i];
        let Some(vf) = &self.set.rules[i].values_from else {
            out.push(self.set.rules[i].tag.clone());
            return;
        };
        // A window reaching before the representable range covers everything.
        let start = vf
            .within
            .and_then(|d| now.checked_sub_signed(d.to_chrono()));
        let evs = events.events();
        let end = evs.partition_point(|e| e.timestamp <= now);
        for e in evs[..end].iter().rev() {
            if start.is_some_and(|s| e.timestamp <= s) {
                break;
            }
            if e.name != vf.event {
                continue;
            }
            let mut name = String::new();
            let complete = prep.pieces.iter().all(|p| match p {
                Piece::Text(t) => {
                    name.push_str(t);
                    true
                }
                Piece::Prop(k) => match e.properties.get(k).and_then(render) {
                    Some(v) if !v.is_empty() => {
                        name.push_str(&v);
                        true
                    }
                    _ => false,
                },
            });
            if complete && !out.contains(&name) {
                out.push(name);
            }
        }
    }

    /// Computes the diff for `input.profile` at `input.now` without changing it.
    pub fn diff(&self, input: &EvalInput<'_>) -> Result<TagDiff> {
        let hits = self.rules.evaluate(input)?;
        Ok(
            self.diff_from(&hits, &input.profile.tags, input.now, &mut |i, out| {
                self.render_all(i, input.events, input.now, out)
            }),
        )
    }

    /// Steps 2–6 of the module docs from the `when` results `hits`, the profile's
    /// `tags`, and `render(i, out)` pushing rule `i`'s tag names (its tag, or a
    /// template's rendered names, most recent event first); shared by the row and
    /// the columnar path.
    fn diff_from(
        &self,
        hits: &[bool],
        tags: &[Tag],
        now: DateTime<Utc>,
        render: &mut dyn FnMut(usize, &mut Vec<String>),
    ) -> TagDiff {
        // (name, rule index) in priority order.
        let mut desired: Vec<(String, usize)> = Vec::new();
        let mut names = Vec::new();
        for (i, hit) in hits.iter().enumerate() {
            if !hit {
                continue;
            }
            names.clear();
            render(i, &mut names);
            for n in names.drain(..) {
                if !desired.iter().any(|(d, _)| *d == n) {
                    desired.push((n, i));
                }
            }
        }
        let group_of = |i: usize| self.set.rules[i].group.clone();
        let mut diff = TagDiff::default();
        let mut gone = std::collections::BTreeSet::new();
        for t in tags {
            if t.source == TagSource::Rule && !t.is_live(now) {
                diff.expired.push(TagChange {
                    tag: t.name.clone(),
                    group: t.group.clone(),
                    rule: self.owner(&t.name).map(|i| self.prepared[i].id.clone()),
                    reason: ChangeReason::Ttl,
                    expires_at: None,
                });
                gone.insert(t.name.clone());
            }
        }
        // Exclusive groups: (group, winner). An empty winner means the group is
        // held by a live non-rule tag: no rule tag of it may stay or be added.
        let mut winners: Vec<(String, String)> = Vec::new();
        for (i, prep) in self.prepared.iter().enumerate() {
            let Some(g) = self.set.rules[i].group.as_ref().filter(|_| prep.exclusive) else {
                continue;
            };
            let occupied = tags.iter().any(|t| {
                t.source != TagSource::Rule && t.group.as_ref() == Some(g) && t.is_live(now)
            });
            if occupied && !winners.iter().any(|(wg, _)| wg == g) {
                winners.push((g.clone(), String::new()));
            }
        }
        // Then the first desired tag of each free group wins.
        desired.retain(|(name, i)| {
            if !self.prepared[*i].exclusive {
                return true;
            }
            let g = group_of(*i).unwrap_or_default();
            if winners.iter().any(|(wg, _)| *wg == g) {
                return false;
            }
            winners.push((g, name.clone()));
            true
        });
        for t in tags {
            if t.source != TagSource::Rule || gone.contains(&t.name) {
                continue;
            }
            let owner = self.owner(&t.name);
            let winner = t
                .group
                .as_ref()
                .and_then(|g| winners.iter().find(|(wg, _)| wg == g));
            let reason = match winner {
                Some((_, w)) if *w != t.name => Some(ChangeReason::ExclusiveGroup),
                _ => {
                    let live = owner.is_some_and(|i| self.set.rules[i].policy == Policy::Live);
                    (live && !desired.iter().any(|(d, _)| *d == t.name))
                        .then_some(ChangeReason::RuleStopped)
                }
            };
            if let Some(reason) = reason {
                let rule = match reason {
                    ChangeReason::ExclusiveGroup => desired
                        .iter()
                        .find(|(d, _)| Some(d) == winner.map(|(_, w)| w))
                        .map(|(_, i)| self.prepared[*i].id.clone())
                        .or_else(|| owner.map(|i| self.prepared[i].id.clone())),
                    _ => owner.map(|i| self.prepared[i].id.clone()),
                };
                diff.removed.push(TagChange {
                    tag: t.name.clone(),
                    group: t.group.clone(),
                    rule,
                    reason,
                    expires_at: None,
                });
            }
        }
        for (name, i) in desired {
            let present = tags
                .iter()
                .any(|t| t.name == name && !gone.contains(&t.name));
            if present {
                continue;
            }
            diff.added.push(TagChange {
                tag: name,
                group: group_of(i),
                rule: Some(self.prepared[i].id.clone()),
                reason: ChangeReason::RuleHolds,
                expires_at: self.set.rules[i]
                    .ttl
                    .and_then(|d| now.checked_add_signed(d.to_chrono())),
            });
        }
        diff
    }

    /// Computes the diff and applies it to `profile`; on error the profile is unchanged.
    pub fn apply(
        &self,
        profile: &mut Profile,
        events: &EventLog,
        now: DateTime<Utc>,
        default_zone: crate::zone::Zone,
    ) -> Result<TagDiff> {
        let input = EvalInput::new(profile, events, now).with_default_zone(default_zone);
        let diff = self.diff(&input)?;
        apply_diff(profile, &diff, now);
        Ok(diff)
    }
}

/// Applies a diff computed at `now` to `profile` (removals and expiries touch
/// only rule-sourced tags).
pub fn apply_diff(profile: &mut Profile, diff: &TagDiff, now: DateTime<Utc>) {
    profile.tags.retain(|t| {
        t.source != TagSource::Rule
            || !diff
                .removed
                .iter()
                .chain(&diff.expired)
                .any(|c| c.tag == t.name)
    });
    for a in &diff.added {
        profile.tags.push(Tag {
            name: a.tag.clone(),
            group: a.group.clone(),
            source: TagSource::Rule,
            added_at: now,
            expires_at: a.expires_at,
        });
    }
}

/// Puts `name` as the one rule tag of the exclusive `group` (added at `now`, no
/// expiry): other rule tags of the group are removed; a live tag of another source
/// in the group (or a tag already named `name`) takes precedence, and then nothing
/// is added. Used for the RFM segment and the lifecycle stage.
pub fn set_exclusive_tag(profile: &mut Profile, name: &str, group: &str, now: DateTime<Utc>) {
    profile.tags.retain(|t| {
        t.source != TagSource::Rule || t.group.as_deref() != Some(group) || t.name == name
    });
    let occupied = profile
        .tags
        .iter()
        .any(|t| (t.group.as_deref() == Some(group) && t.is_live(now)) || t.name == name);
    if !occupied {
        profile.tags.push(Tag {
            name: name.to_string(),
            group: Some(group.to_string()),
            source: TagSource::Rule,
            added_at: now,
            expires_at: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_validate() {
        let p = parse_template("interest:{category}", "t").unwrap();
        assert_eq!(p.len(), 2);
        assert!(parse_template("a{b", "t").is_err());
        assert!(parse_template("a}b", "t").is_err());
        assert!(parse_template("a{1x}", "t").is_err());
        let schema = crate::lifecycle::default_schema();
        let set = TagRuleSet::from_json(
            r#"{"rules":[{"tag":"interest:{colour}","when":"true","values_from":{"event":"consulted"}}]}"#,
        )
        .unwrap();
        let e = set.compile(&schema).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownProperty);
        assert_eq!(e.path(), Some("rules[0].tag"));
        let set = TagRuleSet::from_json(r#"{"rules":[{"tag":"x","group":"nope","when":"true"}]}"#)
            .unwrap();
        assert_eq!(
            set.compile(&schema).unwrap_err().kind(),
            ErrorKind::UnknownTagGroup
        );
    }

    #[test]
    fn apply_then_reapply_is_empty() {
        let schema = crate::lifecycle::default_schema();
        let rules = TagRuleSet::from_json(
            r#"{"rules":[{"tag":"interest:{category}","group":"interest","ttl":"7d",
                "when":"any(consulted)","values_from":{"event":"consulted"}}]}"#,
        )
        .unwrap()
        .compile(&schema)
        .unwrap();
        let at = |s| crate::value::parse_timestamp(s).unwrap();
        let mut props = std::collections::BTreeMap::new();
        props.insert("category".to_string(), Value::String("toys".into()));
        let log = EventLog::new(vec![crate::profile::Event {
            id: "c".into(),
            name: "consulted".into(),
            timestamp: at("2026-03-01T00:00:00Z"),
            properties: props,
        }]);
        let mut p = Profile::new("u");
        let now = at("2026-03-02T00:00:00Z");
        let d = rules
            .apply(&mut p, &log, now, crate::zone::Zone::utc())
            .unwrap();
        assert_eq!(d.added[0].tag, "interest:toys");
        assert_eq!(d.added[0].expires_at, Some(at("2026-03-09T00:00:00Z")));
        assert!(rules
            .apply(&mut p, &log, now, crate::zone::Zone::utc())
            .unwrap()
            .is_empty());
        let later = rules
            .apply(
                &mut p,
                &log,
                at("2026-03-09T00:00:00Z"),
                crate::zone::Zone::utc(),
            )
            .unwrap();
        assert_eq!(later.expired.len(), 1);
        assert_eq!(later.added.len(), 1);
    }
}
