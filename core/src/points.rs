//! Points, levels, membership tiers and the engagement score.
//!
//! * A [`PointsModel`] (JSON data, validated) holds earn rules driven by events
//!   (fixed points or points per amount, optional per-period caps in the
//!   profile's zone), an expiry for earned points, levels by lifetime points,
//!   tiers by points or spend in a window with a grace period, and benefits.
//! * A [`Ledger`] (persisted state, versioned) records earned lots and a journal.
//!   Points are redeemed and expire first-in first-out.
//! * [`TierState`] carries the current tier and the grace clock between evaluations.
//! * [`EngagementModel`] scores recent interaction with exponential decay.
//!
//! The exact semantics are in docs/points.md.

mod filter;
pub mod request;

pub use filter::PointsWhere;

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{Event, EventLog};
use crate::rules::ast::Duration;
use crate::schema::Schema;
use crate::value::{ts_serde, Value};
use crate::zone::Zone;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Format version of [`Ledger`] and [`TierState`].
pub const FORMAT_VERSION: u32 = 1;

const DEFAULT_MODEL: &str = include_str!("points/default_model.json");

/// How many points one matching event earns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Award {
    /// A fixed number of points.
    Fixed(i64),
    /// `floor(property / per) × points` (e.g. 1 point per 10 yuan); a missing or
    /// negative amount earns nothing.
    PerAmount {
        /// Numeric event property.
        property: String,
        /// Amount per step (> 0).
        per: f64,
        /// Points per step.
        points: i64,
    },
}

/// A calendar period in the profile's zone (ISO weeks start on Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar day.
    Day,
    /// ISO week.
    Week,
    /// Calendar month.
    Month,
}

impl Period {
    fn key(self, date: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => date,
            Period::Week => date
                .checked_sub_signed(chrono::Duration::days(i64::from(
                    date.weekday().num_days_from_monday(),
                )))
                .unwrap_or(date),
            Period::Month => date.with_day(1).unwrap_or(date),
        }
    }
}

/// A cap on one rule's awards per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    /// The period.
    pub period: Period,
    /// At most this many points per period (the last award is cut to fit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_points: Option<i64>,
    /// At most this many awards per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_times: Option<u32>,
}

/// An earn rule: events named `event` that pass `where`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarnRule {
    /// Rule id (an identifier), recorded on every award.
    pub id: String,
    /// Event name.
    pub event: String,
    /// Event filter: rule-language text or the legacy equality map.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub filter: Option<PointsWhere>,
    /// Points per event.
    pub award: Award,
    /// Optional cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Cap>,
}

/// A level (Lv1–Lv5) by lifetime points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Name, e.g. `Lv3`.
    pub name: String,
    /// Lifetime points needed (the first level needs 0).
    pub min_lifetime_points: i64,
    /// Benefits as data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benefits: Vec<String>,
}

/// A membership tier; a profile qualifies when it meets any given criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierDef {
    /// Name, e.g. `gold`.
    pub name: String,
    /// Points earned in the tier window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_points: Option<i64>,
    /// Spend (sum of the spend property of spend events) in the tier window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_spend: Option<f64>,
    /// Benefits as data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benefits: Vec<String>,
}

/// Tier rules: ordered lowest to highest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierModel {
    /// Rolling window `(now − window, now]` for points and spend.
    pub window: Duration,
    /// How long a profile may stay below its tier before it is downgraded.
    pub grace: Duration,
    /// Spend event (default `purchase`).
    #[serde(default = "default_purchase")]
    pub spend_event: String,
    /// Spend property (default `amount`).
    #[serde(default = "default_amount")]
    pub spend_property: String,
    /// Tiers, lowest first.
    pub tiers: Vec<TierDef>,
}

fn default_purchase() -> String {
    "purchase".into()
}
fn default_amount() -> String {
    "amount".into()
}

/// One weighted contribution to the engagement score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngagementWeight {
    /// Event name.
    pub event: String,
    /// Event filter: rule-language text or the legacy equality map.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub filter: Option<PointsWhere>,
    /// Contribution of one fresh event.
    pub weight: f64,
}

/// Engagement: `min(cap, Σ weight · 2^(−age / half_life))` over events up to `now`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngagementModel {
    /// Half-life of a contribution (> 0).
    pub half_life: Duration,
    /// Upper bound of the score (> 0).
    pub cap: f64,
    /// Contributions; an event matching several entries adds each weight.
    pub weights: Vec<EngagementWeight>,
    /// The weights' filters compiled by [`PointsModel::validate`].
    #[serde(skip)]
    compiled: filter::CompiledFilters,
}

/// The points model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsModel {
    /// Earn rules.
    pub rules: Vec<EarnRule>,
    /// Earned points expire this long after they were earned (none: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_after: Option<Duration>,
    /// Levels, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<Level>,
    /// Tier rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<TierModel>,
    /// Engagement score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<EngagementModel>,
    /// The filters compiled by [`PointsModel::validate`].
    #[serde(skip)]
    compiled: filter::CompiledFilters,
}

/// The properties a legacy equality map names (checked against the schema).
fn legacy_keys(f: Option<&PointsWhere>) -> Vec<&str> {
    match f {
        Some(PointsWhere::Equals(m)) => m.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

fn model_err(path: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidModel, msg).with_path(path)
}

impl PointsModel {
    /// The shipped model: purchase 1 point per 10 yuan, check-in 5 points once a
    /// day, referral 50 points (at most 500 a month); points expire after 365 days;
    /// Lv1–Lv5; silver/gold/diamond tiers; engagement with a 14-day half-life.
    pub fn default_model() -> PointsModel {
        serde_json::from_str(DEFAULT_MODEL).unwrap_or(PointsModel {
            rules: Vec::new(),
            expire_after: None,
            levels: Vec::new(),
            tiers: None,
            engagement: None,
            compiled: Default::default(),
        })
    }

    /// The shipped model as JSON text.
    pub fn default_model_json() -> &'static str {
        DEFAULT_MODEL
    }

    /// Parses and validates against `schema`.
    pub fn from_json(text: &str, schema: &Schema) -> Result<PointsModel> {
        let m: PointsModel = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidModel,
                format!("invalid points model: {e}"),
            )
        })?;
        m.validate(schema)?;
        Ok(m)
    }

    /// Checks the model: identifiers, positive amounts, ordered levels and tiers,
    /// and that referenced events and properties exist in `schema`.
    pub fn validate(&self, schema: &Schema) -> Result<()> {
        let check_event = |path: String, name: &str, props: Vec<&str>| -> Result<()> {
            schema
                .event_def(name)
                .map_err(|e| e.with_path(path.clone()))?;
            for p in props {
                schema
                    .property_def(name, p)
                    .map_err(|e| e.with_path(path.clone()))?;
            }
            Ok(())
        };
        let mut ids = std::collections::BTreeSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            let p = format!("rules[{i}]");
            if !crate::schema::is_identifier(&r.id) {
                return Err(model_err(format!("{p}.id"), "rule ids are identifiers"));
            }
            if !ids.insert(r.id.as_str()) {
                return Err(Error::new(
                    ErrorKind::DuplicateName,
                    format!("earn rule `{}` is defined twice", r.id),
                )
                .with_path(format!("{p}.id")));
            }
            schema
                .event_def(&r.event)
                .map_err(|e| e.with_path(format!("{p}.event")))?;
            let mut props: Vec<&str> = legacy_keys(r.filter.as_ref());
            match &r.award {
                Award::Fixed(n) if *n <= 0 => {
                    return Err(model_err(format!("{p}.award"), "points must be positive"))
                }
                Award::PerAmount {
                    property,
                    per,
                    points,
                } => {
                    if !(per.is_finite() && *per > 0.0) || *points <= 0 {
                        return Err(model_err(
                            format!("{p}.award"),
                            "`per` and `points` must be positive",
                        ));
                    }
                    let def = schema
                        .property_def(&r.event, property)
                        .map_err(|e| e.with_path(format!("{p}.award.property")))?;
                    if !def.ty.is_numeric() {
                        return Err(Error::new(
                            ErrorKind::TypeMismatch,
                            format!("`{property}` is {}, not a number", def.ty),
                        )
                        .with_path(format!("{p}.award.property")));
                    }
                    props.push(property);
                }
                Award::Fixed(_) => {}
            }
            check_event(format!("{p}.event"), &r.event, props)?;
            if let Some(c) = &r.cap {
                if c.max_points.is_none() && c.max_times.is_none()
                    || c.max_points.is_some_and(|m| m <= 0)
                    || c.max_times == Some(0)
                {
                    return Err(model_err(
                        format!("{p}.cap"),
                        "a cap needs a positive max_points and/or max_times",
                    ));
                }
            }
        }
        if let Some(d) = self.expire_after {
            if d.seconds() <= 0 {
                return Err(model_err("expire_after", "expiry must be positive"));
            }
        }
        for (i, l) in self.levels.iter().enumerate() {
            let ok = if i == 0 {
                l.min_lifetime_points == 0
            } else {
                l.min_lifetime_points > self.levels[i - 1].min_lifetime_points
            };
            if !ok {
                return Err(model_err(
                    format!("levels[{i}].min_lifetime_points"),
                    "levels start at 0 and strictly increase",
                ));
            }
        }
        if let Some(t) = &self.tiers {
            if t.window.seconds() <= 0 {
                return Err(model_err("tiers.window", "window must be positive"));
            }
            check_event(
                "tiers.spend_event".into(),
                &t.spend_event,
                vec![&t.spend_property],
            )?;
            if t.tiers.is_empty() {
                return Err(model_err("tiers.tiers", "at least one tier"));
            }
            for (i, d) in t.tiers.iter().enumerate() {
                if d.min_points.is_none() && d.min_spend.is_none() {
                    return Err(model_err(
                        format!("tiers.tiers[{i}]"),
                        "a tier needs min_points and/or min_spend",
                    ));
                }
                if t.tiers[..i].iter().any(|o| o.name == d.name) {
                    return Err(Error::new(
                        ErrorKind::DuplicateName,
                        format!("tier `{}` is defined twice", d.name),
                    )
                    .with_path(format!("tiers.tiers[{i}].name")));
                }
            }
        }
        if let Some(e) = &self.engagement {
            if e.half_life.seconds() <= 0 {
                return Err(model_err(
                    "engagement.half_life",
                    "half-life must be positive",
                ));
            }
            if !(e.cap.is_finite() && e.cap > 0.0) {
                return Err(model_err("engagement.cap", "cap must be positive"));
            }
            for (i, w) in e.weights.iter().enumerate() {
                if !w.weight.is_finite() {
                    return Err(model_err(
                        format!("engagement.weights[{i}].weight"),
                        "weight must be finite",
                    ));
                }
                check_event(
                    format!("engagement.weights[{i}].event"),
                    &w.event,
                    legacy_keys(w.filter.as_ref()),
                )?;
            }
        }
        self.compile_filters(schema)
    }

    /// Compiles every `where` once (kept for [`Ledger::apply_event`] and
    /// [`EngagementModel::score`]).
    fn compile_filters(&self, schema: &Schema) -> Result<()> {
        let one = |f: Option<&PointsWhere>, event: &str, path: String| {
            f.map(|f| f.compile(event, schema, &path)).transpose()
        };
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| one(r.filter.as_ref(), &r.event, format!("rules[{i}].where")))
            .collect::<Result<_>>()?;
        if let Some(e) = &self.engagement {
            let weights = e
                .weights
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let path = format!("engagement.weights[{i}].where");
                    one(w.filter.as_ref(), &w.event, path)
                })
                .collect::<Result<_>>()?;
            e.compiled.set(weights);
        }
        self.compiled.set(rules);
        Ok(())
    }

    /// The level for `lifetime` points (the highest whose minimum is reached).
    pub fn level(&self, lifetime: i64) -> Option<&Level> {
        self.levels
            .iter()
            .rev()
            .find(|l| lifetime >= l.min_lifetime_points)
    }
}

/// An earned lot of points (the unit of FIFO redemption and expiry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lot {
    /// When earned (the event's timestamp).
    #[serde(with = "ts_serde")]
    pub at: DateTime<Utc>,
    /// The event that earned it.
    pub event_id: String,
    /// The earn rule.
    pub rule: String,
    /// Points earned.
    pub points: i64,
    /// Points not yet redeemed or expired.
    pub remaining: i64,
    /// When the remaining points expire (exclusive: gone at this instant).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Journal entry kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Points earned by an event.
    Earn,
    /// Points spent.
    Redeem,
    /// Points expired.
    Expire,
}

/// One journal entry; `points` is signed (earn > 0; redeem, expire < 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Kind.
    pub kind: EntryKind,
    /// When.
    #[serde(with = "ts_serde")]
    pub at: DateTime<Utc>,
    /// Signed points.
    pub points: i64,
    /// Earn rule (earn entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Event id (earn) or caller reference (redeem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Points the rule would have given without its cap (only when capped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncapped: Option<i64>,
}

/// A profile's points ledger (persisted; `version` is [`FORMAT_VERSION`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// Format version.
    pub version: u32,
    /// Total points ever earned (never decreases; drives levels).
    pub lifetime: i64,
    /// Earned lots, oldest first.
    pub lots: Vec<Lot>,
    /// The journal, in time order.
    pub entries: Vec<Entry>,
}

impl Default for Ledger {
    fn default() -> Ledger {
        Ledger {
            version: FORMAT_VERSION,
            lifetime: 0,
            lots: Vec::new(),
            entries: Vec::new(),
        }
    }
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Reads persisted state (`INVALID_STATE` for another version).
    pub fn from_json(text: &str) -> Result<Ledger> {
        let l: Ledger = serde_json::from_str(text)
            .map_err(|e| Error::new(ErrorKind::InvalidState, format!("invalid ledger: {e}")))?;
        if l.version != FORMAT_VERSION {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("unsupported ledger version {}", l.version),
            )
            .with_path("version"));
        }
        Ok(l)
    }

    /// Writes persisted state.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The balance at `now`: remaining points of lots not expired at `now`.
    pub fn balance(&self, now: DateTime<Utc>) -> i64 {
        self.lots
            .iter()
            .filter(|l| l.expires_at.is_none_or(|e| now < e))
            .map(|l| l.remaining)
            .sum()
    }

    fn last_at(&self) -> Option<DateTime<Utc>> {
        self.entries.last().map(|e| e.at)
    }

    fn check_order(&self, at: DateTime<Utc>) -> Result<()> {
        match self.last_at() {
            Some(last) if at < last => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "ledger operations must be in time order: {} is before the last entry at {}",
                    crate::value::format_timestamp(&at),
                    crate::value::format_timestamp(&last)
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Expires every lot whose expiry is at or before `now`, oldest first, adding
    /// one `expire` entry per lot (at the lot's expiry instant).
    pub fn expire(&mut self, now: DateTime<Utc>) {
        for lot in &mut self.lots {
            if let Some(e) = lot.expires_at {
                if e <= now && lot.remaining > 0 {
                    self.entries.push(Entry {
                        kind: EntryKind::Expire,
                        at: e,
                        points: -lot.remaining,
                        rule: Some(lot.rule.clone()),
                        reference: Some(lot.event_id.clone()),
                        uncapped: None,
                    });
                    lot.remaining = 0;
                }
            }
        }
        // Expiry instants of different lots interleave with nothing later than
        // `now`, so a stable sort by time keeps the journal ordered.
        self.entries.sort_by_key(|e| e.at);
    }

    /// Applies one event: expires due lots, then awards each matching rule
    /// (caps counted in `zone`). An event id already in the ledger is ignored.
    /// Returns the new earn entries. Events must come in time order.
    pub fn apply_event(
        &mut self,
        model: &PointsModel,
        event: &Event,
        zone: Zone,
    ) -> Result<Vec<Entry>> {
        if self.lots.iter().any(|l| l.event_id == event.id)
            || self
                .entries
                .iter()
                .any(|e| e.kind == EntryKind::Earn && e.reference.as_deref() == Some(&event.id))
        {
            return Ok(Vec::new());
        }
        self.check_order(event.timestamp)?;
        self.expire(event.timestamp);
        let mut out = Vec::new();
        let rules = model.rules.iter().enumerate();
        for (ri, rule) in rules.filter(|(_, r)| r.event == event.name) {
            let compiled = model.compiled.get(ri);
            if !filter::passes(rule.filter.as_ref(), compiled, event, zone)? {
                continue;
            }
            let raw = match &rule.award {
                Award::Fixed(n) => *n,
                Award::PerAmount {
                    property,
                    per,
                    points,
                } => {
                    let amount = event
                        .properties
                        .get(property)
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0);
                    if amount > 0.0 {
                        ((amount / per).floor() as i64).saturating_mul(*points)
                    } else {
                        0
                    }
                }
            };
            let mut pts = raw;
            if let Some(cap) = &rule.cap {
                let key = cap.period.key(zone.date_at(event.timestamp));
                let (used, times) = self
                    .entries
                    .iter()
                    .filter(|e| {
                        e.kind == EntryKind::Earn
                            && e.rule.as_deref() == Some(&rule.id)
                            && cap.period.key(zone.date_at(e.at)) == key
                    })
                    .fold((0i64, 0u32), |(p, n), e| {
                        (p.saturating_add(e.points), n.saturating_add(1))
                    });
                if cap.max_times.is_some_and(|m| times >= m) {
                    pts = 0;
                }
                if let Some(m) = cap.max_points {
                    pts = pts.min(m.saturating_sub(used).max(0));
                }
            }
            if pts <= 0 {
                continue;
            }
            // Beyond the representable range the points never expire.
            let expires_at = model
                .expire_after
                .and_then(|d| event.timestamp.checked_add_signed(d.to_chrono()));
            self.lots.push(Lot {
                at: event.timestamp,
                event_id: event.id.clone(),
                rule: rule.id.clone(),
                points: pts,
                remaining: pts,
                expires_at,
            });
            self.lifetime = self.lifetime.saturating_add(pts);
            let entry = Entry {
                kind: EntryKind::Earn,
                at: event.timestamp,
                points: pts,
                rule: Some(rule.id.clone()),
                reference: Some(event.id.clone()),
                uncapped: (pts != raw).then_some(raw),
            };
            self.entries.push(entry.clone());
            out.push(entry);
        }
        Ok(out)
    }

    /// Applies every event of `events` up to `now` in order (skipping ids already
    /// applied), then expires lots due at `now`.
    pub fn apply_events(
        &mut self,
        model: &PointsModel,
        events: &EventLog,
        zone: Zone,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut next = self.clone();
        for e in events.events().iter().take_while(|e| e.timestamp <= now) {
            next.apply_event(model, e, zone)?;
        }
        next.check_order(now)?;
        next.expire(now);
        *self = next;
        Ok(())
    }

    /// Redeems `points` at `at`, consuming the oldest lots first. Fails with
    /// `INVALID_ARGUMENT` (ledger unchanged) when the balance is too small.
    pub fn redeem(&mut self, points: i64, at: DateTime<Utc>, reference: &str) -> Result<Entry> {
        if points <= 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "redeemed points must be positive",
            ));
        }
        self.check_order(at)?;
        let balance = self.balance(at);
        if balance < points {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("cannot redeem {points} points: balance is {balance}"),
            ));
        }
        self.expire(at);
        let mut left = points;
        for lot in &mut self.lots {
            let take = lot.remaining.min(left);
            lot.remaining -= take;
            left -= take;
            if left == 0 {
                break;
            }
        }
        let entry = Entry {
            kind: EntryKind::Redeem,
            at,
            points: -points,
            rule: None,
            reference: Some(reference.to_string()),
            uncapped: None,
        };
        self.entries.push(entry.clone());
        Ok(entry)
    }

    /// Points earned in `(now − window, now]`.
    pub fn earned_within(&self, window: Duration, now: DateTime<Utc>) -> i64 {
        let start = now.checked_sub_signed(window.to_chrono());
        self.entries
            .iter()
            .filter(|e| e.kind == EntryKind::Earn && start.is_none_or(|s| e.at > s) && e.at <= now)
            .map(|e| e.points)
            .sum()
    }
}

/// The tier state carried between evaluations (persisted, versioned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierState {
    /// Format version.
    pub version: u32,
    /// Current tier (none: below the lowest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Since when the profile has been in `tier`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub since: Option<DateTime<Utc>>,
    /// First evaluation at which the profile no longer qualified for `tier`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub below_since: Option<DateTime<Utc>>,
}

impl Default for TierState {
    fn default() -> TierState {
        TierState {
            version: FORMAT_VERSION,
            tier: None,
            since: None,
            below_since: None,
        }
    }
}

/// A tier change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierChange {
    /// Previous tier.
    pub from: Option<String>,
    /// New tier.
    pub to: Option<String>,
    /// When.
    #[serde(with = "ts_serde")]
    pub at: DateTime<Utc>,
    /// `upgrade` or `downgrade`.
    pub kind: String,
}

/// The result of a tier evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierOutcome {
    /// The new state.
    pub state: TierState,
    /// The highest tier the profile qualifies for now.
    pub qualified: Option<String>,
    /// Points earned in the window.
    pub window_points: i64,
    /// Spend in the window.
    pub window_spend: f64,
    /// Whether the profile is in its grace period.
    pub in_grace: bool,
    /// The change made, if any.
    pub change: Option<TierChange>,
}

impl TierModel {
    /// Evaluates tiers at `now` given the previous state. An upgrade happens at
    /// once. A profile qualifying below its tier keeps it during the grace period:
    /// `below_since` is set at the first such evaluation and the downgrade (to the
    /// qualified tier) happens at the first evaluation with
    /// `now >= below_since + grace`. Qualifying again clears `below_since`.
    pub fn evaluate(
        &self,
        ledger: &Ledger,
        events: &EventLog,
        previous: &TierState,
        now: DateTime<Utc>,
    ) -> Result<TierOutcome> {
        if previous.version != FORMAT_VERSION {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("unsupported tier state version {}", previous.version),
            ));
        }
        let rank = |name: &Option<String>| -> Result<Option<usize>> {
            match name {
                None => Ok(None),
                Some(n) => self
                    .tiers
                    .iter()
                    .position(|t| &t.name == n)
                    .map(Some)
                    .ok_or_else(|| {
                        Error::new(ErrorKind::InvalidState, format!("unknown tier `{n}`"))
                            .with_path("tier")
                    }),
            }
        };
        let current = rank(&previous.tier)?;
        let start = now.checked_sub_signed(self.window.to_chrono());
        let window_points = ledger.earned_within(self.window, now);
        let window_spend: f64 = events
            .events()
            .iter()
            .filter(|e| {
                e.name == self.spend_event
                    && start.is_none_or(|s| e.timestamp > s)
                    && e.timestamp <= now
            })
            .filter_map(|e| {
                e.properties
                    .get(&self.spend_property)
                    .and_then(Value::as_f64)
            })
            .sum();
        let qualified = self.tiers.iter().rposition(|t| {
            t.min_points.is_some_and(|m| window_points >= m)
                || t.min_spend.is_some_and(|m| window_spend >= m)
        });
        let name = |i: Option<usize>| i.map(|i| self.tiers[i].name.clone());
        let mut state = previous.clone();
        let mut change = None;
        let mut in_grace = false;
        if qualified > current {
            change = Some(TierChange {
                from: previous.tier.clone(),
                to: name(qualified),
                at: now,
                kind: "upgrade".into(),
            });
            state.tier = name(qualified);
            state.since = Some(now);
            state.below_since = None;
        } else if qualified == current {
            state.below_since = None;
        } else {
            let below = previous.below_since.unwrap_or(now);
            if below
                .checked_add_signed(self.grace.to_chrono())
                .is_some_and(|end| now >= end)
            {
                change = Some(TierChange {
                    from: previous.tier.clone(),
                    to: name(qualified),
                    at: now,
                    kind: "downgrade".into(),
                });
                state.tier = name(qualified);
                state.since = Some(now);
                state.below_since = None;
            } else {
                state.below_since = Some(below);
                in_grace = true;
            }
        }
        Ok(TierOutcome {
            state,
            qualified: name(qualified),
            window_points,
            window_spend,
            in_grace,
            change,
        })
    }

    /// The benefits of `tier`.
    pub fn benefits(&self, tier: &str) -> &[String] {
        self.tiers
            .iter()
            .find(|t| t.name == tier)
            .map_or(&[], |t| t.benefits.as_slice())
    }
}

impl EngagementModel {
    /// The score at `now`: each event at or before `now` matching a weight entry
    /// adds `weight · 2^(−(now − t) / half_life)` (seconds); the sum is capped
    /// at `cap` (and floored at 0).
    ///
    /// `where` filters are applied as compiled by [`PointsModel::validate`]
    /// (in UTC; an event a filter cannot be evaluated on does not count).
    pub fn score(&self, events: &EventLog, now: DateTime<Utc>) -> f64 {
        let hl = self.half_life.seconds() as f64;
        let mut sum = 0.0;
        for e in events.events().iter().take_while(|e| e.timestamp <= now) {
            for (i, w) in self.weights.iter().enumerate() {
                let pass = || {
                    filter::passes(w.filter.as_ref(), self.compiled.get(i), e, Zone::utc())
                        .unwrap_or(false)
                };
                if w.event == e.name && pass() {
                    let age = (now - e.timestamp).num_seconds() as f64;
                    sum += w.weight * (-age / hl).exp2();
                }
            }
        }
        sum.clamp(0.0, self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;
    use std::collections::BTreeMap;

    fn schema() -> Schema {
        crate::lifecycle::default_schema()
    }

    fn ev(id: &str, name: &str, at: &str, amount: Option<f64>) -> Event {
        let mut properties = BTreeMap::new();
        if let Some(a) = amount {
            properties.insert("amount".to_string(), Value::Float(a));
        }
        Event {
            id: id.into(),
            name: name.into(),
            timestamp: parse_timestamp(at).unwrap(),
            properties,
        }
    }

    #[test]
    fn default_model_is_valid() {
        let m = PointsModel::from_json(PointsModel::default_model_json(), &schema()).unwrap();
        assert_eq!(m, PointsModel::default_model());
        assert_eq!(m.levels.len(), 5);
    }

    #[test]
    fn purchase_checkin_caps_and_fifo_expiry() {
        let m = PointsModel::default_model();
        let z = Zone::parse("Asia/Shanghai").unwrap();
        let mut l = Ledger::new();
        l.apply_event(
            &m,
            &ev("p1", "purchase", "2026-01-01T02:00:00Z", Some(129.9)),
            z,
        )
        .unwrap();
        l.apply_event(&m, &ev("c1", "check_in", "2026-01-01T03:00:00Z", None), z)
            .unwrap();
        // Same Shanghai day (UTC 15:00 = 23:00 local): capped.
        let capped = l
            .apply_event(&m, &ev("c2", "check_in", "2026-01-01T15:00:00Z", None), z)
            .unwrap();
        assert!(capped.is_empty());
        // 16:00 UTC is the next local day.
        l.apply_event(&m, &ev("c3", "check_in", "2026-01-01T16:00:00Z", None), z)
            .unwrap();
        assert_eq!(l.lifetime, 12 + 5 + 5);
        l.redeem(15, parse_timestamp("2026-02-01T00:00:00Z").unwrap(), "r1")
            .unwrap();
        // FIFO: purchase lot (12) fully used, first check-in lot 3 used.
        assert_eq!(l.lots[0].remaining, 0);
        assert_eq!(l.lots[1].remaining, 2);
        let before = l.clone();
        assert!(l
            .redeem(100, parse_timestamp("2026-02-02T00:00:00Z").unwrap(), "r2")
            .is_err());
        assert_eq!(l, before);
        let later = parse_timestamp("2027-01-01T02:00:00Z").unwrap();
        assert_eq!(l.balance(later), 2 + 5);
        l.expire(parse_timestamp("2027-01-01T16:00:00Z").unwrap());
        assert_eq!(
            l.balance(parse_timestamp("2027-01-01T16:00:00Z").unwrap()),
            0
        );
        assert_eq!(Ledger::from_json(&l.to_json()).unwrap(), l);
    }

    #[test]
    fn engagement_halves_every_half_life() {
        let m = PointsModel::default_model().engagement.unwrap();
        let log = EventLog::new(vec![ev(
            "o",
            "message_opened",
            "2026-01-01T00:00:00Z",
            None,
        )]);
        let w = m
            .weights
            .iter()
            .find(|w| w.event == "message_opened")
            .unwrap()
            .weight;
        let at = parse_timestamp("2026-01-15T00:00:00Z").unwrap();
        assert!((m.score(&log, at) - w / 2.0).abs() < 1e-12);
    }
}
