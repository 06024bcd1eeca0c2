//! # siyu-core
//!
//! The engine behind siyu: customer profiles, tags, lifecycle stages,
//! segmentation rules, customer-value models and journey state machines for
//! private-domain (私域) customer operations.
//!
//! The core is pure and deterministic: it reads no clock, does no I/O and uses
//! no randomness. `now`, time zones and data are always inputs.
//!
//! Start with [`rules`] (segments), [`Profile`] and [`EventLog`] (the data), and
//! [`Schema`] (what the data may hold).

pub mod analytics;
pub mod clv;
pub mod columnar;
pub mod erasure;
pub mod error;
pub mod hashing;
pub mod journey;
pub mod lifecycle;
pub mod merge;
pub mod points;
pub mod profile;
pub mod rfm;
pub mod rules;
pub mod sample;
pub mod schema;
pub mod tagging;
pub mod value;
pub mod zone;

pub use error::{Error, ErrorKind, Position, Result};
pub use profile::{Consent, ConsentStatus, Event, EventLog, Profile, Tag, TagSource};
pub use rules::{CompiledRuleSet, EvalInput, RuleSet};
pub use schema::Schema;
pub use value::{Value, ValueType};
pub use zone::Zone;

/// The crate version (the workspace version shared by every binding).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
