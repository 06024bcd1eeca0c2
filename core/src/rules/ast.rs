//! The rule AST: one tree for both syntaxes (text DSL and JSON).
//!
//! Semantics (the normative text is `docs/rules.md`; ADR 0002 records why):
//!
//! * **Three-valued logic.** Every boolean node evaluates to true, false or
//!   *unknown*. Comparisons involving a missing value are unknown; `and`/`or`/`not`
//!   follow Kleene (SQL) logic; a rule whose top value is unknown does not match.
//!   `exists` / `is missing` are never unknown. This is SQL's NULL semantics, so
//!   rules compile to SQL unchanged.
//! * **Empty windows.** `count`, `distinct_count` and `sum` of no events are 0;
//!   `avg`, `min`, `max`, `first_time`, `last_time` of no events are missing.
//!   `any` is false and `none` true. Events whose aggregated property is missing are
//!   skipped by `sum/avg/min/max/distinct_count` (as SQL aggregates skip NULL).
//! * **Windows** never include events after `now`. Rolling windows are exact
//!   elapsed durations `(now - d, now]` (1d = 86 400 s; DST-independent). Calendar
//!   windows are computed in the profile's time zone (or the evaluation default)
//!   with ISO weeks starting Monday; a window ending at the current unit is
//!   truncated at `now`. Ranges are half-open `[start, end)`.
//! * Strings compare by Unicode code point; integers and floats compare numerically.

use crate::value::ValueType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A byte range in the DSL source. Spans never take part in equality, so trees
/// parsed from text and from JSON compare equal.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Span {
    /// Start byte offset.
    pub start: u32,
    /// End byte offset (exclusive).
    pub end: u32,
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

/// A set of named rules (segments), the unit that is compiled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RuleSet {
    /// The rules, in declaration order (results are reported in this order).
    pub rules: Vec<Rule>,
}

/// One named rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Name: `[A-Za-z_][A-Za-z0-9_]*`, unique in its set.
    pub name: String,
    /// Optional human description (`///` doc comment lines in the DSL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The condition.
    pub expr: Expr,
    /// Where the rule's name starts in the DSL source.
    #[serde(skip)]
    pub span: Span,
}

/// An expression node with its source span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    /// What the node is.
    #[serde(flatten)]
    pub kind: ExprKind,
    /// Where it is in the DSL source (default when built from JSON).
    #[serde(skip)]
    pub span: Span,
}

impl Expr {
    /// A node without source position.
    pub fn new(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }
}

impl From<ExprKind> for Expr {
    fn from(kind: ExprKind) -> Expr {
        Expr::new(kind)
    }
}

/// The node kinds. JSON form: an object with `"op"` naming the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ExprKind {
    // ----- boolean logic -------------------------------------------------
    /// All of `args` (Kleene and). DSL: `a and b`.
    And {
        /// Operands (≥ 2 from the parser; any number from JSON, `and []` is true).
        args: Vec<Expr>,
    },
    /// Any of `args` (Kleene or). DSL: `a or b`.
    Or {
        /// Operands (`or []` is false).
        args: Vec<Expr>,
    },
    /// Negation (unknown stays unknown). DSL: `not a`.
    Not {
        /// Operand.
        arg: Box<Expr>,
    },

    // ----- values ----------------------------------------------------------
    /// A constant. DSL: `"text"`, `42`, `2.5`, `true`, `30d`, `["a", "b"]`,
    /// `timestamp("2026-03-01T00:00:00Z")`, `date("2026-03-01")`.
    Literal {
        /// The constant.
        value: Literal,
    },
    /// A profile trait. DSL: a bare name outside `where` (or `trait.name` anywhere).
    Trait {
        /// Declared trait name.
        name: String,
    },
    /// An event property; only valid inside an aggregate's `where` filter.
    /// DSL: a bare name inside `where` (or `prop.name`).
    Prop {
        /// Declared property name of the aggregated event.
        name: String,
    },
    /// The evaluation instant. DSL: `now`.
    Now,
    /// The current date in the profile's time zone. DSL: `today`.
    Today,
    /// A model score supplied with the evaluation input (RFM, P(alive), CLV …);
    /// missing when not supplied. DSL: `score("p_alive")`.
    Score {
        /// Score name.
        name: String,
    },
    /// Arithmetic: numbers with numbers; `timestamp ± duration`; `date ± duration`
    /// (whole days only); `timestamp - timestamp` is not allowed (use `days_since`).
    /// Division by zero gives missing. DSL: `a + b`, `now - 30d`.
    Arith {
        /// The operator.
        arith: ArithOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// A built-in function; see [`Function`].
    Call {
        /// The function.
        function: Function,
        /// Arguments.
        args: Vec<Expr>,
    },

    // ----- predicates --------------------------------------------------------
    /// Comparison. DSL: `=`, `!=`, `<`, `<=`, `>`, `>=`, and `before` / `after`
    /// (aliases of `<` / `>` that print back as written).
    Compare {
        /// The operator.
        cmp: CmpOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// Set membership. DSL: `x in ["a", "b"]`, `x not in [...]`. Unknown when `x`
    /// is missing.
    In {
        /// The tested value.
        expr: Box<Expr>,
        /// Candidate values (literals).
        values: Vec<Expr>,
        /// `not in`.
        #[serde(default)]
        negated: bool,
    },
    /// Text / list tests. DSL: `x contains "a"`, `x starts_with "a"`,
    /// `x ends_with "a"`, `x matches "re"` (regex, linear time; unanchored).
    /// `contains` on a string list tests membership.
    TextMatch {
        /// Which test.
        test: TextTest,
        /// The tested value.
        expr: Box<Expr>,
        /// The pattern (a string literal).
        pattern: Box<Expr>,
    },
    /// Inclusive range. DSL: `x between a and b`.
    Between {
        /// The tested value.
        expr: Box<Expr>,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
    },
    /// Presence. DSL: `x exists` / `x is missing`. Never unknown.
    Exists {
        /// The tested value.
        expr: Box<Expr>,
        /// `is missing`.
        #[serde(default)]
        negated: bool,
    },
    /// Relative time test for a timestamp or date: `x within last 30d` means
    /// `now - 30d <= x <= now` (dates: `today - 30 <= x <= today`); `within next 7d`
    /// means `now <= x <= now + 7d`. Unknown when `x` is missing.
    Within {
        /// The tested timestamp or date.
        expr: Box<Expr>,
        /// Past or future.
        direction: Direction,
        /// How far.
        duration: Duration,
    },

    // ----- profile facts -------------------------------------------------
    /// Tag test, respecting expiry (a tag with `expires_at <= now` is absent).
    /// DSL: `has_tag("a")`, `has_any_tag("a", "b")`, `has_all_tags("a", "b")`.
    HasTag {
        /// Tag names.
        tags: Vec<String>,
        /// Any or all.
        mode: TagMode,
    },
    /// Whether any live tag of the group is present. DSL: `has_tag_in_group("rfm")`.
    HasTagInGroup {
        /// Declared tag group.
        group: String,
    },
    /// Whether consent for channel and purpose is currently granted (not denied,
    /// revoked or expired). DSL: `has_consent("wechat", "marketing")`.
    HasConsent {
        /// Channel (e.g. `wechat`, `sms`).
        channel: String,
        /// Purpose (e.g. `marketing`).
        purpose: String,
    },
    /// Whether the profile has an identity in the namespace. DSL: `has_identity("wechat_unionid")`.
    HasIdentity {
        /// Identity namespace.
        namespace: String,
    },
    /// Membership of another rule of the set (cycles are compile errors).
    /// DSL: `in_segment(name)`.
    Segment {
        /// Rule name.
        name: String,
    },

    // ----- behaviour ---------------------------------------------------------
    /// An aggregate over the profile's events of one name, filtered, in a window.
    /// DSL: `count(purchase where category = "milk" , within 30d)`,
    /// `sum(purchase.amount, during last month)`, `none(message_opened, within 72h)`.
    Aggregate {
        /// The aggregate function.
        agg: AggFn,
        /// Event name.
        event: String,
        /// Aggregated property (required by sum/avg/min/max/distinct_count, absent otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        property: Option<String>,
        /// Event filter (over `Prop` nodes and constants).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Box<Expr>>,
        /// Time window (default: all time up to `now`).
        #[serde(default, skip_serializing_if = "Window::is_all")]
        window: Window,
    },
    /// Consecutive complete calendar units (in the profile's zone), immediately
    /// before the current unit, without (or with) a matching event.
    /// DSL: `weeks_without(page_viewed)`, `days_with(check_in where ...)`.
    ///
    /// `without`: the number of complete units after the unit of the last matching
    /// event before the current unit; if there is none, the units since (and
    /// including) the unit of the profile's earliest event of any name; 0 for a
    /// profile with no events. `with`: the number of consecutive complete units,
    /// counting back from the one just before the current unit, each holding ≥ 1
    /// matching event.
    Streak {
        /// Without or with.
        mode: StreakMode,
        /// Calendar unit.
        unit: StreakUnit,
        /// Event name.
        event: String,
        /// Event filter.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Box<Expr>>,
    },
}

/// A constant value. JSON: `{"type": "...", "value": ...}`; the type may be
/// omitted for strings, numbers, booleans and lists of those.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Text.
    String(String),
    /// Integer.
    Integer(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Boolean(bool),
    /// Instant, kept as written (RFC 3339) for lossless printing.
    Timestamp(String),
    /// Date `YYYY-MM-DD`.
    Date(String),
    /// A duration such as `30d`.
    Duration(Duration),
    /// A list of literals (all of one type).
    List(Vec<Literal>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `before` (same as `<`).
    Before,
    /// `after` (same as `>`).
    After,
}

impl CmpOp {
    /// Whether the comparison holds for operands that compare as `o` (every
    /// evaluator — row, vector, reduction — decides through this one table).
    #[inline]
    pub(crate) fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            CmpOp::Eq => o == Equal,
            CmpOp::Ne => o != Equal,
            CmpOp::Lt | CmpOp::Before => o == Less,
            CmpOp::Le => o != Greater,
            CmpOp::Gt | CmpOp::After => o == Greater,
            CmpOp::Ge => o != Less,
        }
    }

    /// The DSL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Before => "before",
            CmpOp::After => "after",
        }
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl ArithOp {
    /// The DSL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
        }
    }
}

/// Text tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextTest {
    /// Substring (strings) or membership (string lists).
    Contains,
    /// Prefix.
    StartsWith,
    /// Suffix.
    EndsWith,
    /// Regular expression search (the `regex` crate; linear time).
    Matches,
}

impl TextTest {
    /// The DSL keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            TextTest::Contains => "contains",
            TextTest::StartsWith => "starts_with",
            TextTest::EndsWith => "ends_with",
            TextTest::Matches => "matches",
        }
    }
}

/// Direction of a `within` test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The past: `within last 30d`.
    Last,
    /// The future: `within next 7d`.
    Next,
}

/// Tag test mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagMode {
    /// At least one of the tags.
    Any,
    /// Every tag.
    All,
}

/// Built-in scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// `days_since(ts)`: whole elapsed days `floor((now - ts) / 86400 s)` (negative
    /// for the future); for a date, calendar days from it to `today`.
    DaysSince,
    /// `hours_since(ts)`: whole elapsed hours.
    HoursSince,
    /// `anniversary(date)`: the next occurrence (≥ today) of the date's month and
    /// day; 29 February falls on 28 February in common years.
    Anniversary,
    /// `lower(s)`: lower-case (Unicode).
    Lower,
    /// `length(x)`: characters of a string or items of a list.
    Length,
    /// `abs(n)`.
    Abs,
}

impl Function {
    /// Every function.
    pub const ALL: &'static [Function] = &[
        Function::DaysSince,
        Function::HoursSince,
        Function::Anniversary,
        Function::Lower,
        Function::Length,
        Function::Abs,
    ];

    /// The DSL name.
    pub fn name(self) -> &'static str {
        match self {
            Function::DaysSince => "days_since",
            Function::HoursSince => "hours_since",
            Function::Anniversary => "anniversary",
            Function::Lower => "lower",
            Function::Length => "length",
            Function::Abs => "abs",
        }
    }

    /// Looks a function up by DSL name.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.iter().copied().find(|f| f.name() == name)
    }
}

/// Aggregate functions over events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFn {
    /// Number of matching events (integer).
    Count,
    /// Sum of the property (0 when empty).
    Sum,
    /// Mean of the property (float; missing when empty).
    Avg,
    /// Minimum of the property.
    Min,
    /// Maximum of the property.
    Max,
    /// Number of distinct property values. DSL: `distinct_count(purchase.category)`.
    DistinctCount,
    /// Timestamp of the earliest matching event.
    FirstTime,
    /// Timestamp of the latest matching event.
    LastTime,
    /// Whether any event matches (boolean).
    Any,
    /// Whether no event matches (boolean).
    None,
}

impl AggFn {
    /// Every aggregate.
    pub const ALL: &'static [AggFn] = &[
        AggFn::Count,
        AggFn::Sum,
        AggFn::Avg,
        AggFn::Min,
        AggFn::Max,
        AggFn::DistinctCount,
        AggFn::FirstTime,
        AggFn::LastTime,
        AggFn::Any,
        AggFn::None,
    ];

    /// The DSL name.
    pub fn name(self) -> &'static str {
        match self {
            AggFn::Count => "count",
            AggFn::Sum => "sum",
            AggFn::Avg => "avg",
            AggFn::Min => "min",
            AggFn::Max => "max",
            AggFn::DistinctCount => "distinct_count",
            AggFn::FirstTime => "first_time",
            AggFn::LastTime => "last_time",
            AggFn::Any => "any",
            AggFn::None => "none",
        }
    }

    /// Looks an aggregate up by DSL name.
    pub fn from_name(name: &str) -> Option<AggFn> {
        AggFn::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Whether the aggregate needs a property (`sum(purchase.amount)`).
    pub fn needs_property(self) -> bool {
        matches!(
            self,
            AggFn::Sum | AggFn::Avg | AggFn::Min | AggFn::Max | AggFn::DistinctCount
        )
    }
}

/// Streak direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreakMode {
    /// Units without a matching event.
    Without,
    /// Units each with a matching event.
    With,
}

/// Calendar unit of a streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreakUnit {
    /// Calendar days.
    Day,
    /// ISO weeks (Monday first).
    Week,
    /// Calendar months.
    Month,
}

/// A time window for aggregates. JSON: `{"kind": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Window {
    /// All events up to `now` (the default; DSL: no window clause).
    #[default]
    All,
    /// `(now - duration, now]`. DSL: `within 30d`.
    Rolling {
        /// Length.
        duration: Duration,
    },
    /// Whole calendar units in the profile's zone: the units from `back` units
    /// before the current one, `count` units long; the current unit is truncated at
    /// `now`. DSL: `during today` (day, 0, 1), `during yesterday` (day, 1, 1),
    /// `during this week` (week, 0, 1), `during last month` (month, 1, 1),
    /// `during last 3 months` (month, 3, 3), otherwise `during calendar(month, 2, 1)`.
    Calendar {
        /// Unit.
        unit: CalendarUnit,
        /// How many units back the window starts (0 = the current unit).
        back: u32,
        /// How many units it spans (≥ 1).
        count: u32,
    },
    /// Absolute `[start, end)`. DSL: `between timestamp("…") and timestamp("…")`.
    Range {
        /// Inclusive start (RFC 3339, kept as written).
        start: String,
        /// Exclusive end.
        end: String,
    },
}

impl Window {
    /// Whether this is the all-time window.
    pub fn is_all(&self) -> bool {
        matches!(self, Window::All)
    }
}

/// Units of calendar windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarUnit {
    /// Day.
    Day,
    /// ISO week (Monday first).
    Week,
    /// Month.
    Month,
    /// Quarter (Jan, Apr, Jul, Oct).
    Quarter,
    /// Year.
    Year,
}

impl CalendarUnit {
    /// The DSL name (singular).
    pub fn name(self) -> &'static str {
        match self {
            CalendarUnit::Day => "day",
            CalendarUnit::Week => "week",
            CalendarUnit::Month => "month",
            CalendarUnit::Quarter => "quarter",
            CalendarUnit::Year => "year",
        }
    }
}

/// A duration as written: an amount and a unit (`72h` stays `72h`).
/// JSON: the string form, e.g. `"30d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    /// Amount (≥ 0).
    pub amount: u32,
    /// Unit.
    pub unit: DurationUnit,
}

/// Duration units. Days are exactly 86 400 s and weeks 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationUnit {
    /// `s`
    Seconds,
    /// `m`
    Minutes,
    /// `h`
    Hours,
    /// `d`
    Days,
    /// `w`
    Weeks,
}

impl DurationUnit {
    /// The suffix letter.
    pub fn suffix(self) -> char {
        match self {
            DurationUnit::Seconds => 's',
            DurationUnit::Minutes => 'm',
            DurationUnit::Hours => 'h',
            DurationUnit::Days => 'd',
            DurationUnit::Weeks => 'w',
        }
    }

    /// Seconds in one unit.
    pub fn seconds(self) -> i64 {
        match self {
            DurationUnit::Seconds => 1,
            DurationUnit::Minutes => 60,
            DurationUnit::Hours => 3_600,
            DurationUnit::Days => 86_400,
            DurationUnit::Weeks => 604_800,
        }
    }
}

impl Duration {
    /// Total seconds.
    pub fn seconds(self) -> i64 {
        i64::from(self.amount) * self.unit.seconds()
    }

    /// As a chrono duration.
    pub fn to_chrono(self) -> chrono::Duration {
        chrono::Duration::seconds(self.seconds())
    }

    /// Parses `30d`, `72h`, `3w`, `15m`, `10s`.
    pub fn parse(s: &str) -> Option<Duration> {
        let unit = match s.chars().last()? {
            's' => DurationUnit::Seconds,
            'm' => DurationUnit::Minutes,
            'h' => DurationUnit::Hours,
            'd' => DurationUnit::Days,
            'w' => DurationUnit::Weeks,
            _ => return None,
        };
        let digits = &s[..s.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Duration {
            amount: digits.parse().ok()?,
            unit,
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        Duration::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid duration {s:?} (expected a whole number and one of s, m, h, d, w, e.g. \"30d\")"
            ))
        })
    }
}

impl Literal {
    /// The type of the literal's value (`None` for an empty or mixed list).
    pub fn value_type(&self) -> Option<ValueType> {
        Some(match self {
            Literal::String(_) => ValueType::String,
            Literal::Integer(_) => ValueType::Integer,
            Literal::Float(_) => ValueType::Float,
            Literal::Boolean(_) => ValueType::Boolean,
            Literal::Timestamp(_) => ValueType::Timestamp,
            Literal::Date(_) => ValueType::Date,
            Literal::Duration(_) => return None,
            Literal::List(items) => {
                if items.iter().all(|i| matches!(i, Literal::String(_))) {
                    ValueType::StringList
                } else {
                    return None;
                }
            }
        })
    }
}

impl Serialize for Literal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Literal::Timestamp(t) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "timestamp")?;
                m.serialize_entry("value", t)?;
                m.end()
            }
            Literal::Date(d) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "date")?;
                m.serialize_entry("value", d)?;
                m.end()
            }
            Literal::Duration(d) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "duration")?;
                m.serialize_entry("value", d)?;
                m.end()
            }
            Literal::Float(f) if f.fract() == 0.0 && f.is_finite() => {
                // Keep integral floats distinguishable from integers.
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "float")?;
                m.serialize_entry("value", f)?;
                m.end()
            }
            other => plain_literal_json(other).serialize(s),
        }
    }
}

fn plain_literal_json(l: &Literal) -> serde_json::Value {
    match l {
        Literal::String(s) => s.clone().into(),
        Literal::Integer(i) => (*i).into(),
        Literal::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Literal::Boolean(b) => (*b).into(),
        Literal::List(items) => items
            .iter()
            .map(|i| serde_json::to_value(i).unwrap_or(serde_json::Value::Null))
            .collect::<Vec<_>>()
            .into(),
        Literal::Timestamp(_) | Literal::Date(_) | Literal::Duration(_) => {
            serde_json::to_value(l).unwrap_or(serde_json::Value::Null)
        }
    }
}

impl<'de> Deserialize<'de> for Literal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Literal, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        literal_from_json(&v).map_err(serde::de::Error::custom)
    }
}

fn literal_from_json(v: &serde_json::Value) -> Result<Literal, String> {
    use serde_json::Value as J;
    Ok(match v {
        J::String(s) => Literal::String(s.clone()),
        J::Bool(b) => Literal::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Literal::Integer(i),
            None => Literal::Float(n.as_f64().ok_or("number out of range")?),
        },
        J::Array(items) => Literal::List(
            items
                .iter()
                .map(literal_from_json)
                .collect::<Result<_, _>>()?,
        ),
        J::Object(m) => {
            let ty = m
                .get("type")
                .and_then(J::as_str)
                .ok_or("a literal object needs a string \"type\"")?;
            let val = m.get("value").ok_or("a literal object needs a \"value\"")?;
            let text = || {
                val.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("a {ty} literal's value must be a string"))
            };
            match ty {
                "timestamp" => {
                    let t = text()?;
                    crate::value::parse_timestamp(&t).map_err(|e| e.message().to_string())?;
                    Literal::Timestamp(t)
                }
                "date" => {
                    let t = text()?;
                    crate::value::parse_date(&t).map_err(|e| e.message().to_string())?;
                    Literal::Date(t)
                }
                "duration" => {
                    let t = text()?;
                    Literal::Duration(
                        Duration::parse(&t).ok_or_else(|| format!("invalid duration {t:?}"))?,
                    )
                }
                "float" => Literal::Float(val.as_f64().ok_or("a float literal needs a number")?),
                "integer" => {
                    Literal::Integer(val.as_i64().ok_or("an integer literal needs an integer")?)
                }
                "string" => Literal::String(text()?),
                "boolean" => Literal::Boolean(
                    val.as_bool()
                        .ok_or("a boolean literal needs true or false")?,
                ),
                other => return Err(format!("unknown literal type {other:?}")),
            }
        }
        J::Null => return Err("null is not a literal; use `exists` / `is missing`".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expr_json_shape() {
        let e = Expr::new(ExprKind::Compare {
            cmp: CmpOp::Ge,
            left: Box::new(Expr::new(ExprKind::Aggregate {
                agg: AggFn::Count,
                event: "purchase".into(),
                property: None,
                filter: None,
                window: Window::Rolling {
                    duration: Duration::parse("30d").unwrap(),
                },
            })),
            right: Box::new(Expr::new(ExprKind::Literal {
                value: Literal::Integer(3),
            })),
        });
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(
            j,
            json!({"op":"compare","cmp":"ge",
                "left":{"op":"aggregate","agg":"count","event":"purchase",
                        "window":{"kind":"rolling","duration":"30d"}},
                "right":{"op":"literal","value":3}})
        );
        let back: Expr = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn literal_json_forms() {
        for l in [
            Literal::Timestamp("2026-03-01T00:00:00+08:00".into()),
            Literal::Date("2026-03-01".into()),
            Literal::Duration(Duration::parse("72h").unwrap()),
            Literal::Float(3.0),
            Literal::Float(2.5),
            Literal::List(vec![Literal::String("a".into())]),
        ] {
            let j = serde_json::to_value(&l).unwrap();
            let back: Literal = serde_json::from_value(j).unwrap();
            assert_eq!(back, l);
        }
        assert!(
            serde_json::from_value::<Literal>(json!({"type":"date","value":"2026-02-30"})).is_err()
        );
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(Duration::parse("72h").unwrap().seconds(), 72 * 3600);
        assert_eq!(Duration::parse("3w").unwrap().to_string(), "3w");
        assert!(Duration::parse("3x").is_none());
        assert!(Duration::parse("d").is_none());
    }
}
