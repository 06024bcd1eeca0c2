//! The segmentation rule language: one AST ([`ast`]), two syntaxes (the text DSL
//! read by [`parser`] and written by [`printer`], and JSON via serde), compiled
//! once against a [`Schema`](crate::schema::Schema) ([`compile`]) and evaluated
//! per profile ([`CompiledRuleSet::evaluate`], [`CompiledRuleSet::explain`]).
//!
//! ```
//! use siyu_core::rules::{RuleSet, CompiledRuleSet, EvalInput};
//! use siyu_core::{Schema, Profile, EventLog, Zone, value::parse_timestamp};
//!
//! let schema = Schema::from_json(r#"{"events": {"purchase": {"properties": {"amount": "float"}}}}"#).unwrap();
//! let rules = RuleSet::parse("segment buyer: count(purchase, within 30d) >= 1").unwrap();
//! let compiled = CompiledRuleSet::compile(&rules, &schema).unwrap();
//! let profile = Profile::new("u1");
//! let events = EventLog::default();
//! let input = EvalInput::new(&profile, &events, parse_timestamp("2026-03-01T00:00:00Z").unwrap());
//! assert_eq!(compiled.evaluate(&input).unwrap(), vec![false]);
//! ```

pub mod ast;
mod calendar;
mod columnar;
pub mod compile;
pub(crate) mod eval;
#[cfg(test)]
mod eval_tests;
pub mod explain;
pub mod filter;
mod lent;
mod lexer;
pub mod parser;
pub mod printer;
mod reduce;
mod source;
mod vector;

pub use ast::{Expr, ExprKind, Rule, RuleSet};
pub use columnar::ColumnarInput;
pub use compile::{CompiledRuleSet, Limits};
pub use explain::{ExplainNode, Explanation, Truth};
pub use filter::EventFilter;
pub use lent::{LentInput, LentPlan, LentTraits, TraitKey};
pub use reduce::UngroupedInput;

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{EventLog, Profile};
use crate::zone::Zone;
use chrono::{DateTime, Utc};

/// Everything one evaluation reads: a profile, its events and the instant `now`.
/// `default_zone` applies when the profile has no zone of its own.
#[derive(Debug, Clone, Copy)]
pub struct EvalInput<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// Its events (sorted, de-duplicated).
    pub events: &'a EventLog,
    /// The evaluation instant; nothing after it is visible.
    pub now: DateTime<Utc>,
    /// Zone for calendar windows when the profile has none.
    pub default_zone: Zone,
}

impl<'a> EvalInput<'a> {
    /// An input with the UTC default zone.
    pub fn new(profile: &'a Profile, events: &'a EventLog, now: DateTime<Utc>) -> EvalInput<'a> {
        EvalInput {
            profile,
            events,
            now,
            default_zone: Zone::utc(),
        }
    }

    /// Sets the default zone.
    pub fn with_default_zone(mut self, zone: Zone) -> EvalInput<'a> {
        self.default_zone = zone;
        self
    }

    /// The zone calendar computations use: the profile's, else the default.
    pub fn zone(&self) -> Zone {
        self.profile.time_zone.unwrap_or(self.default_zone)
    }
}

impl RuleSet {
    /// Parses DSL text (`segment name: expr …`).
    pub fn parse(text: &str) -> Result<RuleSet> {
        parser::parse_rule_set(text)
    }

    /// Prints as DSL text; `RuleSet::parse(&rs.to_text()) == rs`.
    pub fn to_text(&self) -> String {
        printer::print_rule_set(self)
    }

    /// Reads the JSON form: `{"rules": [{"name": "...", "description"?: "...",
    /// "expr": <AST object> | "<DSL expression text>"}]}`. DSL strings are parsed,
    /// so UIs may mix both forms.
    pub fn from_json(text: &str) -> Result<RuleSet> {
        let v: serde_json::Value = serde_json::from_str(text)?;
        RuleSet::from_json_value(&v)
    }

    /// As [`RuleSet::from_json`], from a parsed JSON value.
    pub fn from_json_value(v: &serde_json::Value) -> Result<RuleSet> {
        let obj = v.as_object().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidJson,
                "a rule set is a JSON object with \"rules\"",
            )
        })?;
        if let Some(k) = obj.keys().find(|k| k.as_str() != "rules") {
            return Err(Error::new(
                ErrorKind::InvalidJson,
                format!("unknown field `{k}` in rule set"),
            )
            .with_path(k.clone()));
        }
        let items = obj.get("rules").and_then(|r| r.as_array()).ok_or_else(|| {
            Error::new(ErrorKind::InvalidJson, "a rule set needs a \"rules\" array")
                .with_path("rules")
        })?;
        let mut rules = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("rules[{i}]");
            let ro = item.as_object().ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidJson,
                    "a rule is an object with \"name\" and \"expr\"",
                )
                .with_path(path.clone())
            })?;
            let name = ro.get("name").and_then(|n| n.as_str()).ok_or_else(|| {
                Error::new(ErrorKind::InvalidJson, "a rule needs a string \"name\"")
                    .with_path(format!("{path}.name"))
            })?;
            let description = match ro.get("description") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    return Err(Error::new(
                        ErrorKind::InvalidJson,
                        "\"description\" must be a string",
                    )
                    .with_path(format!("{path}.description")))
                }
            };
            if let Some(k) = ro
                .keys()
                .find(|k| !matches!(k.as_str(), "name" | "description" | "expr"))
            {
                return Err(Error::new(
                    ErrorKind::InvalidJson,
                    format!("unknown field `{k}` in rule"),
                )
                .with_path(format!("{path}.{k}")));
            }
            let expr = match ro.get("expr") {
                Some(serde_json::Value::String(text)) => {
                    parser::parse_expr(text).map_err(|e| e.prefix_path(&format!("{path}.expr")))?
                }
                Some(other) => serde_json::from_value::<Expr>(other.clone()).map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidJson,
                        format!("invalid rule expression: {e}"),
                    )
                    .with_path(format!("{path}.expr"))
                })?,
                None => {
                    return Err(Error::new(ErrorKind::InvalidJson, "a rule needs \"expr\"")
                        .with_path(format!("{path}.expr")))
                }
            };
            rules.push(Rule {
                name: name.to_string(),
                description,
                expr,
                span: ast::Span::default(),
            });
        }
        Ok(RuleSet { rules })
    }

    /// Writes the JSON form with AST objects.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The rule named `name`.
    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}
