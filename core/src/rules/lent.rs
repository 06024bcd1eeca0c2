//! Per-call evaluation over trait values a caller lends (ADR 0014).
//!
//! A binding that holds a profile's traits in its own map (a Python dict) can
//! have a compiled set evaluate them without building a [`Profile`]: it lends
//! each trait as a [`JsonRef`] (strings borrowed) through [`LentTraits`], and
//! the core reads and checks every lent value exactly as
//! [`Profile::from_json_value`] reads `{"id": id, "traits": {...}}` (same
//! errors: unknown traits, wrong types, the first by trait name; then an empty
//! id), then evaluates over the borrowed values. The profile has nothing else:
//! no zone (the default zone applies), tags, consents, identities, scores or
//! events — so results equal evaluating that document with an empty event log.
//!
//! [`Profile`]: crate::Profile
//! [`Profile::from_json_value`]: crate::Profile::from_json_value

use super::compile::CompiledRuleSet;
use super::eval::{Ctx, EvalResult, Val};
use super::explain::Truth;
use super::source::{no_event_log, Source};
use crate::error::{Error, ErrorKind, Result};
use crate::profile::{bad_trait, empty_id, unknown_trait};
use crate::schema::Schema;
use crate::value::{read_json, JsonRef, Typed, ValueType};
use crate::zone::Zone;
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;

/// Which trait a lent value is for: an index into [`LentPlan::trait_names`]
/// (bindings map their keys to indexes once, e.g. through a hash map of
/// interned names) or a name (which need not be declared: undeclared names are
/// reported as unknown traits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraitKey<'s> {
    /// Index into the plan's trait names.
    Index(usize),
    /// A trait name.
    Name(&'s str),
}

/// A profile's traits as a caller holds them, lent for one evaluation.
pub trait LentTraits {
    /// Calls `f` once for each supplied trait with its key and value. Each
    /// trait is supplied at most once (as in a JSON object read by the core).
    fn for_each<'s>(&'s self, f: &mut dyn FnMut(TraitKey<'s>, JsonRef<'s>));
}

impl<'x> LentTraits for [(TraitKey<'x>, JsonRef<'x>)] {
    fn for_each<'s>(&'s self, f: &mut dyn FnMut(TraitKey<'s>, JsonRef<'s>)) {
        for (k, v) in self {
            f(*k, *v);
        }
    }
}

impl LentTraits for BTreeMap<String, serde_json::Value> {
    fn for_each<'s>(&'s self, f: &mut dyn FnMut(TraitKey<'s>, JsonRef<'s>)) {
        for (k, v) in self {
            f(TraitKey::Name(k), JsonRef::of(v));
        }
    }
}

impl LentTraits for serde_json::Map<String, serde_json::Value> {
    fn for_each<'s>(&'s self, f: &mut dyn FnMut(TraitKey<'s>, JsonRef<'s>)) {
        for (k, v) in self {
            f(TraitKey::Name(k), JsonRef::of(v));
        }
    }
}

/// A compiled set bound to its schema's traits for lent evaluation: built once
/// ([`CompiledRuleSet::lent_plan`], [`CompiledRuleSet::lent_plan_for`]), used
/// for every call with the set that built it.
#[derive(Debug, Clone)]
pub struct LentPlan {
    /// Declared trait names, in name order, and their types.
    names: Vec<String>,
    types: Vec<ValueType>,
    /// Per declared trait: its slot (index in the set's read-name table) when a
    /// rule reads it.
    slots: Vec<Option<usize>>,
    /// Size of the set's read-name table and number of rules (a plan used with
    /// another set is an error, not a wrong answer).
    reads: usize,
    rules: usize,
    /// For a one-rule plan: the rule and the rules it needs.
    rule: Option<(usize, Vec<bool>)>,
}

impl LentPlan {
    /// The schema's trait names in name order; [`TraitKey::Index`] indexes them.
    pub fn trait_names(&self) -> &[String] {
        &self.names
    }

    /// The index of a declared trait.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.binary_search_by(|n| n.as_str().cmp(name)).ok()
    }

    /// The rule a one-rule plan evaluates.
    pub fn rule(&self) -> Option<usize> {
        self.rule.as_ref().map(|(i, _)| *i)
    }
}

/// One lent evaluation's input: the profile `{"id": id, "traits": traits}`
/// with no events, at `now`; `default_zone` applies (the profile has none).
#[derive(Clone, Copy)]
pub struct LentInput<'t, T: LentTraits + ?Sized> {
    /// The profile id (only checked to be non-empty; rules do not read it).
    pub id: &'t str,
    /// The traits.
    pub traits: &'t T,
    /// The evaluation instant.
    pub now: DateTime<Utc>,
    /// Zone for calendar windows.
    pub default_zone: Zone,
}

/// Slots for the traits the rules read; small sets keep them on the stack.
const STACK_SLOTS: usize = 8;

/// The evaluator's view of lent traits: one typed value per read trait.
#[derive(Clone, Copy)]
struct LentSource<'a> {
    slots: &'a [Option<Typed<'a>>],
}

impl<'a> Source<'a> for LentSource<'a> {
    fn trait_value(&self, _: &str, id: usize, _: ValueType) -> EvalResult<Val<'a>> {
        // Values were read against the declared type when lent.
        Ok(match self.slots.get(id) {
            None | Some(None) => Val::Missing,
            Some(Some(t)) => match t {
                Typed::Str(s) => Val::Str(Cow::Borrowed(s)),
                Typed::Int(i) => Val::Int(*i),
                Typed::Float(f) => Val::Float(*f),
                Typed::Bool(b) => Val::Bool(*b),
                Typed::Ts(t) => Val::Ts(*t),
                Typed::Date(d) => Val::Date(*d),
                Typed::List(l) => Val::List(l),
            },
        })
    }

    fn score(&self, _: &str) -> Val<'a> {
        Val::Missing
    }

    fn has_tag(&self, _: &str, _: DateTime<Utc>) -> bool {
        false
    }

    fn has_tag_in_group(&self, _: &str, _: DateTime<Utc>) -> bool {
        false
    }

    fn has_consent(&self, _: &str, _: &str, _: DateTime<Utc>) -> bool {
        false
    }

    fn has_identity(&self, _: &str) -> bool {
        false
    }

    no_event_log!();

    fn prop(&self, _: usize, _: &str, _: usize, _: ValueType) -> EvalResult<Val<'a>> {
        Ok(Val::Missing)
    }
}

impl CompiledRuleSet {
    /// The plan for lent evaluation of every rule against `schema` (the schema
    /// the set was compiled against).
    pub fn lent_plan(&self, schema: &Schema) -> LentPlan {
        let read = &self.read_names().traits;
        let names: Vec<String> = schema.traits.keys().cloned().collect();
        LentPlan {
            types: schema.traits.values().map(|d| d.ty).collect(),
            slots: names
                .iter()
                .map(|n| read.iter().position(|r| r == n))
                .collect(),
            names,
            reads: read.len(),
            rules: self.rule_names().len(),
            rule: None,
        }
    }

    /// The plan for lent evaluation of rule `rule` only (and the rules it
    /// references); `INVALID_ARGUMENT` when there is no such rule.
    pub fn lent_plan_for(&self, schema: &Schema, rule: &str) -> Result<LentPlan> {
        let i = self.rule_index(rule)?;
        Ok(LentPlan {
            rule: Some((i, self.closure(i))),
            ..self.lent_plan(schema)
        })
    }

    /// Memberships, one per rule in [`CompiledRuleSet::rule_names`] order, of
    /// the profile `{"id": input.id, "traits": <lent traits>}` without events:
    /// the same results and errors as [`crate::Profile::from_json_value`] then
    /// [`CompiledRuleSet::evaluate`] with an empty event log.
    pub fn evaluate_lent<T: LentTraits + ?Sized>(
        &self,
        plan: &LentPlan,
        input: &LentInput<'_, T>,
    ) -> Result<Vec<bool>> {
        let n = self.rule_names().len();
        let mut out = Vec::with_capacity(n);
        self.run_lent(plan, input, None, |memo| {
            out.extend(memo.iter().map(|t| t.get().is_true()));
        })?;
        Ok(out)
    }

    /// Membership in a one-rule plan's rule ([`CompiledRuleSet::lent_plan_for`])
    /// of the profile `{"id": input.id, "traits": <lent traits>}` without
    /// events: the same result and errors as [`crate::Profile::from_json_value`]
    /// then [`CompiledRuleSet::evaluate_rule`].
    pub fn matches_lent<T: LentTraits + ?Sized>(
        &self,
        plan: &LentPlan,
        input: &LentInput<'_, T>,
    ) -> Result<bool> {
        let Some((i, needed)) = &plan.rule else {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "matches_lent needs a one-rule plan (lent_plan_for)",
            ));
        };
        let mut hit = false;
        self.run_lent(plan, input, Some(needed), |memo| {
            hit = memo[*i].get().is_true();
        })?;
        Ok(hit)
    }

    /// Reads the lent traits into slots, then evaluates (the rules marked in
    /// `needed`, or all) and hands the truths to `done`.
    fn run_lent<T: LentTraits + ?Sized>(
        &self,
        plan: &LentPlan,
        input: &LentInput<'_, T>,
        needed: Option<&[bool]>,
        done: impl FnOnce(&[Cell<Truth>]),
    ) -> Result<()> {
        if plan.reads != self.read_names().traits.len() || plan.rules != self.rule_names().len() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a lent plan must be used with the compiled set that built it",
            ));
        }
        let mut stack: [Option<Typed<'_>>; STACK_SLOTS] = Default::default();
        let mut heap: Vec<Option<Typed<'_>>>;
        let slots: &mut [Option<Typed<'_>>] = if plan.reads <= STACK_SLOTS {
            &mut stack[..plan.reads]
        } else {
            heap = vec![None; plan.reads];
            &mut heap
        };
        read_lent(plan, input.traits, slots)?;
        if input.id.is_empty() {
            return Err(empty_id());
        }
        let n = self.rule_names().len();
        let memo_stack: [Cell<Truth>; 16] = std::array::from_fn(|_| Cell::new(Truth::Unknown));
        let memo_heap: Vec<Cell<Truth>>;
        let memo: &[Cell<Truth>] = if n <= memo_stack.len() {
            &memo_stack[..n]
        } else {
            memo_heap = vec![Cell::new(Truth::Unknown); n];
            &memo_heap
        };
        let cx = Ctx::new(
            LentSource { slots: &*slots },
            input.now,
            input.default_zone,
            memo,
            self.shared_slots(),
        );
        self.fill(&cx, needed)?;
        done(memo);
        Ok(())
    }
}

/// Reads every lent trait against the plan's schema into `slots` (the traits a
/// rule reads). Errors are those of reading the traits as a JSON object: the
/// first by trait name wins, whatever order the traits are lent in.
fn read_lent<'s, T: LentTraits + ?Sized>(
    plan: &'s LentPlan,
    traits: &'s T,
    slots: &mut [Option<Typed<'s>>],
) -> Result<()> {
    let mut first: Option<(&'s str, Error)> = None;
    traits.for_each(&mut |key, value| {
        let (index, name) = match key {
            TraitKey::Index(i) => (Some(i), plan.names.get(i).map_or("", String::as_str)),
            TraitKey::Name(n) => (plan.index_of(n), n),
        };
        if first.as_ref().is_some_and(|(f, _)| name >= *f) {
            // An error at a smaller name is reported whatever this one holds.
            return;
        }
        let Some(i) = index.filter(|&i| i < plan.names.len()) else {
            let known = plan.names.iter().map(String::as_str);
            first = Some((name, unknown_trait(name, known)));
            return;
        };
        match read_json(value, plan.types[i]) {
            Err(e) => first = Some((name, bad_trait(name, &e))),
            Ok(typed) => {
                if let Some(slot) = plan.slots[i].and_then(|s| slots.get_mut(s)) {
                    *slot = typed;
                }
            }
        }
    });
    match first {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}
