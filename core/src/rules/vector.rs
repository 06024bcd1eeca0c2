//! Column-at-a-time evaluation of the rules that read only profile traits,
//! literals and `now` (ADR 0011): comparisons, `in`, `between`, text tests,
//! `exists` / `is missing`, `within` on timestamps (and on dates, and `today`,
//! when no user has a zone of their own), `and` / `or` / `not` and references
//! to other such rules. Each test runs over a block of [`BLOCK`] rows of one column into byte
//! masks (tight loops the compiler vectorises); a dictionary column's strings are
//! tested once per distinct value. Truth is kept as two masks, `t` (true) and
//! `f` (false); a row in neither is unknown, so Kleene logic is bitwise:
//! `and` = (t₁&t₂, f₁|f₂), `or` = (t₁|t₂, f₁&f₂), `not` swaps them.
//!
//! Every other rule, and every row holding a malformed cell (non-finite float,
//! bad UTF-8, dictionary key or instant out of range) in a column a vector rule
//! reads, goes through the row evaluator, so results and errors are exactly
//! the row path's (`core/tests/columnar.rs` checks it).

use super::ast::{CmpOp, Direction, TextTest};
use super::compile::CompiledRuleSet;
use super::eval::{compare, Const, Node, Pattern};
use super::explain::Truth;
use crate::columnar::{days_range, micros_range, Column, ColumnData};
use crate::value::ValueType;
use chrono::{DateTime, NaiveDate, Utc};

/// Rows per block: masks stay in L1 and loops are long enough to vectorise.
pub(crate) const BLOCK: usize = 1024;

/// The vector form of a rule.
enum VNode<'b> {
    Const(Truth),
    And(Vec<VNode<'b>>),
    Or(Vec<VNode<'b>>),
    Not(Box<VNode<'b>>),
    /// Another vector rule's truth (rules run in dependency order).
    Segment(usize),
    Leaf(Leaf<'b>),
}

/// One test of one trait column.
struct Leaf<'b> {
    /// `None`: the batch has no such column (every value missing).
    col: Option<&'b Column<'b>>,
    /// The declared type of the trait (integers in a float trait read as floats).
    ty: ValueType,
    /// The row (user) the column's row 0 holds.
    base: usize,
    test: Test<'b>,
    /// For dictionary columns: the test's result per dictionary value
    /// (0 false, 1 true, 2 missing value).
    dict: Option<Vec<u8>>,
}

/// What a leaf tests.
enum Test<'b> {
    /// `x exists` (`is missing` when negated); never unknown.
    Exists { negated: bool },
    /// `x OP c`.
    Cmp { op: CmpOp, c: Const },
    /// `x in [...]` / `x not in [...]`.
    In { values: &'b [Const], negated: bool },
    /// `x contains / starts_with / ends_with / matches p` on a string.
    Text {
        test: TextTest,
        pattern: &'b Pattern,
    },
}

/// The vector plans of a compiled set bound to one batch's trait columns.
pub(crate) struct VectorPlan<'b> {
    /// Per rule; `None` for rules the row evaluator handles.
    rules: Vec<Option<VNode<'b>>>,
    /// Rule indexes in dependency order.
    order: &'b [usize],
}

/// Three-valued masks of one block (one byte per row, 0 or 1).
#[derive(Clone, Default)]
pub(crate) struct Tri {
    t: Vec<u8>,
    f: Vec<u8>,
}

impl Tri {
    fn new(n: usize) -> Tri {
        Tri {
            t: vec![0; n],
            f: vec![0; n],
        }
    }

    /// The truth of row `j`.
    pub(crate) fn truth(&self, j: usize) -> Truth {
        if self.t[j] != 0 {
            Truth::True
        } else if self.f[j] != 0 {
            Truth::False
        } else {
            Truth::Unknown
        }
    }

    /// Whether row `j` is true.
    #[inline]
    pub(crate) fn is_true(&self, j: usize) -> bool {
        self.t[j] != 0
    }
}

/// One block's results: a truth per vector rule and the rows the row evaluator
/// must redo (a malformed cell in a column a vector rule reads).
pub(crate) struct BlockResult {
    pub rules: Vec<Option<Tri>>,
    pub bad: Vec<u8>,
}

/// Whether a column of type `held` can be read as a trait declared `ty`.
fn fits(held: ValueType, ty: ValueType) -> bool {
    held == ty || (ty == ValueType::Float && held == ValueType::Integer)
}

/// Whether `x OP c` with `x` of declared type `ty` is a comparison the kernel
/// implements (the compiler has already checked that the types compare).
fn const_fits(ty: ValueType, c: &Const) -> bool {
    matches!(
        (ty, c),
        (
            ValueType::Integer | ValueType::Float,
            Const::Int(_) | Const::Float(_)
        ) | (ValueType::String, Const::Str(_))
            | (ValueType::Boolean, Const::Bool(_))
            | (ValueType::Timestamp, Const::Ts(_))
            | (ValueType::Date, Const::Date(_))
    )
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt | CmpOp::Before => CmpOp::Gt,
        CmpOp::Gt | CmpOp::After => CmpOp::Lt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// The event terms of a reduced bucket of users as columns (ADR 0013): per
/// term, its column (`None`: always missing) and value type, or `None` when
/// the term is left to the row evaluator. Row `j` is user `base + j`.
pub(crate) struct TermColumns<'b> {
    pub cols: Vec<Option<(Option<&'b Column<'b>>, ValueType)>>,
    pub base: usize,
}

struct Builder<'b, 'c> {
    cols: &'c [Option<&'b Column<'b>>],
    /// The event terms as columns, when the source has them.
    terms: Option<&'c TermColumns<'b>>,
    now: DateTime<Utc>,
    /// `today`, when every user of the batch has the default zone.
    today: Option<NaiveDate>,
    /// Which earlier rules are vector rules.
    vector: &'c [bool],
}

/// A column operand of a test: the column (`None`: always missing), its
/// declared type and the user its row 0 holds.
type Operand<'b> = (Option<&'b Column<'b>>, ValueType, usize);

impl<'b> Builder<'b, '_> {
    /// A constant operand: a literal, `now`, or `today` when it is one date.
    fn constant(&self, n: &Node) -> Option<Const> {
        match n {
            Node::Const(c) => Some(c.clone()),
            Node::Now => Some(Const::Ts(self.now)),
            Node::Today => self.today.map(Const::Date),
            _ => None,
        }
    }

    /// A trait, or an event term the source has as a column.
    fn operand(&self, n: &Node) -> Option<Operand<'b>> {
        match n {
            Node::Trait { id, ty, .. } => Some((*self.cols.get(*id)?, *ty, 0)),
            Node::Agg(p) => self.term(p.term),
            Node::Streak(p) => self.term(p.term),
            _ => None,
        }
    }

    fn term(&self, term: usize) -> Option<Operand<'b>> {
        let terms = self.terms?;
        let (col, ty) = (*terms.cols.get(term)?)?;
        Some((col, ty, terms.base))
    }

    /// `lo <= x <= hi` (a `None` bound is open): unknown exactly when `x` is missing.
    fn range(&self, x: Operand<'b>, lo: Option<Const>, hi: Option<Const>) -> Option<VNode<'b>> {
        let mut parts = Vec::with_capacity(2);
        if let Some(c) = lo {
            parts.push(self.leaf(x, Test::Cmp { op: CmpOp::Ge, c })?);
        }
        if let Some(c) = hi {
            parts.push(self.leaf(x, Test::Cmp { op: CmpOp::Le, c })?);
        }
        Some(VNode::And(parts))
    }

    fn node(&self, n: &'b Node) -> Option<VNode<'b>> {
        Some(match n {
            Node::And(args) => {
                VNode::And(args.iter().map(|a| self.node(a)).collect::<Option<_>>()?)
            }
            Node::Or(args) => VNode::Or(args.iter().map(|a| self.node(a)).collect::<Option<_>>()?),
            Node::Not(a) => VNode::Not(Box::new(self.node(a)?)),
            Node::Const(Const::Bool(b)) => VNode::Const(Truth::from_bool(*b)),
            Node::Segment(i) if self.vector.get(*i).copied().unwrap_or(false) => VNode::Segment(*i),
            // A reduced batch has no consents or identities (its source
            // answers false for every one).
            Node::HasConsent { .. } | Node::HasIdentity(_) if self.terms.is_some() => {
                VNode::Const(Truth::False)
            }
            // A boolean trait or term used as a condition.
            Node::Trait { .. } | Node::Agg(_) | Node::Streak(_) => {
                let x = self.operand(n)?;
                if x.1 != ValueType::Boolean {
                    return None;
                }
                self.leaf(
                    x,
                    Test::Cmp {
                        op: CmpOp::Eq,
                        c: Const::Bool(true),
                    },
                )?
            }
            Node::Exists { expr, negated } => match &**expr {
                // Literals and `now` are never missing.
                Node::Const(_) | Node::Now => VNode::Const(Truth::from_bool(!*negated)),
                e => self.leaf(self.operand(e)?, Test::Exists { negated: *negated })?,
            },
            Node::Compare { cmp, left, right } => {
                match (self.operand(left), self.operand(right)) {
                    (Some(x), None) => {
                        let c = self.constant(right)?;
                        self.leaf(x, Test::Cmp { op: *cmp, c })?
                    }
                    (None, Some(x)) => {
                        let c = self.constant(left)?;
                        self.leaf(x, Test::Cmp { op: flip(*cmp), c })?
                    }
                    (Some(_), Some(_)) => return None,
                    (None, None) => {
                        // Two constants: fold.
                        let (a, b) = (self.constant(left)?, self.constant(right)?);
                        VNode::Const(
                            compare(&a.val(), &b.val())
                                .map_or(Truth::Unknown, |o| Truth::from_bool(cmp.holds(o))),
                        )
                    }
                }
            }
            Node::In {
                expr,
                values,
                negated,
            } => self.leaf(
                self.operand(expr)?,
                Test::In {
                    values,
                    negated: *negated,
                },
            )?,
            // lo <= x and x <= hi: unknown exactly when x is missing.
            Node::Between { expr, low, high } => {
                let x = self.operand(expr)?;
                let lo = self.constant(low)?;
                let hi = self.constant(high)?;
                self.range(x, Some(lo), Some(hi))?
            }
            // `x within last d` is `now - d <= x <= now` (dates: against today);
            // a bound past the representable range is open.
            Node::Within {
                expr,
                direction,
                seconds,
                days,
            } => {
                let x = self.operand(expr)?;
                match x.1 {
                    ValueType::Timestamp => {
                        let now = self.now;
                        let far =
                            chrono::Duration::try_seconds(*seconds).and_then(|d| match direction {
                                Direction::Last => now.checked_sub_signed(d),
                                Direction::Next => now.checked_add_signed(d),
                            });
                        let (far, now) = (far.map(Const::Ts), Some(Const::Ts(now)));
                        match direction {
                            Direction::Last => self.range(x, far, now)?,
                            Direction::Next => self.range(x, now, far)?,
                        }
                    }
                    ValueType::Date => {
                        let today = self.today?;
                        let far = chrono::Duration::try_days(*days).and_then(|d| match direction {
                            Direction::Last => today.checked_sub_signed(d),
                            Direction::Next => today.checked_add_signed(d),
                        });
                        let (far, today) = (far.map(Const::Date), Some(Const::Date(today)));
                        match direction {
                            Direction::Last => self.range(x, far, today)?,
                            Direction::Next => self.range(x, today, far)?,
                        }
                    }
                    _ => return None,
                }
            }
            Node::Text {
                test,
                expr,
                pattern,
            } => {
                let x = self.operand(expr)?;
                if x.1 != ValueType::String {
                    return None;
                }
                self.leaf(
                    x,
                    Test::Text {
                        test: *test,
                        pattern,
                    },
                )?
            }
            _ => return None,
        })
    }

    fn leaf(&self, (col, ty, base): Operand<'b>, test: Test<'b>) -> Option<VNode<'b>> {
        let ok = match &test {
            Test::Exists { .. } => ty != ValueType::StringList,
            Test::Cmp { c, .. } => const_fits(ty, c),
            Test::In { values, .. } => values.iter().all(|c| const_fits(ty, c)),
            Test::Text { .. } => ty == ValueType::String,
        };
        if !ok {
            return None;
        }
        if let Some(c) = col {
            if !fits(c.value_type(), ty) || c.value_type() == ValueType::StringList {
                return None;
            }
        }
        let dict = match col.map(Column::data) {
            Some(ColumnData::Dictionary { values, .. }) => Some(
                values
                    .iter()
                    .map(|v| match v {
                        None => 2,
                        Some(s) => u8::from(match &test {
                            Test::Exists { .. } => true,
                            _ => str_test(&test, s),
                        }),
                    })
                    .collect(),
            ),
            _ => None,
        };
        Some(VNode::Leaf(Leaf {
            col,
            ty,
            base,
            test,
            dict,
        }))
    }
}

/// A string test on one value (the row evaluator's semantics: code-point order,
/// which is byte order for UTF-8).
fn str_test(test: &Test<'_>, s: &str) -> bool {
    match test {
        Test::Exists { .. } => true,
        Test::Cmp {
            op,
            c: Const::Str(c),
        } => op.holds(s.cmp(c.as_str())),
        Test::Cmp { .. } => false,
        Test::In { values, negated } => {
            values
                .iter()
                .any(|c| matches!(c, Const::Str(c) if c.as_str() == s))
                != *negated
        }
        Test::Text { test, pattern } => match (test, pattern) {
            (_, Pattern::Regex(re)) => re.is_match(s),
            (TextTest::StartsWith, Pattern::Text(p)) => s.starts_with(p.as_str()),
            (TextTest::EndsWith, Pattern::Text(p)) => s.ends_with(p.as_str()),
            (_, Pattern::Text(p)) => s.contains(p.as_str()),
        },
    }
}

impl CompiledRuleSet {
    /// Binds the vector rules of the set to a batch's trait columns (`cols[id]`
    /// for each trait id of the name table). `today` is the local date at `now`
    /// when every user has the default zone (otherwise rules reading `today`
    /// use the row evaluator).
    pub(crate) fn vector_plan<'b>(
        &'b self,
        cols: &[Option<&'b Column<'b>>],
        now: DateTime<Utc>,
        today: Option<NaiveDate>,
    ) -> VectorPlan<'b> {
        self.vector_plan_with(cols, None, now, today)
    }

    /// [`CompiledRuleSet::vector_plan`] for a reduced bucket: tests of its
    /// event terms run in the kernel too, over `terms`.
    pub(crate) fn vector_plan_with<'b>(
        &'b self,
        cols: &[Option<&'b Column<'b>>],
        terms: Option<&TermColumns<'b>>,
        now: DateTime<Utc>,
        today: Option<NaiveDate>,
    ) -> VectorPlan<'b> {
        let n = self.rule_names().len();
        let mut vector = vec![false; n];
        let mut rules: Vec<Option<VNode<'b>>> = (0..n).map(|_| None).collect();
        for &i in self.order() {
            let plan = Builder {
                cols,
                terms,
                now,
                today,
                vector: &vector,
            }
            .node(self.rule(i).1);
            vector[i] = plan.is_some();
            rules[i] = plan;
        }
        VectorPlan {
            rules,
            order: self.order(),
        }
    }
}

impl VectorPlan<'_> {
    /// Whether rule `i` runs in the kernel.
    pub(crate) fn has(&self, i: usize) -> bool {
        self.rules.get(i).is_some_and(Option::is_some)
    }

    /// Whether any rule runs in the kernel.
    pub(crate) fn any(&self) -> bool {
        self.rules.iter().any(Option::is_some)
    }

    /// Whether every rule runs in the kernel.
    pub(crate) fn all(&self) -> bool {
        self.rules.iter().all(Option::is_some)
    }

    /// Evaluates the vector rules for rows `lo..lo + n` (`n <= BLOCK`).
    pub(crate) fn run(&self, lo: usize, n: usize) -> BlockResult {
        let mut out = BlockResult {
            rules: (0..self.rules.len()).map(|_| None).collect(),
            bad: vec![0; n],
        };
        for &i in self.order {
            if let Some(node) = &self.rules[i] {
                let mut tri = Tri::new(n);
                eval(node, lo, n, &out.rules, &mut tri, &mut out.bad);
                out.rules[i] = Some(tri);
            }
        }
        out
    }
}

fn eval(
    node: &VNode<'_>,
    lo: usize,
    n: usize,
    done: &[Option<Tri>],
    out: &mut Tri,
    bad: &mut [u8],
) {
    match node {
        VNode::Const(t) => {
            out.t.fill(u8::from(*t == Truth::True));
            out.f.fill(u8::from(*t == Truth::False));
        }
        VNode::And(args) | VNode::Or(args) => {
            let is_and = matches!(node, VNode::And(_));
            // `and []` is true, `or []` false.
            out.t.fill(u8::from(is_and));
            out.f.fill(u8::from(!is_and));
            let mut tmp = Tri::new(n);
            for a in args {
                eval(a, lo, n, done, &mut tmp, bad);
                if is_and {
                    and_into(out, &tmp);
                } else {
                    or_into(out, &tmp);
                }
            }
        }
        VNode::Not(a) => {
            eval(a, lo, n, done, out, bad);
            std::mem::swap(&mut out.t, &mut out.f);
        }
        VNode::Segment(i) => match done.get(*i).and_then(Option::as_ref) {
            Some(t) => {
                out.t.copy_from_slice(&t.t);
                out.f.copy_from_slice(&t.f);
            }
            // Not reached: a vector rule references only earlier vector rules.
            None => {
                out.t.fill(0);
                out.f.fill(0);
            }
        },
        VNode::Leaf(leaf) => leaf.eval(lo, n, out, bad),
    }
}

fn and_into(out: &mut Tri, x: &Tri) {
    for (o, v) in out.t.iter_mut().zip(&x.t) {
        *o &= v;
    }
    for (o, v) in out.f.iter_mut().zip(&x.f) {
        *o |= v;
    }
}

fn or_into(out: &mut Tri, x: &Tri) {
    for (o, v) in out.t.iter_mut().zip(&x.t) {
        *o |= v;
    }
    for (o, v) in out.f.iter_mut().zip(&x.f) {
        *o &= v;
    }
}

/// `res[j] = x[j] OP c` over a slice, through `map` (inlined, so each operator
/// is one branch-free loop).
#[inline(always)]
fn cmp_fill<T: Copy, U: PartialOrd + Copy>(
    xs: &[T],
    map: impl Fn(T) -> U,
    op: CmpOp,
    c: U,
    res: &mut [u8],
) {
    macro_rules! go {
        ($p:expr) => {
            for (r, &x) in res.iter_mut().zip(xs) {
                let v = map(x);
                *r = u8::from($p(v));
            }
        };
    }
    match op {
        CmpOp::Eq => go!(|v: U| v == c),
        CmpOp::Ne => go!(|v: U| v != c),
        CmpOp::Lt | CmpOp::Before => go!(|v: U| v < c),
        CmpOp::Le => go!(|v: U| v <= c),
        CmpOp::Gt | CmpOp::After => go!(|v: U| v > c),
        CmpOp::Ge => go!(|v: U| v >= c),
    }
}

/// `x OP t` for whole-microsecond `x` and an instant `t` that may have
/// sub-microsecond parts (or be a leap second, which sorts last in its second):
/// the equivalent test on microseconds, or a constant.
fn ts_op(op: CmpOp, t: DateTime<Utc>) -> Result<(CmpOp, i64), bool> {
    let (floor, exact) = super::columnar::floor_micros(t);
    // Every representable instant fits in i64 microseconds.
    let floor = i64::try_from(floor).map_err(|_| false)?;
    let ceil = floor + i64::from(!exact);
    match op {
        CmpOp::Lt | CmpOp::Before => Ok((CmpOp::Lt, ceil)),
        CmpOp::Le => Ok((CmpOp::Le, floor)),
        CmpOp::Gt | CmpOp::After => Ok((CmpOp::Gt, floor)),
        CmpOp::Ge => Ok((CmpOp::Ge, ceil)),
        CmpOp::Eq if exact => Ok((CmpOp::Eq, floor)),
        CmpOp::Ne if exact => Ok((CmpOp::Ne, floor)),
        CmpOp::Eq => Err(false),
        _ => Err(true),
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// `res[j] = x[j] OP c` for one typed slice of a block; `false` when the
/// combination cannot occur (the compiler's type check rules it out).
fn cmp_block(
    data: &ColumnData<'_>,
    ty: ValueType,
    lo: usize,
    n: usize,
    op: CmpOp,
    c: &Const,
    res: &mut [u8],
) -> bool {
    match (data, c) {
        (ColumnData::Integer(v), Const::Int(c)) if ty == ValueType::Integer => {
            cmp_fill(&v[lo..lo + n], |x| x, op, *c, res)
        }
        (ColumnData::Integer(v), Const::Int(_) | Const::Float(_)) => {
            let c = match c {
                Const::Int(i) => *i as f64,
                Const::Float(f) => *f,
                _ => return false,
            };
            cmp_fill(&v[lo..lo + n], |x| x as f64, op, c, res)
        }
        (ColumnData::Float(v), Const::Int(_) | Const::Float(_)) => {
            let c = match c {
                Const::Int(i) => *i as f64,
                Const::Float(f) => *f,
                _ => return false,
            };
            cmp_fill(&v[lo..lo + n], |x| x, op, c, res)
        }
        (ColumnData::Boolean(b), Const::Bool(c)) => {
            for (j, r) in res.iter_mut().enumerate() {
                let x = b.get(lo + j);
                *r = u8::from(op.holds(x.cmp(c)));
            }
        }
        (ColumnData::TimestampMicros(v), Const::Ts(t)) => match ts_op(op, *t) {
            Ok((op, c)) => cmp_fill(&v[lo..lo + n], |x| x, op, c, res),
            Err(all) => res.fill(u8::from(all)),
        },
        (ColumnData::Date32(v), Const::Date(d)) => {
            let c = (*d - epoch()).num_days();
            cmp_fill(&v[lo..lo + n], i64::from, op, c, res)
        }
        _ => return false,
    }
    true
}

impl Leaf<'_> {
    fn eval(&self, lo: usize, n: usize, out: &mut Tri, bad: &mut [u8]) {
        let lo = lo - self.base;
        let Some(col) = self.col else {
            // No column: every value is missing.
            let exists = matches!(self.test, Test::Exists { negated: true });
            out.t.fill(u8::from(exists));
            out.f.fill(u8::from(matches!(
                self.test,
                Test::Exists { negated: false }
            )));
            return;
        };
        // present[j]: the row holds a value; res[j]: the test's result on it.
        let mut present = vec![1u8; n];
        if let Some(v) = col.validity() {
            for (j, p) in present.iter_mut().enumerate() {
                *p = u8::from(v.get(lo + j));
            }
        }
        let mut res = vec![0u8; n];
        let data = col.data();
        self.check(data, lo, &present, bad);
        match (data, &self.test) {
            (ColumnData::Dictionary { keys, .. }, _) => {
                let table = self.dict.as_deref().unwrap_or(&[]);
                for (j, (r, p)) in res.iter_mut().zip(present.iter_mut()).enumerate() {
                    match usize::try_from(keys[lo + j])
                        .ok()
                        .and_then(|k| table.get(k))
                    {
                        Some(2) => *p = 0,
                        Some(&v) => *r = v,
                        // Out of range: a bad row (see `check`).
                        None => *p = 0,
                    }
                }
                if let Test::Exists { negated } = self.test {
                    return exists(&present, negated, out);
                }
                // The table already holds the test's result.
                return finish(&present, &res, false, out);
            }
            (_, Test::Exists { negated }) => return exists(&present, *negated, out),
            (ColumnData::Utf8 { offsets, data }, test) => {
                for (j, r) in res.iter_mut().enumerate() {
                    if present[j] != 0 {
                        if let Some(s) = utf8_at(offsets, data, lo + j) {
                            *r = u8::from(str_test(test, s));
                        }
                    }
                }
                return finish(&present, &res, false, out);
            }
            (_, Test::Cmp { op, c }) => {
                if !cmp_block(data, self.ty, lo, n, *op, c, &mut res) {
                    // Not reached (checked when the plan was built): unknown.
                    present.fill(0);
                }
            }
            (_, Test::In { values, negated }) => {
                let mut eq = vec![0u8; n];
                for c in values.iter() {
                    if cmp_block(data, self.ty, lo, n, CmpOp::Eq, c, &mut eq) {
                        for (r, e) in res.iter_mut().zip(&eq) {
                            *r |= e;
                        }
                    }
                }
                return finish(&present, &res, *negated, out);
            }
            (_, Test::Text { .. }) => present.fill(0),
        }
        finish(&present, &res, false, out);
    }

    /// Marks the present rows whose value the row evaluator would reject.
    fn check(&self, data: &ColumnData<'_>, lo: usize, present: &[u8], bad: &mut [u8]) {
        let n = present.len();
        match data {
            ColumnData::Float(v) => {
                for ((b, p), x) in bad.iter_mut().zip(present).zip(&v[lo..lo + n]) {
                    *b |= p & u8::from(!x.is_finite());
                }
            }
            ColumnData::TimestampMicros(v) => {
                let range = micros_range();
                let (min, max) = (*range.start(), *range.end());
                for ((b, p), &x) in bad.iter_mut().zip(present).zip(&v[lo..lo + n]) {
                    *b |= p & u8::from(x < min || x > max);
                }
            }
            ColumnData::Date32(v) => {
                let (min, max) = (*days_range().start(), *days_range().end());
                for ((b, p), &x) in bad.iter_mut().zip(present).zip(&v[lo..lo + n]) {
                    let x = i64::from(x);
                    *b |= p & u8::from(x < min || x > max);
                }
            }
            ColumnData::Utf8 { offsets, data } => {
                for (j, (b, p)) in bad.iter_mut().zip(present).enumerate() {
                    if *p != 0 && utf8_at(offsets, data, lo + j).is_none() {
                        *b = 1;
                    }
                }
            }
            ColumnData::Dictionary { keys, values } => {
                for ((b, p), &k) in bad.iter_mut().zip(present).zip(&keys[lo..lo + n]) {
                    let out = usize::try_from(k).map_or(true, |k| k >= values.len());
                    *b |= p & u8::from(out);
                }
            }
            ColumnData::Integer(_) | ColumnData::Boolean(_) | ColumnData::StringList(_) => {}
        }
    }
}

/// Row `i` of a UTF-8 column, if its offsets and bytes are valid.
#[inline]
fn utf8_at<'a>(offsets: &[i32], data: &'a [u8], i: usize) -> Option<&'a str> {
    let s = usize::try_from(*offsets.get(i)?).ok()?;
    let e = usize::try_from(*offsets.get(i + 1)?).ok()?;
    std::str::from_utf8(data.get(s..e)?).ok()
}

/// `exists` from presence: never unknown.
fn exists(present: &[u8], negated: bool, out: &mut Tri) {
    let neg = u8::from(negated);
    for ((t, f), p) in out.t.iter_mut().zip(out.f.iter_mut()).zip(present) {
        *t = p ^ neg;
        *f = *t ^ 1;
    }
}

/// Truth from presence and result (negated for `not in`); missing is unknown.
fn finish(present: &[u8], res: &[u8], negated: bool, out: &mut Tri) {
    let neg = u8::from(negated);
    for (((t, f), p), r) in out.t.iter_mut().zip(out.f.iter_mut()).zip(present).zip(res) {
        let r = r ^ neg;
        *t = p & r;
        *f = p & (r ^ 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columnar::EventColumns;
    use crate::columnar::{Bitmap, ProfileColumns};
    use crate::rules::{ColumnarInput, RuleSet};
    use crate::{Schema, Zone};

    fn schema() -> Schema {
        Schema::from_json(
            r#"{"traits":{"age":"integer","ltv":"float","city":"string","vip":"boolean"}}"#,
        )
        .unwrap()
    }

    /// Each rule's membership for ages [30, missing, 10] and cities
    /// ["a", "b", missing], by the kernel and by the row evaluator.
    fn both(text: &str, dictionary: bool) -> (Vec<Vec<bool>>, Vec<Vec<bool>>, bool) {
        let schema = schema();
        let compiled = CompiledRuleSet::compile(&RuleSet::parse(text).unwrap(), &schema).unwrap();
        let ages = [30i64, 0, 10];
        let valid = [0b101u8];
        let offsets = [0i32, 1, 2, 2];
        let keys = [0i32, 1, 0];
        let city_valid = [0b011u8];
        let city = if dictionary {
            ColumnData::Dictionary {
                keys: &keys,
                values: vec![Some("a"), Some("b")],
            }
        } else {
            ColumnData::Utf8 {
                offsets: &offsets,
                data: b"ab",
            }
        };
        let profiles = ProfileColumns::new(3)
            .with_trait(
                "age",
                Column::new(
                    ColumnData::Integer(&ages),
                    Some(Bitmap::new(&valid, 0, 3).unwrap()),
                )
                .unwrap(),
            )
            .unwrap()
            .with_trait(
                "city",
                Column::new(city, Some(Bitmap::new(&city_valid, 0, 3).unwrap())).unwrap(),
            )
            .unwrap();
        let events = EventColumns::empty();
        let grouped = events.group(&[], 3).unwrap();
        let input = ColumnarInput {
            profiles: &profiles,
            events: &events,
            grouped: &grouped,
            now: DateTime::from_timestamp(1_773_806_400, 0).unwrap(),
            default_zone: Zone::utc(),
        };
        let traits: Vec<Option<&Column<'_>>> = compiled
            .read_names()
            .traits
            .iter()
            .map(|t| profiles.trait_column(t))
            .collect();
        let all = compiled.vector_plan(&traits, input.now, None).all();
        (
            compiled.evaluate_columns(&input, 1).unwrap(),
            compiled.evaluate_columns_rowwise(&input, 1).unwrap(),
            all,
        )
    }

    #[test]
    fn kleene_logic_on_missing_values() {
        for dictionary in [false, true] {
            let (v, r, all) = both(
                "segment a: age > 20\n\
                 segment b: not (age > 20)\n\
                 segment c: age > 20 or city = \"b\"\n\
                 segment d: not (age > 20 and city = \"a\")\n\
                 segment e: age is missing\n\
                 segment f: city exists and not (age exists)\n\
                 segment g: city not in [\"a\"]\n\
                 segment h: age between 5 and 20\n\
                 segment i: in_segment(c) and not in_segment(a)\n\
                 segment j: 1 < 2 and city starts_with \"a\"\n\
                 segment k: not (city matches \"^b\") or age >= 30\n\
                 segment l: ltv > 3 or not (ltv > 3)\n\
                 segment m: vip is missing and not vip",
                dictionary,
            );
            assert!(all, "every rule is in the kernel's subset");
            assert_eq!(v, r, "kernel == row evaluator");
            // Users: (30, "a"), (missing, "b"), (10, missing).
            let expect: [[bool; 3]; 13] = [
                [true, false, false], // unknown for the missing age
                [false, false, true], // not unknown is unknown
                [true, true, false],  // unknown or false is unknown
                [false, true, true],  // false and unknown is false
                [false, true, false],
                [false, true, false],
                [false, true, false], // not in on a missing value is unknown
                [false, false, true],
                [false, false, false], // a segment reference keeps unknown
                [true, false, false],
                [true, false, false],
                [false, false, false], // no ltv column: unknown either way
                [false, false, false], // `not vip` is unknown when vip is missing
            ];
            for (r, want) in expect.iter().enumerate() {
                assert_eq!(v[r], want.to_vec(), "rule {r} (dictionary {dictionary})");
            }
        }
    }

    #[test]
    fn rules_outside_the_subset_use_the_row_evaluator() {
        let (v, r, all) = both(
            "segment a: age > 20\nsegment b: abs(age) > 20 or in_segment(a)\nsegment c: in_segment(b)",
            false,
        );
        assert!(!all);
        assert_eq!(v, r);
        assert_eq!(v[2], vec![true, false, false]);
    }

    #[test]
    fn timestamps_with_sub_microsecond_constants() {
        let t = DateTime::from_timestamp(100, 1_500).unwrap(); // 100 s + 1.5 µs
        assert_eq!(ts_op(CmpOp::Lt, t), Ok((CmpOp::Lt, 100_000_002)));
        assert_eq!(ts_op(CmpOp::Le, t), Ok((CmpOp::Le, 100_000_001)));
        assert_eq!(ts_op(CmpOp::Eq, t), Err(false));
        assert_eq!(ts_op(CmpOp::Ne, t), Err(true));
        let exact = DateTime::from_timestamp(100, 2_000).unwrap();
        assert_eq!(ts_op(CmpOp::Ge, exact), Ok((CmpOp::Ge, 100_000_002)));
        assert_eq!(ts_op(CmpOp::Eq, exact), Ok((CmpOp::Eq, 100_000_002)));
    }
}
