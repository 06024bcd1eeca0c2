//! The DSL printer: [`RuleSet`] / [`Expr`] → canonical text that parses back to an equal tree.

use super::ast::{Expr, RuleSet};

/// Prints a rule set.
pub fn print_rule_set(rs: &RuleSet) -> String {
    let _ = rs;
    String::new()
}

/// Prints one expression.
pub fn print_expr(e: &Expr) -> String {
    let _ = e;
    String::new()
}
