//! Compilation: type-checks a [`RuleSet`] against a [`Schema`], resolves names
//! (with "did you mean"), orders segment references (rejecting cycles), checks
//! limits, and builds the evaluation plan.

use super::ast::RuleSet;
use super::explain::Explanation;
use super::EvalInput;
use crate::error::{Error, ErrorKind, Result};
use crate::schema::Schema;

/// Size limits checked at parse and compile time (`LIMIT_EXCEEDED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting depth of an expression.
    pub max_depth: usize,
    /// Maximum number of nodes in one rule.
    pub max_nodes: usize,
    /// Maximum number of rules in a set.
    pub max_rules: usize,
    /// Maximum compiled size of one regular expression, in bytes.
    pub max_regex_size: usize,
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
        let _ = (schema, limits);
        let _ = rules
            .rules
            .iter()
            .map(|r| r.name.clone())
            .collect::<Vec<_>>();
        Err(Error::new(ErrorKind::Internal, "compiler not built yet"))
    }

    /// Rule names in declaration order (the order of [`CompiledRuleSet::evaluate`]'s result).
    pub fn rule_names(&self) -> &[String] {
        &self.names
    }

    /// Evaluates every rule: `result[i]` is whether the profile is a member of rule `i`.
    pub fn evaluate(&self, input: &EvalInput<'_>) -> Result<Vec<bool>> {
        let _ = input;
        Err(Error::new(ErrorKind::Internal, "evaluator not built yet"))
    }

    /// Explains one rule's verdict.
    pub fn explain(&self, input: &EvalInput<'_>, rule: &str) -> Result<Explanation> {
        let _ = (input, rule);
        Err(Error::new(ErrorKind::Internal, "explain not built yet"))
    }
}
