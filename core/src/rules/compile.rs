//! Compilation: type-checks a [`RuleSet`] against a [`Schema`], resolves names
//! (with "did you mean"), orders segment references (rejecting cycles), checks
//! limits, and builds the evaluation plan.
//!
//! Errors carry the path `rules.NAME`; [`CompiledRuleSet::compile_text`] also
//! attaches the line/column of the offending node.

use super::ast::{
    AggFn, ArithOp, CmpOp, Expr, ExprKind, Function, Literal, Rule, RuleSet, Span, TextTest, Window,
};
use super::eval::{
    self, unbox, AggPlan, ArithKind, Const, Ctx, Node, Pattern, StreakPlan, Ty, WindowPlan,
};
use super::explain::{self, Explanation, Truth};
use super::source::{RowSource, Source};
use super::EvalInput;
use crate::error::{suggest, Error, ErrorKind, Position, Result};
use crate::schema::Schema;
use std::cell::Cell;
use std::collections::HashMap;

/// Size limits checked at parse and compile time (`LIMIT_EXCEEDED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting depth of an expression (at most [`Limits::HARD_MAX_DEPTH`]
    /// is ever accepted, whatever this says, so evaluation cannot overflow the stack).
    pub max_depth: usize,
    /// Maximum number of nodes in one rule.
    pub max_nodes: usize,
    /// Maximum number of rules in a set.
    pub max_rules: usize,
    /// Maximum compiled size of one regular expression, in bytes.
    pub max_regex_size: usize,
}

impl Limits {
    /// The deepest expression ever compiled.
    pub const HARD_MAX_DEPTH: usize = 256;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 64,
            max_nodes: 10_000,
            max_rules: 10_000,
            max_regex_size: 1 << 20,
        }
    }
}

/// A compiled rule set, ready to evaluate many profiles. Immutable and `Send + Sync`.
#[derive(Debug)]
pub struct CompiledRuleSet {
    names: Vec<String>,
    /// The source rules (for explanations' clause text).
    rules: Vec<Rule>,
    /// One plan per rule, mirroring its expression.
    plans: Vec<Node>,
    /// Rule indexes, each after every rule it references.
    order: Vec<usize>,
    /// Segment references of each rule.
    deps: Vec<Vec<usize>>,
    /// Number of shared aggregate result slots (see [`AggPlan::slot`]).
    shared_slots: usize,
    /// Number of event terms (aggregates and streaks) of the plans.
    terms: usize,
    /// Trait, event and property names the plans read, by id (columnar binding).
    read: NameTable,
}

/// The distinct names a compiled set reads; plan nodes carry their index here so a
/// columnar batch binds each name to a column once, not per event.
#[derive(Debug, Default, Clone)]
pub(crate) struct NameTable {
    pub traits: Vec<String>,
    pub events: Vec<String>,
    pub props: Vec<String>,
}

impl NameTable {
    fn id(list: &mut Vec<String>, name: &str) -> usize {
        match list.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                list.push(name.to_string());
                list.len() - 1
            }
        }
    }
}

/// A compile error and the span of the node that caused it.
struct CErr {
    err: Error,
    span: Span,
}

type CResult<T> = std::result::Result<T, CErr>;

fn fail<T>(kind: ErrorKind, msg: impl Into<String>, span: Span) -> CResult<T> {
    Err(CErr {
        err: Error::new(kind, msg),
        span,
    })
}

fn at(span: Span) -> impl Fn(Error) -> CErr {
    move |err| CErr { err, span }
}

fn mismatch<T>(msg: impl Into<String>, span: Span) -> CResult<T> {
    fail(ErrorKind::TypeMismatch, msg, span)
}

impl CompiledRuleSet {
    /// Compiles with default limits.
    pub fn compile(rules: &RuleSet, schema: &Schema) -> Result<CompiledRuleSet> {
        CompiledRuleSet::compile_with_limits(rules, schema, Limits::default())
    }

    /// Compiles with explicit limits.
    pub fn compile_with_limits(
        rules: &RuleSet,
        schema: &Schema,
        limits: Limits,
    ) -> Result<CompiledRuleSet> {
        compile_set(rules, schema, limits).map_err(|e| e.err)
    }

    /// Parses DSL text and compiles it; compile errors carry the line and column
    /// of the offending node.
    pub fn compile_text(text: &str, schema: &Schema) -> Result<CompiledRuleSet> {
        CompiledRuleSet::compile_text_with_limits(text, schema, Limits::default())
    }

    /// As [`CompiledRuleSet::compile_text`] with explicit limits.
    pub fn compile_text_with_limits(
        text: &str,
        schema: &Schema,
        limits: Limits,
    ) -> Result<CompiledRuleSet> {
        let rules = RuleSet::parse(text)?;
        compile_set(&rules, schema, limits).map_err(|e| {
            if e.span.end > 0 && e.err.position().is_none() {
                e.err
                    .with_position(Position::from_offset(text, e.span.start as usize))
            } else {
                e.err
            }
        })
    }

    /// Rule names in declaration order (the order of [`CompiledRuleSet::evaluate`]'s result).
    pub fn rule_names(&self) -> &[String] {
        &self.names
    }

    /// Evaluates every rule: `result[i]` is whether the profile is a member of rule `i`.
    pub fn evaluate(&self, input: &EvalInput<'_>) -> Result<Vec<bool>> {
        let n = self.plans.len();
        // Small sets keep their per-rule truths on the stack.
        let stack: [Cell<Truth>; 16] = std::array::from_fn(|_| Cell::new(Truth::Unknown));
        let heap: Vec<Cell<Truth>>;
        let memo: &[Cell<Truth>] = if n <= stack.len() {
            &stack[..n]
        } else {
            heap = vec![Cell::new(Truth::Unknown); n];
            &heap
        };
        self.fill(&self.ctx(input, memo), None)?;
        Ok(memo.iter().map(|t| t.get().is_true()).collect())
    }

    /// Evaluates every rule to its three-valued truth (unknown means "not a member").
    pub fn evaluate_truth(&self, input: &EvalInput<'_>) -> Result<Vec<Truth>> {
        let memo = self.fresh_memo();
        self.fill(&self.ctx(input, &memo), None)?;
        Ok(memo.iter().map(Cell::get).collect())
    }

    /// Evaluates the rules in dependency order into `cx.memo` (only those marked
    /// in `needed`, when given).
    pub(crate) fn fill<'a, S: Source<'a>>(
        &'a self,
        cx: &Ctx<'a, '_, S>,
        needed: Option<&[bool]>,
    ) -> Result<()> {
        for &i in &self.order {
            if needed.is_some_and(|n| !n[i]) {
                continue;
            }
            let t = unbox(eval::eval(&self.plans[i], cx, None))?.truth();
            cx.memo[i].set(t);
        }
        Ok(())
    }

    /// The names the plans read (columnar binding).
    pub(crate) fn read_names(&self) -> &NameTable {
        &self.read
    }

    /// Rule indexes, each after every rule it references.
    pub(crate) fn order(&self) -> &[usize] {
        &self.order
    }

    /// Number of shared aggregate slots of the plans.
    pub(crate) fn shared_slots(&self) -> usize {
        self.shared_slots
    }

    /// Number of event terms (aggregates and streaks) of the plans.
    pub(crate) fn terms(&self) -> usize {
        self.terms
    }

    /// The plans, one per rule.
    pub(crate) fn plans(&self) -> &[Node] {
        &self.plans
    }

    /// Evaluates every rule, paired with its name.
    pub fn evaluate_named(&self, input: &EvalInput<'_>) -> Result<Vec<(String, bool)>> {
        Ok(self
            .names
            .iter()
            .cloned()
            .zip(self.evaluate(input)?)
            .collect())
    }

    /// Evaluates one rule (and only the rules it references).
    pub fn evaluate_rule(&self, input: &EvalInput<'_>, rule: &str) -> Result<bool> {
        let i = self.index_of(rule)?;
        let memo = self.fresh_memo();
        let cx = self.ctx(input, &memo);
        self.fill(&cx, Some(&self.closure(i)))?;
        Ok(memo[i].get().is_true())
    }

    /// Explains one rule's verdict.
    pub fn explain(&self, input: &EvalInput<'_>, rule: &str) -> Result<Explanation> {
        let i = self.index_of(rule)?;
        let memo = self.fresh_memo();
        let cx = self.ctx(input, &memo);
        self.fill(&cx, Some(&self.closure(i)))?;
        explain::explain_rule(self, &cx, i)
    }

    /// Explains every rule, in declaration order.
    pub fn explain_all(&self, input: &EvalInput<'_>) -> Result<Vec<Explanation>> {
        let memo = self.fresh_memo();
        let cx = self.ctx(input, &memo);
        self.fill(&cx, None)?;
        (0..self.plans.len())
            .map(|i| explain::explain_rule(self, &cx, i))
            .collect()
    }

    fn ctx<'a, 'm>(&'a self, input: &EvalInput<'a>, memo: &'m [Cell<Truth>]) -> Ctx<'a, 'm> {
        Ctx::new(
            RowSource {
                profile: input.profile,
                events: input.events.events(),
            },
            input.now,
            input.zone(),
            memo,
            self.shared_slots,
        )
    }

    fn fresh_memo(&self) -> Vec<Cell<Truth>> {
        vec![Cell::new(Truth::Unknown); self.plans.len()]
    }

    /// Rule `i` and every rule it references, directly or not.
    pub(crate) fn closure(&self, i: usize) -> Vec<bool> {
        let mut needed = vec![false; self.plans.len()];
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            if !needed[j] {
                needed[j] = true;
                stack.extend(self.deps[j].iter().copied());
            }
        }
        needed
    }

    /// The index of rule `rule` in [`CompiledRuleSet::rule_names`];
    /// `INVALID_ARGUMENT` (with a suggestion) when there is none.
    pub fn rule_index(&self, rule: &str) -> Result<usize> {
        self.index_of(rule)
    }

    fn index_of(&self, rule: &str) -> Result<usize> {
        self.names.iter().position(|n| n == rule).ok_or_else(|| {
            let e = Error::new(
                ErrorKind::InvalidArgument,
                format!("no rule named `{rule}`"),
            );
            match suggest(rule, self.names.iter().map(String::as_str)) {
                Some(s) => e.with_suggestion(s),
                None => e,
            }
        })
    }

    pub(crate) fn rule(&self, i: usize) -> (&Rule, &Node) {
        (&self.rules[i], &self.plans[i])
    }
}

fn compile_set(rules: &RuleSet, schema: &Schema, limits: Limits) -> CResult<CompiledRuleSet> {
    if rules.rules.len() > limits.max_rules {
        return fail(
            ErrorKind::LimitExceeded,
            format!(
                "the rule set has {} rules; the limit is {}",
                rules.rules.len(),
                limits.max_rules
            ),
            Span::default(),
        );
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(rules.rules.len());
    for (i, r) in rules.rules.iter().enumerate() {
        if index.insert(r.name.as_str(), i).is_some() {
            return Err(CErr {
                err: Error::new(
                    ErrorKind::DuplicateName,
                    format!("rule `{}` is defined twice", r.name),
                )
                .with_path(format!("rules.{}", r.name)),
                span: r.span,
            });
        }
    }
    let max_depth = limits.max_depth.min(Limits::HARD_MAX_DEPTH);
    let mut plans = Vec::with_capacity(rules.rules.len());
    let mut deps = Vec::with_capacity(rules.rules.len());
    let mut ref_spans = Vec::with_capacity(rules.rules.len());
    let mut names = NameTable::default();
    for r in &rules.rules {
        let path = format!("rules.{}", r.name);
        let with_path = |e: CErr| CErr {
            err: e.err.with_path(path.clone()),
            span: e.span,
        };
        check_size(&r.expr, max_depth, limits.max_nodes).map_err(with_path)?;
        let mut c = Compiler {
            schema,
            limits,
            index: &index,
            refs: Vec::new(),
            names: &mut names,
        };
        let (node, ty) = c.expr(&r.expr, None).map_err(with_path)?;
        if ty != Ty::Bool {
            return Err(with_path(CErr {
                err: Error::new(
                    ErrorKind::TypeMismatch,
                    format!(
                        "rule `{}` must be a condition, but its expression is a {}",
                        r.name,
                        ty.name()
                    ),
                ),
                span: r.expr.span,
            }));
        }
        plans.push(node);
        let mut d: Vec<usize> = c.refs.iter().map(|(i, _)| *i).collect();
        d.sort_unstable();
        d.dedup();
        deps.push(d);
        ref_spans.push(c.refs);
    }
    let order = topo_order(rules, &deps, &ref_spans)?;
    let shared_slots = share_aggregates(&mut plans);
    let mut terms = 0;
    // Every aggregate and streak gets a number (its `term`), in visiting order.
    for plan in &mut plans {
        visit_terms(plan, &mut |t| {
            match t {
                Term::Agg(p) => p.term = terms,
                Term::Streak(p) => p.term = terms,
            }
            terms += 1;
        });
    }
    Ok(CompiledRuleSet {
        names: rules.rules.iter().map(|r| r.name.clone()).collect(),
        rules: rules.rules.clone(),
        plans,
        order,
        deps,
        shared_slots,
        terms,
        read: names,
    })
}

/// Compiles one event filter (a `where` condition on events named `event`)
/// with the same checks as an aggregate's `where`; the error comes with the
/// span of the offending node. Used by [`super::filter::EventFilter`].
pub(crate) fn compile_filter(
    expr: &Expr,
    event: &str,
    schema: &Schema,
    limits: Limits,
) -> std::result::Result<Node, (Error, Span)> {
    let split = |e: CErr| (e.err, e.span);
    check_size(
        expr,
        limits.max_depth.min(Limits::HARD_MAX_DEPTH),
        limits.max_nodes,
    )
    .map_err(split)?;
    schema.event_def(event).map_err(|e| (e, Span::default()))?;
    let index = HashMap::new();
    let mut names = NameTable::default();
    let mut c = Compiler {
        schema,
        limits,
        index: &index,
        refs: Vec::new(),
        names: &mut names,
    };
    c.condition(expr, Some(event), "`where`").map_err(split)
}

/// Gives every aggregate that occurs more than once in the set (same function,
/// event, property, filter and window) a common result slot, so one evaluation
/// computes it once. Returns the number of slots.
fn share_aggregates(plans: &mut [Node]) -> usize {
    // Plans hold no addresses or interior state, so equal Debug text (floats
    // print exactly, regexes as their pattern) means identical results.
    // Keys in visiting order (both passes visit in the same order; slots set in
    // the second pass must not change the keys of enclosing aggregates).
    let mut keys: Vec<String> = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for plan in plans.iter_mut() {
        visit_terms(plan, &mut |t| {
            let Term::Agg(p) = t else { return };
            let key = format!("{p:?}");
            *counts.entry(key.clone()).or_insert(0) += 1;
            keys.push(key);
        });
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut next = 0;
    for plan in plans.iter_mut() {
        visit_terms(plan, &mut |t| {
            let Term::Agg(p) = t else { return };
            let key = keys[next].as_str();
            next += 1;
            if counts.get(key).is_some_and(|&n| n > 1) {
                let fresh = ids.len();
                p.slot = Some(*ids.entry(key).or_insert(fresh));
            }
        });
    }
    ids.len()
}

/// An event term of a plan: an aggregate or a streak.
enum Term<'n> {
    Agg(&'n mut AggPlan),
    Streak(&'n mut StreakPlan),
}

/// Calls `f` on every aggregate and streak of a plan, children first.
fn visit_terms(n: &mut Node, f: &mut impl FnMut(Term<'_>)) {
    match n {
        Node::And(args) | Node::Or(args) => args.iter_mut().for_each(|a| visit_terms(a, f)),
        Node::Not(a) | Node::Call { arg: a, .. } => visit_terms(a, f),
        Node::Arith { left, right, .. } | Node::Compare { left, right, .. } => {
            visit_terms(left, f);
            visit_terms(right, f);
        }
        Node::In { expr, .. }
        | Node::Text { expr, .. }
        | Node::Exists { expr, .. }
        | Node::Within { expr, .. } => visit_terms(expr, f),
        Node::Between { expr, low, high } => {
            visit_terms(expr, f);
            visit_terms(low, f);
            visit_terms(high, f);
        }
        Node::Agg(p) => {
            if let Some(filter) = &mut p.filter {
                visit_terms(filter, f);
            }
            f(Term::Agg(p));
        }
        Node::Streak(p) => {
            if let Some(filter) = &mut p.filter {
                visit_terms(filter, f);
            }
            f(Term::Streak(p));
        }
        Node::Const(_)
        | Node::Trait { .. }
        | Node::Prop { .. }
        | Node::Now
        | Node::Today
        | Node::Score(_)
        | Node::PropCompare { .. }
        | Node::HasTag { .. }
        | Node::HasTagInGroup(_)
        | Node::HasConsent { .. }
        | Node::HasIdentity(_)
        | Node::Segment(_) => {}
    }
}

/// The children of an AST node.
fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::And { args } | ExprKind::Or { args } | ExprKind::Call { args, .. } => {
            args.iter().collect()
        }
        ExprKind::Not { arg } => vec![arg],
        ExprKind::Arith { left, right, .. } | ExprKind::Compare { left, right, .. } => {
            vec![left, right]
        }
        ExprKind::In { expr, values, .. } => {
            let mut v: Vec<&Expr> = vec![expr];
            v.extend(values.iter());
            v
        }
        ExprKind::TextMatch { expr, pattern, .. } => vec![expr, pattern],
        ExprKind::Between { expr, low, high } => vec![expr, low, high],
        ExprKind::Exists { expr, .. } | ExprKind::Within { expr, .. } => vec![expr],
        ExprKind::Aggregate { filter, .. } | ExprKind::Streak { filter, .. } => {
            filter.iter().map(|f| &**f).collect()
        }
        _ => Vec::new(),
    }
}

/// Checks depth and node count without recursion.
fn check_size(root: &Expr, max_depth: usize, max_nodes: usize) -> CResult<()> {
    let mut stack = vec![(root, 1usize)];
    let mut nodes = 0usize;
    while let Some((e, depth)) = stack.pop() {
        nodes += 1;
        if depth > max_depth {
            return fail(
                ErrorKind::LimitExceeded,
                format!("expression nested deeper than {max_depth} levels"),
                e.span,
            );
        }
        if nodes > max_nodes {
            return fail(
                ErrorKind::LimitExceeded,
                format!("rule has more than {max_nodes} nodes"),
                e.span,
            );
        }
        stack.extend(children(e).into_iter().map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Orders rules so that referenced rules come first; rejects cycles.
fn topo_order(
    rules: &RuleSet,
    deps: &[Vec<usize>],
    ref_spans: &[Vec<(usize, Span)>],
) -> CResult<Vec<usize>> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let n = deps.len();
    let mut state = vec![NEW; n];
    let mut order = Vec::with_capacity(n);
    for root in 0..n {
        if state[root] != NEW {
            continue;
        }
        // (rule, next dependency to visit)
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = OPEN;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match state[dep] {
                    NEW => {
                        state[dep] = OPEN;
                        stack.push((dep, 0));
                    }
                    OPEN => {
                        let from = stack.iter().position(|(r, _)| *r == dep).unwrap_or(0);
                        let mut names: Vec<&str> = stack[from..]
                            .iter()
                            .map(|(r, _)| rules.rules[*r].name.as_str())
                            .collect();
                        names.push(rules.rules[dep].name.as_str());
                        let span = ref_spans[node]
                            .iter()
                            .find(|(d, _)| *d == dep)
                            .map_or(rules.rules[node].span, |(_, s)| *s);
                        let name = &rules.rules[node].name;
                        return Err(CErr {
                            err: Error::new(
                                ErrorKind::SegmentCycle,
                                format!("segment references form a cycle: {}", names.join(" -> ")),
                            )
                            .with_path(format!("rules.{name}")),
                            span,
                        });
                    }
                    _ => {}
                }
            } else {
                state[node] = DONE;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

struct Compiler<'s, 'n> {
    schema: &'s Schema,
    limits: Limits,
    index: &'s HashMap<&'s str, usize>,
    /// Segment references found (rule index, span of the reference).
    refs: Vec<(usize, Span)>,
    /// Names read by the set, shared by all its rules.
    names: &'n mut NameTable,
}

fn literal_const(l: &Literal, span: Span) -> CResult<(Const, Ty)> {
    Ok(match l {
        Literal::String(s) => (Const::Str(s.clone()), Ty::Str),
        Literal::Integer(i) => (Const::Int(*i), Ty::Int),
        Literal::Float(f) if f.is_finite() => (Const::Float(*f), Ty::Float),
        Literal::Float(_) => return mismatch("float literals must be finite", span),
        Literal::Boolean(b) => (Const::Bool(*b), Ty::Bool),
        Literal::Timestamp(t) => (
            Const::Ts(crate::value::parse_timestamp(t).map_err(at(span))?),
            Ty::Ts,
        ),
        Literal::Date(d) => (
            Const::Date(crate::value::parse_date(d).map_err(at(span))?),
            Ty::Date,
        ),
        Literal::Duration(d) => (Const::Dur(d.seconds()), Ty::Dur),
        Literal::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                match i {
                    Literal::String(s) => out.push(s.clone()),
                    _ => return mismatch(
                        "list literals hold strings only (use `x in [...]` to test other values)",
                        span,
                    ),
                }
            }
            (Const::List(out), Ty::List)
        }
    })
}

/// Whether values of the two types can be compared with `cmp`.
fn comparable(a: Ty, b: Ty, cmp: Option<CmpOp>) -> bool {
    if a.is_numeric() && b.is_numeric() {
        return true;
    }
    if a != b || a == Ty::Dur {
        return false;
    }
    a != Ty::List || matches!(cmp, Some(CmpOp::Eq | CmpOp::Ne))
}

fn cannot_compare(a: Ty, b: Ty) -> String {
    let hint = match (a, b) {
        (Ty::Ts, Ty::Date) | (Ty::Date, Ty::Ts) => {
            " (timestamps and dates do not mix: compare a date with today or a date literal)"
        }
        (Ty::List, Ty::List) => " (lists support only = and !=)",
        (Ty::List, Ty::Str) => " (use `contains` to test membership)",
        _ => "",
    };
    format!("cannot compare a {} with a {}{hint}", a.name(), b.name())
}

impl Compiler<'_, '_> {
    fn condition(&mut self, e: &Expr, scope: Option<&str>, what: &str) -> CResult<Node> {
        let (n, ty) = self.expr(e, scope)?;
        if ty != Ty::Bool {
            return mismatch(
                format!("{what} needs a condition, found a {}", ty.name()),
                e.span,
            );
        }
        Ok(n)
    }

    fn boxed(&mut self, e: &Expr, scope: Option<&str>) -> CResult<(Box<Node>, Ty)> {
        let (n, t) = self.expr(e, scope)?;
        Ok((Box::new(n), t))
    }

    /// Compiles one node; `scope` is the event whose properties are visible.
    fn expr(&mut self, e: &Expr, scope: Option<&str>) -> CResult<(Node, Ty)> {
        let span = e.span;
        Ok(match &e.kind {
            ExprKind::And { args } | ExprKind::Or { args } => {
                let is_and = matches!(e.kind, ExprKind::And { .. });
                let word = if is_and { "`and`" } else { "`or`" };
                let nodes = args
                    .iter()
                    .map(|a| self.condition(a, scope, word))
                    .collect::<CResult<Vec<_>>>()?;
                let n = if is_and {
                    Node::And(nodes)
                } else {
                    Node::Or(nodes)
                };
                (n, Ty::Bool)
            }
            ExprKind::Not { arg } => (
                Node::Not(Box::new(self.condition(arg, scope, "`not`")?)),
                Ty::Bool,
            ),
            ExprKind::Literal { value } => {
                let (c, t) = literal_const(value, span)?;
                (Node::Const(c), t)
            }
            ExprKind::Trait { name } => {
                let def = self.schema.trait_def(name).map_err(at(span))?;
                (
                    Node::Trait {
                        name: name.clone(),
                        ty: def.ty,
                        id: NameTable::id(&mut self.names.traits, name),
                    },
                    Ty::of(def.ty),
                )
            }
            ExprKind::Prop { name } => {
                let Some(event) = scope else {
                    return mismatch(
                        format!("property `{name}` can only be used inside an aggregate's `where` filter"),
                        span,
                    );
                };
                let def = self.schema.property_def(event, name).map_err(at(span))?;
                (
                    Node::Prop {
                        name: name.clone(),
                        ty: def.ty,
                        id: NameTable::id(&mut self.names.props, name),
                    },
                    Ty::of(def.ty),
                )
            }
            ExprKind::Now => (Node::Now, Ty::Ts),
            ExprKind::Today => (Node::Today, Ty::Date),
            ExprKind::Score { name } => (Node::Score(name.clone()), Ty::Float),
            ExprKind::Arith { arith, left, right } => {
                self.arith(*arith, left, right, scope, span)?
            }
            ExprKind::Call { function, args } => self.call(*function, args, scope, span)?,
            ExprKind::Compare { cmp, left, right } => {
                let (l, lt) = self.boxed(left, scope)?;
                let (r, rt) = self.boxed(right, scope)?;
                if !comparable(lt, rt, Some(*cmp)) {
                    return mismatch(cannot_compare(lt, rt), span);
                }
                // Filters are evaluated per event: fold `prop OP literal` into one node.
                if let (Node::Prop { name, ty, id }, Node::Const(c)) = (&*l, &*r) {
                    return Ok((
                        Node::PropCompare {
                            name: name.clone(),
                            ty: *ty,
                            id: *id,
                            cmp: *cmp,
                            value: c.clone(),
                        },
                        Ty::Bool,
                    ));
                }
                (
                    Node::Compare {
                        cmp: *cmp,
                        left: l,
                        right: r,
                    },
                    Ty::Bool,
                )
            }
            ExprKind::In {
                expr,
                values,
                negated,
            } => {
                let (x, xt) = self.boxed(expr, scope)?;
                if xt == Ty::List {
                    return mismatch("`in` tests a single value; use `contains` on a list", span);
                }
                let mut consts = Vec::with_capacity(values.len());
                for v in values {
                    let ExprKind::Literal { value } = &v.kind else {
                        return mismatch("`in` takes a list of literal values", v.span);
                    };
                    let items: Vec<&Literal> = match value {
                        Literal::List(items) => items.iter().collect(),
                        one => vec![one],
                    };
                    for item in items {
                        let (c, ct) = literal_const(item, v.span)?;
                        if !comparable(xt, ct, Some(CmpOp::Eq)) {
                            return mismatch(cannot_compare(xt, ct), v.span);
                        }
                        consts.push(c);
                    }
                }
                (
                    Node::In {
                        expr: x,
                        values: consts,
                        negated: *negated,
                    },
                    Ty::Bool,
                )
            }
            ExprKind::TextMatch {
                test,
                expr,
                pattern,
            } => {
                let (x, xt) = self.boxed(expr, scope)?;
                let ok = xt == Ty::Str || (xt == Ty::List && *test == TextTest::Contains);
                if !ok {
                    return mismatch(
                        format!(
                            "`{}` needs a string{}, found a {}",
                            test.keyword(),
                            if *test == TextTest::Contains {
                                " or a string list"
                            } else {
                                ""
                            },
                            xt.name()
                        ),
                        span,
                    );
                }
                let ExprKind::Literal {
                    value: Literal::String(p),
                } = &pattern.kind
                else {
                    return mismatch(
                        format!("`{}` needs a string literal pattern", test.keyword()),
                        pattern.span,
                    );
                };
                let pat = if *test == TextTest::Matches {
                    let re = regex::RegexBuilder::new(p)
                        .size_limit(self.limits.max_regex_size)
                        .build()
                        .map_err(|e| CErr {
                            err: Error::new(
                                ErrorKind::InvalidRegex,
                                format!("invalid regular expression {p:?}: {e}"),
                            ),
                            span: pattern.span,
                        })?;
                    Pattern::Regex(re)
                } else {
                    Pattern::Text(p.clone())
                };
                (
                    Node::Text {
                        test: *test,
                        expr: x,
                        pattern: pat,
                    },
                    Ty::Bool,
                )
            }
            ExprKind::Between { expr, low, high } => {
                let (x, xt) = self.boxed(expr, scope)?;
                let (lo, lt) = self.boxed(low, scope)?;
                let (hi, ht) = self.boxed(high, scope)?;
                for t in [lt, ht] {
                    if !comparable(xt, t, Some(CmpOp::Lt)) {
                        return mismatch(cannot_compare(xt, t), span);
                    }
                }
                (
                    Node::Between {
                        expr: x,
                        low: lo,
                        high: hi,
                    },
                    Ty::Bool,
                )
            }
            ExprKind::Exists { expr, negated } => {
                let (x, _) = self.boxed(expr, scope)?;
                (
                    Node::Exists {
                        expr: x,
                        negated: *negated,
                    },
                    Ty::Bool,
                )
            }
            ExprKind::Within {
                expr,
                direction,
                duration,
            } => {
                let (x, xt) = self.boxed(expr, scope)?;
                let seconds = duration.seconds();
                match xt {
                    Ty::Ts => {}
                    Ty::Date if seconds % 86_400 == 0 => {}
                    Ty::Date => {
                        return mismatch(
                            format!("`within` on a date needs whole days, found {duration}"),
                            span,
                        )
                    }
                    other => {
                        return mismatch(
                            format!(
                                "`within` needs a timestamp or a date, found a {}",
                                other.name()
                            ),
                            span,
                        )
                    }
                }
                (
                    Node::Within {
                        expr: x,
                        direction: *direction,
                        seconds,
                        days: seconds / 86_400,
                    },
                    Ty::Bool,
                )
            }
            ExprKind::HasTag { tags, mode } => (
                Node::HasTag {
                    tags: tags.clone(),
                    all: *mode == super::ast::TagMode::All,
                },
                Ty::Bool,
            ),
            ExprKind::HasTagInGroup { group } => {
                self.schema.tag_group(group).map_err(at(span))?;
                (Node::HasTagInGroup(group.clone()), Ty::Bool)
            }
            ExprKind::HasConsent { channel, purpose } => (
                Node::HasConsent {
                    channel: channel.clone(),
                    purpose: purpose.clone(),
                },
                Ty::Bool,
            ),
            ExprKind::HasIdentity { namespace } => (Node::HasIdentity(namespace.clone()), Ty::Bool),
            ExprKind::Segment { name } => {
                let Some(&i) = self.index.get(name.as_str()) else {
                    let e = Error::new(
                        ErrorKind::UnknownSegment,
                        format!("unknown segment `{name}`"),
                    );
                    let e = match suggest(name, self.index.keys().copied()) {
                        Some(s) => e.with_suggestion(s),
                        None => e,
                    };
                    return Err(CErr { err: e, span });
                };
                self.refs.push((i, span));
                (Node::Segment(i), Ty::Bool)
            }
            ExprKind::Aggregate {
                agg,
                event,
                property,
                filter,
                window,
            } => self.aggregate(
                *agg,
                event,
                property.as_deref(),
                filter.as_deref(),
                window,
                span,
            )?,
            ExprKind::Streak {
                mode,
                unit,
                event,
                filter,
            } => {
                self.schema.event_def(event).map_err(at(span))?;
                let filter = match filter {
                    Some(f) => Some(self.condition(f, Some(event), "`where`")?),
                    None => None,
                };
                (
                    Node::Streak(Box::new(StreakPlan {
                        mode: *mode,
                        unit: *unit,
                        event: event.clone(),
                        event_id: NameTable::id(&mut self.names.events, event),
                        filter,
                        term: 0,
                    })),
                    Ty::Int,
                )
            }
        })
    }

    fn arith(
        &mut self,
        op: ArithOp,
        left: &Expr,
        right: &Expr,
        scope: Option<&str>,
        span: Span,
    ) -> CResult<(Node, Ty)> {
        let (l, lt) = self.boxed(left, scope)?;
        let (r, rt) = self.boxed(right, scope)?;
        let additive = matches!(op, ArithOp::Add | ArithOp::Sub);
        let whole_days = |n: &Node| matches!(n, Node::Const(Const::Dur(s)) if s % 86_400 == 0);
        let (kind, ty) = match (lt, rt) {
            (Ty::Int, Ty::Int) if op == ArithOp::Div => (ArithKind::Int, Ty::Float),
            (Ty::Int, Ty::Int) => (ArithKind::Int, Ty::Int),
            (a, b) if a.is_numeric() && b.is_numeric() => (ArithKind::Float, Ty::Float),
            (Ty::Ts, Ty::Dur) if additive => (ArithKind::TsDur { swapped: false }, Ty::Ts),
            (Ty::Dur, Ty::Ts) if op == ArithOp::Add => (ArithKind::TsDur { swapped: true }, Ty::Ts),
            (Ty::Date, Ty::Dur) if additive && whole_days(&r) => {
                (ArithKind::DateDur { swapped: false }, Ty::Date)
            }
            (Ty::Dur, Ty::Date) if op == ArithOp::Add && whole_days(&l) => {
                (ArithKind::DateDur { swapped: true }, Ty::Date)
            }
            (Ty::Date, Ty::Dur) | (Ty::Dur, Ty::Date) if additive => {
                return mismatch(
                    "date arithmetic takes whole days (e.g. `today - 30d`)",
                    span,
                )
            }
            (Ty::Ts, Ty::Ts) | (Ty::Date, Ty::Date) if op == ArithOp::Sub => {
                return mismatch(
                    "subtracting two timestamps or dates is not allowed; use days_since(x)",
                    span,
                )
            }
            (a, b) => {
                return mismatch(
                    format!(
                        "cannot apply `{}` to a {} and a {}",
                        op.symbol(),
                        a.name(),
                        b.name()
                    ),
                    span,
                )
            }
        };
        Ok((
            Node::Arith {
                op,
                kind,
                left: l,
                right: r,
            },
            ty,
        ))
    }

    fn call(
        &mut self,
        f: Function,
        args: &[Expr],
        scope: Option<&str>,
        span: Span,
    ) -> CResult<(Node, Ty)> {
        let [arg] = args else {
            return mismatch(
                format!("`{}` takes 1 argument, found {}", f.name(), args.len()),
                span,
            );
        };
        let (a, at_) = self.boxed(arg, scope)?;
        let ty = match (f, at_) {
            (Function::DaysSince | Function::HoursSince, Ty::Ts | Ty::Date) => Ty::Int,
            (Function::Anniversary, Ty::Date) => Ty::Date,
            (Function::Lower, Ty::Str) => Ty::Str,
            (Function::Length, Ty::Str | Ty::List) => Ty::Int,
            (Function::Abs, t) if t.is_numeric() => t,
            (_, t) => {
                let wanted = match f {
                    Function::DaysSince | Function::HoursSince => "a timestamp or a date",
                    Function::Anniversary => "a date",
                    Function::Lower => "a string",
                    Function::Length => "a string or a string list",
                    Function::Abs => "a number",
                };
                return mismatch(
                    format!("`{}` needs {wanted}, found a {}", f.name(), t.name()),
                    span,
                );
            }
        };
        Ok((
            Node::Call {
                function: f,
                arg: a,
            },
            ty,
        ))
    }

    fn aggregate(
        &mut self,
        agg: AggFn,
        event: &str,
        property: Option<&str>,
        filter: Option<&Expr>,
        window: &Window,
        span: Span,
    ) -> CResult<(Node, Ty)> {
        self.schema.event_def(event).map_err(at(span))?;
        let prop = match (agg.needs_property(), property) {
            (true, None) => {
                return mismatch(
                    format!(
                        "`{}` needs a property, e.g. {}({event}.amount)",
                        agg.name(),
                        agg.name()
                    ),
                    span,
                )
            }
            (false, Some(p)) => {
                return mismatch(
                    format!("`{}` takes no property (found `{event}.{p}`)", agg.name()),
                    span,
                )
            }
            (_, None) => None,
            (_, Some(p)) => {
                let def = self.schema.property_def(event, p).map_err(at(span))?;
                Some((p.to_string(), def.ty))
            }
        };
        let pty = prop.as_ref().map(|(_, t)| Ty::of(*t));
        let ty = match (agg, pty) {
            (AggFn::Count | AggFn::DistinctCount, _) => Ty::Int,
            (AggFn::Sum, Some(t)) if t.is_numeric() => t,
            (AggFn::Avg, Some(t)) if t.is_numeric() => Ty::Float,
            (AggFn::Min | AggFn::Max, Some(t)) if !matches!(t, Ty::List | Ty::Bool) => t,
            (AggFn::FirstTime | AggFn::LastTime, _) => Ty::Ts,
            (AggFn::Any | AggFn::None, _) => Ty::Bool,
            (_, t) => {
                return mismatch(
                    format!(
                        "`{}` cannot aggregate a {} property",
                        agg.name(),
                        t.map_or("missing", Ty::name)
                    ),
                    span,
                )
            }
        };
        let filter = match filter {
            Some(f) => Some(self.condition(f, Some(event), "`where`")?),
            None => None,
        };
        let window = match window {
            Window::All => WindowPlan::All,
            Window::Rolling { duration } => WindowPlan::Rolling(duration.seconds()),
            Window::Calendar { unit, back, count } => {
                if *count == 0 {
                    return fail(
                        ErrorKind::InvalidTime,
                        "a calendar window spans at least 1 unit",
                        span,
                    );
                }
                WindowPlan::Calendar {
                    unit: *unit,
                    back: *back,
                    count: *count,
                }
            }
            Window::Range { start, end } => WindowPlan::Range(
                crate::value::parse_timestamp(start).map_err(at(span))?,
                crate::value::parse_timestamp(end).map_err(at(span))?,
            ),
        };
        Ok((
            Node::Agg(Box::new(AggPlan {
                agg,
                event: event.to_string(),
                event_id: NameTable::id(&mut self.names.events, event),
                prop_id: prop
                    .as_ref()
                    .map_or(0, |(p, _)| NameTable::id(&mut self.names.props, p)),
                prop,
                filter,
                window,
                slot: None,
                term: 0,
            })),
            ty,
        ))
    }
}
