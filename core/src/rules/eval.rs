//! Evaluation of compiled rules against one profile.
//!
//! The plan mirrors the AST node for node (so explanations can walk both in
//! step) but with names resolved, literals pre-parsed, regexes compiled and
//! types checked. Evaluation reads the profile, its sorted events and `now`;
//! it allocates only for `lower()` results and `distinct_count`.
//!
//! Decisions the AST leaves to the evaluator (documented in `docs/rules.md`):
//! * integer overflow (in `+ - *`, `abs`, `sum`) gives a missing value, never a
//!   wrapped number or an error; so do non-finite float results and timestamps
//!   or dates outside the representable range;
//! * `/` always yields a float; division by zero is missing;
//! * an event filter that is unknown for an event excludes the event (SQL `WHERE`);
//! * a trait whose stored value does not have the schema's type is an
//!   `INVALID_PROFILE` error (an integer is accepted for a float trait); the same
//!   for event properties gives `INVALID_EVENT`.

use super::ast::{
    AggFn, ArithOp, CalendarUnit, CmpOp, Direction, Function, StreakMode, StreakUnit, TextTest,
};
use super::calendar;
use super::explain::Truth;
use super::source::{RowSource, Source};
use crate::error::Error;
use crate::value::ValueType;
use crate::zone::Zone;
use chrono::{DateTime, NaiveDate, Utc};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::marker::PhantomData;

/// Evaluation results box their error so the hot `Ok` path stays small.
pub(crate) type EvalResult<T> = std::result::Result<T, Box<Error>>;

/// Moves an evaluation error out of its box at the API boundary.
pub(crate) fn unbox<T>(r: EvalResult<T>) -> crate::error::Result<T> {
    r.map_err(|e| *e)
}

/// A static type of a plan node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Bool,
    Int,
    Float,
    Str,
    Ts,
    Date,
    List,
    Dur,
}

impl Ty {
    pub(crate) fn of(v: ValueType) -> Ty {
        match v {
            ValueType::String => Ty::Str,
            ValueType::Integer => Ty::Int,
            ValueType::Float => Ty::Float,
            ValueType::Boolean => Ty::Bool,
            ValueType::Timestamp => Ty::Ts,
            ValueType::Date => Ty::Date,
            ValueType::StringList => Ty::List,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Ty::Bool => "boolean",
            Ty::Int => "integer",
            Ty::Float => "float",
            Ty::Str => "string",
            Ty::Ts => "timestamp",
            Ty::Date => "date",
            Ty::List => "string_list",
            Ty::Dur => "duration",
        }
    }

    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }
}

/// A pre-parsed constant.
#[derive(Debug, Clone)]
pub(crate) enum Const {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Ts(DateTime<Utc>),
    Date(NaiveDate),
    List(Vec<String>),
    Dur(i64),
}

impl Const {
    pub(crate) fn val(&self) -> Val<'_> {
        match self {
            Const::Bool(b) => Val::Bool(*b),
            Const::Int(i) => Val::Int(*i),
            Const::Float(f) => Val::Float(*f),
            Const::Str(s) => Val::Str(Cow::Borrowed(s)),
            Const::Ts(t) => Val::Ts(*t),
            Const::Date(d) => Val::Date(*d),
            Const::List(l) => Val::List(l),
            Const::Dur(s) => Val::Dur(*s),
        }
    }
}

/// A runtime value; `Missing` is SQL's NULL (and the unknown truth value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Missing,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Ts(DateTime<Utc>),
    Date(NaiveDate),
    List(&'a [String]),
    Dur(i64),
}

impl Val<'_> {
    pub(crate) fn truth(&self) -> Truth {
        match self {
            Val::Bool(b) => Truth::from_bool(*b),
            _ => Truth::Unknown,
        }
    }

    fn from_truth(t: Truth) -> Val<'static> {
        match t {
            Truth::True => Val::Bool(true),
            Truth::False => Val::Bool(false),
            Truth::Unknown => Val::Missing,
        }
    }

    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Val::Missing)
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Display form used by explanations (`2`, `2.5`, `"milk"`, RFC 3339 …).
    pub(crate) fn show(&self) -> String {
        match self {
            Val::Missing => "missing".into(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => serde_json::Number::from_f64(*f)
                .map(|n| n.to_string())
                .unwrap_or_else(|| f.to_string()),
            Val::Str(s) => serde_json::Value::String(s.to_string()).to_string(),
            Val::Ts(t) => crate::value::format_timestamp(t),
            Val::Date(d) => d.format("%Y-%m-%d").to_string(),
            Val::List(l) => serde_json::to_string(l).unwrap_or_default(),
            Val::Dur(s) => format!("{s}s"),
        }
    }
}

/// Orders two non-missing values of compatible types (numbers across int/float).
pub(crate) fn compare(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
            a.as_f64()?.partial_cmp(&b.as_f64()?)
        }
        (Val::Str(x), Val::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::Ts(x), Val::Ts(y)) => Some(x.cmp(y)),
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(y)),
        (Val::List(x), Val::List(y)) => Some(x.cmp(y)),
        (Val::Dur(x), Val::Dur(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// How an arithmetic node computes (decided by the operand types at compile time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithKind {
    Int,
    Float,
    /// timestamp ± duration, or duration + timestamp (`swapped`).
    TsDur {
        swapped: bool,
    },
    /// date ± whole days, or days + date (`swapped`).
    DateDur {
        swapped: bool,
    },
}

/// A regex or literal text pattern.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    Text(String),
    Regex(regex::Regex),
}

/// A window, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WindowPlan {
    All,
    Rolling(i64),
    Calendar {
        unit: CalendarUnit,
        back: u32,
        count: u32,
    },
    Range(DateTime<Utc>, DateTime<Utc>),
}

/// An aggregate, resolved.
#[derive(Debug, Clone)]
pub(crate) struct AggPlan {
    pub agg: AggFn,
    pub event: String,
    /// Index of `event` in the set's name table.
    pub event_id: usize,
    /// Index of the property in the name table (0 when there is none).
    pub prop_id: usize,
    pub prop: Option<(String, ValueType)>,
    pub filter: Option<Node>,
    pub window: WindowPlan,
    /// Slot of this aggregate's result in [`Ctx::shared`] when an identical
    /// aggregate occurs elsewhere in the set (computed once per evaluation).
    pub slot: Option<usize>,
    /// Index of this aggregate among the set's event terms (aggregates and
    /// streaks, see [`Source::reduced`]).
    pub term: usize,
}

/// A streak, resolved.
#[derive(Debug, Clone)]
pub(crate) struct StreakPlan {
    pub mode: StreakMode,
    pub unit: StreakUnit,
    pub event: String,
    /// Index of `event` in the set's name table.
    pub event_id: usize,
    pub filter: Option<Node>,
    /// Index of this streak among the set's event terms (see [`Source::reduced`]).
    pub term: usize,
}

/// One plan node; its shape mirrors the AST node it came from.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Const(Const),
    Trait {
        name: String,
        ty: ValueType,
        id: usize,
    },
    Prop {
        name: String,
        ty: ValueType,
        id: usize,
    },
    Now,
    Today,
    Score(String),
    Arith {
        op: ArithOp,
        kind: ArithKind,
        left: Box<Node>,
        right: Box<Node>,
    },
    Call {
        function: Function,
        arg: Box<Node>,
    },
    Compare {
        cmp: CmpOp,
        left: Box<Node>,
        right: Box<Node>,
    },
    /// `prop OP literal` inside a filter, evaluated without recursion.
    PropCompare {
        name: String,
        ty: ValueType,
        id: usize,
        cmp: CmpOp,
        value: Const,
    },
    In {
        expr: Box<Node>,
        values: Vec<Const>,
        negated: bool,
    },
    Text {
        test: TextTest,
        expr: Box<Node>,
        pattern: Pattern,
    },
    Between {
        expr: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
    },
    Exists {
        expr: Box<Node>,
        negated: bool,
    },
    /// `seconds` for timestamps; `days` is set for dates.
    Within {
        expr: Box<Node>,
        direction: Direction,
        seconds: i64,
        days: i64,
    },
    HasTag {
        tags: Vec<String>,
        all: bool,
    },
    HasTagInGroup(String),
    HasConsent {
        channel: String,
        purpose: String,
    },
    HasIdentity(String),
    Segment(usize),
    Agg(Box<AggPlan>),
    Streak(Box<StreakPlan>),
}

/// What one evaluation reads.
pub(crate) struct Ctx<'a, 'm, S: Source<'a> = RowSource<'a>> {
    /// The profile and its events.
    pub src: S,
    pub now: DateTime<Utc>,
    pub zone: Zone,
    /// Truths of already evaluated rules (segment references).
    pub memo: &'m [Cell<Truth>],
    /// The local date at `now`, computed on first use.
    pub today: Cell<Option<NaiveDate>>,
    /// Index one past the last event at or before `now`, computed on first use.
    end: Cell<Option<usize>>,
    /// Windows already resolved in this evaluation (rule sets reuse a few windows;
    /// a calendar window costs several zone conversions).
    ranges: [Cell<Option<CachedRange>>; RANGE_CACHE],
    /// Results of the aggregates that have a slot (see [`AggPlan::slot`]).
    /// Only values that borrow nothing are kept (a `RefCell` of borrowed values
    /// would make the context invariant in `'a`).
    shared: RefCell<Vec<Option<Val<'static>>>>,
    /// Values read from the source live for `'a`.
    data: PhantomData<&'a ()>,
}

/// A resolved window and its event index range.
type CachedRange = (WindowPlan, (usize, usize));

/// How many distinct windows one evaluation remembers.
const RANGE_CACHE: usize = 8;

impl<'a, 'm, S: Source<'a>> Ctx<'a, 'm, S> {
    /// A context for one evaluation; `shared_slots` is the number of shared
    /// aggregate slots of the plan.
    pub(crate) fn new(
        src: S,
        now: DateTime<Utc>,
        zone: Zone,
        memo: &'m [Cell<Truth>],
        shared_slots: usize,
    ) -> Ctx<'a, 'm, S> {
        Ctx {
            src,
            now,
            zone,
            memo,
            today: Cell::new(None),
            end: Cell::new(None),
            ranges: std::array::from_fn(|_| Cell::new(None)),
            shared: RefCell::new(if shared_slots == 0 {
                Vec::new()
            } else {
                vec![None; shared_slots]
            }),
            data: PhantomData,
        }
    }
}

impl<'a, S: Source<'a>> Ctx<'a, '_, S> {
    pub(crate) fn today(&self) -> NaiveDate {
        match self.today.get() {
            Some(d) => d,
            None => {
                let d = calendar::local_date(&self.zone, self.now);
                self.today.set(Some(d));
                d
            }
        }
    }

    /// Index one past the last event at or before `now`.
    fn visible_end(&self) -> usize {
        match self.end.get() {
            Some(end) => end,
            None => {
                let now = self.now;
                let end = self.src.count_le(now);
                self.end.set(Some(end));
                end
            }
        }
    }

    /// The events of the window, as an index range into `events` (remembered
    /// for the rest of the evaluation).
    pub(crate) fn window_range(&self, w: &WindowPlan) -> (usize, usize) {
        for c in &self.ranges {
            match c.get() {
                Some((k, r)) if k == *w => return r,
                Some(_) => {}
                None => {
                    let r = self.compute_range(w);
                    c.set(Some((*w, r)));
                    return r;
                }
            }
        }
        self.compute_range(w)
    }

    fn compute_range(&self, w: &WindowPlan) -> (usize, usize) {
        let end = self.visible_end();
        let lower = |start: DateTime<Utc>| self.src.count_lt(start);
        let upper = |stop: DateTime<Utc>| self.src.count_lt(stop);
        let (lo, hi) = match *w {
            WindowPlan::All => (0, end),
            WindowPlan::Rolling(secs) => match chrono::Duration::try_seconds(secs)
                .and_then(|d| self.now.checked_sub_signed(d))
            {
                Some(start) => (self.src.count_le(start), end),
                None => (0, end),
            },
            WindowPlan::Calendar { unit, back, count } => {
                let cur = calendar::unit_start(self.today(), unit);
                let back = -i64::from(back);
                let ahead = back + i64::from(count);
                // A bound outside the representable dates is unbounded on its side;
                // a window ending before representable time is empty.
                let at = |d: NaiveDate| calendar::start_of(&self.zone, d);
                let lo = calendar::shift(cur, unit, back)
                    .and_then(at)
                    .map_or(0, lower);
                let hi = match calendar::shift(cur, unit, ahead).and_then(at) {
                    Some(t) => upper(t).min(end),
                    None if ahead < 0 => 0,
                    None => end,
                };
                (lo, hi)
            }
            WindowPlan::Range(start, stop) => (lower(start), upper(stop).min(end)),
        };
        (lo, hi.max(lo))
    }
}

/// Evaluates a node. `ev` is the event under an aggregate filter.
pub(crate) fn eval<'a, S: Source<'a>>(
    n: &'a Node,
    cx: &Ctx<'a, '_, S>,
    ev: Option<usize>,
) -> EvalResult<Val<'a>> {
    Ok(match n {
        Node::And(args) => {
            let mut unknown = false;
            for a in args {
                match eval(a, cx, ev)?.truth() {
                    Truth::False => return Ok(Val::Bool(false)),
                    Truth::Unknown => unknown = true,
                    Truth::True => {}
                }
            }
            if unknown {
                Val::Missing
            } else {
                Val::Bool(true)
            }
        }
        Node::Or(args) => {
            let mut unknown = false;
            for a in args {
                match eval(a, cx, ev)?.truth() {
                    Truth::True => return Ok(Val::Bool(true)),
                    Truth::Unknown => unknown = true,
                    Truth::False => {}
                }
            }
            if unknown {
                Val::Missing
            } else {
                Val::Bool(false)
            }
        }
        Node::Not(a) => Val::from_truth(eval(a, cx, ev)?.truth().negate()),
        Node::Const(c) => c.val(),
        Node::Trait { name, ty, id } => cx.src.trait_value(name, *id, *ty)?,
        Node::Prop { name, ty, id } => match ev {
            None => Val::Missing,
            Some(e) => cx.src.prop(e, name, *id, *ty)?,
        },
        Node::Now => Val::Ts(cx.now),
        Node::Today => Val::Date(cx.today()),
        Node::Score(name) => cx.src.score(name),
        Node::Arith {
            op,
            kind,
            left,
            right,
        } => {
            let l = eval(left, cx, ev)?;
            let r = eval(right, cx, ev)?;
            arith(*op, *kind, &l, &r)
        }
        Node::Call { function, arg } => {
            let a = eval(arg, cx, ev)?;
            call(*function, a, cx)
        }
        Node::Compare { cmp, left, right } => {
            let l = eval(left, cx, ev)?;
            let r = eval(right, cx, ev)?;
            compare_op(*cmp, &l, &r)
        }
        Node::PropCompare {
            name,
            ty,
            id,
            cmp,
            value,
        } => match ev {
            None => Val::Missing,
            Some(e) => compare_op(*cmp, &cx.src.prop(e, name, *id, *ty)?, &value.val()),
        },
        Node::In {
            expr,
            values,
            negated,
        } => {
            let x = eval(expr, cx, ev)?;
            if x.is_missing() {
                Val::Missing
            } else {
                let found = values
                    .iter()
                    .any(|c| compare(&x, &c.val()) == Some(Ordering::Equal));
                Val::Bool(found != *negated)
            }
        }
        Node::Text {
            test,
            expr,
            pattern,
        } => match eval(expr, cx, ev)? {
            Val::Str(s) => Val::Bool(match (test, pattern) {
                (_, Pattern::Regex(re)) => re.is_match(&s),
                (TextTest::StartsWith, Pattern::Text(p)) => s.starts_with(p.as_str()),
                (TextTest::EndsWith, Pattern::Text(p)) => s.ends_with(p.as_str()),
                (_, Pattern::Text(p)) => s.contains(p.as_str()),
            }),
            Val::List(l) => Val::Bool(match pattern {
                Pattern::Text(p) => l.iter().any(|i| i == p),
                Pattern::Regex(re) => l.iter().any(|i| re.is_match(i)),
            }),
            _ => Val::Missing,
        },
        Node::Between { expr, low, high } => {
            let x = eval(expr, cx, ev)?;
            let lo = eval(low, cx, ev)?;
            let hi = eval(high, cx, ev)?;
            match (compare(&lo, &x), compare(&x, &hi)) {
                (Some(a), Some(b)) => Val::Bool(a != Ordering::Greater && b != Ordering::Greater),
                _ => Val::Missing,
            }
        }
        Node::Exists { expr, negated } => Val::Bool(eval(expr, cx, ev)?.is_missing() == *negated),
        Node::Within {
            expr,
            direction,
            seconds,
            days,
        } => {
            let x = eval(expr, cx, ev)?;
            within(&x, *direction, *seconds, *days, cx)
        }
        Node::HasTag { tags, all } => {
            let live = |t: &String| cx.src.has_tag(t, cx.now);
            Val::Bool(if *all {
                tags.iter().all(live)
            } else {
                tags.iter().any(live)
            })
        }
        Node::HasTagInGroup(g) => Val::Bool(cx.src.has_tag_in_group(g, cx.now)),
        Node::HasConsent { channel, purpose } => {
            Val::Bool(cx.src.has_consent(channel, purpose, cx.now))
        }
        Node::HasIdentity(ns) => Val::Bool(cx.src.has_identity(ns)),
        Node::Segment(i) => Val::from_truth(cx.memo.get(*i).map_or(Truth::Unknown, Cell::get)),
        Node::Agg(p) => match cx.src.reduced(p.term) {
            Some(v) => v,
            None => match p.slot {
                None => aggregate(p, cx)?,
                Some(slot) => shared_aggregate(p, slot, cx)?,
            },
        },
        Node::Streak(p) => match cx.src.reduced(p.term) {
            Some(v) => v,
            None => Val::Int(streak(p, cx)?),
        },
    })
}

fn compare_op(cmp: CmpOp, l: &Val<'_>, r: &Val<'_>) -> Val<'static> {
    match compare(l, r) {
        None => Val::Missing,
        Some(o) => Val::Bool(cmp.holds(o)),
    }
}

pub(crate) fn finite(f: f64) -> Val<'static> {
    if f.is_finite() {
        Val::Float(f)
    } else {
        Val::Missing
    }
}

#[inline(never)]
fn arith(op: ArithOp, kind: ArithKind, l: &Val<'_>, r: &Val<'_>) -> Val<'static> {
    if l.is_missing() || r.is_missing() {
        return Val::Missing;
    }
    let opt = |o: Option<Val<'static>>| o.unwrap_or(Val::Missing);
    match kind {
        ArithKind::Int if op != ArithOp::Div => {
            let (Val::Int(a), Val::Int(b)) = (l, r) else {
                return Val::Missing;
            };
            opt(match op {
                ArithOp::Add => a.checked_add(*b),
                ArithOp::Sub => a.checked_sub(*b),
                _ => a.checked_mul(*b),
            }
            .map(Val::Int))
        }
        ArithKind::Int | ArithKind::Float => {
            let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                return Val::Missing;
            };
            match op {
                ArithOp::Add => finite(a + b),
                ArithOp::Sub => finite(a - b),
                ArithOp::Mul => finite(a * b),
                ArithOp::Div if b == 0.0 => Val::Missing,
                ArithOp::Div => finite(a / b),
            }
        }
        ArithKind::TsDur { swapped } => {
            let (t, d) = match (l, r, swapped) {
                (Val::Ts(t), Val::Dur(d), false) | (Val::Dur(d), Val::Ts(t), true) => (t, *d),
                _ => return Val::Missing,
            };
            let Some(delta) = chrono::Duration::try_seconds(d) else {
                return Val::Missing;
            };
            opt(match op {
                ArithOp::Sub => t.checked_sub_signed(delta),
                _ => t.checked_add_signed(delta),
            }
            .map(Val::Ts))
        }
        ArithKind::DateDur { swapped } => {
            let (t, d) = match (l, r, swapped) {
                (Val::Date(t), Val::Dur(d), false) | (Val::Dur(d), Val::Date(t), true) => (t, *d),
                _ => return Val::Missing,
            };
            let Some(delta) = chrono::Duration::try_days(d / 86_400) else {
                return Val::Missing;
            };
            opt(match op {
                ArithOp::Sub => t.checked_sub_signed(delta),
                _ => t.checked_add_signed(delta),
            }
            .map(Val::Date))
        }
    }
}

/// Whole elapsed seconds from `from` to `to`, floored.
fn elapsed_seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let mut s = to.timestamp() - from.timestamp();
    if to.timestamp_subsec_nanos() < from.timestamp_subsec_nanos() {
        s -= 1;
    }
    s
}

#[inline(never)]
fn call<'a, S: Source<'a>>(f: Function, a: Val<'a>, cx: &Ctx<'a, '_, S>) -> Val<'a> {
    match (f, a) {
        (_, Val::Missing) => Val::Missing,
        (Function::DaysSince, Val::Ts(t)) => {
            Val::Int(elapsed_seconds(t, cx.now).div_euclid(86_400))
        }
        (Function::DaysSince, Val::Date(d)) => Val::Int((cx.today() - d).num_days()),
        (Function::HoursSince, Val::Ts(t)) => {
            Val::Int(elapsed_seconds(t, cx.now).div_euclid(3_600))
        }
        (Function::HoursSince, Val::Date(d)) => calendar::start_of(&cx.zone, d)
            .map_or(Val::Missing, |t| {
                Val::Int(elapsed_seconds(t, cx.now).div_euclid(3_600))
            }),
        (Function::Anniversary, Val::Date(d)) => {
            calendar::anniversary(d, cx.today()).map_or(Val::Missing, Val::Date)
        }
        (Function::Lower, Val::Str(s)) => {
            if s.chars().any(char::is_uppercase) {
                Val::Str(Cow::Owned(s.to_lowercase()))
            } else {
                Val::Str(s)
            }
        }
        (Function::Length, Val::Str(s)) => Val::Int(s.chars().count() as i64),
        (Function::Length, Val::List(l)) => Val::Int(l.len() as i64),
        (Function::Abs, Val::Int(i)) => i.checked_abs().map_or(Val::Missing, Val::Int),
        (Function::Abs, Val::Float(f)) => Val::Float(f.abs()),
        _ => Val::Missing,
    }
}

#[inline(never)]
fn within<'a, S: Source<'a>>(
    x: &Val<'_>,
    dir: Direction,
    seconds: i64,
    days: i64,
    cx: &Ctx<'a, '_, S>,
) -> Val<'static> {
    let inside = |lo: Option<Ordering>, hi: Option<Ordering>| match (lo, hi) {
        // lo: bound vs x (bound <= x); hi: x vs bound (x <= bound).
        (Some(a), Some(b)) => Val::Bool(a != Ordering::Greater && b != Ordering::Greater),
        _ => Val::Missing,
    };
    match x {
        Val::Ts(t) => {
            let now = cx.now;
            let far = chrono::Duration::try_seconds(seconds).and_then(|d| match dir {
                Direction::Last => now.checked_sub_signed(d),
                Direction::Next => now.checked_add_signed(d),
            });
            match (dir, far) {
                (Direction::Last, Some(f)) => inside(Some(f.cmp(t)), Some(t.cmp(&now))),
                (Direction::Next, Some(f)) => inside(Some(now.cmp(t)), Some(t.cmp(&f))),
                // Out of range: the window reaches the end of time on that side.
                (Direction::Last, None) => Val::Bool(*t <= now),
                (Direction::Next, None) => Val::Bool(*t >= now),
            }
        }
        Val::Date(d) => {
            let today = cx.today();
            let far = chrono::Duration::try_days(days).and_then(|dd| match dir {
                Direction::Last => today.checked_sub_signed(dd),
                Direction::Next => today.checked_add_signed(dd),
            });
            match (dir, far) {
                (Direction::Last, Some(f)) => inside(Some(f.cmp(d)), Some(d.cmp(&today))),
                (Direction::Next, Some(f)) => inside(Some(today.cmp(d)), Some(d.cmp(&f))),
                (Direction::Last, None) => Val::Bool(*d <= today),
                (Direction::Next, None) => Val::Bool(*d >= today),
            }
        }
        _ => Val::Missing,
    }
}

/// Whether event `e` passes the filter (callers check the event name).
fn passes<'a, S: Source<'a>>(
    e: usize,
    filter: Option<&'a Node>,
    cx: &Ctx<'a, '_, S>,
) -> EvalResult<bool> {
    match filter {
        None => Ok(true),
        Some(f) => Ok(eval(f, cx, Some(e))?.truth() == Truth::True),
    }
}

/// Evaluates an aggregate that occurs more than once in the set, once per evaluation.
fn shared_aggregate<'a, S: Source<'a>>(
    p: &'a AggPlan,
    slot: usize,
    cx: &Ctx<'a, '_, S>,
) -> EvalResult<Val<'a>> {
    if let Some(Some(v)) = cx.shared.borrow().get(slot) {
        return Ok(v.clone());
    }
    let v = aggregate(p, cx)?;
    let owned = match v {
        Val::Missing => Some(Val::Missing),
        Val::Bool(b) => Some(Val::Bool(b)),
        Val::Int(i) => Some(Val::Int(i)),
        Val::Float(f) => Some(Val::Float(f)),
        Val::Ts(t) => Some(Val::Ts(t)),
        Val::Date(d) => Some(Val::Date(d)),
        Val::Dur(d) => Some(Val::Dur(d)),
        // Strings and lists borrow from the events: recomputed each time.
        Val::Str(_) | Val::List(_) => None,
    };
    if let (Some(o), Some(s)) = (owned, cx.shared.borrow_mut().get_mut(slot)) {
        *s = Some(o);
    }
    Ok(v)
}

/// Evaluates an aggregate.
#[inline(never)]
pub(crate) fn aggregate<'a, S: Source<'a>>(
    p: &'a AggPlan,
    cx: &Ctx<'a, '_, S>,
) -> EvalResult<Val<'a>> {
    let (lo, hi) = cx.window_range(&p.window);
    let src = cx.src;
    let filter = p.filter.as_ref();
    let mut matching = (lo..hi).filter(|&e| src.name_is(e, &p.event, p.event_id));
    match p.agg {
        AggFn::Any | AggFn::None => {
            let mut found = false;
            for e in matching {
                if passes(e, filter, cx)? {
                    found = true;
                    break;
                }
            }
            return Ok(Val::Bool(found == (p.agg == AggFn::Any)));
        }
        AggFn::Count => {
            let mut n = 0i64;
            for e in matching {
                if passes(e, filter, cx)? {
                    n += 1;
                }
            }
            return Ok(Val::Int(n));
        }
        AggFn::FirstTime => {
            for e in matching {
                if passes(e, filter, cx)? {
                    return Ok(Val::Ts(src.ts(e)));
                }
            }
            return Ok(Val::Missing);
        }
        AggFn::LastTime => {
            for e in (lo..hi)
                .rev()
                .filter(|&e| src.name_is(e, &p.event, p.event_id))
            {
                if passes(e, filter, cx)? {
                    return Ok(Val::Ts(src.ts(e)));
                }
            }
            return Ok(Val::Missing);
        }
        _ => {}
    }
    let Some((prop, ty)) = &p.prop else {
        return Ok(Val::Missing);
    };
    let mut int_sum: Option<i64> = Some(0);
    let mut wide_sum: i128 = 0;
    let mut float_sum = 0.0f64;
    let mut n = 0usize;
    let mut best: Option<Val<'a>> = None;
    let mut distinct: Vec<Val<'a>> = Vec::new();
    for e in matching.by_ref() {
        if !passes(e, filter, cx)? {
            continue;
        }
        let v = src.prop(e, prop, p.prop_id, *ty)?;
        if v.is_missing() {
            continue;
        }
        n += 1;
        match p.agg {
            AggFn::Sum | AggFn::Avg => match v {
                Val::Int(i) => {
                    int_sum = int_sum.and_then(|s| s.checked_add(i));
                    wide_sum += i128::from(i);
                }
                Val::Float(f) => float_sum += f,
                _ => {}
            },
            AggFn::Min | AggFn::Max => {
                let better = match &best {
                    None => true,
                    Some(b) => {
                        let o = compare(&v, b);
                        if p.agg == AggFn::Min {
                            o == Some(Ordering::Less)
                        } else {
                            o == Some(Ordering::Greater)
                        }
                    }
                };
                if better {
                    best = Some(v);
                }
            }
            _ => distinct.push(v),
        }
    }
    Ok(match p.agg {
        AggFn::Sum if *ty == ValueType::Integer => int_sum.map_or(Val::Missing, Val::Int),
        AggFn::Sum => finite(float_sum),
        AggFn::Avg if n == 0 => Val::Missing,
        AggFn::Avg if *ty == ValueType::Integer => finite(wide_sum as f64 / n as f64),
        AggFn::Avg => finite(float_sum / n as f64),
        AggFn::Min | AggFn::Max => best.unwrap_or(Val::Missing),
        _ => {
            distinct.sort_by(|a, b| total_order(a, b));
            distinct.dedup_by(|a, b| compare(a, b) == Some(Ordering::Equal));
            Val::Int(distinct.len() as i64)
        }
    })
}

/// A total order on values of one type (for sorting distinct values).
fn total_order(a: &Val<'_>, b: &Val<'_>) -> Ordering {
    match (a, b) {
        (Val::Float(x), Val::Float(y)) => x.total_cmp(y),
        _ => compare(a, b).unwrap_or(Ordering::Equal),
    }
}

/// Evaluates a streak (see [`super::ast::ExprKind::Streak`]).
#[inline(never)]
pub(crate) fn streak<'a, S: Source<'a>>(p: &'a StreakPlan, cx: &Ctx<'a, '_, S>) -> EvalResult<i64> {
    let unit = calendar::streak_calendar_unit(p.unit);
    let today = cx.today();
    let Some(cur_start) = calendar::start_of(&cx.zone, calendar::unit_start(today, unit)) else {
        return Ok(0);
    };
    let cur = calendar::unit_index(today, p.unit);
    // Matching events strictly before the current unit (and so before `now`).
    let src = cx.src;
    let before = src.count_lt(cur_start).min(cx.visible_end());
    let idx = |e: usize| calendar::unit_index(calendar::local_date(&cx.zone, src.ts(e)), p.unit);
    let matching = |e: &usize| src.name_is(*e, &p.event, p.event_id);
    let filter = p.filter.as_ref();
    match p.mode {
        StreakMode::Without => {
            for e in (0..before).rev().filter(matching) {
                if passes(e, filter, cx)? {
                    return Ok((cur - idx(e) - 1).max(0));
                }
            }
            if src.len() > 0 && src.ts(0) <= cx.now {
                Ok((cur - idx(0)).max(0))
            } else {
                Ok(0)
            }
        }
        StreakMode::With => {
            let mut expected = cur - 1;
            let mut n = 0i64;
            for e in (0..before).rev().filter(matching) {
                if !passes(e, filter, cx)? {
                    continue;
                }
                let u = idx(e);
                if u == expected {
                    n += 1;
                    expected -= 1;
                } else if u < expected {
                    break;
                }
            }
            Ok(n)
        }
    }
}
