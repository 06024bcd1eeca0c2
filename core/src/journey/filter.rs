//! Event filters of a journey (entry trigger, `wait_event` nodes, event goals
//! and exit criteria), compiled once when the engine is built.
//!
//! The filter language is the rule language ([`crate::rules::EventFilter`]):
//! `{"event": "order_paid", "where": "amount >= 100"}`. The legacy `filter`
//! document (`{"amount": {"gte": 100}}`) still loads: it is translated to the
//! same AST ([`legacy_expr`]) and compiled by the same compiler, so both forms
//! are evaluated by one evaluator.

use super::definition::{Criterion, Filter, JourneyDefinition, NodeKind, Trigger};
use crate::error::{Error, ErrorKind, Result};
use crate::profile::{Event, Profile};
use crate::rules::ast::{CmpOp, Expr, ExprKind, Literal, TextTest};
use crate::rules::EventFilter;
use crate::schema::Schema;
use crate::value::{parse_date, parse_timestamp, ValueType};
use crate::zone::Zone;
use chrono::{DateTime, Utc};

/// The compiled filters of one definition, by location (`None`: no filter).
#[derive(Debug, Default)]
pub(crate) struct JourneyFilters {
    /// The event trigger's filter.
    pub trigger: Option<EventFilter>,
    /// Per goal.
    pub goals: Vec<Option<EventFilter>>,
    /// Per exit criterion.
    pub exit: Vec<Option<EventFilter>>,
    /// Per node (by position in `nodes`).
    pub nodes: Vec<Option<EventFilter>>,
}

impl JourneyFilters {
    /// Compiles every filter of `def` against `schema`. Errors carry the path
    /// of the field (`nodes[2].where`, `trigger.filter` …) and, for `where`
    /// text, the line and column in it.
    pub(crate) fn compile(def: &JourneyDefinition, schema: &Schema) -> Result<JourneyFilters> {
        let trigger = match &def.trigger {
            Trigger::Event {
                event,
                filter,
                r#where,
            } => compile_one(event, filter, r#where.as_deref(), schema, "trigger")?,
            _ => None,
        };
        let criteria = |list: &[Criterion], what: &str| -> Result<Vec<Option<EventFilter>>> {
            list.iter()
                .enumerate()
                .map(|(i, c)| match &c.event {
                    Some(e) => compile_one(
                        e,
                        &c.filter,
                        c.r#where.as_deref(),
                        schema,
                        &format!("{what}[{i}]"),
                    ),
                    None => Ok(None),
                })
                .collect()
        };
        let goals = criteria(&def.goals, "goals")?;
        let exit = criteria(&def.exit, "exit")?;
        let nodes = def
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| match &n.kind {
                NodeKind::WaitEvent {
                    event,
                    filter,
                    r#where,
                    ..
                } => compile_one(
                    event,
                    filter,
                    r#where.as_deref(),
                    schema,
                    &format!("nodes[{i}]"),
                ),
                _ => Ok(None),
            })
            .collect::<Result<_>>()?;
        Ok(JourneyFilters {
            trigger,
            goals,
            exit,
            nodes,
        })
    }
}

fn compile_one(
    event: &str,
    filter: &Filter,
    text: Option<&str>,
    schema: &Schema,
    path: &str,
) -> Result<Option<EventFilter>> {
    match text {
        Some(t) => EventFilter::compile_text(t, event, schema)
            .map(Some)
            .map_err(|e| e.with_path(format!("{path}.where"))),
        None if filter.is_empty() => Ok(None),
        None => EventFilter::compile(legacy_expr(filter, event, schema), event, schema)
            .map(Some)
            .map_err(|e| e.with_path(format!("{path}.filter"))),
    }
}

/// Structural checks of one filter location (no schema needed): at most one of
/// `filter` and `where`, the legacy document's shape, and the `where` text's
/// syntax (`RULE_SYNTAX` with position; path `<path>.where`).
pub(crate) fn check_filter(path: &str, filter: &Filter, text: Option<&str>) -> Result<()> {
    let invalid = |field: &str, msg: String| {
        Error::new(ErrorKind::InvalidModel, format!("invalid_field: {msg}"))
            .with_path(format!("{path}.{field}"))
    };
    filter.check().map_err(|m| invalid("filter", m))?;
    if let Some(t) = text {
        if !filter.is_empty() {
            return Err(invalid(
                "where",
                "give either \"where\" or the older \"filter\", not both".into(),
            ));
        }
        EventFilter::parse(t).map_err(|e| e.with_path(format!("{path}.where")))?;
    }
    Ok(())
}

/// Whether `e` passes the compiled filter `f` (`None`: no filter) at `now`.
pub(crate) fn passes(
    f: Option<&EventFilter>,
    e: &Event,
    profile: &Profile,
    now: DateTime<Utc>,
    default_zone: Zone,
) -> Result<bool> {
    match f {
        None => Ok(true),
        Some(f) => f.matches(e, profile, now, default_zone),
    }
}

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind)
}

fn prop(name: &str) -> Box<Expr> {
    Box::new(node(ExprKind::Prop { name: name.into() }))
}

fn lit(value: Literal) -> Expr {
    node(ExprKind::Literal { value })
}

/// `false`: a legacy condition that can never hold (see [`legacy_expr`]).
fn never() -> Expr {
    lit(Literal::Boolean(false))
}

fn and(mut args: Vec<Expr>) -> Expr {
    if args.len() == 1 {
        args.remove(0)
    } else {
        node(ExprKind::And { args })
    }
}

/// The constant `v` as a literal comparable with a property of type `ty`, as
/// the legacy matcher read it (strings are timestamps or dates when the
/// property has that type); `None` when the legacy matcher could never find it
/// equal or ordered.
fn scalar(ty: ValueType, v: &serde_json::Value) -> Option<Literal> {
    use serde_json::Value as J;
    Some(match (ty, v) {
        (ValueType::Integer | ValueType::Float, J::Number(n)) => match n.as_i64() {
            Some(i) => Literal::Integer(i),
            None => Literal::Float(n.as_f64().filter(|f| f.is_finite())?),
        },
        (ValueType::String, J::String(s)) => Literal::String(s.clone()),
        (ValueType::Boolean, J::Bool(b)) => Literal::Boolean(*b),
        (ValueType::Timestamp, J::String(s)) => {
            parse_timestamp(s).ok()?;
            Literal::Timestamp(s.clone())
        }
        (ValueType::Date, J::String(s)) => {
            parse_date(s).ok()?;
            Literal::Date(s.clone())
        }
        _ => return None,
    })
}

fn cmp_op(op: &str) -> Option<CmpOp> {
    Some(match op {
        "eq" => CmpOp::Eq,
        "ne" => CmpOp::Ne,
        "gt" => CmpOp::Gt,
        "gte" => CmpOp::Ge,
        "lt" => CmpOp::Lt,
        "lte" => CmpOp::Le,
        _ => return None,
    })
}

fn contains(name: &str, s: &str) -> Expr {
    node(ExprKind::TextMatch {
        test: TextTest::Contains,
        expr: prop(name),
        pattern: Box::new(lit(Literal::String(s.into()))),
    })
}

fn string_list(v: &serde_json::Value) -> Option<Vec<Literal>> {
    v.as_array()?
        .iter()
        .map(|i| i.as_str().map(|s| Literal::String(s.into())))
        .collect()
}

/// One legacy condition `op: v` on property `name` of type `ty`.
fn condition(name: &str, ty: ValueType, op: &str, v: &serde_json::Value) -> Expr {
    if ty == ValueType::StringList {
        // The legacy matcher ordered a list property against a string as
        // Equal when the list contains it and Less otherwise; against a list
        // of strings it compared the lists.
        if let Some(s) = v.as_str() {
            let has = contains(name, s);
            let hasnt = || {
                node(ExprKind::Not {
                    arg: Box::new(has.clone()),
                })
            };
            return match op {
                "eq" | "gte" | "in" => has,
                "ne" | "lt" => hasnt(),
                "lte" => node(ExprKind::Exists {
                    expr: prop(name),
                    negated: false,
                }),
                _ => never(),
            };
        }
    }
    if op == "in" {
        let Some(items) = v.as_array() else {
            return never();
        };
        if ty == ValueType::StringList {
            let args: Vec<Expr> = items
                .iter()
                .filter(|i| i.is_string() || string_list(i).is_some())
                .map(|i| condition(name, ty, "eq", i))
                .collect();
            return match args.len() {
                0 => never(),
                1 => and(args),
                _ => node(ExprKind::Or { args }),
            };
        }
        let values: Vec<Expr> = items
            .iter()
            .filter_map(|i| scalar(ty, i))
            .map(lit)
            .collect();
        if values.is_empty() {
            return never();
        }
        return node(ExprKind::In {
            expr: prop(name),
            values,
            negated: false,
        });
    }
    let Some(cmp) = cmp_op(op) else {
        return never();
    };
    let literal = if ty == ValueType::StringList {
        // Lists compare only for (in)equality in the rule language; the
        // legacy ordering of two lists is element-wise lexicographic, which a
        // filter on a tag list never meant: it is kept for = and != only.
        match (string_list(v), cmp) {
            (Some(l), CmpOp::Eq | CmpOp::Ne) => Some(Literal::List(l)),
            _ => None,
        }
    } else {
        scalar(ty, v)
    };
    match literal {
        Some(l) => node(ExprKind::Compare {
            cmp,
            left: prop(name),
            right: Box::new(lit(l)),
        }),
        None => never(),
    }
}

/// Translates a legacy `filter` document on events named `event` into the rule
/// AST it means. Conditions the legacy matcher could never satisfy (a property
/// the schema does not declare — validated events cannot carry it —, or a
/// constant of another type than the property's) become `false`, so an old
/// definition keeps loading and keeps matching exactly what it matched.
pub fn legacy_expr(filter: &Filter, event: &str, schema: &Schema) -> Expr {
    let mut conds = Vec::new();
    for (name, cond) in &filter.0 {
        let Ok(def) = schema.property_def(event, name) else {
            conds.push(never());
            continue;
        };
        match cond {
            serde_json::Value::Object(ops) => {
                for (op, v) in ops {
                    conds.push(condition(name, def.ty, op, v));
                }
            }
            v => conds.push(condition(name, def.ty, "eq", v)),
        }
    }
    and(conds)
}
