//! The reduction kernel (ADR 0013): rule sets whose event terms are all
//! decomposable reductions (`count`, `any`, `none`, `first_time`, `last_time`,
//! `sum`, `avg`, `min`, `max` in a window, with a `where` filter on the event's
//! own properties, and `*_without` streaks) are evaluated from the event rows
//! **as they are**, in one sequential pass, without grouping them per user.
//!
//! The kept rows are first partitioned (copied, in row order) into buckets of
//! consecutive users small enough for their records to stay in cache; each
//! bucket then folds its rows into a fixed-size record of accumulators per
//! user (in row order, which is each user's time order: see below), on
//! threads over contiguous bucket ranges. The bucket's terms then become
//! columns, and the rules run in the vector kernel over them and the traits
//! (ADR 0016); what the kernel cannot express runs per user through the same
//! evaluator as every other path, the aggregates and streaks answered from the
//! records ([`Source::reduced`]).
//!
//! Exactness. A window is a range of timestamps (the same bounds in whole
//! microseconds as `Ctx::window_range` on a user's sorted events). Folding in
//! row order equals the evaluator's time order when each user's rows are in
//! non-decreasing time order (checked: globally, else per user), so even float
//! sums and ties of `min`/`max` come out bit for bit. The pass reads every
//! property value any evaluation could read (the filter and property of every
//! in-window event of a term's name), so when it meets no malformed value, no
//! evaluation would; when it meets one, or a user's rows are out of time order,
//! the call falls back to grouping ([`CompiledRuleSet::evaluate_columns`]),
//! which reports the error the row path reports. Event ids (de-duplication),
//! distinct counts, `*_with` streaks, filters reading traits or other terms,
//! string `min`/`max`, and zone-dependent terms when users have zones of their
//! own are not reductions here: such sets always take the grouped path.

use super::ast::{AggFn, StreakMode, StreakUnit};
use super::calendar;
use super::columnar::{floor_micros, trait_cell, ColumnarInput};
use super::compile::CompiledRuleSet;
use super::eval::{eval, finite, Const, Ctx, EvalResult, Node, Val, WindowPlan};
use super::explain::Truth;
use super::source::{no_event_log, typed, Source};
use super::vector::TermColumns;
use crate::columnar::{
    micros_to_utc, par_map, row_ranges, Column, EventColumns, Owners, ProfileColumns, UserEvents,
};
use crate::columnar::{Bitmap, ColumnData, ValidBits};
use crate::error::{Error, ErrorKind, Result};
use crate::value::ValueType;
use crate::zone::Zone;
use chrono::{DateTime, NaiveDate, Utc};

/// Many users' profiles and their event rows, not grouped: `owners` gives the
/// user index of each event row (any index ≥ the number of users drops the row).
#[derive(Debug, Clone, Copy)]
pub struct UngroupedInput<'a> {
    /// One row per user.
    pub profiles: &'a ProfileColumns<'a>,
    /// The events (any order; time order is fastest).
    pub events: &'a EventColumns<'a>,
    /// The user of each event row.
    pub owners: Owners<'a>,
    /// The evaluation instant; nothing after it is visible.
    pub now: DateTime<Utc>,
    /// Zone for users without one of their own.
    pub default_zone: Zone,
}

impl<'a> UngroupedInput<'a> {
    /// The events grouped per user ([`EventColumns::group_threaded`]), for the
    /// computations that need them grouped ([`UngroupedInput::with_grouped`]).
    pub fn group(&self, threads: usize) -> Result<UserEvents> {
        let users = self.profiles.len();
        self.events
            .group_threaded(&self.owners.to_rows(users), users, threads)
    }

    /// The same batch over its grouped events.
    pub fn with_grouped<'b>(&'b self, grouped: &'b UserEvents) -> ColumnarInput<'b> {
        ColumnarInput {
            profiles: self.profiles,
            events: self.events,
            grouped,
            now: self.now,
            default_zone: self.default_zone,
        }
    }
}

/// What one term accumulates, and so how its record words read.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Matching events (1 word).
    Count,
    /// Whether one matched (1 word); `none` reads it negated.
    Any { negated: bool },
    /// Earliest matching timestamp (1 word, `i64::MAX` when none).
    First,
    /// Latest matching timestamp (1 word, `i64::MIN` when none).
    Last,
    /// Checked integer sum and whether it overflowed (2 words).
    SumInt,
    /// Float sum (1 word, f64 bits).
    SumFloat,
    /// Wide integer sum and count (3 words).
    AvgInt,
    /// Float sum and count (2 words).
    AvgFloat,
    /// Whether a value was seen and the best value (2 words).
    Best { min: bool, ty: ValueType },
    /// An aggregate without a property: always missing (0 words).
    Missing,
    /// `*_without`: latest matching timestamp before the current unit (1 word).
    Without { unit: StreakUnit, cur: i64 },
    /// A streak whose current unit is not representable: 0 (0 words).
    Zero,
}

impl Kind {
    fn words(self) -> usize {
        match self {
            Kind::Missing | Kind::Zero => 0,
            Kind::Count | Kind::Any { .. } | Kind::First | Kind::Last => 1,
            Kind::SumFloat | Kind::Without { .. } => 1,
            Kind::SumInt | Kind::AvgFloat | Kind::Best { .. } => 2,
            Kind::AvgInt => 3,
        }
    }

    /// Whether the term folds a property value (sum, avg, min, max).
    fn reads_value(self) -> bool {
        matches!(
            self,
            Kind::SumInt | Kind::SumFloat | Kind::AvgInt | Kind::AvgFloat | Kind::Best { .. }
        )
    }

    fn init(self) -> [u64; 3] {
        match self {
            Kind::First => [i64::MAX as u64, 0, 0],
            Kind::Last | Kind::Without { .. } => [i64::MIN as u64, 0, 0],
            _ => [0; 3],
        }
    }
}

/// One event term of the set, bound to the batch.
#[derive(Debug, Clone, Copy)]
struct Term<'p> {
    kind: Kind,
    /// First record word.
    at: usize,
    /// Inclusive timestamp bounds (µs); `lo > hi` is empty.
    lo: i64,
    hi: i64,
    filter: Option<&'p Node>,
    /// Property name, id and declared type (sum, avg, min, max).
    prop: Option<(&'p str, usize, ValueType)>,
}

/// The reduction plan of a set for one batch.
struct Plan<'p> {
    /// By term index.
    terms: Vec<Term<'p>>,
    /// Term indexes per event name code (at most 32: one pass bit each).
    by_code: Vec<Vec<usize>>,
    /// Per name code: what a kept row of that code carries besides its entry,
    /// for its value terms (sum, avg, min, max).
    side: Vec<Side<'p>>,
    /// Record words per user.
    stride: usize,
    /// Word of the user's earliest timestamp (streaks).
    first: Option<usize>,
    /// Word of the user's latest timestamp so far (order check).
    last: Option<usize>,
    /// `now` floored to whole microseconds.
    now_us: i64,
    zone: Zone,
}

/// The side word a kept row carries for the value terms of its name code.
#[derive(Debug, Clone, Copy)]
enum Side<'p> {
    /// No value term.
    Nothing,
    /// They all read one property (name, id, type): its value as a word, for
    /// a row where one of the terms with pass bits `mask` holds and the value
    /// is present.
    Value(&'p str, usize, ValueType, u32),
    /// They read several properties: the row index, for a row where one of
    /// the terms with pass bits `mask` holds (the fold reads each value).
    Row(u32),
}

impl Side<'_> {
    /// The pass bits of the terms that read a side word.
    fn mask(self) -> u32 {
        match self {
            Side::Nothing => 0,
            Side::Value(.., m) | Side::Row(m) => m,
        }
    }
}

/// Event rows as an evaluator source for filters: event `i` is row `i`.
#[derive(Clone, Copy)]
struct RowsSource<'a> {
    props: &'a [Option<&'a Column<'a>>],
}

impl<'a> Source<'a> for RowsSource<'a> {
    fn trait_value(&self, _: &str, _: usize, _: ValueType) -> EvalResult<Val<'a>> {
        Ok(Val::Missing)
    }
    fn score(&self, _: &str) -> Val<'a> {
        Val::Missing
    }
    fn has_tag(&self, _: &str, _: DateTime<Utc>) -> bool {
        false
    }
    fn has_tag_in_group(&self, _: &str, _: DateTime<Utc>) -> bool {
        false
    }
    fn has_consent(&self, _: &str, _: &str, _: DateTime<Utc>) -> bool {
        false
    }
    fn has_identity(&self, _: &str) -> bool {
        false
    }
    no_event_log!();
    #[inline]
    fn prop(&self, row: usize, _: &str, id: usize, ty: ValueType) -> EvalResult<Val<'a>> {
        // Only whether a read fails matters here (the pass then gives up).
        let fail = || Box::new(Error::new(ErrorKind::InvalidEvent, "malformed value"));
        let Some(col) = self.props[id] else {
            return Ok(Val::Missing);
        };
        let v = col.get(row).map_err(|_| fail())?;
        if v.is_missing() {
            return Ok(v);
        }
        typed(v, ty).ok_or_else(fail)
    }
}

/// One thread's users: their records, read back by [`RedSource`].
struct Reduced<'a, 'p> {
    plan: &'p Plan<'p>,
    recs: Vec<u64>,
    start: usize,
    traits: &'a [Option<&'a Column<'a>>],
    profiles: &'a ProfileColumns<'a>,
}

/// One user of a [`Reduced`] range.
#[derive(Clone, Copy)]
struct RedSource<'a> {
    r: &'a Reduced<'a, 'a>,
    user: usize,
}

impl<'a> RedSource<'a> {
    fn rec(&self) -> &'a [u64] {
        let s = self.r.plan.stride;
        let i = self.user - self.r.start;
        &self.r.recs[i * s..(i + 1) * s]
    }
}

fn ts_val(us: i64) -> Val<'static> {
    micros_to_utc(us).map_or(Val::Missing, Val::Ts)
}

fn unit_of(zone: &Zone, us: i64, unit: StreakUnit) -> i64 {
    let t = micros_to_utc(us).unwrap_or(DateTime::<Utc>::MIN_UTC);
    calendar::unit_index(calendar::local_date(zone, t), unit)
}

impl<'a> Source<'a> for RedSource<'a> {
    fn trait_value(&self, name: &str, id: usize, ty: ValueType) -> EvalResult<Val<'a>> {
        trait_cell(self.r.traits[id], self.user, name, ty)
    }
    fn score(&self, _: &str) -> Val<'a> {
        Val::Missing
    }
    fn has_tag(&self, name: &str, now: DateTime<Utc>) -> bool {
        let tags = self.r.profiles.tags(self.user);
        tags.iter().any(|t| t.name == name && t.is_live(now))
    }
    fn has_tag_in_group(&self, group: &str, now: DateTime<Utc>) -> bool {
        let tags = self.r.profiles.tags(self.user);
        tags.iter()
            .any(|t| t.group.as_deref() == Some(group) && t.is_live(now))
    }
    fn has_consent(&self, _: &str, _: &str, _: DateTime<Utc>) -> bool {
        false
    }
    fn has_identity(&self, _: &str) -> bool {
        false
    }
    // Every event term is answered by `reduced`.
    no_event_log!();
    fn prop(&self, _: usize, _: &str, _: usize, _: ValueType) -> EvalResult<Val<'a>> {
        Ok(Val::Missing)
    }

    #[inline]
    fn reduced(&self, term: usize) -> Option<Val<'a>> {
        let plan = self.r.plan;
        let t = plan.terms.get(term)?;
        let rec = self.rec();
        let w = |k: usize| rec[t.at + k];
        Some(match t.kind {
            Kind::Count => Val::Int(w(0) as i64),
            Kind::Any { negated } => Val::Bool((w(0) != 0) != negated),
            Kind::First if w(0) as i64 == i64::MAX => Val::Missing,
            Kind::Last if w(0) as i64 == i64::MIN => Val::Missing,
            Kind::First | Kind::Last => ts_val(w(0) as i64),
            Kind::SumInt if w(1) != 0 => Val::Missing,
            Kind::SumInt => Val::Int(w(0) as i64),
            Kind::SumFloat => finite(f64::from_bits(w(0))),
            Kind::AvgInt if w(2) == 0 => Val::Missing,
            Kind::AvgInt => {
                let wide = (i128::from(w(1) as i64) << 64) | i128::from(w(0));
                finite(wide as f64 / w(2) as f64)
            }
            Kind::AvgFloat if w(1) == 0 => Val::Missing,
            Kind::AvgFloat => finite(f64::from_bits(w(0)) / w(1) as f64),
            Kind::Best { .. } if w(0) == 0 => Val::Missing,
            Kind::Best { ty, .. } => match ty {
                ValueType::Integer => Val::Int(w(1) as i64),
                ValueType::Float => Val::Float(f64::from_bits(w(1))),
                ValueType::Timestamp => ts_val(w(1) as i64),
                _ => i32::try_from(w(1) as i64)
                    .ok()
                    .and_then(NaiveDate::from_num_days_from_ce_opt)
                    .map_or(Val::Missing, Val::Date),
            },
            Kind::Missing => Val::Missing,
            Kind::Zero => Val::Int(0),
            Kind::Without { unit, cur } => {
                let last = w(0) as i64;
                let first = plan.first.map_or(i64::MAX, |f| rec[f] as i64);
                Val::Int(if last != i64::MIN {
                    (cur - unit_of(&plan.zone, last, unit) - 1).max(0)
                } else if first != i64::MAX && first <= plan.now_us {
                    (cur - unit_of(&plan.zone, first, unit)).max(0)
                } else {
                    0
                })
            }
        })
    }
}

/// Whether a `where` filter reads only the event's properties, literals, `now`
/// and (when `dated` is allowed) the zone's date.
fn plain_filter(n: &Node, dated: bool) -> bool {
    match n {
        Node::And(args) | Node::Or(args) => args.iter().all(|a| plain_filter(a, dated)),
        Node::Not(a) => plain_filter(a, dated),
        Node::Call { arg, .. } => dated && plain_filter(arg, dated),
        Node::Arith { left, right, .. } | Node::Compare { left, right, .. } => {
            plain_filter(left, dated) && plain_filter(right, dated)
        }
        Node::In { expr, .. } | Node::Text { expr, .. } | Node::Exists { expr, .. } => {
            plain_filter(expr, dated)
        }
        Node::Within { expr, .. } => dated && plain_filter(expr, dated),
        Node::Between { expr, low, high } => {
            plain_filter(expr, dated) && plain_filter(low, dated) && plain_filter(high, dated)
        }
        Node::Const(_) | Node::Prop { .. } | Node::PropCompare { .. } | Node::Now => true,
        Node::Today => dated,
        Node::Trait { .. }
        | Node::Score(_)
        | Node::HasTag { .. }
        | Node::HasTagInGroup(_)
        | Node::HasConsent { .. }
        | Node::HasIdentity(_)
        | Node::Segment(_)
        | Node::Agg(_)
        | Node::Streak(_) => false,
    }
}

/// Whole microseconds at or after `t`.
fn ceil_micros(t: DateTime<Utc>) -> i128 {
    let (f, exact) = floor_micros(t);
    if exact {
        f
    } else {
        f + 1
    }
}

/// Inclusive µs bounds of a window (the events `Ctx::window_range` selects).
fn window_bounds(
    w: &WindowPlan,
    now: DateTime<Utc>,
    zone: &Zone,
    today: NaiveDate,
) -> (i128, i128) {
    let end = floor_micros(now).0;
    match *w {
        WindowPlan::All => (i128::MIN, end),
        WindowPlan::Rolling(secs) => {
            match chrono::Duration::try_seconds(secs).and_then(|d| now.checked_sub_signed(d)) {
                // count_le(start): the events after `start`.
                Some(start) => (floor_micros(start).0 + 1, end),
                None => (i128::MIN, end),
            }
        }
        WindowPlan::Calendar { unit, back, count } => {
            let cur = calendar::unit_start(today, unit);
            let back = -i64::from(back);
            let ahead = back + i64::from(count);
            let at = |d: NaiveDate| calendar::start_of(zone, d);
            let lo = calendar::shift(cur, unit, back)
                .and_then(at)
                .map_or(i128::MIN, ceil_micros);
            let hi = match calendar::shift(cur, unit, ahead).and_then(at) {
                Some(t) => (ceil_micros(t) - 1).min(end),
                None if ahead < 0 => i128::MIN,
                None => end,
            };
            (lo, hi)
        }
        WindowPlan::Range(start, stop) => (ceil_micros(start), (ceil_micros(stop) - 1).min(end)),
    }
}

/// `(lo, hi)` as `i64` (timestamps are `i64`); an empty range stays empty.
fn clamp(lo: i128, hi: i128) -> (i64, i64) {
    if lo > hi {
        return (1, 0);
    }
    let c = |x: i128| x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    (c(lo), c(hi))
}

/// Every aggregate and streak of a plan tree.
fn event_terms<'p>(n: &'p Node, out: &mut Vec<&'p Node>) {
    match n {
        Node::And(args) | Node::Or(args) => args.iter().for_each(|a| event_terms(a, out)),
        Node::Not(a) | Node::Call { arg: a, .. } => event_terms(a, out),
        Node::Arith { left, right, .. } | Node::Compare { left, right, .. } => {
            event_terms(left, out);
            event_terms(right, out);
        }
        Node::In { expr, .. }
        | Node::Text { expr, .. }
        | Node::Exists { expr, .. }
        | Node::Within { expr, .. } => event_terms(expr, out),
        Node::Between { expr, low, high } => {
            event_terms(expr, out);
            event_terms(low, out);
            event_terms(high, out);
        }
        Node::Agg(_) | Node::Streak(_) => out.push(n),
        _ => {}
    }
}

impl CompiledRuleSet {
    /// Evaluates every rule for every user of profiles and **ungrouped** event
    /// rows: `result[r][u]` as [`CompiledRuleSet::evaluate_columns`] on the
    /// same events grouped by [`EventColumns::group`] (same answers, same
    /// errors; the group's row checks included).
    ///
    /// When every event term of the set is a reduction (see
    /// [`CompiledRuleSet::reducible`]) the rows are folded per user in one pass
    /// without grouping (ADR 0013); otherwise, or when the data needs it (a
    /// malformed value, a user's rows out of time order), the events are grouped
    /// and evaluated as by `evaluate_columns`.
    pub fn evaluate_ungrouped(
        &self,
        input: &UngroupedInput<'_>,
        threads: usize,
    ) -> Result<Vec<Vec<bool>>> {
        let users = input.profiles.len();
        let threads = threads.max(1);
        if self.reducible(input.profiles, input.events) {
            input.events.check_rows(input.owners, users, threads)?;
            if let Some(flat) = self.reduce(input, threads, None)? {
                return Ok(self.by_rule(&flat));
            }
        }
        let grouped = input.group(threads)?;
        self.evaluate_columns(&input.with_grouped(&grouped), threads)
    }

    /// The kernel alone: `Some` flags as [`CompiledRuleSet::evaluate_ungrouped`]
    /// returns them when the set is reducible and the data allows it, `None`
    /// when that call would group instead (tests and benches). `bucket_shift`
    /// forces buckets of `1 << bucket_shift` users (at most 16).
    #[doc(hidden)]
    pub fn evaluate_reduced(
        &self,
        input: &UngroupedInput<'_>,
        threads: usize,
        bucket_shift: Option<u32>,
    ) -> Result<Option<Vec<Vec<bool>>>> {
        let users = input.profiles.len();
        if !self.reducible(input.profiles, input.events) {
            return Ok(None);
        }
        input
            .events
            .check_rows(input.owners, users, threads.max(1))?;
        Ok(self
            .reduce(input, threads.max(1), bucket_shift.map(|s| s.min(16)))?
            .map(|flat| self.by_rule(&flat)))
    }

    /// Whether [`CompiledRuleSet::evaluate_ungrouped`] folds these columns
    /// without grouping them (data permitting): every aggregate is `count`,
    /// `any`, `none`, `first_time`, `last_time`, `sum`, `avg`, or `min`/`max` of
    /// a number, timestamp or date, every streak is a `*_without`, every
    /// `where` filter reads only the event's properties and literals, the events
    /// have no ids, and, when some users have zones of their own, no term
    /// depends on the zone (calendar windows, streaks, dates in filters).
    pub fn reducible(&self, profiles: &ProfileColumns<'_>, events: &EventColumns<'_>) -> bool {
        // Ids need de-duplication; name codes are packed in 16 bits.
        if events.has_ids() || events.name_table_len() > 1 << 16 {
            return false;
        }
        let zoned = profiles.has_zones();
        let mut nodes = Vec::new();
        for p in self.plans() {
            event_terms(p, &mut nodes);
        }
        nodes.iter().all(|n| match n {
            Node::Agg(p) => {
                let agg_ok = match p.agg {
                    AggFn::DistinctCount => false,
                    AggFn::Min | AggFn::Max => p.prop.as_ref().is_none_or(|(_, ty)| {
                        matches!(
                            ty,
                            ValueType::Integer
                                | ValueType::Float
                                | ValueType::Timestamp
                                | ValueType::Date
                        )
                    }),
                    _ => true,
                };
                let zone_ok = !zoned || !matches!(p.window, WindowPlan::Calendar { .. });
                agg_ok && zone_ok && p.filter.as_ref().is_none_or(|f| plain_filter(f, !zoned))
            }
            Node::Streak(p) => {
                p.mode == StreakMode::Without
                    && !zoned
                    && p.filter.as_ref().is_none_or(|f| plain_filter(f, true))
            }
            _ => false,
        })
    }

    /// The reduction plan for a batch (the set is [`reducible`](Self::reducible)).
    fn reduce_plan<'p>(
        &'p self,
        events: &EventColumns<'_>,
        now: DateTime<Utc>,
        zone: Zone,
        check_order: bool,
    ) -> Plan<'p> {
        let today = calendar::local_date(&zone, now);
        let now_us = floor_micros(now)
            .0
            .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let mut nodes = Vec::new();
        for p in self.plans() {
            event_terms(p, &mut nodes);
        }
        let placeholder = Term {
            kind: Kind::Missing,
            at: 0,
            lo: 1,
            hi: 0,
            filter: None,
            prop: None,
        };
        let mut terms = vec![placeholder; self.terms()];
        let mut by_code: Vec<Vec<usize>> = vec![Vec::new(); events.name_table_len()];
        let mut stride = 0;
        let mut has_streak = false;
        for n in nodes {
            let (term, kind, event, bounds, filter, prop) = match n {
                Node::Agg(p) => {
                    let prop = p
                        .prop
                        .as_ref()
                        .map(|(name, ty)| (name.as_str(), p.prop_id, *ty));
                    let kind = match (p.agg, prop) {
                        (AggFn::Count, _) => Kind::Count,
                        (AggFn::Any, _) => Kind::Any { negated: false },
                        (AggFn::None, _) => Kind::Any { negated: true },
                        (AggFn::FirstTime, _) => Kind::First,
                        (AggFn::LastTime, _) => Kind::Last,
                        (_, None) => Kind::Missing,
                        (AggFn::Sum, Some((_, _, ValueType::Integer))) => Kind::SumInt,
                        (AggFn::Sum, _) => Kind::SumFloat,
                        (AggFn::Avg, Some((_, _, ValueType::Integer))) => Kind::AvgInt,
                        (AggFn::Avg, _) => Kind::AvgFloat,
                        (AggFn::Min, Some((_, _, ty))) => Kind::Best { min: true, ty },
                        (_, Some((_, _, ty))) => Kind::Best { min: false, ty },
                    };
                    let b = window_bounds(&p.window, now, &zone, today);
                    (p.term, kind, p.event.as_str(), b, p.filter.as_ref(), prop)
                }
                Node::Streak(p) => {
                    has_streak = true;
                    let unit = calendar::streak_calendar_unit(p.unit);
                    let (kind, b) =
                        match calendar::start_of(&zone, calendar::unit_start(today, unit)) {
                            None => (Kind::Zero, (1, 0)),
                            Some(cur_start) => (
                                Kind::Without {
                                    unit: p.unit,
                                    cur: calendar::unit_index(today, p.unit),
                                },
                                (
                                    i128::MIN,
                                    (ceil_micros(cur_start) - 1).min(floor_micros(now).0),
                                ),
                            ),
                        };
                    (p.term, kind, p.event.as_str(), b, p.filter.as_ref(), None)
                }
                _ => continue,
            };
            let (lo, hi) = clamp(bounds.0, bounds.1);
            terms[term] = Term {
                kind,
                at: stride,
                lo,
                hi,
                filter,
                prop,
            };
            stride += kind.words();
            let matches = !matches!(kind, Kind::Missing | Kind::Zero) && lo <= hi;
            if let Some(code) = events.name_code(event).filter(|_| matches) {
                if let Some(list) = by_code.get_mut(code as usize) {
                    list.push(term);
                }
            }
        }
        let side = by_code
            .iter()
            .map(|list| {
                let mut found: Option<(&str, usize, ValueType)> = None;
                let (mut mask, mut several) = (0u32, false);
                for (j, &ti) in list.iter().enumerate() {
                    let t = &terms[ti];
                    if let (true, Some((name, id, ty))) = (t.kind.reads_value(), t.prop) {
                        mask |= 1 << (j % 32);
                        match found {
                            None => found = Some((name, id, ty)),
                            Some(f) if f.1 == id => {}
                            Some(_) => several = true,
                        }
                    }
                }
                match found {
                    None => Side::Nothing,
                    Some(_) if several => Side::Row(mask),
                    Some((name, id, ty)) => Side::Value(name, id, ty, mask),
                }
            })
            .collect();
        let first = has_streak.then(|| {
            stride += 1;
            stride - 1
        });
        let last = check_order.then(|| {
            stride += 1;
            stride - 1
        });
        Plan {
            terms,
            by_code,
            side,
            stride,
            first,
            last,
            now_us,
            zone,
        }
    }

    /// The reduction (row-major flags), or `None` when the data needs the
    /// grouped path.
    fn reduce(
        &self,
        input: &UngroupedInput<'_>,
        threads: usize,
        bucket_shift: Option<u32>,
    ) -> Result<Option<Vec<bool>>> {
        let events = input.events;
        let users = input.profiles.len();
        // Rows in time order need no per-user order check (checked while
        // partitioning: the plan is rebuilt with the check if they are not).
        let mut plan = self.reduce_plan(events, input.now, input.default_zone, false);
        let read = self.read_names();
        let traits: Vec<Option<&Column<'_>>> = read
            .traits
            .iter()
            .map(|t| input.profiles.trait_column(t))
            .collect();
        let props: Vec<Option<&Column<'_>>> = read
            .props
            .iter()
            .map(|p| events.property_index(p).map(|i| events.property(i)))
            .collect();
        let today = (!input.profiles.has_zones())
            .then(|| calendar::local_date(&input.default_zone, input.now));
        if plan.by_code.iter().any(|l| l.len() > 32) {
            return Ok(None);
        }
        // One partition loop per kind of owners, each reading them inline.
        let partition = |plan: &Plan<'_>| match input.owners {
            Owners::Rows(rows) => Partition::new(
                plan,
                events,
                |row| rows[row],
                &props,
                input.now,
                users,
                threads,
                bucket_shift,
            ),
            Owners::Offset { ids, base } => Partition::new(
                plan,
                events,
                // The enum is built in place, so its match folds away.
                |row| Owners::Offset { ids, base }.get(row, users),
                &props,
                input.now,
                users,
                threads,
                bucket_shift,
            ),
        };
        let parts = match partition(&plan) {
            Ok(parts) => parts,
            Err(NoPartition::Malformed) => return Ok(None),
            Err(NoPartition::Unsorted) => {
                plan = self.reduce_plan(events, input.now, input.default_zone, true);
                match partition(&plan) {
                    Ok(parts) => parts,
                    Err(_) => return Ok(None),
                }
            }
        };
        let per_thread = row_ranges(parts.buckets(), threads);
        let results = par_map(per_thread, |buckets| {
            let mut flags = Vec::new();
            for bucket in buckets {
                let span = parts.users(bucket);
                let Some(recs) = fold(&plan, parts.bucket(bucket), span.len(), &props) else {
                    return Ok(None);
                };
                let r = Reduced {
                    plan: &plan,
                    recs,
                    start: span.start,
                    traits: &traits,
                    profiles: input.profiles,
                };
                // The bucket's terms as columns, so rules testing them run in
                // the vector kernel too.
                let data = TermData::new(&r, span.clone());
                let cols = data.columns();
                let terms = TermColumns {
                    cols: cols
                        .iter()
                        .map(|c| c.as_ref().map(|(col, ty)| (col.as_ref(), *ty)))
                        .collect(),
                    base: span.start,
                };
                let bplan = self.vector_plan_with(&traits, Some(&terms), input.now, today);
                flags.extend(self.evaluate_users(
                    input.profiles,
                    input.now,
                    input.default_zone,
                    Some(&bplan).filter(|p| p.any()),
                    span,
                    |user| RedSource { r: &r, user },
                )?);
            }
            Ok(Some(flags))
        })?;
        let mut out = Vec::with_capacity(users * self.rule_names().len());
        let mut first_err = None;
        for part in results {
            match part {
                Ok(None) => return Ok(None),
                Ok(Some(flags)) => out.extend(flags),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(Some(out)),
        }
    }
}

/// One event term's values for a bucket of users, as a column buffer.
enum TermBuf {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Ts(Vec<i64>),
    Date(Vec<i32>),
    Bool(Vec<u8>),
}

/// Each value through `pick`, a missing one as the default (a null slot);
/// `None` when a value has another type.
fn gather<T: Default>(vals: &[Val<'_>], pick: impl Fn(&Val<'_>) -> Option<T>) -> Option<Vec<T>> {
    vals.iter()
        .map(|v| {
            if v.is_missing() {
                Some(T::default())
            } else {
                pick(v)
            }
        })
        .collect()
}

/// One term's column: values, validity (`None`: all valid) and type.
struct TermValues {
    buf: TermBuf,
    validity: Option<Vec<u8>>,
    ty: ValueType,
}

/// Bits packed least significant first (Arrow's layout), and whether all are set.
fn pack(bits: impl Iterator<Item = bool>, n: usize) -> (Vec<u8>, bool) {
    let mut out = vec![0u8; n.div_ceil(8)];
    let mut all = true;
    for (i, b) in bits.enumerate() {
        out[i / 8] |= u8::from(b) << (i % 8);
        all &= b;
    }
    (out, all)
}

/// The event terms of one bucket's users as column buffers (see
/// [`TermColumns`]): each value is the one [`RedSource::reduced`] gives, a
/// missing value a null.
struct TermData {
    /// Per term: values, validity (`None`: all valid) and type; `None` for a
    /// term left to the row evaluator.
    terms: Vec<Option<TermValues>>,
    n: usize,
}

impl TermData {
    fn new(r: &Reduced<'_, '_>, span: std::ops::Range<usize>) -> TermData {
        let plan = r.plan;
        let n = span.len();
        let stride = plan.stride;
        let word = |u: usize, at: usize| r.recs[u * stride + at];
        let valid = |bits: Vec<bool>| {
            let (v, all) = pack(bits.into_iter(), n);
            (!all).then_some(v)
        };
        let terms = plan
            .terms
            .iter()
            .enumerate()
            .map(|(ti, t)| {
                let at = t.at;
                let (buf, validity, ty) = match t.kind {
                    Kind::Count => (
                        TermBuf::Int((0..n).map(|u| word(u, at) as i64).collect()),
                        None,
                        ValueType::Integer,
                    ),
                    Kind::Zero => (TermBuf::Int(vec![0; n]), None, ValueType::Integer),
                    Kind::Any { negated } => (
                        TermBuf::Bool(pack((0..n).map(|u| (word(u, at) != 0) != negated), n).0),
                        None,
                        ValueType::Boolean,
                    ),
                    Kind::First | Kind::Last => {
                        let range = crate::columnar::micros_range();
                        let v: Vec<i64> = (0..n).map(|u| word(u, at) as i64).collect();
                        let ok = v.iter().map(|x| range.contains(x)).collect();
                        (TermBuf::Ts(v), valid(ok), ValueType::Timestamp)
                    }
                    Kind::SumInt => (
                        TermBuf::Int((0..n).map(|u| word(u, at) as i64).collect()),
                        valid((0..n).map(|u| word(u, at + 1) == 0).collect()),
                        ValueType::Integer,
                    ),
                    Kind::SumFloat => {
                        let v: Vec<f64> = (0..n).map(|u| f64::from_bits(word(u, at))).collect();
                        let ok = v.iter().map(|x| x.is_finite()).collect();
                        (TermBuf::Float(v), valid(ok), ValueType::Float)
                    }
                    Kind::Missing => return None,
                    Kind::AvgInt | Kind::AvgFloat | Kind::Best { .. } | Kind::Without { .. } => {
                        let ty = match t.kind {
                            Kind::Best { ty, .. } => ty,
                            Kind::Without { .. } => ValueType::Integer,
                            _ => ValueType::Float,
                        };
                        let vals: Vec<Val<'_>> = span
                            .clone()
                            .map(|user| RedSource { r, user }.reduced(ti).unwrap_or(Val::Missing))
                            .collect();
                        let ok = vals.iter().map(|v| !v.is_missing()).collect();
                        let buf = match ty {
                            ValueType::Integer => TermBuf::Int(gather(&vals, |v| match v {
                                Val::Int(i) => Some(*i),
                                _ => None,
                            })?),
                            ValueType::Float => TermBuf::Float(gather(&vals, |v| match v {
                                Val::Float(f) => Some(*f),
                                _ => None,
                            })?),
                            ValueType::Timestamp => TermBuf::Ts(gather(&vals, |v| match v {
                                Val::Ts(t) => Some(t.timestamp_micros()),
                                _ => None,
                            })?),
                            ValueType::Date => {
                                let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
                                TermBuf::Date(gather(&vals, |v| match v {
                                    Val::Date(d) => i32::try_from((*d - epoch).num_days()).ok(),
                                    _ => None,
                                })?)
                            }
                            _ => return None,
                        };
                        (buf, valid(ok), ty)
                    }
                };
                Some(TermValues { buf, validity, ty })
            })
            .collect();
        TermData { terms, n }
    }

    /// The columns over the buffers (a term whose column cannot be built is
    /// left to the row evaluator).
    fn columns(&self) -> Vec<Option<(Option<Column<'_>>, ValueType)>> {
        self.terms
            .iter()
            .map(|t| {
                let TermValues { buf, validity, ty } = t.as_ref()?;
                let data = match buf {
                    TermBuf::Int(v) => ColumnData::Integer(v),
                    TermBuf::Float(v) => ColumnData::Float(v),
                    TermBuf::Ts(v) => ColumnData::TimestampMicros(v),
                    TermBuf::Date(v) => ColumnData::Date32(v),
                    TermBuf::Bool(v) => ColumnData::Boolean(Bitmap::new(v, 0, self.n).ok()?),
                };
                let validity = match validity {
                    Some(v) => Some(Bitmap::new(v, 0, self.n).ok()?),
                    None => None,
                };
                Some((Some(Column::new(data, validity).ok()?), *ty))
            })
            .collect()
    }
}

/// A test of one string value.
type StrTest<'f> = Box<dyn Fn(&str) -> bool + 'f>;

/// A `where` filter that is one string test of a dictionary-encoded property
/// (`p = "x"`, `p != "x"`, `p < "x"` …, `p in [...]`, `p not in [...]`),
/// decided once per dictionary value: the row test is then a key lookup, with
/// the evaluator's answers (a null or missing value does not pass; a key
/// outside the dictionary is a malformed value).
#[derive(Clone)]
struct DictFilter<'c> {
    keys: &'c [i32],
    valid: ValidBits<'c>,
    /// Whether each dictionary value passes, then `false` (what a key
    /// outside the dictionary reads).
    table: Vec<bool>,
}

impl<'c> DictFilter<'c> {
    fn new(filter: Option<&Node>, props: &[Option<&'c Column<'c>>]) -> Option<DictFilter<'c>> {
        let (id, test): (usize, StrTest<'_>) = match filter? {
            Node::PropCompare {
                id,
                ty: ValueType::String,
                cmp,
                value: Const::Str(v),
                ..
            } => (*id, Box::new(move |s: &str| cmp.holds(s.cmp(v.as_str())))),
            Node::In {
                expr,
                values,
                negated,
            } => {
                let Node::Prop {
                    id,
                    ty: ValueType::String,
                    ..
                } = expr.as_ref()
                else {
                    return None;
                };
                let strs: Vec<&str> = values
                    .iter()
                    .map(|c| match c {
                        Const::Str(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                (*id, Box::new(move |s: &str| strs.contains(&s) != *negated))
            }
            _ => return None,
        };
        let column = (*props.get(id)?)?;
        let ColumnData::Dictionary { keys, values } = column.data() else {
            return None;
        };
        let table = values
            .iter()
            .map(|v| v.is_some_and(&test))
            .chain([false])
            .collect();
        Some(DictFilter {
            keys,
            valid: column.valid_bits(),
            table,
        })
    }

    /// A test that never holds, over `keys` (any column as long as the rows).
    fn never(keys: &'c [i32]) -> DictFilter<'c> {
        DictFilter {
            keys,
            valid: ValidBits::all(),
            table: vec![false],
        }
    }

    /// Whether row `row` passes, and whether its key is outside the
    /// dictionary (a malformed value when the row holds one), without a branch.
    #[inline(always)]
    fn verdict(&self, row: usize) -> (bool, bool) {
        let n = self.table.len() - 1;
        let key = self.keys[row] as u32 as usize;
        let valid = self.valid.get(row);
        (valid & self.table[key.min(n)], valid & (key >= n))
    }

    /// Whether row `row` passes; `None` for a key outside the dictionary.
    #[inline]
    fn test(&self, row: usize) -> Option<bool> {
        match self.verdict(row) {
            (_, true) => None,
            (holds, false) => Some(holds),
        }
    }
}

/// How the row loop finds the pass bits of one name code's rows.
#[derive(Clone, Copy)]
struct CodeWay {
    /// Through [`row_pass`]: several filters, a filter that is not one
    /// dictionary test, several value properties, or a value read through
    /// the evaluator.
    slow: bool,
    /// Otherwise its filter (0: one that never holds).
    test: usize,
    /// Pass bits of its value terms (read by [`FastValue`]).
    vmask: u32,
}

/// The [`CodeWay`] of each code of the plan and, last, of codes without
/// terms, with the filters they use.
fn code_ways<'c>(
    plan: &Plan<'_>,
    fast: &'c [Option<DictFilter<'c>>],
    values: &[Option<FastValue<'_>>],
    names: &'c [i32],
) -> (Vec<CodeWay>, Vec<DictFilter<'c>>) {
    // Test 0 reads the name codes, which are always there, and never holds.
    let mut tests = vec![DictFilter::never(names)];
    let plain = CodeWay {
        slow: false,
        test: 0,
        vmask: 0,
    };
    let mut ways = Vec::with_capacity(plan.by_code.len() + 1);
    for (code, list) in plan.by_code.iter().enumerate() {
        let mut way = plain;
        let mut filtered = list.iter().filter(|&&ti| plan.terms[ti].filter.is_some());
        match (filtered.next(), filtered.next()) {
            (None, _) => {}
            (Some(&ti), None) => match &fast[ti] {
                Some(d) => {
                    tests.push(d.clone());
                    way.test = tests.len() - 1;
                }
                None => way.slow = true,
            },
            _ => way.slow = true,
        }
        match plan.side[code] {
            Side::Nothing => {}
            Side::Value(..) if values[code].is_some() => way.vmask = plan.side[code].mask(),
            _ => way.slow = true,
        }
        ways.push(way);
    }
    ways.push(plain);
    (ways, tests)
}

/// A property value as a record word (the declared type says how to read it).
fn to_word(v: &Val<'_>) -> Option<u64> {
    Some(match v {
        Val::Int(i) => *i as u64,
        Val::Float(f) => f.to_bits(),
        Val::Ts(t) => t.timestamp_micros() as u64,
        Val::Date(d) => i64::from(chrono::Datelike::num_days_from_ce(d)) as u64,
        _ => return None,
    })
}

/// A code's shared value property read straight from its column when it is
/// a float or integer column of its declared type (the common case): the
/// same word and the same verdicts as reading it through the evaluator.
#[derive(Clone, Copy)]
enum FastValue<'c> {
    Float(&'c [f64], &'c Column<'c>),
    Int(&'c [i64], &'c Column<'c>),
}

impl FastValue<'_> {
    fn new<'c>(side: Side<'_>, props: &[Option<&'c Column<'c>>]) -> Option<FastValue<'c>> {
        let Side::Value(_, id, ty, _) = side else {
            return None;
        };
        let col = (*props.get(id)?)?;
        match (col.data(), ty) {
            (ColumnData::Float(v), ValueType::Float) => Some(FastValue::Float(v, col)),
            (ColumnData::Integer(v), ValueType::Integer) => Some(FastValue::Int(v, col)),
            _ => None,
        }
    }

    /// A row's pass bits and side word once its value is read (`mask`: the
    /// bits of the terms reading it): a missing value is skipped, as by
    /// `aggregate`, clearing them; `None` for a malformed value.
    #[inline(always)]
    fn side(self, row: usize, pass: u32, mask: u32) -> Option<(u32, Option<u64>)> {
        match self.word(row) {
            Ok(Some(w)) => Some((pass, Some(w))),
            Ok(None) => Some((pass & !mask, None)),
            Err(()) => None,
        }
    }

    /// `Ok(None)` for a missing value, `Err` for a malformed one.
    #[inline(always)]
    fn word(self, row: usize) -> Result<Option<u64>, ()> {
        match self {
            FastValue::Float(v, col) if col.is_valid(row) => {
                let f = v[row];
                if f.is_finite() {
                    Ok(Some(f.to_bits()))
                } else {
                    Err(())
                }
            }
            FastValue::Int(v, col) if col.is_valid(row) => Ok(Some(v[row] as u64)),
            _ => Ok(None),
        }
    }
}

/// The plan's windows cut time into stretches between their bounds; within
/// one stretch every term's window verdict is the same. Per stretch and name
/// code: the pass bits of the terms whose window holds it, those without a
/// filter apart (they hold every row of the code there). Each stretch has one
/// more code slot, all zero, for codes without terms.
struct Stretches {
    /// Where each stretch after the first begins (sorted, distinct).
    starts: Vec<i64>,
    /// Slots per stretch: the plan's codes and one.
    codes: usize,
    /// `[stretch * codes + code]`: in-window terms without a filter.
    plain: Vec<u32>,
    /// `[stretch * codes + code]`: in-window terms with a filter.
    filtered: Vec<u32>,
}

/// One stretch: its inclusive bounds and its offset in the tables.
#[derive(Clone, Copy)]
struct Stretch {
    lo: i64,
    hi: i64,
    at: usize,
}

impl Stretches {
    fn new(plan: &Plan<'_>) -> Stretches {
        let mut starts: Vec<i64> = plan
            .terms
            .iter()
            .filter(|t| t.lo <= t.hi)
            .flat_map(|t| [Some(t.lo), t.hi.checked_add(1)])
            .flatten()
            .filter(|&b| b > i64::MIN)
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let codes = plan.by_code.len() + 1;
        let mut plain = Vec::with_capacity((starts.len() + 1) * codes);
        let mut filtered = Vec::with_capacity((starts.len() + 1) * codes);
        for k in 0..=starts.len() {
            // Any instant of the stretch decides: its first.
            let t = if k == 0 { i64::MIN } else { starts[k - 1] };
            for list in &plan.by_code {
                let (mut p, mut f) = (0u32, 0u32);
                for (j, &ti) in list.iter().enumerate() {
                    let term = &plan.terms[ti];
                    if term.lo <= t && t <= term.hi {
                        if term.filter.is_some() {
                            f |= 1 << j;
                        } else {
                            p |= 1 << j;
                        }
                    }
                }
                plain.push(p);
                filtered.push(f);
            }
            plain.push(0);
            filtered.push(0);
        }
        Stretches {
            starts,
            codes,
            plain,
            filtered,
        }
    }

    /// The stretch holding `t`.
    fn find(&self, t: i64) -> Stretch {
        let k = self.starts.partition_point(|&b| b <= t);
        Stretch {
            lo: if k == 0 { i64::MIN } else { self.starts[k - 1] },
            hi: self.starts.get(k).map_or(i64::MAX, |&b| b - 1),
            at: k * self.codes,
        }
    }
}

/// The pass bits of `row` (name code `code`, its time in the stretch whose
/// tables start at `at`) and its side word ([`Side`]); `None` when a value the evaluator could read is
/// malformed. Each filter of a term whose window holds the row is tested, in
/// term order, as the evaluator would.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn row_pass<'a>(
    plan: &Plan<'a>,
    stretches: &Stretches,
    at: usize,
    cx: &Ctx<'a, '_, RowsSource<'a>>,
    fast: &[Option<DictFilter<'_>>],
    values: &[Option<FastValue<'_>>],
    code: usize,
    row: usize,
) -> Option<(u32, Option<u64>)> {
    if code >= plan.by_code.len() {
        return Some((0, None));
    }
    let mut pass = stretches.plain[at + code];
    let mut filtered = stretches.filtered[at + code];
    if filtered != 0 {
        let list = &plan.by_code[code];
        while filtered != 0 {
            let j = filtered.trailing_zeros() as usize;
            filtered &= filtered - 1;
            let ti = list[j];
            let holds = match (&fast[ti], plan.terms[ti].filter) {
                (Some(d), _) => d.test(row)?,
                (None, Some(f)) => match eval(f, cx, Some(row)) {
                    Ok(v) => v.truth() == Truth::True,
                    Err(_) => return None,
                },
                (None, None) => true,
            };
            pass |= u32::from(holds) << j;
        }
    }
    if pass == 0 {
        return Some((0, None));
    }
    row_side(plan, cx, values, code, row, pass)
}

/// The side word of a row with pass bits `pass` ([`Side`]), and its pass bits
/// without the value terms when the value is missing.
#[inline(always)]
fn row_side<'a>(
    plan: &Plan<'a>,
    cx: &Ctx<'a, '_, RowsSource<'a>>,
    values: &[Option<FastValue<'_>>],
    code: usize,
    row: usize,
    mut pass: u32,
) -> Option<(u32, Option<u64>)> {
    let side = match plan.side[code] {
        Side::Value(name, id, ty, mask) if pass & mask != 0 => {
            if let Some(v) = values[code] {
                return v.side(row, pass, mask);
            }
            match cx.src.prop(row, name, id, ty).ok()? {
                // A missing value is skipped, as by `aggregate`.
                Val::Missing => {
                    pass &= !mask;
                    None
                }
                v => Some(to_word(&v)?),
            }
        }
        Side::Row(mask) if pass & mask != 0 => Some(row as u64),
        _ => None,
    };
    Some((pass, side))
}

/// One kept event row, copied into its bucket of users with what the fold
/// needs from it (read in row order, so the columns are read sequentially).
/// A row whose pass bits meet its code's [`Side::mask`] also has one word in
/// its bucket's side words, in the same order.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    ts: i64,
    /// The user's index within its bucket (high 16 bits) and the name code.
    key: u32,
    /// Bit `j`: term `by_code[code][j]` holds the row (window and filter; and
    /// for a term reading a shared value property, a value present).
    pass: u32,
}

/// One bucket's kept rows from one range of rows.
#[derive(Default)]
struct Bucket {
    entries: Vec<Entry>,
    /// The side words of the entries that have one, in entry order.
    side: Vec<u64>,
}

/// Why [`Partition::new`] gave up.
enum NoPartition {
    /// A value the evaluator could read is malformed (the grouped path reports it).
    Malformed,
    /// The rows are not in time order and the plan does not check each user's order.
    Unsorted,
}

/// The kept rows partitioned into buckets of `1 << shift` consecutive users,
/// each bucket in row order, so a bucket's records stay in cache while its
/// rows are folded (random access over every user's record is what grouping
/// and a plain pass both pay for). A row is kept when some term holds it, or
/// when a record word needs it: the order check needs every row, a streak's
/// first event only each user's first row in time order.
struct Partition {
    shift: u32,
    users: usize,
    buckets: usize,
    /// `parts[t][b]`: bucket `b`'s rows from the `t`-th range of rows.
    parts: Vec<Vec<Bucket>>,
}

/// Rows of a range sampled to size the buckets (one in `SAMPLE`, in runs of
/// `RUN` consecutive rows).
const SAMPLE: usize = 97;
const RUN: usize = 64;

/// Entries staged per bucket before they are appended together.
const STAGE: usize = 16;

impl Partition {
    /// Partitions the kept rows on up to `threads` threads. Without the plan's
    /// order check ([`Plan::last`]) the rows must be in time order (checked
    /// here: [`NoPartition::Unsorted`] otherwise).
    #[allow(clippy::too_many_arguments)]
    fn new<'a>(
        plan: &Plan<'a>,
        events: &EventColumns<'_>,
        owner: impl Fn(usize) -> u32 + Sync,
        props: &'a [Option<&'a Column<'a>>],
        now: DateTime<Utc>,
        users: usize,
        threads: usize,
        shift: Option<u32>,
    ) -> std::result::Result<Partition, NoPartition> {
        // Records of one bucket within ~1 MB (L2/L3), at most 2^16 users.
        let bytes = (plan.stride.max(1) * 8) as u64;
        let shift = shift.unwrap_or_else(|| {
            (6..=16u32)
                .rev()
                .find(|&k| (1u64 << k) * bytes <= 1 << 20)
                .unwrap_or(6)
        });
        let buckets = users.div_ceil(1 << shift);
        let ts = events.timestamps();
        let names = events.names();
        let every_row = plan.last.is_some();
        let first_row = plan.first.is_some() && !every_row;
        let mask = (1u32 << shift) - 1;
        let fast: Vec<Option<DictFilter<'_>>> = plan
            .terms
            .iter()
            .map(|t| DictFilter::new(t.filter, props))
            .collect();
        let fast = &fast;
        let values: Vec<Option<FastValue<'_>>> = plan
            .side
            .iter()
            .map(|&side| FastValue::new(side, props))
            .collect();
        let values = &values;
        let stretches = &Stretches::new(plan);
        let (ways, tests) = code_ways(plan, fast, values, names);
        let (ways, tests) = (&ways, &tests);
        let codes = plan.by_code.len();
        let ranges = row_ranges(events.len(), threads);
        // Ranges meet in time order (each range checks its own rows).
        if !every_row
            && ranges
                .iter()
                .any(|r| r.start > 0 && ts[r.start - 1] > ts[r.start])
        {
            return Err(NoPartition::Unsorted);
        }
        let parts = par_map(ranges, |rows| {
            let no_memo: [std::cell::Cell<Truth>; 0] = [];
            let cx = Ctx::new(RowsSource { props }, now, plan.zone, &no_memo, 0);
            let pass_of = |row: usize| {
                let code = names[row] as u32 & 0xFFFF;
                let at = stretches.find(ts[row]).at;
                row_pass(plan, stretches, at, &cx, fast, values, code as usize, row)
            };
            // Reserve what a sample says the buckets will hold (unwritten
            // capacity costs address space only), so they rarely grow.
            let (mut sampled, mut hits) = (0usize, 0usize);
            // Runs of rows, read sequentially, one in `SAMPLE`.
            let sample = rows
                .clone()
                .step_by(SAMPLE * RUN)
                .flat_map(|start| start..(start + RUN).min(rows.end));
            for row in sample {
                if (owner(row) as usize) < users {
                    sampled += 1;
                    hits += usize::from(pass_of(row).is_some_and(|(p, _)| p != 0));
                }
            }
            let share = if every_row || sampled == 0 {
                1.0
            } else {
                (hits as f64 / sampled as f64 * 1.25 + 0.01).min(1.0)
            };
            let per = (rows.len() as f64 * share / buckets.max(1) as f64) as usize + 64;
            let firsts = if first_row { 1usize << shift } else { 0 };
            let mut out: Vec<Bucket> = (0..buckets)
                .map(|_| Bucket {
                    entries: Vec::with_capacity(per + firsts.min(rows.len())),
                    side: Vec::new(),
                })
                .collect();
            // Users this range has met a row of (the streaks' first events).
            let mut seen = vec![0u64; users.div_ceil(64)];
            // Each bucket's next entries, staged in a small buffer that stays
            // in cache. Every row is written to its bucket's next slot, which
            // only a kept row claims: which rows are kept is as unpredictable
            // as the event names, and a branch on it costs more than the write.
            let mut stage = vec![Entry::default(); buckets * STAGE];
            let mut staged = vec![0usize; buckets];
            // A malformed key under a filter that reads it (reported after
            // the loop, which has no branch for it).
            let mut bad = false;
            let mut prev = i64::MIN;
            // The stretch of the latest row: rows in time order change it a
            // few times in all.
            let mut at = stretches.find(i64::MIN);
            for row in rows {
                let t = ts[row];
                if t < prev && !every_row {
                    return Err(NoPartition::Unsorted);
                }
                prev = t;
                let o = owner(row);
                if (o as usize) >= users {
                    continue;
                }
                if t < at.lo || t > at.hi {
                    at = stretches.find(t);
                }
                let code = names[row] as u32 & 0xFFFF;
                let c = (code as usize).min(codes);
                let way = ways[c];
                let (pass, side) = if way.slow {
                    row_pass(plan, stretches, at.at, &cx, fast, values, c, row)
                        .ok_or(NoPartition::Malformed)?
                } else {
                    // The same bits as `row_pass`, without a branch on the
                    // filter's verdict.
                    let fbit = stretches.filtered[at.at + c];
                    let (holds, malformed) = tests[way.test].verdict(row);
                    bad |= (fbit != 0) & malformed;
                    let pass =
                        stretches.plain[at.at + c] | (fbit & u32::from(holds).wrapping_neg());
                    match values[c] {
                        Some(v) if pass & way.vmask != 0 => {
                            v.side(row, pass, way.vmask).ok_or(NoPartition::Malformed)?
                        }
                        _ => (pass, None),
                    }
                };
                let (w, bit) = ((o / 64) as usize, 1u64 << (o % 64));
                let first = seen[w] & bit == 0;
                seen[w] |= bit;
                let keep = (pass != 0) | every_row | (first_row & first);
                let b = (o >> shift) as usize;
                let n = staged[b];
                stage[b * STAGE + n] = Entry {
                    ts: t,
                    key: ((o & mask) << 16) | code,
                    pass,
                };
                // A side word comes with a kept row only.
                if let Some(w) = side {
                    out[b].side.push(w);
                }
                let n = n + usize::from(keep);
                staged[b] = if n == STAGE {
                    out[b]
                        .entries
                        .extend_from_slice(&stage[b * STAGE..(b + 1) * STAGE]);
                    0
                } else {
                    n
                };
            }
            if bad {
                return Err(NoPartition::Malformed);
            }
            for (b, bucket) in out.iter_mut().enumerate() {
                bucket
                    .entries
                    .extend_from_slice(&stage[b * STAGE..b * STAGE + staged[b]]);
            }
            Ok(out)
        })
        .map_err(|_| NoPartition::Malformed)?;
        let parts = parts
            .into_iter()
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Partition {
            shift,
            users,
            buckets,
            parts,
        })
    }

    fn buckets(&self) -> usize {
        self.buckets
    }

    fn users(&self, b: usize) -> std::ops::Range<usize> {
        let start = b << self.shift;
        start..((b + 1) << self.shift).min(self.users)
    }

    /// Bucket `b`'s rows from each range, in row order.
    fn bucket(&self, b: usize) -> impl Iterator<Item = &Bucket> {
        self.parts.iter().map(move |p| &p[b])
    }
}

/// Folds one bucket's rows into the records of its `users` users; `None` when
/// a value the evaluator could read is malformed or a user's rows are out of
/// time order.
fn fold<'e>(
    plan: &Plan<'_>,
    parts: impl Iterator<Item = &'e Bucket>,
    users: usize,
    props: &[Option<&Column<'_>>],
) -> Option<Vec<u64>> {
    let stride = plan.stride;
    // Every record starts as this one.
    let mut empty = Vec::with_capacity(stride);
    for t in &plan.terms {
        empty.extend_from_slice(&t.kind.init()[..t.kind.words()]);
    }
    if plan.first.is_some() {
        empty.push(i64::MAX as u64);
    }
    if plan.last.is_some() {
        empty.push(i64::MIN as u64);
    }
    let mut recs = Vec::with_capacity(users * stride);
    for _ in 0..users {
        recs.extend_from_slice(&empty);
    }
    let src = RowsSource { props };
    for part in parts {
        let mut side = part.side.iter();
        for e in &part.entries {
            let (t, pass) = (e.ts, e.pass);
            let (d, code) = ((e.key >> 16) as usize, (e.key & 0xFFFF) as usize);
            let rec = &mut recs[d * stride..(d + 1) * stride];
            if let Some(l) = plan.last {
                if t < rec[l] as i64 {
                    return None;
                }
                rec[l] = t as u64;
            }
            if let Some(f) = plan.first {
                rec[f] = (rec[f] as i64).min(t) as u64;
            }
            if pass == 0 {
                continue;
            }
            let list = &plan.by_code[code];
            let shape = plan.side[code];
            let word = if pass & shape.mask() != 0 {
                side.next().copied()
            } else {
                None
            };
            let mut bits = pass;
            while bits != 0 {
                let j = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let term = &plan.terms[list[j]];
                // The term's words (and the record's later ones).
                let w = &mut rec[term.at..];
                match term.kind {
                    Kind::Count => w[0] += 1,
                    Kind::Any { .. } => w[0] = 1,
                    Kind::First => w[0] = (w[0] as i64).min(t) as u64,
                    Kind::Last | Kind::Without { .. } => w[0] = (w[0] as i64).max(t) as u64,
                    Kind::Missing | Kind::Zero => {}
                    _ => {
                        let v = match shape {
                            Side::Value(..) => word?,
                            // Several value properties for this event: read this one.
                            _ => {
                                let (name, id, ty) = term.prop?;
                                match src.prop(word? as usize, name, id, ty).ok()? {
                                    Val::Missing => continue,
                                    v => to_word(&v)?,
                                }
                            }
                        };
                        fold_value(term.kind, w, v);
                    }
                }
            }
        }
    }
    Some(recs)
}

/// Folds one property value (a word, read as the term's type) into a
/// sum/avg/min/max record, in time order.
#[inline]
fn fold_value(kind: Kind, w: &mut [u64], v: u64) {
    match kind {
        // Once overflowed, the sum stays missing.
        Kind::SumInt if w[1] == 0 => match (w[0] as i64).checked_add(v as i64) {
            Some(s) => w[0] = s as u64,
            None => w[1] = 1,
        },
        Kind::SumFloat => w[0] = (f64::from_bits(w[0]) + f64::from_bits(v)).to_bits(),
        Kind::AvgInt => {
            let wide = ((i128::from(w[1] as i64) << 64) | i128::from(w[0])) + i128::from(v as i64);
            w[0] = wide as u64;
            w[1] = (wide >> 64) as u64;
            w[2] += 1;
        }
        Kind::AvgFloat => {
            w[0] = (f64::from_bits(w[0]) + f64::from_bits(v)).to_bits();
            w[1] += 1;
        }
        Kind::Best { min, ty } => {
            // The first value wins ties, as in the evaluator.
            let o = if ty == ValueType::Float {
                f64::from_bits(v)
                    .partial_cmp(&f64::from_bits(w[1]))
                    .unwrap_or(std::cmp::Ordering::Equal)
            } else {
                (v as i64).cmp(&(w[1] as i64))
            };
            let wins = w[0] == 0
                || if min {
                    o == std::cmp::Ordering::Less
                } else {
                    o == std::cmp::Ordering::Greater
                };
            if wins {
                w[0] = 1;
                w[1] = v;
            }
        }
        _ => {}
    }
}
