//! Points ledgers as documents: the persisted ledger and tier state as JSON
//! text in, summaries and outcomes as JSON values out.
//!
//! Bindings keep ledgers and tier states as JSON the host persists; every call
//! reads them, changes a copy and writes it back. Reading and writing those
//! documents lives here once so that every binding answers the same documents
//! with the same error codes (a malformed ledger or tier state is
//! `INVALID_STATE`; a model without tiers or engagement is `INVALID_ARGUMENT`).
//! Field names are those of the `points` conformance kind (conformance/README.md).

use super::{EngagementModel, Ledger, PointsModel, TierModel, TierState};
use crate::error::{Error, ErrorKind, Result};
use crate::profile::{Event, EventLog};
use crate::zone::Zone;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

/// A persisted ledger (JSON text); `None` or `null` is a new, empty ledger.
pub fn ledger(text: Option<&str>) -> Result<Ledger> {
    match text.map(str::trim) {
        None | Some("null") => Ok(Ledger::new()),
        Some(t) => Ledger::from_json(t),
    }
}

/// The ledger as its persisted JSON document.
pub fn ledger_json(l: &Ledger) -> Result<Value> {
    to_value(l)
}

/// A persisted tier state (JSON text); `None` or `null` is the state of a
/// profile without a tier.
pub fn tier_state(text: Option<&str>) -> Result<TierState> {
    match text.map(str::trim) {
        None | Some("null") => Ok(TierState::default()),
        Some(t) => serde_json::from_str(t)
            .map_err(|e| Error::new(ErrorKind::InvalidState, format!("invalid tier state: {e}"))),
    }
}

/// The model's tiers (`INVALID_ARGUMENT` when it has none).
pub fn tiers(model: &PointsModel) -> Result<&TierModel> {
    model
        .tiers
        .as_ref()
        .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "model has no tiers"))
}

/// The model's engagement score (`INVALID_ARGUMENT` when it has none).
pub fn engagement(model: &PointsModel) -> Result<&EngagementModel> {
    model
        .engagement
        .as_ref()
        .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "model has no engagement"))
}

/// Earns points for one event: `{"ledger", "entries"}` (the new ledger and
/// the earn entries made). `ledger` is left unchanged on error.
pub fn apply_event(
    model: &PointsModel,
    ledger: &mut Ledger,
    event: &Event,
    zone: Zone,
) -> Result<Value> {
    let mut next = ledger.clone();
    let entries = next.apply_event(model, event, zone)?;
    *ledger = next;
    Ok(json!({"ledger": ledger_json(ledger)?, "entries": to_value(&entries)?}))
}

/// Redeems points at `at`: `{"ledger", "entry"}`. `ledger` is left unchanged on error.
pub fn redeem(
    ledger: &mut Ledger,
    points: i64,
    at: DateTime<Utc>,
    reference: &str,
) -> Result<Value> {
    let entry = ledger.redeem(points, at, reference)?;
    Ok(json!({"ledger": ledger_json(ledger)?, "entry": to_value(&entry)?}))
}

/// What a ledger means at `now`: `{"balance", "lifetime", "level", "benefits",
/// "entries", "lots"}` (level and benefits from the model's levels).
pub fn summary(model: &PointsModel, l: &Ledger, now: DateTime<Utc>) -> Result<Value> {
    let level = model.level(l.lifetime);
    Ok(json!({
        "balance": l.balance(now),
        "lifetime": l.lifetime,
        "level": level.map(|x| x.name.clone()),
        "benefits": level.map(|x| x.benefits.clone()).unwrap_or_default(),
        "entries": to_value(&l.entries)?,
        "lots": to_value(&l.lots)?,
    }))
}

/// Evaluates the tier at `now` from the ledger and events, given the previous
/// state: the core's [`super::TierOutcome`] plus `tier` (the new tier) and
/// `benefits` (of that tier). Persist its `state` for the next evaluation.
pub fn tier(
    model: &PointsModel,
    l: &Ledger,
    events: &EventLog,
    state: &TierState,
    now: DateTime<Utc>,
) -> Result<Value> {
    let tiers = tiers(model)?;
    let o = tiers.evaluate(l, events, state, now)?;
    let mut j = to_value(&o)?;
    j["tier"] = json!(o.state.tier);
    j["benefits"] = json!(o
        .state
        .tier
        .as_deref()
        .map(|t| tiers.benefits(t))
        .unwrap_or(&[]));
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    #[test]
    fn absent_documents_are_fresh_state() {
        assert_eq!(ledger(None).unwrap(), Ledger::new());
        assert_eq!(ledger(Some(" null ")).unwrap(), Ledger::new());
        assert_eq!(tier_state(Some("null")).unwrap(), TierState::default());
    }

    #[test]
    fn malformed_state_is_invalid_state() {
        assert_eq!(
            ledger(Some("{\"version\": 1}")).unwrap_err().kind(),
            ErrorKind::InvalidState
        );
        assert_eq!(
            tier_state(Some(r#"{"version": 1, "tier": 5}"#))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidState
        );
    }

    #[test]
    fn summary_of_a_fresh_ledger_under_the_default_model() {
        let model = PointsModel::default_model();
        let now = parse_timestamp("2026-03-01T00:00:00Z").unwrap();
        let s = summary(&model, &Ledger::new(), now).unwrap();
        assert_eq!(s["balance"], json!(0));
        assert_eq!(s["lifetime"], json!(0));
        assert_eq!(s["entries"], json!([]));
    }

    #[test]
    fn failed_redeem_leaves_the_ledger_unchanged() {
        let mut l = Ledger::new();
        let at = parse_timestamp("2026-03-01T00:00:00Z").unwrap();
        let e = redeem(&mut l, 10, at, "order-1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(l, Ledger::new());
    }
}
