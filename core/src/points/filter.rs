//! The `where` of earn rules and engagement weights: a rule-language condition
//! on the event (`"where": "amount >= 100 and channel = \"app\""`, compiled by
//! [`crate::rules::EventFilter`]) or the legacy equality map (`"where":
//! {"channel": "app"}`), which is translated to the same AST.
//!
//! Points filters read the event only (no profile is at hand when a ledger
//! applies events): `trait.NAME` is rejected. `now` and `today` are the
//! event's instant and local date.

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{Event, Profile};
use crate::rules::ast::{CmpOp, Expr, ExprKind, Literal};
use crate::rules::EventFilter;
use crate::schema::Schema;
use crate::value::{Value, ValueType};
use crate::zone::Zone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// An event filter of a points model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PointsWhere {
    /// A rule-language condition: bare names are the event's properties.
    Text(String),
    /// The legacy form: every listed property equals the value.
    Equals(BTreeMap<String, serde_json::Value>),
}

impl PointsWhere {
    /// The AST this filter means for events named `event` (legacy maps are
    /// translated by the property types of `schema`).
    fn expr(&self, event: &str, schema: &Schema) -> Result<Expr> {
        match self {
            PointsWhere::Text(t) => EventFilter::parse(t),
            PointsWhere::Equals(m) => {
                let mut args = Vec::with_capacity(m.len());
                for (name, want) in m {
                    let ty = schema.property_def(event, name)?.ty;
                    args.push(legacy_equal(name, ty, want));
                }
                Ok(Expr::new(ExprKind::And { args }))
            }
        }
    }

    /// Compiles the filter; errors carry `path` (and the position inside the text).
    pub fn compile(&self, event: &str, schema: &Schema, path: &str) -> Result<EventFilter> {
        let at = |e: Error| e.with_path(path.to_string());
        let expr = self.expr(event, schema).map_err(at)?;
        if let Some(t) = find_trait(&expr) {
            return Err(at(Error::new(
                ErrorKind::TypeMismatch,
                format!("points filters read the event only; trait `{t}` is not available here"),
            )));
        }
        match self {
            PointsWhere::Text(t) => EventFilter::compile_text(t, event, schema).map_err(at),
            PointsWhere::Equals(_) => EventFilter::compile(expr, event, schema).map_err(at),
        }
    }
}

fn find_trait(e: &Expr) -> Option<&str> {
    if let ExprKind::Trait { name } = &e.kind {
        return Some(name);
    }
    crate::rules::parser::children(e)
        .into_iter()
        .find_map(find_trait)
}

/// The legacy equality `name = want` as the legacy matcher read it: numbers
/// compare numerically, strings, booleans and string lists by equality; any
/// other pairing (e.g. a string against a timestamp property) never matched,
/// and becomes `false`.
fn legacy_equal(name: &str, ty: ValueType, want: &serde_json::Value) -> Expr {
    let lit = |value| Expr::new(ExprKind::Literal { value });
    let value = match (Value::infer_json(want), ty) {
        (Some(Value::Integer(i)), ValueType::Integer | ValueType::Float) => {
            Some(Literal::Integer(i))
        }
        (Some(Value::Float(f)), ValueType::Integer | ValueType::Float) if f.is_finite() => {
            Some(Literal::Float(f))
        }
        (Some(Value::String(s)), ValueType::String) => Some(Literal::String(s)),
        (Some(Value::Boolean(b)), ValueType::Boolean) => Some(Literal::Boolean(b)),
        (Some(Value::StringList(l)), ValueType::StringList) => {
            Some(Literal::List(l.into_iter().map(Literal::String).collect()))
        }
        _ => None,
    };
    match value {
        Some(v) => Expr::new(ExprKind::Compare {
            cmp: CmpOp::Eq,
            left: Box::new(Expr::new(ExprKind::Prop { name: name.into() })),
            right: Box::new(lit(v)),
        }),
        None => lit(Literal::Boolean(false)),
    }
}

/// Compiled filters of a list (earn rules, engagement weights), filled by
/// [`super::PointsModel::validate`]. Not part of the model's data: ignored by
/// equality and serialization.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompiledFilters(OnceLock<Vec<Option<EventFilter>>>);

impl PartialEq for CompiledFilters {
    fn eq(&self, _: &CompiledFilters) -> bool {
        true
    }
}

impl CompiledFilters {
    pub(crate) fn set(&self, f: Vec<Option<EventFilter>>) {
        // Already set by an earlier validation against a schema: keep it.
        let _ = self.0.set(f);
    }

    /// The compiled filter of item `i`, once validated.
    pub(crate) fn get(&self, i: usize) -> Option<&Option<EventFilter>> {
        self.0.get().and_then(|v| v.get(i))
    }
}

/// Whether `e` passes `filter`: `compiled` when the model was validated; an
/// unvalidated model can only apply legacy maps (a text filter needs the
/// schema: `INVALID_MODEL`).
pub(crate) fn passes(
    filter: Option<&PointsWhere>,
    compiled: Option<&Option<EventFilter>>,
    e: &Event,
    zone: Zone,
) -> Result<bool> {
    let Some(filter) = filter else {
        return Ok(true);
    };
    match (compiled, filter) {
        (Some(Some(f)), _) => f.matches(e, &Profile::new(String::new()), e.timestamp, zone),
        (_, PointsWhere::Equals(m)) => Ok(m.iter().all(|(k, want)| {
            e.properties.get(k).is_some_and(|have| {
                Value::infer_json(want).is_some_and(|w| have.equals(&w) == Some(true))
            })
        })),
        (_, PointsWhere::Text(_)) => Err(Error::new(
            ErrorKind::InvalidModel,
            "a points model with `where` text must be validated against a schema before use",
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::points::{Ledger, PointsModel};
    use crate::schema::Schema;
    use crate::value::parse_timestamp;
    use crate::zone::Zone;
    use crate::EventLog;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_json(
            r#"{"traits": {"city": "string"},
                "events": {"purchase": {"properties": {"amount": "float", "channel": "string",
                                                       "tags": "string_list", "paid_at": "timestamp"}}}}"#,
        )
        .unwrap()
    }

    fn model(filter: serde_json::Value) -> crate::error::Result<PointsModel> {
        let m = json!({
            "rules": [{"id": "big", "event": "purchase", "where": filter, "award": 10}],
            "engagement": {"half_life": "14d", "cap": 100,
                           "weights": [{"event": "purchase", "where": filter, "weight": 1}]}});
        PointsModel::from_json(&m.to_string(), &schema())
    }

    fn events() -> EventLog {
        let props = [
            json!({}),
            json!({"amount": 100, "channel": "app", "tags": ["a", "b"], "paid_at": "2026-03-01T00:00:00Z"}),
            json!({"amount": 99.5, "channel": "app", "tags": ["a"]}),
            json!({"amount": 300.0, "channel": "wechat", "tags": []}),
        ];
        let docs: Vec<_> = props
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({"id": format!("e{i}"), "name": "purchase",
                                 "timestamp": format!("2026-03-0{}T10:00:00Z", i + 1),
                                 "properties": p})
            })
            .collect();
        EventLog::from_json_value(&json!(docs), &schema()).unwrap()
    }

    /// Which events earn points, and the engagement score at the end.
    fn outcome(m: &PointsModel) -> (Vec<bool>, f64) {
        let mut l = Ledger::new();
        let earned = events()
            .events()
            .iter()
            .map(|e| !l.apply_event(m, e, Zone::utc()).unwrap().is_empty())
            .collect();
        let now = parse_timestamp("2026-03-10T00:00:00Z").unwrap();
        (earned, m.engagement.as_ref().unwrap().score(&events(), now))
    }

    #[test]
    fn where_text_filters_earn_rules_and_engagement() {
        let m = model(json!("amount >= 100 and channel in [\"app\", \"wechat\"]")).unwrap();
        let (earned, score) = outcome(&m);
        assert_eq!(earned, [false, true, false, true]);
        let only_third = model(json!("amount > 200")).unwrap();
        assert!(score > outcome(&only_third).1);
        let m = model(json!("tags contains \"a\" or amount is missing")).unwrap();
        assert_eq!(outcome(&m).0, [true, true, true, false]);
    }

    #[test]
    fn legacy_equality_maps_match_as_before() {
        for (old, new, want) in [
            (
                json!({"channel": "app"}),
                "channel = \"app\"",
                [false, true, true, false],
            ),
            (
                json!({"amount": 100}),
                "amount = 100",
                [false, true, false, false],
            ),
            (
                json!({"tags": ["a"]}),
                "tags = [\"a\"]",
                [false, false, true, false],
            ),
            // A string never equalled a list or a timestamp property.
            (json!({"tags": "a"}), "false", [false; 4]),
            (
                json!({"paid_at": "2026-03-01T00:00:00Z"}),
                "false",
                [false; 4],
            ),
        ] {
            let (o, n) = (
                outcome(&model(old.clone()).unwrap()),
                outcome(&model(json!(new)).unwrap()),
            );
            assert_eq!(o, n, "{old}");
            assert_eq!(o.0, want, "{old}");
        }
        // The legacy form still serializes as written.
        let m = model(json!({"channel": "app"})).unwrap();
        assert_eq!(
            serde_json::to_value(&m).unwrap()["rules"][0]["where"],
            json!({"channel": "app"})
        );
    }

    #[test]
    fn where_errors_have_code_path_and_position() {
        let e = model(json!("amount >=")).unwrap_err();
        assert_eq!(
            (e.code(), e.path()),
            ("RULE_SYNTAX", Some("rules[0].where"))
        );
        assert_eq!(e.position().map(|p| p.column), Some(10));
        let e = model(json!("amont > 1")).unwrap_err();
        assert_eq!(
            (e.code(), e.suggestion()),
            ("UNKNOWN_PROPERTY", Some("amount"))
        );
        assert_eq!(e.path(), Some("rules[0].where"));
        let e = model(json!("trait.city = \"x\"")).unwrap_err();
        assert_eq!(
            (e.code(), e.path()),
            ("TYPE_MISMATCH", Some("rules[0].where"))
        );
        let e = model(json!({"amont": 1})).unwrap_err();
        assert_eq!(e.code(), "UNKNOWN_PROPERTY");
    }

    #[test]
    fn an_unvalidated_model_refuses_text_filters() {
        let m: PointsModel = serde_json::from_value(json!({
            "rules": [{"id": "big", "event": "purchase", "where": "amount > 1", "award": 10}]}))
        .unwrap();
        let log = events();
        assert!(Ledger::new()
            .apply_event(&m, &log.events()[1], Zone::utc())
            .is_err());
    }
}
