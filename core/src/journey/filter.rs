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
    /// The event trigger's filter (boxed: keeps the compiled journey small).
    pub trigger: Option<Box<EventFilter>>,
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
            } => compile_one(event, filter, r#where.as_deref(), schema, "trigger")?.map(Box::new),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::engine::Input;
    use crate::journey::{JourneyDefinition, JourneyEngine, Policies, UserState};
    use crate::value::parse_timestamp;
    use crate::EventLog;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_json(
            r#"{"traits": {"city": "string"},
                "events": {"order_paid": {"properties": {
                    "amount": "float", "qty": "integer", "channel": "string",
                    "tags": "string_list", "paid_at": "timestamp", "day": "date",
                    "first": "boolean"}}}}"#,
        )
        .unwrap()
    }

    fn events() -> Vec<Event> {
        let props = [
            json!({}),
            json!({"amount": 120.0, "qty": 2, "channel": "app", "tags": ["vip", "new"],
                   "paid_at": "2026-03-01T08:00:00Z", "day": "2026-03-01", "first": true}),
            json!({"amount": 100, "qty": 1, "channel": "wechat", "tags": [],
                   "paid_at": "2026-02-01T00:00:00+08:00", "day": "2026-02-28", "first": false}),
            json!({"amount": 99.5, "qty": 100, "channel": "sms", "tags": ["new"]}),
        ];
        let docs: Vec<_> = props
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({"id": format!("e{i}"), "name": "order_paid",
                                 "timestamp": "2026-03-02T10:00:00Z", "properties": p})
            })
            .collect();
        EventLog::from_json_value(&json!(docs), &schema())
            .unwrap()
            .events()
            .to_vec()
    }

    #[test]
    fn legacy_filters_match_exactly_what_the_old_matcher_matched() {
        let schema = schema();
        let profile = Profile::new("u");
        let now = parse_timestamp("2026-03-02T10:00:00Z").unwrap();
        let consts = [
            json!(100),
            json!(99.5),
            json!("app"),
            json!("vip"),
            json!(true),
            json!(["vip", "new"]),
            json!([]),
            json!("2026-03-01T08:00:00Z"),
            json!("2026-03-01T16:00:00+08:00"),
            json!("2026-03-01"),
            json!("not a time"),
        ];
        let props = [
            "amount", "qty", "channel", "tags", "paid_at", "day", "first", "nope",
        ];
        let ops = ["eq", "ne", "gt", "gte", "lt", "lte"];
        let mut filters = Vec::new();
        for p in props {
            for c in &consts {
                filters.push(json!({ p: c }));
                for op in ops {
                    filters.push(json!({ p: { op: c } }));
                }
            }
            filters.push(json!({ p: {"in": consts} }));
            filters.push(json!({ p: {"in": [["vip", "new"], "sms", 2]} }));
            filters.push(json!({ p: {"gte": 100, "lt": 200} }));
        }
        filters.push(json!({"amount": {"gte": 100}, "channel": {"in": ["app", "wechat"]}}));
        let evs = events();
        let mut checked = 0;
        for f in filters {
            let legacy: Filter = serde_json::from_value(f.clone()).unwrap();
            legacy.check().unwrap();
            let compiled = EventFilter::compile(
                legacy_expr(&legacy, "order_paid", &schema),
                "order_paid",
                &schema,
            )
            .unwrap_or_else(|e| panic!("{f}: {e}"));
            // The one documented deviation: ordering a string-list property
            // against a list constant (lexicographic before) is `false` now.
            let list_order = f
                .get("tags")
                .and_then(|c| c.as_object())
                .is_some_and(|ops| {
                    ops.iter()
                        .any(|(op, v)| v.is_array() && !matches!(op.as_str(), "eq" | "ne" | "in"))
                });
            if list_order {
                assert_eq!(compiled.to_text(), "false");
                continue;
            }
            for e in &evs {
                let old = legacy.matches(e);
                let new = compiled.matches(e, &profile, now, Zone::utc()).unwrap();
                assert_eq!(
                    old,
                    new,
                    "filter {f} ({}) on {:?}",
                    compiled.to_text(),
                    e.properties
                );
                checked += 1;
            }
        }
        assert!(checked > 1000);
    }

    fn def(filter: serde_json::Value) -> JourneyDefinition {
        let mut d = json!({
            "id": "j", "trigger": {"type": "event", "event": "order_paid"},
            "goals": [{"id": "big", "event": "order_paid"}],
            "nodes": [
                {"id": "w", "type": "wait_event", "event": "order_paid", "timeout": "3d",
                 "on_event": "thanks"},
                {"id": "thanks", "type": "message", "channel": "wechat", "template": "t",
                 "purpose": "service"}]});
        for f in ["trigger", "goals"] {
            let at = if f == "trigger" {
                &mut d["trigger"]
            } else {
                &mut d["goals"][0]
            };
            at.as_object_mut()
                .unwrap()
                .extend(filter.as_object().unwrap().clone());
        }
        d["nodes"][0]
            .as_object_mut()
            .unwrap()
            .extend(filter.as_object().unwrap().clone());
        JourneyDefinition::from_json_value(&d).unwrap()
    }

    /// Steps every event through an engine; returns effects and notices as JSON.
    fn run(def: JourneyDefinition) -> Vec<serde_json::Value> {
        let engine = JourneyEngine::new(schema(), vec![def], Policies::default()).unwrap();
        let profile = Profile::new("u");
        let mut state = UserState::new();
        let mut out = Vec::new();
        let mut log = EventLog::default();
        for (i, e) in events().into_iter().enumerate() {
            let mut e = e;
            e.timestamp = parse_timestamp("2026-03-02T10:00:00Z").unwrap()
                + chrono::Duration::hours(i as i64);
            let now = e.timestamp;
            log = EventLog::new(log.events().iter().cloned().chain([e.clone()]).collect());
            let r = engine
                .step_owned(state, &profile, &log, &Input::Event(e), now)
                .unwrap();
            out.push(json!({"effects": r.effects, "notices": r.notices}));
            state = r.state;
        }
        out
    }

    #[test]
    fn an_old_form_definition_loads_and_behaves_like_its_where_equivalent() {
        let old =
            def(json!({"filter": {"amount": {"gte": 100}, "channel": {"in": ["app", "wechat"]}}}));
        let new = def(json!({"where": "amount >= 100 and channel in [\"app\", \"wechat\"]"}));
        // The old form still reads and writes back as written.
        assert_eq!(
            old.to_json()["trigger"]["filter"],
            json!({"amount": {"gte": 100}, "channel": {"in": ["app", "wechat"]}})
        );
        let (a, b) = (run(old), run(new));
        assert_eq!(a, b);
        // The filter did something: the first (empty) event does not enter.
        assert!(a[0]["notices"].as_array().unwrap().is_empty(), "{a:?}");
        assert!(!a[1]["notices"].as_array().unwrap().is_empty(), "{a:?}");
    }

    #[test]
    fn where_errors_carry_code_position_path_and_suggestion() {
        let base = |w: &str| {
            json!({"id": "j", "trigger": {"type": "explicit"}, "nodes": [
                {"id": "a", "type": "wait", "duration": "1d", "next": "w"},
                {"id": "w", "type": "wait_event", "event": "order_paid", "timeout": "3d",
                 "where": w}]})
        };
        let e = JourneyDefinition::from_json_value(&base("amount >= and")).unwrap_err();
        assert_eq!(e.code(), "RULE_SYNTAX");
        assert_eq!(e.path(), Some("nodes[1].where"));
        assert_eq!(e.position().map(|p| (p.line, p.column)), Some((1, 11)));
        let e = JourneyDefinition::from_json_value(&base("count(order_paid) > 1")).unwrap_err();
        assert_eq!(e.code(), "TYPE_MISMATCH");
        assert_eq!(e.path(), Some("nodes[1].where"));
        let d =
            JourneyDefinition::from_json_value(&base("amount >= 1 and chanel = \"app\"")).unwrap();
        let e = JourneyEngine::new(schema(), vec![d.clone()], Policies::default()).unwrap_err();
        assert_eq!(e.code(), "UNKNOWN_PROPERTY");
        assert_eq!(e.path(), Some("journeys[0].nodes[1].where"));
        assert_eq!(e.suggestion(), Some("channel"));
        assert_eq!(e.position().map(|p| p.column), Some(17));
        let e = crate::journey::validate::check_schema(&d, &schema()).unwrap_err();
        assert_eq!(e.path(), Some("nodes[1].where"));
        let mut both = base("amount > 1");
        both["nodes"][1]["filter"] = json!({"amount": 1});
        let e = JourneyDefinition::from_json_value(&both).unwrap_err();
        assert_eq!(e.code(), "INVALID_MODEL");
        assert_eq!(e.path(), Some("nodes[1].where"));
    }
}
