//! Product association: pair rules within baskets, and sequential rules
//! "bought A → buys B within a window" across a user's history.
//!
//! Scalable pair counting (the two-item case of Apriori): one pass counts each
//! item's baskets, items below `min_support` are dropped, a second pass counts
//! co-occurring pairs of the remaining items in a hash map. Memory is
//! O(frequent items + frequent-item pairs seen).

use super::{domain, invalid, UserEvent};
use crate::error::Result;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One item in one basket (order, session …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasketItem {
    /// The basket.
    pub basket_id: String,
    /// The item (product, category …).
    pub item: String,
}

/// A rule antecedent → consequent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssociationRule {
    /// The "if" item.
    pub antecedent: String,
    /// The "then" item.
    pub consequent: String,
    /// Baskets (or users, for sequential rules) with both.
    pub count: u64,
    /// count / all baskets (users).
    pub support: f64,
    /// count / baskets (users) with the antecedent.
    pub confidence: f64,
    /// confidence / support of the consequent (> 1: positively associated).
    pub lift: f64,
}

fn check_thresholds(min_support: f64, min_confidence: f64) -> Result<()> {
    if !(min_support.is_finite() && min_support > 0.0 && min_support <= 1.0) {
        return Err(
            invalid(format!("min_support must be in (0, 1], got {min_support}"))
                .with_path("min_support"),
        );
    }
    if !(min_confidence.is_finite() && (0.0..=1.0).contains(&min_confidence)) {
        return Err(invalid(format!(
            "min_confidence must be in [0, 1], got {min_confidence}"
        ))
        .with_path("min_confidence"));
    }
    Ok(())
}

/// Rules from counts: `single[i]` units contain item i, `pairs[(a, b)]` contain
/// both (a ≠ b, ordered antecedent → consequent), out of `n` units.
fn rules(
    names: &[&str],
    single: &[u64],
    pairs: &HashMap<(u32, u32), u64>,
    n: f64,
    min_support: f64,
    min_confidence: f64,
) -> Vec<AssociationRule> {
    let mut out: Vec<AssociationRule> = pairs
        .iter()
        .filter_map(|(&(a, b), &c)| {
            let support = c as f64 / n;
            let confidence = c as f64 / single[a as usize] as f64;
            if support + 1e-12 < min_support || confidence + 1e-12 < min_confidence {
                return None;
            }
            Some(AssociationRule {
                antecedent: names[a as usize].to_string(),
                consequent: names[b as usize].to_string(),
                count: c,
                support,
                confidence,
                lift: confidence / (single[b as usize] as f64 / n),
            })
        })
        .collect();
    out.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then(y.confidence.total_cmp(&x.confidence))
            .then_with(|| x.antecedent.cmp(&y.antecedent))
            .then_with(|| x.consequent.cmp(&y.consequent))
    });
    out
}

/// Frequent pairs within baskets as rules in both directions, filtered by
/// `min_support` (share of baskets with both) and `min_confidence`, ordered
/// by count, then confidence, then names. An item repeated in a basket counts once.
pub fn frequent_pairs(
    items: &[BasketItem],
    min_support: f64,
    min_confidence: f64,
) -> Result<Vec<AssociationRule>> {
    check_thresholds(min_support, min_confidence)?;
    let mut baskets: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for it in items {
        baskets.entry(&it.basket_id).or_default().insert(&it.item);
    }
    if baskets.is_empty() {
        return Err(domain("no baskets: association rules are undefined"));
    }
    let n = baskets.len() as f64;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for b in baskets.values() {
        for it in b {
            *counts.entry(it).or_default() += 1;
        }
    }
    // Intern the frequent items in name order (deterministic indices).
    let names: Vec<&str> = counts
        .iter()
        .filter(|(_, &c)| c as f64 / n + 1e-12 >= min_support)
        .map(|(k, _)| *k)
        .collect();
    let index: HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as u32))
        .collect();
    let single: Vec<u64> = names.iter().map(|k| counts[k]).collect();
    let mut pairs: HashMap<(u32, u32), u64> = HashMap::new();
    for b in baskets.values() {
        let ids: Vec<u32> = b.iter().filter_map(|it| index.get(it).copied()).collect();
        for (i, &x) in ids.iter().enumerate() {
            for &y in &ids[i + 1..] {
                *pairs.entry((x, y)).or_default() += 1;
                *pairs.entry((y, x)).or_default() += 1;
            }
        }
    }
    Ok(rules(
        &names,
        &single,
        &pairs,
        n,
        min_support,
        min_confidence,
    ))
}

/// Sequential rules "A → B within `window`": counted per user, a user supports
/// A → B when some B event comes strictly after some A event and at most
/// `window` later. Each [`UserEvent`]'s `name` is the item. Support and
/// confidence are shares of users; lift divides by the share of users with B.
pub fn sequential_rules(
    events: &[UserEvent],
    window: TimeDelta,
    min_support: f64,
    min_confidence: f64,
) -> Result<Vec<AssociationRule>> {
    check_thresholds(min_support, min_confidence)?;
    if window <= TimeDelta::zero() {
        return Err(invalid("the window must be positive").with_path("window"));
    }
    let mut users: HashMap<&str, BTreeMap<&str, Vec<DateTime<Utc>>>> = HashMap::new();
    for e in events {
        users
            .entry(&e.user_id)
            .or_default()
            .entry(&e.name)
            .or_default()
            .push(e.timestamp);
    }
    if users.is_empty() {
        return Err(domain("no events: sequential rules are undefined"));
    }
    let n = users.len() as f64;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for items in users.values() {
        for it in items.keys() {
            *counts.entry(it).or_default() += 1;
        }
    }
    let names: Vec<&str> = counts
        .iter()
        .filter(|(_, &c)| c as f64 / n + 1e-12 >= min_support)
        .map(|(k, _)| *k)
        .collect();
    let index: HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i as u32))
        .collect();
    let single: Vec<u64> = names.iter().map(|k| counts[k]).collect();
    let mut pairs: HashMap<(u32, u32), u64> = HashMap::new();
    for items in users.values_mut() {
        let mut present: Vec<(u32, &Vec<DateTime<Utc>>)> = Vec::new();
        for (it, ts) in items.iter_mut() {
            ts.sort_unstable();
            if let Some(&i) = index.get(it) {
                present.push((i, ts));
            }
        }
        for &(a, ta) in &present {
            for &(b, tb) in &present {
                if a == b {
                    continue;
                }
                let hit = ta.iter().any(|&t| {
                    let k = tb.partition_point(|&x| x <= t);
                    k < tb.len() && tb[k] <= t + window
                });
                if hit {
                    *pairs.entry((a, b)).or_default() += 1;
                }
            }
        }
    }
    Ok(rules(
        &names,
        &single,
        &pairs,
        n,
        min_support,
        min_confidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    fn bi(b: &str, i: &str) -> BasketItem {
        BasketItem {
            basket_id: b.into(),
            item: i.into(),
        }
    }

    #[test]
    fn pair_rules() {
        let items = vec![
            bi("1", "milk"),
            bi("1", "bottle"),
            bi("2", "milk"),
            bi("2", "bottle"),
            bi("2", "milk"),
            bi("3", "milk"),
            bi("4", "toy"),
        ];
        let r = frequent_pairs(&items, 0.5, 0.0).unwrap();
        assert_eq!(r.len(), 2);
        let mb = r.iter().find(|r| r.antecedent == "milk").unwrap();
        assert_eq!(mb.count, 2);
        assert!((mb.confidence - 2.0 / 3.0).abs() < 1e-12);
        assert!((mb.lift - (2.0 / 3.0) / 0.5).abs() < 1e-12);
        let bm = r.iter().find(|r| r.antecedent == "bottle").unwrap();
        assert_eq!(bm.confidence, 1.0);
    }

    #[test]
    fn sequence_needs_order_and_window() {
        let ev = |u: &str, n: &str, t: &str| UserEvent {
            user_id: u.into(),
            name: n.into(),
            timestamp: parse_timestamp(t).unwrap(),
        };
        let events = vec![
            ev("a", "powder", "2024-01-01T00:00:00Z"),
            ev("a", "bottle", "2024-01-10T00:00:00Z"),
            ev("b", "bottle", "2024-01-01T00:00:00Z"),
            ev("b", "powder", "2024-01-10T00:00:00Z"),
            ev("c", "powder", "2024-01-01T00:00:00Z"),
            ev("c", "bottle", "2024-03-01T00:00:00Z"),
        ];
        let r = sequential_rules(&events, TimeDelta::days(30), 0.1, 0.0).unwrap();
        let pb = r.iter().find(|r| r.antecedent == "powder").unwrap();
        assert_eq!(
            pb.count, 1,
            "only a buys a bottle within 30 days after powder"
        );
        let bp = r.iter().find(|r| r.antecedent == "bottle").unwrap();
        assert_eq!(bp.count, 1);
    }
}
