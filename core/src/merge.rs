//! Identity merge: two profiles found to be one person become one.
//!
//! [`merge_profiles`] is pure: it reads both profiles and their events and returns
//! the merged profile, the merged events and a [`MergeChanges`] record of every
//! decision. The merged profile keeps the **primary** id; the secondary id is
//! reported in [`MergeChanges::secondary_id`] so the host can keep an alias.
//!
//! The policy, field by field:
//!
//! | field | rule |
//! |---|---|
//! | identities | union per namespace (sorted, unique) |
//! | traits | per [`MergePolicy`]: by default the primary's value wins where both have one, the secondary fills gaps |
//! | tags | union by name; a tag on both sides keeps the earliest `added_at` (with that side's source and group) and the later expiry (no expiry = never expires); in an exclusive group only the most recently added tag survives |
//! | consents | per (channel, purpose) the most restrictive state wins (revoked > denied > granted); equal states: the most recent `at`; equal `at`: the primary's |
//! | time zone | the primary's, else the secondary's |
//! | scores | the primary's where both have one, the secondary fills gaps |
//! | events | union, de-duplicated by id (the primary's copy wins) |
//!
//! Why the most restrictive consent: under PIPL/GDPR marketing needs consent that
//! can be proven. A lost grant can be asked for again; a wrongly assumed grant
//! is a violation. So a revocation on either profile survives a newer grant on
//! the other one.

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{Consent, ConsentStatus, EventLog, Profile, Tag};
use crate::schema::Schema;
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// How a trait present on both profiles is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraitRule {
    /// The primary's value (the default).
    #[default]
    PreferPrimary,
    /// The secondary's value.
    PreferSecondary,
    /// The smaller value (numbers, strings by code point, timestamps, dates, booleans).
    /// Useful for `first_seen`.
    Min,
    /// The larger value. Useful for `last_purchase_at` or a points balance high-water mark.
    Max,
    /// String lists only: the primary's items, then the secondary's items not already present.
    Union,
}

impl TraitRule {
    fn name(self) -> &'static str {
        match self {
            TraitRule::PreferPrimary => "prefer_primary",
            TraitRule::PreferSecondary => "prefer_secondary",
            TraitRule::Min => "min",
            TraitRule::Max => "max",
            TraitRule::Union => "union",
        }
    }
}

/// The trait policy of a merge. JSON: `{"default": "prefer_primary",
/// "traits": {"first_seen": "min", "interests": "union"}}` (both fields optional).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergePolicy {
    /// Rule for traits without an override.
    #[serde(default)]
    pub default: TraitRule,
    /// Per-trait overrides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub traits: BTreeMap<String, TraitRule>,
}

impl MergePolicy {
    /// Reads the JSON form (`INVALID_JSON` on a bad document).
    pub fn from_json_value(v: &serde_json::Value) -> Result<MergePolicy> {
        serde_json::from_value(v.clone()).map_err(|e| {
            Error::new(ErrorKind::InvalidJson, format!("invalid merge policy: {e}"))
                .with_path("policy")
        })
    }

    /// The rule for trait `name`.
    pub fn rule_for(&self, name: &str) -> TraitRule {
        self.traits.get(name).copied().unwrap_or(self.default)
    }
}

/// Which input profile something came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The primary profile (whose id survives).
    Primary,
    /// The secondary profile (merged into the primary).
    Secondary,
}

/// A trait both profiles had with different values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraitConflict {
    /// Trait name.
    pub name: String,
    /// The primary's value (plain JSON).
    pub primary: serde_json::Value,
    /// The secondary's value (plain JSON).
    pub secondary: serde_json::Value,
    /// The rule applied.
    pub rule: TraitRule,
    /// The merged value (plain JSON).
    pub result: serde_json::Value,
}

/// A tag present on both profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptTag {
    /// Tag name.
    pub name: String,
    /// The side whose (earliest) `added_at`, source and group were kept.
    pub added_at_from: Side,
}

/// A tag removed because its exclusive group already holds a more recent one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedTag {
    /// The dropped tag.
    pub name: String,
    /// Its exclusive group.
    pub group: String,
    /// The side it came from.
    pub from: Side,
    /// The tag of the group that was kept.
    pub kept: String,
}

/// Why a consent record was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentReason {
    /// Only the secondary had a record for this channel and purpose.
    OnlySecondary,
    /// Both had one; the chosen state is more restrictive.
    MoreRestrictive,
    /// Both had the same state; the chosen record is more recent.
    MoreRecent,
    /// Same state and time; the primary's record is kept.
    Tie,
}

/// The consent decision for one channel and purpose the secondary had a record for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentDecision {
    /// Channel.
    pub channel: String,
    /// Purpose.
    pub purpose: String,
    /// The primary's current state, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<ConsentStatus>,
    /// The secondary's current state.
    pub secondary: ConsentStatus,
    /// The merged state.
    pub status: ConsentStatus,
    /// Whose record was kept.
    pub from: Side,
    /// Why.
    pub reason: ConsentReason,
}

/// Everything a merge decided.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MergeChanges {
    /// The surviving (primary) id.
    pub primary_id: String,
    /// The merged-away (secondary) id.
    pub secondary_id: String,
    /// Identity values the primary did not have, per namespace.
    pub identities_added: BTreeMap<String, Vec<String>>,
    /// Traits only the secondary had (filled gaps), sorted.
    pub traits_from_secondary: Vec<String>,
    /// Traits both had with different values, sorted by name.
    pub trait_conflicts: Vec<TraitConflict>,
    /// Tags only the secondary had, sorted.
    pub tags_added: Vec<String>,
    /// Tags both had, sorted by name.
    pub tags_kept: Vec<KeptTag>,
    /// Tags dropped by exclusive groups, sorted by name.
    pub tags_dropped: Vec<DroppedTag>,
    /// Consent decisions for every (channel, purpose) the secondary had, sorted.
    pub consents: Vec<ConsentDecision>,
    /// Whether the time zone came from the secondary.
    pub time_zone_from_secondary: bool,
    /// Scores only the secondary had, sorted.
    pub scores_from_secondary: Vec<String>,
    /// Number of secondary events added.
    pub events_added: usize,
    /// Ids of secondary events dropped as duplicates, sorted.
    pub duplicate_events: Vec<String>,
}

/// The result of [`merge_profiles`].
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome {
    /// The merged profile (with the primary's id).
    pub profile: Profile,
    /// The merged events.
    pub events: EventLog,
    /// What changed.
    pub changes: MergeChanges,
}

impl MergeOutcome {
    /// JSON form: `{"profile": ..., "events": [...], "changes": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "profile": self.profile.to_json(),
            "events": self.events.to_json(),
            "changes": serde_json::to_value(&self.changes).unwrap_or_default(),
        })
    }
}

/// Merges `secondary` into `primary` (see the module docs for the policy).
///
/// `schema` supplies the exclusive tag groups and validates the result.
/// Errors: `INVALID_MERGE` when both profiles have the same id or a trait rule
/// cannot apply (e.g. `union` on a non-list, `min` on incomparable values);
/// `INVALID_PROFILE` when the merged profile fails validation.
pub fn merge_profiles(
    primary: &Profile,
    primary_events: &EventLog,
    secondary: &Profile,
    secondary_events: &EventLog,
    schema: &Schema,
    policy: &MergePolicy,
) -> Result<MergeOutcome> {
    if primary.id == secondary.id {
        return Err(Error::new(
            ErrorKind::InvalidMerge,
            format!("cannot merge profile `{}` with itself", primary.id),
        )
        .with_path("secondary.id"));
    }
    let mut changes = MergeChanges {
        primary_id: primary.id.clone(),
        secondary_id: secondary.id.clone(),
        ..MergeChanges::default()
    };
    let mut merged = Profile::new(primary.id.clone());

    merged.identities = merge_identities(primary, secondary, &mut changes);
    merged.traits = merge_traits(primary, secondary, policy, &mut changes)?;
    merged.tags = merge_tags(primary, secondary, schema, &mut changes);
    merged.consents = merge_consents(primary, secondary, &mut changes);

    merged.time_zone = primary.time_zone.or(secondary.time_zone);
    changes.time_zone_from_secondary = primary.time_zone.is_none() && secondary.time_zone.is_some();

    merged.scores = primary.scores.clone();
    for (name, v) in &secondary.scores {
        if !merged.scores.contains_key(name) {
            merged.scores.insert(name.clone(), *v);
            changes.scores_from_secondary.push(name.clone());
        }
    }

    let primary_ids: BTreeSet<&str> = primary_events
        .events()
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    let mut all = primary_events.events().to_vec();
    for e in secondary_events.events() {
        if primary_ids.contains(e.id.as_str()) {
            changes.duplicate_events.push(e.id.clone());
        } else {
            changes.events_added += 1;
            all.push(e.clone());
        }
    }
    changes.duplicate_events.sort();

    merged.validate(schema)?;
    Ok(MergeOutcome {
        profile: merged,
        events: EventLog::new(all),
        changes,
    })
}

fn merge_identities(
    primary: &Profile,
    secondary: &Profile,
    changes: &mut MergeChanges,
) -> BTreeMap<String, Vec<String>> {
    let mut out = primary.identities.clone();
    for (ns, values) in &secondary.identities {
        let slot = out.entry(ns.clone()).or_default();
        let mut added = Vec::new();
        for v in values {
            if !slot.contains(v) {
                slot.push(v.clone());
                added.push(v.clone());
            }
        }
        slot.sort();
        slot.dedup();
        if !added.is_empty() {
            added.sort();
            changes.identities_added.insert(ns.clone(), added);
        }
    }
    out
}

fn merge_traits(
    primary: &Profile,
    secondary: &Profile,
    policy: &MergePolicy,
    changes: &mut MergeChanges,
) -> Result<BTreeMap<String, Value>> {
    let mut out = primary.traits.clone();
    for (name, sv) in &secondary.traits {
        let Some(pv) = primary.traits.get(name) else {
            out.insert(name.clone(), sv.clone());
            changes.traits_from_secondary.push(name.clone());
            continue;
        };
        if pv == sv {
            continue;
        }
        let rule = policy.rule_for(name);
        let bad = |why: String| {
            Error::new(
                ErrorKind::InvalidMerge,
                format!("trait `{name}`: rule `{}` {why}", rule.name()),
            )
            .with_path(format!("policy.traits.{name}"))
        };
        let result = match rule {
            TraitRule::PreferPrimary => pv.clone(),
            TraitRule::PreferSecondary => sv.clone(),
            TraitRule::Min | TraitRule::Max => {
                let ord = pv.compare(sv).ok_or_else(|| {
                    bad(format!(
                        "cannot compare a {} with a {}",
                        pv.value_type(),
                        sv.value_type()
                    ))
                })?;
                let take_secondary = match rule {
                    TraitRule::Min => ord == Ordering::Greater,
                    _ => ord == Ordering::Less,
                };
                if take_secondary {
                    sv.clone()
                } else {
                    pv.clone()
                }
            }
            TraitRule::Union => match (pv, sv) {
                (Value::StringList(a), Value::StringList(b)) => {
                    let mut items = a.clone();
                    for item in b {
                        if !items.contains(item) {
                            items.push(item.clone());
                        }
                    }
                    Value::StringList(items)
                }
                _ => {
                    return Err(bad(format!(
                        "needs string lists, found {}",
                        pv.value_type()
                    )))
                }
            },
        };
        changes.trait_conflicts.push(TraitConflict {
            name: name.clone(),
            primary: pv.to_json(),
            secondary: sv.to_json(),
            rule,
            result: result.to_json(),
        });
        out.insert(name.clone(), result);
    }
    Ok(out)
}

fn merge_tags(
    primary: &Profile,
    secondary: &Profile,
    schema: &Schema,
    changes: &mut MergeChanges,
) -> Vec<Tag> {
    // name → (tag, side it came from)
    let mut by_name: BTreeMap<String, (Tag, Side)> = primary
        .tags
        .iter()
        .map(|t| (t.name.clone(), (t.clone(), Side::Primary)))
        .collect();
    for st in &secondary.tags {
        match by_name.get_mut(&st.name) {
            None => {
                changes.tags_added.push(st.name.clone());
                by_name.insert(st.name.clone(), (st.clone(), Side::Secondary));
            }
            Some((pt, side)) => {
                let expires_at = match (pt.expires_at, st.expires_at) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                // Ties keep the primary's record.
                let from = if st.added_at < pt.added_at {
                    *pt = st.clone();
                    *side = Side::Secondary;
                    Side::Secondary
                } else {
                    Side::Primary
                };
                pt.expires_at = expires_at;
                changes.tags_kept.push(KeptTag {
                    name: st.name.clone(),
                    added_at_from: from,
                });
            }
        }
    }
    changes.tags_added.sort();
    changes.tags_kept.sort_by(|a, b| a.name.cmp(&b.name));

    // Exclusive groups: the most recently added tag survives (ties: primary, then name).
    let mut winners: BTreeMap<&str, (&Tag, Side)> = BTreeMap::new();
    for (tag, side) in by_name.values() {
        let Some(g) = tag.group.as_deref() else {
            continue;
        };
        if !schema.tag_groups.get(g).is_some_and(|d| d.exclusive) {
            continue;
        }
        let better = match winners.get(g) {
            None => true,
            Some((w, wside)) => {
                (
                    tag.added_at,
                    *side == Side::Primary,
                    std::cmp::Reverse(&tag.name),
                ) > (
                    w.added_at,
                    *wside == Side::Primary,
                    std::cmp::Reverse(&w.name),
                )
            }
        };
        if better {
            winners.insert(g, (tag, *side));
        }
    }
    let mut dropped = Vec::new();
    for (tag, side) in by_name.values() {
        if let Some(g) = tag.group.as_deref() {
            if let Some((w, _)) = winners.get(g) {
                if w.name != tag.name {
                    dropped.push(DroppedTag {
                        name: tag.name.clone(),
                        group: g.to_string(),
                        from: *side,
                        kept: w.name.clone(),
                    });
                }
            }
        }
    }
    let dropped_names: BTreeSet<String> = dropped.iter().map(|d| d.name.clone()).collect();
    changes.tags_dropped = dropped;
    by_name
        .into_values()
        .map(|(t, _)| t)
        .filter(|t| !dropped_names.contains(&t.name))
        .collect()
}

/// Restrictiveness rank: revoked > denied > granted.
fn restrictiveness(s: ConsentStatus) -> u8 {
    match s {
        ConsentStatus::Granted => 0,
        ConsentStatus::Denied => 1,
        ConsentStatus::Revoked => 2,
    }
}

/// Each (channel, purpose)'s current record on one profile: the latest by `at`
/// (on equal `at`, the later in the list).
fn current_consents(p: &Profile) -> BTreeMap<(String, String), &Consent> {
    let mut out: BTreeMap<(String, String), &Consent> = BTreeMap::new();
    for c in &p.consents {
        let key = (c.channel.clone(), c.purpose.clone());
        match out.get(&key) {
            Some(prev) if prev.at > c.at => {}
            _ => {
                out.insert(key, c);
            }
        }
    }
    out
}

fn merge_consents(
    primary: &Profile,
    secondary: &Profile,
    changes: &mut MergeChanges,
) -> Vec<Consent> {
    let mut out = current_consents(primary);
    for (key, sc) in current_consents(secondary) {
        let (from, reason) = match out.get(&key) {
            None => (Side::Secondary, ConsentReason::OnlySecondary),
            Some(pc) => {
                let (rp, rs) = (restrictiveness(pc.status), restrictiveness(sc.status));
                if rp != rs {
                    let from = if rs > rp {
                        Side::Secondary
                    } else {
                        Side::Primary
                    };
                    (from, ConsentReason::MoreRestrictive)
                } else if pc.at != sc.at {
                    let from = if sc.at > pc.at {
                        Side::Secondary
                    } else {
                        Side::Primary
                    };
                    (from, ConsentReason::MoreRecent)
                } else {
                    (Side::Primary, ConsentReason::Tie)
                }
            }
        };
        let primary_status = out.get(&key).map(|c| c.status);
        if from == Side::Secondary {
            out.insert(key.clone(), sc);
        }
        let status = out.get(&key).map_or(sc.status, |c| c.status);
        changes.consents.push(ConsentDecision {
            channel: key.0,
            purpose: key.1,
            primary: primary_status,
            secondary: sc.status,
            status,
            from,
            reason,
        });
    }
    out.into_values().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_json(
            r#"{"traits":{"city":"string","first_seen":"timestamp","interests":"string_list","age":"integer"},
                "events":{"purchase":{"properties":{"amount":"float"}}},
                "tag_groups":{"rfm":{"exclusive":true},"interest":{}}}"#,
        )
        .unwrap()
    }

    fn profile(v: serde_json::Value) -> Profile {
        Profile::from_json_value(&v, &schema()).unwrap()
    }

    fn events(v: serde_json::Value) -> EventLog {
        EventLog::from_json_value(&v, &schema()).unwrap()
    }

    #[test]
    fn merging_with_self_is_an_error() {
        let p = profile(json!({"id":"u1"}));
        let e = merge_profiles(
            &p,
            &EventLog::default(),
            &p,
            &EventLog::default(),
            &schema(),
            &MergePolicy::default(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidMerge);
    }

    #[test]
    fn identities_traits_and_events_merge() {
        let p = profile(json!({"id":"a","identities":{"phone_sha256":"x"},
            "traits":{"city":"Shanghai","first_seen":"2026-02-01T00:00:00Z","interests":["toys"]}}));
        let s = profile(
            json!({"id":"b","identities":{"phone_sha256":["x","y"],"wechat_unionid":"w"},
            "traits":{"city":"Beijing","age":30,"first_seen":"2026-01-01T00:00:00Z","interests":["milk","toys"]}}),
        );
        let pe = events(json!([{"id":"e1","name":"purchase","timestamp":"2026-01-05T00:00:00Z"}]));
        let se = events(json!([
            {"id":"e1","name":"purchase","timestamp":"2026-01-05T00:00:00Z"},
            {"id":"e2","name":"purchase","timestamp":"2026-01-04T00:00:00Z"}]));
        let policy = MergePolicy::from_json_value(
            &json!({"traits":{"first_seen":"min","interests":"union"}}),
        )
        .unwrap();
        let before = (p.clone(), s.clone());
        let out = merge_profiles(&p, &pe, &s, &se, &schema(), &policy).unwrap();
        assert_eq!(before, (p, s), "inputs untouched");
        assert_eq!(out.profile.id, "a");
        assert_eq!(out.profile.identities["phone_sha256"], vec!["x", "y"]);
        assert_eq!(out.changes.identities_added["wechat_unionid"], vec!["w"]);
        assert_eq!(out.profile.traits["city"], Value::String("Shanghai".into()));
        assert_eq!(out.profile.traits["age"], Value::Integer(30));
        assert_eq!(
            out.profile.traits["interests"],
            Value::StringList(vec!["toys".into(), "milk".into()])
        );
        assert_eq!(out.changes.traits_from_secondary, vec!["age"]);
        assert_eq!(out.changes.trait_conflicts.len(), 3);
        let fs = out
            .changes
            .trait_conflicts
            .iter()
            .find(|c| c.name == "first_seen")
            .unwrap();
        assert_eq!(fs.result, json!("2026-01-01T00:00:00Z"));
        assert_eq!(out.events.len(), 2);
        assert_eq!(out.events.events()[0].id, "e2");
        assert_eq!(out.changes.duplicate_events, vec!["e1"]);
        assert_eq!(out.changes.events_added, 1);
    }

    #[test]
    fn union_on_a_scalar_is_an_error() {
        let p = profile(json!({"id":"a","traits":{"city":"x"}}));
        let s = profile(json!({"id":"b","traits":{"city":"y"}}));
        let policy = MergePolicy::from_json_value(&json!({"default":"union"})).unwrap();
        let e = merge_profiles(
            &p,
            &EventLog::default(),
            &s,
            &EventLog::default(),
            &schema(),
            &policy,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidMerge);
        assert_eq!(e.path(), Some("policy.traits.city"));
    }

    #[test]
    fn tags_keep_earliest_and_exclusive_groups_keep_latest() {
        let p = profile(json!({"id":"a","tags":[
            {"name":"vip","source":"manual","added_at":"2026-02-01T00:00:00Z","expires_at":"2026-03-01T00:00:00Z"},
            {"name":"rfm_loyal","group":"rfm","source":"rule","added_at":"2026-01-01T00:00:00Z"}]}));
        let s = profile(json!({"id":"b","tags":[
            {"name":"vip","source":"import","added_at":"2026-01-01T00:00:00Z","expires_at":"2026-02-15T00:00:00Z"},
            {"name":"rfm_at_risk","group":"rfm","source":"rule","added_at":"2026-02-01T00:00:00Z"}]}));
        let out = merge_profiles(
            &p,
            &EventLog::default(),
            &s,
            &EventLog::default(),
            &schema(),
            &MergePolicy::default(),
        )
        .unwrap();
        let vip = out.profile.tags.iter().find(|t| t.name == "vip").unwrap();
        assert_eq!(vip.source, crate::profile::TagSource::Import);
        assert_eq!(
            vip.expires_at,
            Some(crate::value::parse_timestamp("2026-03-01T00:00:00Z").unwrap())
        );
        assert!(out.profile.tags.iter().any(|t| t.name == "rfm_at_risk"));
        assert!(!out.profile.tags.iter().any(|t| t.name == "rfm_loyal"));
        assert_eq!(out.changes.tags_dropped[0].kept, "rfm_at_risk");
        assert_eq!(out.changes.tags_dropped[0].from, Side::Primary);
    }

    #[test]
    fn most_restrictive_consent_wins() {
        let p = profile(json!({"id":"a","consents":[
            {"channel":"sms","purpose":"marketing","status":"granted","at":"2026-03-01T00:00:00Z"},
            {"channel":"wechat","purpose":"marketing","status":"granted","at":"2026-01-01T00:00:00Z"}]}));
        let s = profile(json!({"id":"b","consents":[
            {"channel":"sms","purpose":"marketing","status":"revoked","at":"2026-01-01T00:00:00Z"},
            {"channel":"wechat","purpose":"marketing","status":"granted","at":"2026-02-01T00:00:00Z"},
            {"channel":"app_push","purpose":"service","status":"denied","at":"2026-02-01T00:00:00Z"}]}));
        let out = merge_profiles(
            &p,
            &EventLog::default(),
            &s,
            &EventLog::default(),
            &schema(),
            &MergePolicy::default(),
        )
        .unwrap();
        let t = crate::value::parse_timestamp("2026-04-01T00:00:00Z").unwrap();
        assert!(!out.profile.has_consent("sms", "marketing", t));
        assert!(out.profile.has_consent("wechat", "marketing", t));
        assert_eq!(out.profile.consents.len(), 3);
        let reasons: Vec<_> = out.changes.consents.iter().map(|c| c.reason).collect();
        assert_eq!(
            reasons,
            vec![
                ConsentReason::OnlySecondary,
                ConsentReason::MoreRestrictive,
                ConsentReason::MoreRecent
            ]
        );
    }

    mod properties {
        use super::super::*;
        use crate::sample::{schema, Generator, SampleConfig};
        use proptest::prelude::*;
        use std::sync::OnceLock;

        fn gen() -> &'static Generator {
            static GEN: OnceLock<Generator> = OnceLock::new();
            GEN.get_or_init(|| Generator::new(SampleConfig::new(1000, 5)).unwrap())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            #[test]
            fn merging_sample_users_keeps_every_fact(i in 0usize..1000, j in 0usize..1000, share in 0usize..20) {
                prop_assume!(i != j);
                let (p, pe) = gen().user(i);
                let (s, se) = gen().user(j);
                // Let the secondary share some events with the primary (a double delivery).
                let mut se_all = se.events().to_vec();
                se_all.extend(pe.events().iter().take(share).cloned());
                let se = EventLog::new(se_all);
                let schema = schema();
                let before = (p.clone(), s.clone());
                let out = merge_profiles(&p, &pe, &s, &se, &schema, &MergePolicy::default()).unwrap();
                prop_assert_eq!(&before, &(p.clone(), s.clone()));
                out.profile.validate(&schema).unwrap();
                for src in [&p, &s] {
                    for (ns, values) in &src.identities {
                        for v in values {
                            prop_assert!(out.profile.identities[ns].contains(v));
                        }
                    }
                    for name in src.traits.keys() {
                        prop_assert!(out.profile.traits.contains_key(name));
                    }
                    for c in &src.consents {
                        let merged = out.profile.consents.iter()
                            .find(|m| m.channel == c.channel && m.purpose == c.purpose).unwrap();
                        let current = current_consents(src)[&(c.channel.clone(), c.purpose.clone())];
                        prop_assert!(restrictiveness(merged.status) >= restrictiveness(current.status));
                    }
                }
                let ids: BTreeSet<&str> = pe.events().iter().chain(se.events()).map(|e| e.id.as_str()).collect();
                prop_assert_eq!(out.events.len(), ids.len());
                prop_assert_eq!(out.changes.duplicate_events.len(), share.min(pe.len()));
                prop_assert_eq!(out.changes.events_added + pe.len(), out.events.len());
                prop_assert_eq!(out.profile.traits.get("city"), p.traits.get("city"));
                // The change record is JSON and carries both ids.
                let json = serde_json::to_value(&out.changes).unwrap();
                prop_assert_eq!(&json["secondary_id"], &serde_json::json!(s.id));
            }
        }
    }
}
