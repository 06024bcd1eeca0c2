//! Moving instances between definition versions. Instances stay pinned to the
//! version they entered; a [`MigrationMap`] moves them explicitly, and a dry run
//! ([`JourneyEngine::plan_migration`]) reports who would move where.

use super::engine::JourneyEngine;
use super::instant::Instant;
use super::state::UserState;
use crate::error::{Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Old node → new node for one journey between two versions. Nodes not listed
/// move to the node with the same id in the new version, if there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationMap {
    /// Journey id.
    pub journey: String,
    /// Version the instances are on.
    pub from_version: u32,
    /// Version they move to.
    pub to_version: u32,
    /// Old node id → new node id.
    #[serde(default)]
    pub nodes: BTreeMap<String, String>,
}

/// One instance's planned move.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    /// Instance key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Entry number.
    pub seq: u32,
    /// Current node.
    pub from_node: String,
    /// New node (none when it cannot move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_node: Option<String>,
    /// Why it cannot move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The result of a dry run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationPlan {
    /// Moves, in instance order.
    pub moves: Vec<Move>,
}

impl MigrationPlan {
    /// Whether every instance can move.
    pub fn is_clean(&self) -> bool {
        self.moves.iter().all(|m| m.problem.is_none())
    }
}

impl JourneyEngine {
    /// Dry run: who would move where (the state is not changed).
    pub fn plan_migration(&self, state: &UserState, map: &MigrationMap) -> Result<MigrationPlan> {
        let to = self
            .definition(&map.journey, Some(map.to_version))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "journey `{}` version {} is not loaded",
                        map.journey, map.to_version
                    ),
                )
                .with_path("to_version")
            })?;
        let from = self
            .definition(&map.journey, Some(map.from_version))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "journey `{}` version {} is not loaded",
                        map.journey, map.from_version
                    ),
                )
                .with_path("from_version")
            })?;
        for (old, new) in &map.nodes {
            if from.node(old).is_none() {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("old node `{old}` is not in version {}", map.from_version),
                )
                .with_path(format!("nodes.{old}")));
            }
            if to.node(new).is_none() {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("new node `{new}` is not in version {}", map.to_version),
                )
                .with_path(format!("nodes.{old}")));
            }
        }
        let moves = state
            .instances
            .iter()
            .filter(|i| i.journey == map.journey && i.version == map.from_version)
            .map(|i| {
                let target = map
                    .nodes
                    .get(i.node.as_str())
                    .cloned()
                    .or_else(|| to.node(&i.node).map(|n| n.id.clone()));
                Move {
                    key: i.key.to_string(),
                    seq: i.seq,
                    from_node: i.node.to_string(),
                    problem: target.is_none().then(|| {
                        format!(
                            "node `{}` has no counterpart in version {}",
                            i.node, map.to_version
                        )
                    }),
                    to_node: target,
                }
            })
            .collect();
        Ok(MigrationPlan { moves })
    }

    /// Moves the instances (all or nothing). An instance that lands on a node of
    /// the same wait type keeps its deadline; any other runs its new node at the
    /// next step at or after `now`.
    pub fn migrate(
        &self,
        state: &UserState,
        map: &MigrationMap,
        now: DateTime<Utc>,
    ) -> Result<(UserState, MigrationPlan)> {
        let plan = self.plan_migration(state, map)?;
        if let Some(m) = plan.moves.iter().find(|m| m.problem.is_some()) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                m.problem.clone().unwrap_or_default(),
            )
            .with_path(format!("nodes.{}", m.from_node)));
        }
        let from = self.definition(&map.journey, Some(map.from_version));
        let to = self.definition(&map.journey, Some(map.to_version));
        let (Some(from), Some(to)) = (from, to) else {
            return Err(Error::new(
                ErrorKind::Internal,
                "migration definitions vanished",
            ));
        };
        let mut out = state.clone();
        let mut moves = plan.moves.iter();
        for inst in out
            .instances
            .iter_mut()
            .filter(|i| i.journey == map.journey && i.version == map.from_version)
        {
            let Some(target) = moves.next().and_then(|m| m.to_node.clone()) else {
                continue;
            };
            let old_kind = from.node(&inst.node).map(|n| n.kind.type_name());
            let new_node = to.node(&target);
            let same_wait =
                new_node.is_some_and(|n| n.kind.is_wait() && Some(n.kind.type_name()) == old_kind);
            inst.version = map.to_version;
            inst.node = target.into();
            if !(same_wait && inst.armed) {
                inst.armed = false;
                inst.pending = None;
                inst.due = Some(Instant::from(now).max(inst.since));
            }
        }
        Ok((out, plan))
    }
}
