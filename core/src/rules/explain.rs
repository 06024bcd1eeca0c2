//! Explanations: the clause tree of a rule with each clause's value and the
//! observed numbers ("count = 2, needed >= 3").

use serde::{Deserialize, Serialize};

/// A three-valued truth (Kleene logic; see [`super::ast`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    /// Holds.
    True,
    /// Does not hold.
    False,
    /// Cannot be decided because a value is missing; a rule whose top value is
    /// unknown does not match.
    Unknown,
}

impl Truth {
    /// Whether this is `True`.
    pub fn is_true(self) -> bool {
        self == Truth::True
    }

    /// Kleene negation.
    pub fn negate(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }

    /// From a two-valued bool.
    pub fn from_bool(b: bool) -> Truth {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }
}

/// Why a rule matched or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The rule's name.
    pub rule: String,
    /// Whether the profile is a member (the root is `True`).
    pub matched: bool,
    /// The clause tree.
    pub root: ExplainNode,
}

/// One clause of an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainNode {
    /// The clause as DSL text.
    pub clause: String,
    /// Its truth value.
    pub truth: Truth,
    /// What was observed, e.g. `count = 2, needed >= 3` or `age is missing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// Sub-clauses (operands of and/or/not, and referenced segments).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ExplainNode>,
}

use super::ast::{Expr, ExprKind, StreakMode, StreakUnit, TagMode};
use super::compile::CompiledRuleSet;
use super::eval::{self, unbox, Ctx, Node, Val};
use crate::error::Result;

/// Builds the explanation of rule `i`; `cx.memo` holds the truths of the rules it
/// references.
pub(crate) fn explain_rule(
    set: &CompiledRuleSet,
    cx: &Ctx<'_, '_>,
    i: usize,
) -> Result<Explanation> {
    let mut expanded = vec![false; set.rule_names().len()];
    expanded[i] = true;
    let (rule, plan) = set.rule(i);
    let root = node(set, cx, &rule.expr, plan, &mut expanded)?;
    Ok(Explanation {
        rule: rule.name.clone(),
        matched: root.truth.is_true(),
        root,
    })
}

fn node(
    set: &CompiledRuleSet,
    cx: &Ctx<'_, '_>,
    ast: &Expr,
    plan: &Node,
    expanded: &mut [bool],
) -> Result<ExplainNode> {
    let truth = unbox(eval::eval(plan, cx, None))?.truth();
    let mut children = Vec::new();
    let observed = match (&ast.kind, plan) {
        (ExprKind::And { args } | ExprKind::Or { args }, Node::And(ps) | Node::Or(ps)) => {
            for (a, p) in args.iter().zip(ps) {
                children.push(node(set, cx, a, p, expanded)?);
            }
            None
        }
        (ExprKind::Not { arg }, Node::Not(p)) => {
            children.push(node(set, cx, arg, p, expanded)?);
            None
        }
        (ExprKind::Segment { name }, Node::Segment(j)) => {
            let verdict = if truth.is_true() {
                "member"
            } else {
                "not a member"
            };
            if !expanded[*j] {
                expanded[*j] = true;
                let (rule, p) = set.rule(*j);
                children.push(node(set, cx, &rule.expr, p, expanded)?);
            }
            Some(format!("segment {name}: {verdict}"))
        }
        _ => observe(cx, ast, plan)?,
    };
    Ok(ExplainNode {
        clause: super::printer::print_expr(ast),
        truth,
        observed,
        children,
    })
}

/// A short name for a value-producing node: `age`, `count`, `weeks_without` …
fn label(ast: &Expr) -> String {
    match &ast.kind {
        ExprKind::Trait { name } | ExprKind::Prop { name } => name.clone(),
        ExprKind::Aggregate { agg, .. } => agg.name().to_string(),
        ExprKind::Streak { mode, unit, .. } => {
            let unit = match unit {
                StreakUnit::Day => "days",
                StreakUnit::Week => "weeks",
                StreakUnit::Month => "months",
            };
            let mode = match mode {
                StreakMode::Without => "without",
                StreakMode::With => "with",
            };
            format!("{unit}_{mode}")
        }
        ExprKind::Now => "now".into(),
        ExprKind::Today => "today".into(),
        ExprKind::Score { name } => format!("score({name:?})"),
        ExprKind::Call { function, args } => format!(
            "{}({})",
            function.name(),
            args.iter().map(label).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Arith { arith, left, right } => {
            format!("{} {} {}", label(left), arith.symbol(), label(right))
        }
        ExprKind::Literal { .. } => "value".into(),
        _ => "value".into(),
    }
}

fn is_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Literal { .. })
}

/// `name = value`, or `name is missing`.
fn shown(ast: &Expr, v: &Val<'_>) -> String {
    if v.is_missing() {
        format!("{} is missing", label(ast))
    } else {
        format!("{} = {}", label(ast), v.show())
    }
}

/// The observed numbers of a leaf clause.
fn observe<'a>(cx: &Ctx<'a, '_>, ast: &Expr, plan: &'a Node) -> Result<Option<String>> {
    let ev = |n: &'a Node| unbox(eval::eval(n, cx, None));
    Ok(Some(match (&ast.kind, plan) {
        (
            ExprKind::Compare { cmp, left, right },
            Node::Compare {
                left: l, right: r, ..
            },
        ) => {
            let (lv, rv) = (ev(l)?, ev(r)?);
            if lv.is_missing() || is_literal(left) && !rv.is_missing() {
                let (a, b, av, bv) = if is_literal(left) {
                    (right, left, rv, lv)
                } else {
                    (left, right, lv, rv)
                };
                if av.is_missing() {
                    shown(a, &av)
                } else {
                    let _ = b;
                    format!("{}, needed {} {}", shown(a, &av), cmp.symbol(), bv.show())
                }
            } else if rv.is_missing() {
                shown(right, &rv)
            } else {
                format!(
                    "{}, needed {} {}",
                    shown(left, &lv),
                    cmp.symbol(),
                    rv.show()
                )
            }
        }
        (ExprKind::Between { expr, .. }, Node::Between { expr: x, low, high }) => {
            let (xv, lo, hi) = (ev(x)?, ev(low)?, ev(high)?);
            if xv.is_missing() {
                shown(expr, &xv)
            } else {
                format!(
                    "{}, needed between {} and {}",
                    shown(expr, &xv),
                    lo.show(),
                    hi.show()
                )
            }
        }
        (ExprKind::In { expr, .. }, Node::In { expr: x, .. })
        | (ExprKind::TextMatch { expr, .. }, Node::Text { expr: x, .. })
        | (ExprKind::Exists { expr, .. }, Node::Exists { expr: x, .. })
        | (ExprKind::Within { expr, .. }, Node::Within { expr: x, .. }) => shown(expr, &ev(x)?),
        (ExprKind::HasTag { tags, mode }, _) => {
            let (live, absent): (Vec<&String>, Vec<&String>) =
                tags.iter().partition(|t| cx.src.profile.has_tag(t, cx.now));
            let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
            match (mode, live.is_empty(), absent.is_empty()) {
                (_, true, _) => format!("no live tag {}", list(&absent)),
                (TagMode::All, false, false) => {
                    format!("has {}; lacks {}", list(&live), list(&absent))
                }
                _ => format!("has {}", list(&live)),
            }
        }
        (ExprKind::HasTagInGroup { group }, _) => {
            let live: Vec<&str> = cx
                .src
                .profile
                .tags
                .iter()
                .filter(|t| t.group.as_deref() == Some(group.as_str()) && t.is_live(cx.now))
                .map(|t| t.name.as_str())
                .collect();
            if live.is_empty() {
                format!("no live tag in group {group}")
            } else {
                format!("group {group}: {}", live.join(", "))
            }
        }
        (ExprKind::HasConsent { channel, purpose }, _) => {
            let state = if cx.src.profile.has_consent(channel, purpose, cx.now) {
                "granted"
            } else {
                "not granted"
            };
            format!("consent {channel}/{purpose}: {state}")
        }
        (ExprKind::HasIdentity { namespace }, _) => {
            let n = cx.src.profile.identities.get(namespace).map_or(0, Vec::len);
            format!("{namespace} identities = {n}")
        }
        (ExprKind::Aggregate { .. }, Node::Agg(p)) => {
            // any/none used as a condition: report how many events matched.
            let count = super::eval::AggPlan {
                agg: super::ast::AggFn::Count,
                ..(**p).clone()
            };
            let n = unbox(eval::aggregate(&count, cx))?.show();
            format!("count = {n}")
        }
        (ExprKind::Trait { .. }, _) => shown(ast, &ev(plan)?),
        _ => return Ok(None),
    }))
}
