//! Event filters: one rule-language condition tested against a single event,
//! as journeys and points use them (`{"event": "order_paid", "where": "amount
//! >= 100"}`).
//!
//! The grammar is an aggregate's `where` (`count(order_paid where amount >=
//! 100)`): bare names are the event's properties, `trait.NAME` reads a profile
//! trait, `now`/`today` are the evaluation instant and the profile's local date.
//! The filter is compiled by the same compiler and evaluated by the same
//! evaluator as rules, so missing values (three-valued logic: an unknown filter
//! does not match), types and time zones behave identically. Aggregates,
//! streaks and segment references are not allowed: they read the event history,
//! not the one event (use a rule criterion for those).

use super::ast::{Expr, ExprKind, Span};
use super::compile::{compile_filter, Limits};
use super::eval::{self, unbox, Ctx, Node};
use super::explain::Truth;
use super::parser;
use super::printer;
use super::source::RowSource;
use crate::error::{Error, ErrorKind, Position, Result};
use crate::profile::{Event, Profile};
use crate::schema::Schema;
use crate::zone::Zone;
use chrono::{DateTime, Utc};

/// A compiled event filter. Immutable and `Send + Sync`; matching an event
/// allocates nothing (except what `lower()` of a mixed-case string needs).
#[derive(Debug, Clone)]
pub struct EventFilter {
    expr: Expr,
    plan: Node,
}

/// An error and the span of the node it is about.
type Located<T> = std::result::Result<T, (Error, Span)>;

/// Rejects what a single-event filter cannot hold (aggregates, streaks,
/// segment references); needs no schema, so structural validation runs it.
pub fn check_filter_shape(expr: &Expr) -> Result<()> {
    shape(expr).map_err(|(e, _)| e)
}

fn shape(expr: &Expr) -> Located<()> {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        let what = match &e.kind {
            ExprKind::Aggregate { .. } => "an aggregate",
            ExprKind::Streak { .. } => "a streak",
            ExprKind::Segment { .. } => "a segment reference",
            _ => {
                stack.extend(parser::children(e));
                continue;
            }
        };
        let msg = format!(
            "an event filter tests one event, so it cannot hold {what} \
             (use a rule criterion or a rule split for conditions on the history)"
        );
        return Err((Error::new(ErrorKind::TypeMismatch, msg), e.span));
    }
    Ok(())
}

/// Attaches the line and column in `text` of the node an error is about.
fn at_text(err: Error, text: &str, span: Span) -> Error {
    if span.end > 0 && err.position().is_none() {
        err.with_position(Position::from_offset(text, span.start as usize))
    } else {
        err
    }
}

impl EventFilter {
    /// Parses filter text (syntax only; `RULE_SYNTAX` with position on error)
    /// and checks its shape.
    pub fn parse(text: &str) -> Result<Expr> {
        let expr = parser::parse_filter(text)?;
        shape(&expr).map_err(|(e, span)| at_text(e, text, span))?;
        Ok(expr)
    }

    /// Parses and compiles filter text for events named `event`; errors carry
    /// the line and column in `text` (unknown names come with a suggestion).
    pub fn compile_text(text: &str, event: &str, schema: &Schema) -> Result<EventFilter> {
        let expr = EventFilter::parse(text)?;
        EventFilter::compile_located(expr, event, schema)
            .map_err(|(e, span)| at_text(e, text, span))
    }

    /// Compiles a filter expression (e.g. built from JSON) for events named
    /// `event` against the schema.
    pub fn compile(expr: Expr, event: &str, schema: &Schema) -> Result<EventFilter> {
        EventFilter::compile_located(expr, event, schema).map_err(|(e, _)| e)
    }

    fn compile_located(expr: Expr, event: &str, schema: &Schema) -> Located<EventFilter> {
        shape(&expr)?;
        let plan = compile_filter(&expr, event, schema, Limits::default())?;
        Ok(EventFilter { expr, plan })
    }

    /// The filter's expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The filter as rule-language text (what `where` would say).
    pub fn to_text(&self) -> String {
        printer::print_filter(&self.expr)
    }

    /// Whether `event` passes: the filter is true (unknown, e.g. on a missing
    /// property, does not pass). `now` is the evaluation instant (for `now`,
    /// `today`, `within`); the profile's zone, else `default_zone`, is the zone
    /// of `today` and calendar functions. An event property or trait whose
    /// value does not have its declared type is an `INVALID_EVENT` /
    /// `INVALID_PROFILE` error, as in rules.
    pub fn matches(
        &self,
        event: &Event,
        profile: &Profile,
        now: DateTime<Utc>,
        default_zone: Zone,
    ) -> Result<bool> {
        let cx = Ctx::new(
            RowSource {
                profile,
                events: std::slice::from_ref(event),
            },
            now,
            profile.time_zone.unwrap_or(default_zone),
            &[],
            0,
        );
        Ok(unbox(eval::eval(&self.plan, &cx, Some(0)))?.truth() == Truth::True)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;
    use crate::EventLog;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_json(
            r#"{"traits": {"city": "string"},
                "events": {"order_paid": {"properties": {
                    "amount": "float", "channel": "string", "tags": "string_list",
                    "paid_at": "timestamp"}}}}"#,
        )
        .unwrap()
    }

    fn event(props: serde_json::Value) -> Event {
        let log = EventLog::from_json_value(
            &json!([{"id": "e1", "name": "order_paid",
                     "timestamp": "2026-03-02T10:00:00Z", "properties": props}]),
            &schema(),
        )
        .unwrap();
        log.events()[0].clone()
    }

    fn check(text: &str, props: serde_json::Value) -> bool {
        let f = EventFilter::compile_text(text, "order_paid", &schema()).unwrap();
        let p = Profile::from_json_value(
            &json!({"id": "u", "traits": {"city": "Hangzhou"}}),
            &schema(),
        )
        .unwrap();
        let now = parse_timestamp("2026-03-02T10:00:00Z").unwrap();
        f.matches(&event(props), &p, now, Zone::utc()).unwrap()
    }

    #[test]
    fn bare_names_are_properties_and_traits_are_qualified() {
        let w = r#"amount >= 100 and channel in ["wechat", "app"]"#;
        assert!(check(w, json!({"amount": 120.0, "channel": "app"})));
        assert!(!check(w, json!({"amount": 99.5, "channel": "app"})));
        assert!(!check(w, json!({"amount": 120.0, "channel": "sms"})));
        assert!(check(
            r#"trait.city = "Hangzhou" and tags contains "vip""#,
            json!({"tags": ["vip"]})
        ));
        assert!(check(
            "paid_at within last 1d",
            json!({"paid_at": "2026-03-02T09:00:00Z"})
        ));
    }

    #[test]
    fn missing_values_are_unknown_and_do_not_match() {
        assert!(!check("amount >= 100", json!({})));
        assert!(!check("not (amount >= 100)", json!({})));
        assert!(check("amount is missing", json!({})));
        assert!(check(
            "amount >= 100 or channel = \"app\"",
            json!({"channel": "app"})
        ));
    }

    #[test]
    fn errors_are_typed_with_position_and_suggestion() {
        let s = schema();
        let e = EventFilter::compile_text("amount >= ", "order_paid", &s).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RuleSyntax);
        assert_eq!(e.position().unwrap().column, 11);
        let e = EventFilter::compile_text("amount > 1 and chanel = \"x\"", "order_paid", &s)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownProperty);
        assert_eq!(e.suggestion(), Some("channel"));
        assert_eq!(e.position().unwrap().column, 16);
        let e = EventFilter::compile_text("amount = \"x\"", "order_paid", &s).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TypeMismatch);
        let e = EventFilter::compile_text("amount", "order_paid", &s).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TypeMismatch);
        let e = EventFilter::compile_text("amount > 1 and count(order_paid) > 2", "order_paid", &s)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TypeMismatch);
        assert_eq!(e.position().unwrap().column, 16);
        let e = EventFilter::compile_text("amount > 1", "order_payed", &s).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownEvent);
    }

    #[test]
    fn filter_text_round_trips_through_the_printer() {
        let f = EventFilter::compile_text(
            r#"amount >= 100 and channel in ["wechat", "app"] and trait.city = "x""#,
            "order_paid",
            &schema(),
        )
        .unwrap();
        let again = EventFilter::compile_text(&f.to_text(), "order_paid", &schema()).unwrap();
        assert_eq!(again.expr(), f.expr());
    }
}
