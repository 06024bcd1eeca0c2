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
