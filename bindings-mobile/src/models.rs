//! Scoring and value models for the device: RFM, points ledgers, customer value
//! (CLV) and journey utilities. JSON in, JSON out (the core's document forms).

use crate::error::{guard, SiyuError};
use siyu_core::value::parse_timestamp;
use siyu_core::{points, rfm};
use siyu_core::{Error, ErrorKind, Event, EventLog, Profile, Schema, Zone};
use std::sync::Arc;

fn json(text: &str, kind: ErrorKind, what: &str) -> siyu_core::Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::new(kind, format!("{what} is not valid JSON: {e}")))
}

fn write_json(v: &serde_json::Value) -> siyu_core::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

fn to_json_text<T: serde::Serialize>(v: &T) -> siyu_core::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

fn schema_or_default(schema_json: Option<&str>) -> siyu_core::Result<Schema> {
    siyu_core::lifecycle::request::schema(schema_json)
}

fn events_of(schema: &Schema, t: &str) -> siyu_core::Result<EventLog> {
    EventLog::from_json_value(&json(t, ErrorKind::InvalidEvent, "events")?, schema)
}

/// RFM values of an event log at `now` (JSON, or `null` without a qualifying purchase).
#[uniffi::export]
pub fn rfm_values(
    schema_json: Option<String>,
    events_json: String,
    now: String,
    config_json: Option<String>,
) -> Result<String, SiyuError> {
    guard(|| {
        let schema = schema_or_default(schema_json.as_deref())?;
        let e = events_of(&schema, &events_json)?;
        let now = parse_timestamp(&now)?;
        write_json(&rfm::request::values(&e, now, config_json.as_deref())?)
    })
}

/// Fits RFM thresholds to a population; JSON `{"thresholds", "scores": [[r, f, m], ...]}`.
#[uniffi::export]
pub fn rfm_fit(method: String, population_json: String) -> Result<String, SiyuError> {
    guard(|| write_json(&rfm::request::fit(&method, &population_json)?))
}

/// Scores RFM values with stored thresholds; JSON `[r, f, m]`.
#[uniffi::export]
pub fn rfm_score(thresholds_json: String, values_json: String) -> Result<String, SiyuError> {
    guard(|| write_json(&rfm::request::score(&thresholds_json, &values_json)?))
}

/// The segment of `[r, f, m]` in a map (`standard_11` (default), `four_layer` or a map document); JSON id or `null`.
#[uniffi::export]
pub fn rfm_segment(map: Option<String>, scores_json: String) -> Result<String, SiyuError> {
    guard(|| write_json(&rfm::request::segment(map.as_deref(), &scores_json)?))
}

/// Computes RFM values, scores and segment and writes them into the profile; JSON
/// `{"values", "scores", "segment", "profile"}` or `{"values": null}`.
#[uniffi::export]
#[allow(clippy::too_many_arguments)]
pub fn rfm_apply(
    schema_json: Option<String>,
    profile_json: String,
    events_json: String,
    now: String,
    thresholds_json: String,
    config_json: Option<String>,
    map: Option<String>,
    group: Option<String>,
) -> Result<String, SiyuError> {
    guard(|| {
        let schema = schema_or_default(schema_json.as_deref())?;
        let mut p = Profile::from_json_value(
            &json(&profile_json, ErrorKind::InvalidProfile, "profile")?,
            &schema,
        )?;
        let e = events_of(&schema, &events_json)?;
        let now = parse_timestamp(&now)?;
        write_json(&rfm::request::apply(
            &mut p,
            &e,
            now,
            &thresholds_json,
            config_json.as_deref(),
            map.as_deref(),
            group.as_deref(),
        )?)
    })
}

fn read_zone(zone: Option<&str>) -> siyu_core::Result<Zone> {
    zone.map_or_else(|| Ok(Zone::utc()), Zone::parse)
}

/// A points model (earn rules, caps, expiry, levels, tiers, engagement). Ledgers are
/// JSON documents: each method takes one and returns the new one.
#[derive(uniffi::Object)]
pub struct PointsEngine {
    model: siyu_core::points::PointsModel,
    schema: Schema,
}

#[uniffi::export]
impl PointsEngine {
    /// Reads a points model (`None` = the shipped model) against a schema (`None` = the sample schema).
    #[uniffi::constructor]
    pub fn new(
        schema_json: Option<String>,
        model_json: Option<String>,
    ) -> Result<Arc<PointsEngine>, SiyuError> {
        guard(|| {
            let schema = schema_or_default(schema_json.as_deref())?;
            let text = model_json
                .as_deref()
                .unwrap_or(siyu_core::points::PointsModel::default_model_json());
            let model = siyu_core::points::PointsModel::from_json(text, &schema)?;
            Ok(Arc::new(PointsEngine { model, schema }))
        })
    }

    /// Earns points for one event; JSON `{"ledger", "entries"}`.
    pub fn apply_event(
        &self,
        ledger_json: Option<String>,
        event_json: String,
        zone: Option<String>,
    ) -> Result<String, SiyuError> {
        guard(|| {
            let mut l = points::request::ledger(ledger_json.as_deref())?;
            let e = Event::from_json_value(
                &json(&event_json, ErrorKind::InvalidEvent, "event")?,
                &self.schema,
            )?;
            let zone = read_zone(zone.as_deref())?;
            write_json(&points::request::apply_event(
                &self.model,
                &mut l,
                &e,
                zone,
            )?)
        })
    }

    /// Earns points for the events at or before `now` not yet applied, then expires lots; JSON ledger.
    pub fn apply_events(
        &self,
        ledger_json: Option<String>,
        events_json: String,
        now: String,
        zone: Option<String>,
    ) -> Result<String, SiyuError> {
        guard(|| {
            let mut l = points::request::ledger(ledger_json.as_deref())?;
            let e = events_of(&self.schema, &events_json)?;
            let now = parse_timestamp(&now)?;
            l.apply_events(&self.model, &e, read_zone(zone.as_deref())?, now)?;
            write_json(&points::request::ledger_json(&l)?)
        })
    }

    /// Redeems points; JSON `{"ledger", "entry"}`.
    pub fn redeem(
        &self,
        ledger_json: Option<String>,
        points: i64,
        at: String,
        reference: String,
    ) -> Result<String, SiyuError> {
        guard(|| {
            let mut l = points::request::ledger(ledger_json.as_deref())?;
            let at = parse_timestamp(&at)?;
            write_json(&points::request::redeem(&mut l, points, at, &reference)?)
        })
    }

    /// Expires lots due at or before `now`; JSON ledger.
    pub fn expire(&self, ledger_json: Option<String>, now: String) -> Result<String, SiyuError> {
        guard(|| {
            let mut l = points::request::ledger(ledger_json.as_deref())?;
            l.expire(parse_timestamp(&now)?);
            write_json(&points::request::ledger_json(&l)?)
        })
    }

    /// JSON `{"balance", "lifetime", "level", "benefits", "entries", "lots"}` at `now`.
    pub fn summary(&self, ledger_json: Option<String>, now: String) -> Result<String, SiyuError> {
        guard(|| {
            let l = points::request::ledger(ledger_json.as_deref())?;
            let now = parse_timestamp(&now)?;
            write_json(&points::request::summary(&self.model, &l, now)?)
        })
    }

    /// Evaluates the tier at `now`; JSON of the core's outcome plus `tier` and `benefits`.
    pub fn evaluate_tier(
        &self,
        ledger_json: Option<String>,
        events_json: String,
        state_json: Option<String>,
        now: String,
    ) -> Result<String, SiyuError> {
        guard(|| {
            let l = points::request::ledger(ledger_json.as_deref())?;
            let e = events_of(&self.schema, &events_json)?;
            let state = points::request::tier_state(state_json.as_deref())?;
            let now = parse_timestamp(&now)?;
            write_json(&points::request::tier(&self.model, &l, &e, &state, now)?)
        })
    }

    /// The engagement score of an event history at `now`.
    pub fn engagement(&self, events_json: String, now: String) -> Result<f64, SiyuError> {
        guard(|| {
            let model = points::request::engagement(&self.model)?;
            let e = events_of(&self.schema, &events_json)?;
            Ok(model.score(&e, parse_timestamp(&now)?))
        })
    }
}

/// Validates one journey definition (and against a schema when given); JSON report.
#[uniffi::export]
pub fn validate_journey(
    definition_json: String,
    schema_json: Option<String>,
) -> Result<String, SiyuError> {
    guard(|| {
        let d = siyu_core::journey::JourneyDefinition::from_json_value(&json(
            &definition_json,
            ErrorKind::InvalidJson,
            "journey",
        )?)?;
        if let Some(s) = schema_json {
            siyu_core::journey::validate::check_schema(&d, &Schema::from_json(&s)?)?;
        }
        to_json_text(&siyu_core::journey::validate::analyze(&d))
    })
}

fn user_state(t: &str) -> siyu_core::Result<siyu_core::journey::UserState> {
    siyu_core::journey::UserState::from_json_value(&json(t, ErrorKind::InvalidState, "state")?)
}

/// The versioned binary form of a journey user state (JSON).
#[uniffi::export]
pub fn encode_journey_state(state_json: String) -> Result<Vec<u8>, SiyuError> {
    guard(|| Ok(user_state(&state_json)?.to_bytes()))
}

/// The binary form of each instance of a journey user state (JSON).
#[uniffi::export]
pub fn encode_journey_instances(state_json: String) -> Result<Vec<Vec<u8>>, SiyuError> {
    guard(|| {
        Ok(user_state(&state_json)?
            .instances
            .iter()
            .map(|i| i.to_bytes())
            .collect())
    })
}

/// Reads a journey user state from its binary form; JSON.
#[uniffi::export]
pub fn decode_journey_state(bytes: Vec<u8>) -> Result<String, SiyuError> {
    guard(|| write_json(&siyu_core::journey::UserState::from_bytes(&bytes)?.to_json()))
}

/// Deterministic bucketing hash in [0, 1) (GrowthBook-compatible); `None` for an unsupported version.
#[uniffi::export]
pub fn bucket_hash(seed: String, value: String, version: u32) -> Option<f64> {
    siyu_core::hashing::hash(&seed, &value, version)
}

/// Customer summaries (frequency, recency, T, monetary value) from transactions:
/// request JSON `{"transactions", "observation_end", "calibration_end"?, "unit"?,
/// "zone"?, "decimals"?}`; with `calibration_end` the calibration/holdout split.
/// Returns JSON text of the rows.
#[uniffi::export]
pub fn clv_summarize(request: String) -> Result<String, SiyuError> {
    guard(|| {
        let r = json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::summarize(&r)?)
    })
}

/// Fits a model (`bgnbd`, `mbgnbd`, `paretonbd`, `gammagamma`): request JSON
/// `{"model", "frequency", "recency"?, "T"?, "monetary_value"?, "penalizer"?}` (columns
/// as arrays). Returns JSON text of `{"params", "log_likelihood", "customers"}`.
#[uniffi::export]
pub fn clv_fit(request: String) -> Result<String, SiyuError> {
    guard(|| {
        let r = json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::fit(&r)?)
    })
}

/// Purchase-model predictions: request JSON `{"params", "t", "customers": [{"frequency",
/// "recency", "T"}]}`. Returns JSON text of `{"expected_purchases", "rows": [{"p_alive",
/// "conditional_expected_purchases", "log_likelihood"}]}`.
#[uniffi::export]
pub fn clv_predict(request: String) -> Result<String, SiyuError> {
    guard(|| {
        let r = json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::predict(&r)?)
    })
}

/// Spend-model predictions: request JSON `{"params", "customers": [{"frequency",
/// "monetary_value"}]}`. Returns JSON text of `{"mean_spend", "rows": [{"expected_average_value"}]}`.
#[uniffi::export]
pub fn clv_spend(request: String) -> Result<String, SiyuError> {
    guard(|| {
        let r = json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::spend(&r)?)
    })
}

/// Customer lifetime value: request JSON `{"model": <value-model document with purchase
/// and spend>, "months", "discount_rate", "unit", "customers": [{"frequency", "recency",
/// "T", "monetary_value"}]}`. Returns JSON text of the CLV per customer.
#[uniffi::export]
pub fn clv_lifetime_value(request: String) -> Result<String, SiyuError> {
    guard(|| {
        let r = json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::lifetime_value(&r)?)
    })
}

/// Validates and normalises a value-model document (JSON text); returns it as JSON text.
#[uniffi::export]
pub fn clv_model_document(document: String) -> Result<String, SiyuError> {
    guard(|| {
        let v = json(&document, ErrorKind::InvalidJson, "document")?;
        write_json(&siyu_core::clv::ValueModel::from_json(&v)?.to_json())
    })
}

/// Runs one analytics operation (`retention`, `funnel`, `z_test`, `send_time` …) on a
/// request (JSON; fields as in conformance/README.md, kind `analytics`). Returns JSON.
#[uniffi::export]
pub fn analytics_run(op: String, request_json: String) -> Result<String, SiyuError> {
    guard(|| {
        let r = json(&request_json, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::analytics::request::execute(&op, &r)?)
    })
}
