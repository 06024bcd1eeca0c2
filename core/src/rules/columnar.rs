//! Evaluation of a compiled rule set over columnar input
//! ([`crate::columnar`]): the same plans and the same evaluator as the row path,
//! reading values straight from the columns through [`Source`], so no
//! `Profile` or `Event` is ever built. Names are bound to columns once per call.

use super::compile::CompiledRuleSet;
use super::eval::{Ctx, EvalResult, Val};
use super::explain::Truth;
use super::source::{typed, Source};
use super::vector::{VectorPlan, BLOCK};
use crate::columnar::{micros_to_utc, Column, EventColumns, ProfileColumns, UserEvents};
use crate::error::{Error, ErrorKind, Result};
use crate::value::ValueType;
use crate::zone::Zone;
use chrono::{DateTime, Utc};
use std::cell::Cell;

/// Many users' profiles and events as columns, ready to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct ColumnarInput<'a> {
    /// One row per user.
    pub profiles: &'a ProfileColumns<'a>,
    /// The events (any order).
    pub events: &'a EventColumns<'a>,
    /// The events grouped per user ([`EventColumns::group`] of `events`).
    pub grouped: &'a UserEvents,
    /// The evaluation instant; nothing after it is visible.
    pub now: DateTime<Utc>,
    /// Zone for users without one of their own.
    pub default_zone: Zone,
}

/// The columns each name of the compiled set reads.
struct Bound<'a> {
    input: ColumnarInput<'a>,
    traits: Vec<Option<&'a Column<'a>>>,
    events: Vec<Option<i32>>,
    props: Vec<Option<&'a Column<'a>>>,
}

/// One user of a bound batch.
#[derive(Clone, Copy)]
struct ColSource<'a> {
    b: &'a Bound<'a>,
    user: usize,
    /// First group position of the user's events.
    lo: usize,
    len: usize,
}

fn bad_value(kind: ErrorKind, path: String, msg: String) -> Box<Error> {
    Box::new(Error::new(kind, msg).with_path(path))
}

/// `t` in whole microseconds, rounded down, and whether that is exact.
pub(super) fn floor_micros(t: DateTime<Utc>) -> (i128, bool) {
    // A leap second (nanos >= 1e9) sorts after every instant of its second.
    let nanos = t.timestamp_subsec_nanos();
    let capped = nanos.min(999_999_999);
    (
        i128::from(t.timestamp()) * 1_000_000 + i128::from(capped / 1000),
        nanos == capped && nanos % 1000 == 0,
    )
}

/// User `user`'s value of trait `name` in its column (if any), typed as declared.
#[inline]
pub(super) fn trait_cell<'a>(
    col: Option<&'a Column<'a>>,
    user: usize,
    name: &str,
    ty: ValueType,
) -> EvalResult<Val<'a>> {
    let Some(col) = col else {
        return Ok(Val::Missing);
    };
    let path = || format!("traits.{name}");
    let v = col
        .get(user)
        .map_err(|m| bad_value(ErrorKind::InvalidProfile, path(), m))?;
    if v.is_missing() {
        return Ok(v);
    }
    let held = col.value_type();
    typed(v, ty).ok_or_else(|| {
        bad_value(
            ErrorKind::InvalidProfile,
            path(),
            format!("trait `{name}` is declared {ty} but the profile holds a {held} value"),
        )
    })
}

impl<'a> ColSource<'a> {
    fn micros(&self) -> &'a [i64] {
        &self.b.input.grouped.ts[self.lo..self.lo + self.len]
    }
}

impl<'a> Source<'a> for ColSource<'a> {
    fn trait_value(&self, name: &str, id: usize, ty: ValueType) -> EvalResult<Val<'a>> {
        trait_cell(self.b.traits[id], self.user, name, ty)
    }

    fn score(&self, _: &str) -> Val<'a> {
        Val::Missing
    }

    fn has_tag(&self, name: &str, now: DateTime<Utc>) -> bool {
        let tags = self.b.input.profiles.tags(self.user);
        tags.iter().any(|t| t.name == name && t.is_live(now))
    }

    fn has_tag_in_group(&self, group: &str, now: DateTime<Utc>) -> bool {
        let tags = self.b.input.profiles.tags(self.user);
        tags.iter()
            .any(|t| t.group.as_deref() == Some(group) && t.is_live(now))
    }

    fn has_consent(&self, _: &str, _: &str, _: DateTime<Utc>) -> bool {
        false
    }

    fn has_identity(&self, _: &str) -> bool {
        false
    }

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn ts(&self, i: usize) -> DateTime<Utc> {
        // Every timestamp was range-checked by `EventColumns::group`.
        micros_to_utc(self.b.input.grouped.ts[self.lo + i]).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn count_lt(&self, t: DateTime<Utc>) -> usize {
        // Whole microseconds x: x < t  <=>  x < ceil_us(t).
        let (floor, exact) = floor_micros(t);
        let bound = if exact { floor } else { floor + 1 };
        self.micros().partition_point(|&x| i128::from(x) < bound)
    }

    fn count_le(&self, t: DateTime<Utc>) -> usize {
        // x <= t  <=>  x <= floor_us(t).
        let (floor, _) = floor_micros(t);
        self.micros().partition_point(|&x| i128::from(x) <= floor)
    }

    #[inline]
    fn name_is(&self, i: usize, _: &str, id: usize) -> bool {
        self.b.events[id] == Some(self.b.input.grouped.names[self.lo + i])
    }

    #[inline]
    fn prop(&self, i: usize, name: &str, id: usize, ty: ValueType) -> EvalResult<Val<'a>> {
        let Some(col) = self.b.props[id] else {
            return Ok(Val::Missing);
        };
        let row = self.b.input.grouped.row(self.lo + i);
        let path = || format!("events[{row}].properties.{name}");
        let v = col
            .get(row)
            .map_err(|m| bad_value(ErrorKind::InvalidEvent, path(), m))?;
        if v.is_missing() {
            return Ok(v);
        }
        let held = col.value_type();
        typed(v, ty).ok_or_else(|| {
            bad_value(
                ErrorKind::InvalidEvent,
                path(),
                format!("property `{name}` of event row {row} is declared {ty} but holds a {held} value"),
            )
        })
    }
}

impl CompiledRuleSet {
    /// Evaluates every rule for every user of a columnar batch, on up to
    /// `threads` scoped threads over contiguous chunks of users. `result[r][u]` is
    /// whether user `u` is a member of rule `r`; identical to
    /// [`CompiledRuleSet::evaluate`] on each user's profile (its traits, zone and
    /// tags given by [`ProfileColumns::with_tags`]; no consents, identities or
    /// scores) and event log. The first error in user order is returned, with the
    /// path prefixed `users[u]`.
    ///
    /// Rules that read only traits, literals and `now` run column at a time
    /// (ADR 0011); the others, and users with a malformed cell in a column those
    /// rules read, run through the row evaluator.
    pub fn evaluate_columns(
        &self,
        input: &ColumnarInput<'_>,
        threads: usize,
    ) -> Result<Vec<Vec<bool>>> {
        let flat = self.columns_impl(input, threads, true)?;
        Ok(self.by_rule(&flat))
    }

    /// As [`CompiledRuleSet::evaluate_columns`], user-major: flag
    /// `u * rules + r` is whether user `u` is a member of rule `r` (no
    /// transposition, for callers that return one row of flags per user).
    pub fn evaluate_columns_by_user(
        &self,
        input: &ColumnarInput<'_>,
        threads: usize,
    ) -> Result<Vec<bool>> {
        self.columns_impl(input, threads, true)
    }

    /// Rule-major flags from user-major ones.
    pub(super) fn by_rule(&self, flat: &[bool]) -> Vec<Vec<bool>> {
        let rules = self.rule_names().len();
        let users = flat.len().checked_div(rules).unwrap_or(0);
        // One strided walk per rule (exact-size, no growth checks).
        (0..rules)
            .map(|r| {
                flat[..users * rules]
                    .iter()
                    .skip(r)
                    .step_by(rules)
                    .copied()
                    .collect()
            })
            .collect()
    }

    /// As [`CompiledRuleSet::evaluate_columns`], one user at a time through the
    /// row evaluator only: the reference the column-at-a-time kernel is tested
    /// and benchmarked against.
    pub fn evaluate_columns_rowwise(
        &self,
        input: &ColumnarInput<'_>,
        threads: usize,
    ) -> Result<Vec<Vec<bool>>> {
        let flat = self.columns_impl(input, threads, false)?;
        Ok(self.by_rule(&flat))
    }

    fn columns_impl(
        &self,
        input: &ColumnarInput<'_>,
        threads: usize,
        kernel: bool,
    ) -> Result<Vec<bool>> {
        let users = input.profiles.len();
        if input.grouped.users() != users {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "the events are grouped for {} users but there are {users}",
                    input.grouped.users()
                ),
            ));
        }
        let read = self.read_names();
        let bound = Bound {
            input: *input,
            traits: read
                .traits
                .iter()
                .map(|t| input.profiles.trait_column(t))
                .collect(),
            events: read
                .events
                .iter()
                .map(|e| input.events.name_code(e))
                .collect(),
            props: read
                .props
                .iter()
                .map(|p| {
                    input
                        .events
                        .property_index(p)
                        .map(|i| input.events.property(i))
                })
                .collect(),
        };
        if !input.grouped.rows_below(input.events.len()) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the grouped events do not belong to the event columns",
            ));
        }
        let plan = kernel
            .then(|| {
                // `today` is one date only when every user has the default zone.
                let today = (!input.profiles.has_zones())
                    .then(|| super::calendar::local_date(&input.default_zone, input.now));
                self.vector_plan(&bound.traits, input.now, today)
            })
            .filter(VectorPlan::any);
        let threads = threads.clamp(1, users.max(1));
        let chunk = users.div_ceil(threads).max(1);
        let run = |start: usize| {
            let end = (start + chunk).min(users);
            self.evaluate_users(
                input.profiles,
                input.now,
                input.default_zone,
                plan.as_ref(),
                start..end,
                |user| {
                    let range = input.grouped.range(user);
                    ColSource {
                        b: &bound,
                        user,
                        lo: range.start,
                        len: range.len(),
                    }
                },
            )
        };
        let starts: Vec<usize> = (0..users).step_by(chunk).collect();
        let parts: Vec<Result<Vec<bool>>> = if starts.len() <= 1 {
            starts.iter().map(|&s| run(s)).collect()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = starts
                    .iter()
                    .map(|&start| s.spawn(move || run(start)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::new(
                                ErrorKind::Internal,
                                "an evaluation thread panicked",
                            ))
                        })
                    })
                    .collect()
            })
        };
        let mut out: Vec<bool> = Vec::new();
        for part in parts {
            let part = part?;
            if out.is_empty() {
                out = part;
            } else {
                out.extend(part);
            }
        }
        Ok(out)
    }

    /// Users `users`, row-major (`rules` flags per user), the source of user
    /// `u` being `src(u)`: the vector rules of `plan` (if any) run a block at a
    /// time and the rest (and users with malformed cells) per user.
    pub(super) fn evaluate_users<'a, S: Source<'a>>(
        &'a self,
        profiles: &ProfileColumns<'_>,
        now: DateTime<Utc>,
        default_zone: Zone,
        plan: Option<&VectorPlan<'_>>,
        users: std::ops::Range<usize>,
        src: impl Fn(usize) -> S,
    ) -> Result<Vec<bool>> {
        let rules = self.rule_names().len();
        let (start, end) = (users.start, users.end);
        let mut out = Vec::with_capacity((end - start) * rules);
        let memo: Vec<Cell<Truth>> = vec![Cell::new(Truth::Unknown); rules];
        let row_rules: Vec<bool> = (0..rules).map(|i| plan.is_none_or(|p| !p.has(i))).collect();
        let all = plan.is_some_and(VectorPlan::all);
        let default_today = super::calendar::local_date(&default_zone, now);
        let mut lo = start;
        while lo < end {
            let n = (end - lo).min(BLOCK);
            let block = plan.map(|p| p.run(lo, n));
            if let Some(block) = block.as_ref().filter(|b| all && !b.bad.contains(&1)) {
                // Every rule in the kernel and no malformed cell: copy the masks out.
                if let [Some(t)] = block.rules.as_slice() {
                    out.extend((0..n).map(|j| t.is_true(j)));
                } else {
                    for j in 0..n {
                        out.extend(
                            block
                                .rules
                                .iter()
                                .map(|t| t.as_ref().is_some_and(|t| t.is_true(j))),
                        );
                    }
                }
                lo += n;
                continue;
            }
            for j in 0..n {
                let bad = block.as_ref().is_some_and(|b| b.bad[j] != 0);
                let user = lo + j;
                let own = profiles.zone(user);
                let zone = own.unwrap_or(default_zone);
                match &block {
                    Some(block) => {
                        for (m, t) in memo.iter().zip(&block.rules) {
                            m.set(match t {
                                Some(t) if !bad => t.truth(j),
                                _ => Truth::Unknown,
                            });
                        }
                    }
                    None => memo.iter().for_each(|m| m.set(Truth::Unknown)),
                }
                let cx = Ctx::new(src(user), now, zone, &memo, self.shared_slots());
                if own.is_none() {
                    cx.today.set(Some(default_today));
                }
                // A malformed cell: the whole user as the row path sees it.
                let needed = if bad || block.is_none() {
                    None
                } else {
                    Some(row_rules.as_slice())
                };
                self.fill(&cx, needed)
                    .map_err(|e| e.prefix_path(&format!("users[{user}]")))?;
                out.extend(memo.iter().map(|t| t.get().is_true()));
            }
            lo += n;
        }
        Ok(out)
    }
}
