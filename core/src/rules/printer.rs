//! The DSL printer: [`RuleSet`] / [`Expr`] → canonical text that parses back to an equal tree.
//!
//! Canonical form: one segment per line, descriptions as `///` lines before it
//! (and a blank line before a described segment that is not the first),
//! single spaces around operators, the fewest parentheses the precedence needs,
//! bare names where they are unambiguous (`trait.NAME` / `prop.NAME` or a quoted
//! string otherwise), floats in Rust's shortest round-trip form (always with `.`
//! or an exponent). Non-finite floats have no DSL (or JSON) form; they print as
//! `float("nan")` / `float("inf")`, which parsing rejects (`UNKNOWN_FUNCTION`).

use super::ast::{
    AggFn, ArithOp, CalendarUnit, Expr, ExprKind, Literal, Rule, RuleSet, TagMode, Window,
};
use super::parser::{is_callable, is_reserved, streak_name};
use std::fmt::Write;

/// Prints a rule set.
pub fn print_rule_set(rs: &RuleSet) -> String {
    let mut out = String::new();
    for (i, rule) in rs.rules.iter().enumerate() {
        if i > 0 && rule.description.is_some() {
            out.push('\n');
        }
        print_rule(rule, &mut out);
    }
    out
}

fn print_rule(rule: &Rule, out: &mut String) {
    if let Some(d) = &rule.description {
        for line in d.split('\n') {
            out.push_str("///");
            if !line.is_empty() {
                out.push(' ');
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    out.push_str("segment ");
    name(&rule.name, out);
    out.push_str(": ");
    expr(&rule.expr, 1, false, out);
    out.push('\n');
}

/// Prints one expression.
pub fn print_expr(e: &Expr) -> String {
    let mut out = String::new();
    expr(e, 1, false, &mut out);
    out
}

/// Prints an event filter (the text after `where`: bare names are properties);
/// `parser::parse_filter(&print_filter(e)) == e`.
pub fn print_filter(e: &Expr) -> String {
    let mut out = String::new();
    expr(e, 1, true, &mut out);
    out
}

/// Binding strength: 1 `or`, 2 `and`, 3 `not`, 4 predicates, 5 `+ -`, 6 `* /`, 7 primaries.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Or { args } if args.len() >= 2 => 1,
        ExprKind::And { args } if args.len() >= 2 => 2,
        ExprKind::Not { .. } => 3,
        ExprKind::Compare { .. }
        | ExprKind::In { .. }
        | ExprKind::TextMatch { .. }
        | ExprKind::Between { .. }
        | ExprKind::Exists { .. }
        | ExprKind::Within { .. } => 4,
        ExprKind::Arith {
            arith: ArithOp::Add | ArithOp::Sub,
            ..
        } => 5,
        ExprKind::Arith { .. } => 6,
        _ => 7,
    }
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A name where a bare identifier is allowed: as is, or quoted.
fn name(n: &str, out: &mut String) {
    if is_ident(n) && !is_reserved(n) {
        out.push_str(n);
    } else {
        string(n, out);
    }
}

/// A name after `trait.` / `prop.` / `event.`: any identifier, or quoted.
fn member(n: &str, out: &mut String) {
    if is_ident(n) {
        out.push_str(n);
    } else {
        string(n, out);
    }
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn strings(items: &[String], out: &mut String) {
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        string(s, out);
    }
}

fn literal(l: &Literal, out: &mut String) {
    match l {
        Literal::String(s) => string(s, out),
        Literal::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Literal::Float(f) if f.is_finite() => {
            // `{:?}` is the shortest representation that round-trips, and always
            // contains `.` or `e` (`1.0`, `1e-7`), so it re-parses as a float.
            let _ = write!(out, "{f:?}");
        }
        // No syntax reads these back; print a call that fails loudly when parsed
        // rather than a bare word that would read as a trait.
        Literal::Float(f) => out.push_str(if f.is_nan() {
            "float(\"nan\")"
        } else if *f > 0.0 {
            "float(\"inf\")"
        } else {
            "float(\"-inf\")"
        }),
        Literal::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::Timestamp(t) => {
            out.push_str("timestamp(");
            string(t, out);
            out.push(')');
        }
        Literal::Date(d) => {
            out.push_str("date(");
            string(d, out);
            out.push(')');
        }
        Literal::Duration(d) => {
            let _ = write!(out, "{d}");
        }
        Literal::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                literal(item, out);
            }
            out.push(']');
        }
    }
}

fn list(args: &[Expr], in_filter: bool, out: &mut String) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        expr(a, 1, in_filter, out);
    }
}

/// Prints `e`, parenthesised when it binds looser than `min`. `in_filter`: inside
/// a `where`, where bare names are properties.
fn expr(e: &Expr, min: u8, in_filter: bool, out: &mut String) {
    let prec = precedence(e);
    if prec < min {
        out.push('(');
        expr(e, 1, in_filter, out);
        out.push(')');
        return;
    }
    match &e.kind {
        ExprKind::And { args } | ExprKind::Or { args } if args.len() < 2 => {
            let f = if matches!(e.kind, ExprKind::And { .. }) {
                "all_of("
            } else {
                "any_of("
            };
            out.push_str(f);
            list(args, in_filter, out);
            out.push(')');
        }
        ExprKind::And { args } | ExprKind::Or { args } => {
            let sep = if prec == 2 { " and " } else { " or " };
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                expr(a, prec + 1, in_filter, out);
            }
        }
        ExprKind::Not { arg } => {
            out.push_str("not ");
            expr(arg, 3, in_filter, out);
        }
        ExprKind::Literal { value } => literal(value, out),
        ExprKind::Trait { name: n } => {
            if !in_filter && is_ident(n) && !is_reserved(n) && !is_callable(n) {
                out.push_str(n);
            } else {
                out.push_str("trait.");
                member(n, out);
            }
        }
        ExprKind::Prop { name: n } => {
            if in_filter && is_ident(n) && !is_reserved(n) && !is_callable(n) {
                out.push_str(n);
            } else {
                out.push_str("prop.");
                member(n, out);
            }
        }
        ExprKind::Now => out.push_str("now"),
        ExprKind::Today => out.push_str("today"),
        ExprKind::Score { name: n } => {
            out.push_str("score(");
            string(n, out);
            out.push(')');
        }
        ExprKind::Arith { arith, left, right } => {
            expr(left, prec, in_filter, out);
            let _ = write!(out, " {} ", arith.symbol());
            expr(right, prec + 1, in_filter, out);
        }
        ExprKind::Call { function, args } => {
            out.push_str(function.name());
            out.push('(');
            list(args, in_filter, out);
            out.push(')');
        }
        ExprKind::Compare { cmp, left, right } => {
            expr(left, 5, in_filter, out);
            let _ = write!(out, " {} ", cmp.symbol());
            expr(right, 5, in_filter, out);
        }
        ExprKind::In {
            expr: x,
            values,
            negated,
        } => {
            expr(x, 5, in_filter, out);
            out.push_str(if *negated { " not in [" } else { " in [" });
            list(values, in_filter, out);
            out.push(']');
        }
        ExprKind::TextMatch {
            test,
            expr: x,
            pattern,
        } => {
            expr(x, 5, in_filter, out);
            let _ = write!(out, " {} ", test.keyword());
            expr(pattern, 5, in_filter, out);
        }
        ExprKind::Between { expr: x, low, high } => {
            expr(x, 5, in_filter, out);
            out.push_str(" between ");
            expr(low, 5, in_filter, out);
            out.push_str(" and ");
            expr(high, 5, in_filter, out);
        }
        ExprKind::Exists { expr: x, negated } => {
            expr(x, 5, in_filter, out);
            out.push_str(if *negated { " is missing" } else { " exists" });
        }
        ExprKind::Within {
            expr: x,
            direction,
            duration,
        } => {
            expr(x, 5, in_filter, out);
            let dir = match direction {
                super::ast::Direction::Last => "last",
                super::ast::Direction::Next => "next",
            };
            let _ = write!(out, " within {dir} {duration}");
        }
        ExprKind::HasTag { tags, mode } => {
            let f = match (mode, tags.len()) {
                (TagMode::Any, 1) => "has_tag(",
                (TagMode::Any, _) => "has_any_tag(",
                (TagMode::All, _) => "has_all_tags(",
            };
            out.push_str(f);
            strings(tags, out);
            out.push(')');
        }
        ExprKind::HasTagInGroup { group } => {
            out.push_str("has_tag_in_group(");
            string(group, out);
            out.push(')');
        }
        ExprKind::HasConsent { channel, purpose } => {
            out.push_str("has_consent(");
            strings(&[channel.clone(), purpose.clone()], out);
            out.push(')');
        }
        ExprKind::HasIdentity { namespace } => {
            out.push_str("has_identity(");
            string(namespace, out);
            out.push(')');
        }
        ExprKind::Segment { name: n } => {
            out.push_str("in_segment(");
            name(n, out);
            out.push(')');
        }
        ExprKind::Aggregate {
            agg,
            event,
            property,
            filter,
            window,
        } => aggregate(*agg, event, property.as_deref(), filter, window, out),
        ExprKind::Streak {
            mode,
            unit,
            event,
            filter,
        } => {
            out.push_str(streak_name(*mode, *unit));
            out.push('(');
            name(event, out);
            where_clause(filter, out);
            out.push(')');
        }
    }
}

fn where_clause(filter: &Option<Box<Expr>>, out: &mut String) {
    if let Some(f) = filter {
        out.push_str(" where ");
        expr(f, 1, true, out);
    }
}

fn aggregate(
    agg: AggFn,
    event: &str,
    property: Option<&str>,
    filter: &Option<Box<Expr>>,
    window: &Window,
    out: &mut String,
) {
    out.push_str(agg.name());
    out.push('(');
    name(event, out);
    if let Some(p) = property {
        out.push('.');
        member(p, out);
    }
    where_clause(filter, out);
    match window {
        Window::All => {}
        Window::Rolling { duration } => {
            let _ = write!(out, ", within {duration}");
        }
        Window::Calendar { unit, back, count } => {
            out.push_str(", during ");
            calendar(*unit, *back, *count, out);
        }
        Window::Range { start, end } => {
            out.push_str(", between ");
            literal(&Literal::Timestamp(start.clone()), out);
            out.push_str(" and ");
            literal(&Literal::Timestamp(end.clone()), out);
        }
    }
    out.push(')');
}

fn calendar(unit: CalendarUnit, back: u32, count: u32, out: &mut String) {
    let u = unit.name();
    match (unit, back, count) {
        (CalendarUnit::Day, 0, 1) => out.push_str("today"),
        (CalendarUnit::Day, 1, 1) => out.push_str("yesterday"),
        (_, 0, 1) => {
            let _ = write!(out, "this {u}");
        }
        (_, 1, 1) => {
            let _ = write!(out, "last {u}");
        }
        (_, b, c) if b == c && b >= 2 => {
            let _ = write!(out, "last {b} {u}s");
        }
        (_, b, c) => {
            let _ = write!(out, "calendar({u}, {b}, {c})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::rules::parser::{parse_expr, parse_rule_set};

    fn lit(value: Literal) -> Expr {
        Expr::new(ExprKind::Literal { value })
    }

    #[test]
    fn names_are_bare_only_where_unambiguous() {
        let t = |n: &str| Expr::new(ExprKind::Trait { name: n.into() });
        assert_eq!(print_expr(&t("city")), "city");
        assert_eq!(print_expr(&t("count")), "trait.count");
        assert_eq!(print_expr(&t("and")), "trait.and");
        assert_eq!(print_expr(&t("会员")), "trait.\"会员\"");
        assert_eq!(print_expr(&t("")), "trait.\"\"");
        let p = Expr::new(ExprKind::Prop {
            name: "amount".into(),
        });
        assert_eq!(print_expr(&p), "prop.amount");
        let agg = Expr::new(ExprKind::Aggregate {
            agg: AggFn::Count,
            event: "where".into(),
            property: None,
            filter: Some(Box::new(Expr::new(ExprKind::Compare {
                cmp: super::super::ast::CmpOp::Eq,
                left: Box::new(p),
                right: Box::new(t("city")),
            }))),
            window: Window::All,
        });
        assert_eq!(
            print_expr(&agg),
            "count(\"where\" where amount = trait.city)"
        );
    }

    #[test]
    fn non_finite_floats_fail_loudly() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let text = print_expr(&lit(Literal::Float(f)));
            let err = parse_expr(&text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnknownFunction, "{text}");
        }
    }

    #[test]
    fn rule_set_layout() {
        let rs = parse_rule_set("segment a: x = 1\n\t/// documents b\nsegment b: y").unwrap();
        assert_eq!(rs.rules[1].description.as_deref(), Some("documents b"));
        assert_eq!(
            print_rule_set(&rs),
            "segment a: x = 1\n\n/// documents b\nsegment b: y\n"
        );
        assert_eq!(print_rule_set(&RuleSet::default()), "");
    }
}
