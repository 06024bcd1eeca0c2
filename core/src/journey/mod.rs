//! Journeys (自动化旅程 / SOP): deterministic, host-driven state machines.
//!
//! A journey is a JSON [`JourneyDefinition`] — an entry trigger, a re-entry
//! policy, goals, exit criteria and a graph of nodes (messages, tags, traits,
//! staff tasks, host calls, waits, splits). A [`JourneyEngine`] holds many
//! definitions (all their versions), the user-level [`Policies`] (consent,
//! frequency caps, quiet hours) and the schema, and steps one user's
//! [`UserState`] with [`JourneyEngine::step`]: pure, no clock, no I/O. The host
//! persists the state (JSON or compact binary), carries out the returned
//! [`Effect`]s and calls again with a tick at [`StepResult::next_wake`].
//!
//! The full semantics are in `docs/journeys.md`.

pub mod definition;
pub mod engine;
pub mod mermaid;
pub mod migrate;
pub mod policy;
pub mod simulate;
pub mod state;
pub mod validate;

pub use definition::{JourneyDefinition, Node, NodeKind, Reentry, Trigger};
pub use engine::{Action, Effect, Input, JourneyEngine, Notice, NoticeKind, StepResult};
pub use migrate::{MigrationMap, MigrationPlan};
pub use policy::Policies;
pub use simulate::{simulate, SimulationReport};
pub use state::{Instance, UserState, STATE_FORMAT_VERSION};
pub use validate::ValidationReport;
