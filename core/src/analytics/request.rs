//! Analytics as request documents: one JSON object in, one JSON value out.
//!
//! Bindings that speak JSON (Node, mobile) call [`execute`] so that reading a
//! request lives here once, not in every binding.

use crate::analytics::{
    self, Arm, BasketItem, ChannelTouch, Granularity, RetentionSpec, UserEvent,
};
use crate::value::{parse_date, parse_timestamp};
use crate::{Error, ErrorKind, Zone};
use chrono::TimeDelta;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidJson, msg)
}

fn get<'a>(r: &'a Value, key: &str) -> Result<&'a Value, Error> {
    r.get(key)
        .ok_or_else(|| bad(format!("missing field {key:?}")))
}

fn parse<T: serde::de::DeserializeOwned>(r: &Value, key: &str) -> Result<T, Error> {
    serde_json::from_value(get(r, key)?.clone()).map_err(|e| bad(format!("invalid {key}: {e}")))
}

fn opt<T: serde::de::DeserializeOwned>(r: &Value, key: &str) -> Result<Option<T>, Error> {
    match r.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => parse(r, key).map(Some),
    }
}

fn text(r: &Value, key: &str) -> Result<String, Error> {
    parse(r, key)
}

fn zone(r: &Value, key: &str) -> Result<Zone, Error> {
    match opt::<String>(r, key)? {
        Some(z) => Zone::parse(&z),
        None => Ok(Zone::utc()),
    }
}

fn seconds(r: &Value, key: &str) -> Result<Option<TimeDelta>, Error> {
    Ok(opt::<i64>(r, key)?.map(TimeDelta::seconds))
}

fn to_json<T: serde::Serialize>(v: T) -> Result<Value, Error> {
    serde_json::to_value(v).map_err(|e| bad(e.to_string()))
}

/// The retention parameters of a request: `cohort_event`, `activity_events`?,
/// `granularity` (`day` or `week`), `periods`, `zone`?, `end`? (RFC 3339).
/// Bindings that take the events in another form (Arrow columns) read the
/// parameters here, so they answer every parameter error alike.
pub fn retention_spec(r: &Value) -> Result<RetentionSpec, Error> {
    Ok(RetentionSpec {
        cohort_event: text(r, "cohort_event")?,
        activity_events: opt(r, "activity_events")?.unwrap_or_default(),
        granularity: parse::<Granularity>(r, "granularity")?,
        periods: parse(r, "periods")?,
        zone: zone(r, "zone")?,
        end: opt::<String>(r, "end")?
            .map(|s| parse_timestamp(&s))
            .transpose()?,
    })
}

/// Runs analytics operation `op` (`retention`, `active_users`,
/// `repeat_purchase_rate`, `funnel`, `k_factor`, `channel_conversion`, `z_test`,
/// `chi_square`, `bayes`, `sample_size`, `frequent_pairs`, `sequential_rules`,
/// `send_time`) on a JSON request whose fields are those of the `analytics`
/// conformance kind (conformance/README.md), returning the result as JSON.
/// Malformed requests and unknown ops are `INVALID_JSON`.
pub fn execute(op: &str, r: &Value) -> Result<Value, Error> {
    let events = || -> Result<Vec<UserEvent>, Error> { Ok(opt(r, "events")?.unwrap_or_default()) };
    match op {
        "retention" => to_json(analytics::retention_matrix(
            &events()?,
            &retention_spec(r)?,
        )?),
        "active_users" => {
            let names: Vec<String> = opt(r, "activity_events")?.unwrap_or_default();
            let from = parse_date(&text(r, "from")?)?;
            let to = parse_date(&text(r, "to")?)?;
            let days =
                analytics::active_users_series(&events()?, &names, from, to, zone(r, "zone")?)?;
            Ok(json!({"days": to_json(days)?}))
        }
        "repeat_purchase_rate" => to_json(analytics::repeat_purchase_rate(
            &events()?,
            &text(r, "purchase_event")?,
        )?),
        "funnel" => {
            let steps: Vec<String> = parse(r, "steps")?;
            let w = seconds(r, "window_seconds")?.unwrap_or(TimeDelta::zero());
            to_json(analytics::funnel(&events()?, &steps, w)?)
        }
        "k_factor" => to_json(analytics::k_factor(
            parse(r, "users")?,
            parse(r, "invites")?,
            parse(r, "conversions")?,
        )?),
        "channel_conversion" => {
            let touches: Vec<ChannelTouch> = parse(r, "touches")?;
            let rows = analytics::channel_conversion(
                &touches,
                &events()?,
                &text(r, "conversion_event")?,
                seconds(r, "window_seconds")?,
            )?;
            Ok(json!({"channels": to_json(rows)?}))
        }
        "z_test" => to_json(analytics::two_proportion_z_test(
            parse::<Arm>(r, "control")?,
            parse::<Arm>(r, "variant")?,
        )?),
        "chi_square" => to_json(analytics::chi_square_test(&parse::<Vec<Arm>>(r, "arms")?)?),
        "bayes" => to_json(analytics::beta_binomial_beats_control(
            parse::<Arm>(r, "control")?,
            parse::<Arm>(r, "variant")?,
            opt(r, "prior_alpha")?.unwrap_or(1.0),
            opt(r, "prior_beta")?.unwrap_or(1.0),
        )?),
        "sample_size" => Ok(json!({"per_arm": analytics::sample_size_per_arm(
            parse(r, "baseline")?,
            parse(r, "mde")?,
            parse(r, "alpha")?,
            parse(r, "power")?,
        )?})),
        "frequent_pairs" => {
            let items: Vec<BasketItem> = parse(r, "items")?;
            let rules = analytics::frequent_pairs(
                &items,
                parse(r, "min_support")?,
                parse(r, "min_confidence")?,
            )?;
            Ok(json!({"rules": to_json(rules)?}))
        }
        "sequential_rules" => {
            let rules = analytics::sequential_rules(
                &events()?,
                seconds(r, "window_seconds")?.unwrap_or(TimeDelta::zero()),
                parse(r, "min_support")?,
                parse(r, "min_confidence")?,
            )?;
            Ok(json!({"rules": to_json(rules)?}))
        }
        "send_time" => {
            let names: BTreeMap<String, String> = opt(r, "zones")?.unwrap_or_default();
            let mut zones = BTreeMap::new();
            for (u, z) in names {
                zones.insert(u, Zone::parse(&z)?);
            }
            to_json(analytics::best_send_hours(
                &events()?,
                &text(r, "open_event")?,
                &zones,
                zone(r, "default_zone")?,
                opt(r, "weight")?.unwrap_or(analytics::sendtime::DEFAULT_WEIGHT),
            )?)
        }
        other => Err(bad(format!("unknown analytics op {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_an_op_from_a_request_document() {
        let out = execute(
            "k_factor",
            &json!({"users": 100, "invites": 300, "conversions": 45}),
        )
        .unwrap();
        assert!(
            (out["k_factor"].as_f64().unwrap() - 0.45).abs() < 1e-12,
            "{out}"
        );
    }

    #[test]
    fn malformed_requests_are_invalid_json() {
        let e = execute("nope", &json!({})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidJson);
        let e = execute("z_test", &json!({"control": {"n": 10}})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidJson);
    }
}
