//! Runner for `analytics` vectors (see conformance/README.md, section `analytics`).

use crate::support::{check_error, field, matches, tolerance};
use chrono::TimeDelta;
use serde_json::{json, Value};
use siyu_core::analytics::{
    self, Arm, BasketItem, ChannelTouch, Granularity, RetentionSpec, UserEvent,
};
use siyu_core::value::{parse_date, parse_timestamp};
use siyu_core::{Error, ErrorKind, Zone};
use std::collections::BTreeMap;

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    let outcome = execute(file, case);
    match (case.get("expect_error"), outcome) {
        (Some(e), Err(err)) => check_error(e, &err),
        (Some(_), Ok(v)) => Err(format!("expected an error, got {v}")),
        (None, Err(err)) => Err(format!("unexpected error: {err}")),
        (None, Ok(v)) => {
            let expect = case.get("expect").ok_or("case has no expect")?;
            matches(expect, &v, tolerance(file, case), "result")
        }
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidJson, msg)
}

fn get<'a>(file: &'a Value, case: &'a Value, key: &str) -> Result<&'a Value, Error> {
    field(file, case, key).ok_or_else(|| bad(format!("missing field {key:?}")))
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &Value,
    case: &Value,
    key: &str,
) -> Result<T, Error> {
    serde_json::from_value(get(file, case, key)?.clone())
        .map_err(|e| bad(format!("invalid {key}: {e}")))
}

fn opt<T: serde::de::DeserializeOwned>(
    file: &Value,
    case: &Value,
    key: &str,
) -> Result<Option<T>, Error> {
    match field(file, case, key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => parse(file, case, key).map(Some),
    }
}

fn text(file: &Value, case: &Value, key: &str) -> Result<String, Error> {
    parse(file, case, key)
}

fn zone(file: &Value, case: &Value, key: &str) -> Result<Zone, Error> {
    match opt::<String>(file, case, key)? {
        Some(z) => Zone::parse(&z),
        None => Ok(Zone::utc()),
    }
}

fn seconds(file: &Value, case: &Value, key: &str) -> Result<Option<TimeDelta>, Error> {
    Ok(opt::<i64>(file, case, key)?.map(TimeDelta::seconds))
}

fn to_json<T: serde::Serialize>(v: T) -> Result<Value, Error> {
    serde_json::to_value(v).map_err(|e| bad(e.to_string()))
}

fn execute(file: &Value, case: &Value) -> Result<Value, Error> {
    let op = text(file, case, "op")?;
    let events =
        || -> Result<Vec<UserEvent>, Error> { Ok(opt(file, case, "events")?.unwrap_or_default()) };
    match op.as_str() {
        "retention" => {
            let spec = RetentionSpec {
                cohort_event: text(file, case, "cohort_event")?,
                activity_events: opt(file, case, "activity_events")?.unwrap_or_default(),
                granularity: parse::<Granularity>(file, case, "granularity")?,
                periods: parse(file, case, "periods")?,
                zone: zone(file, case, "zone")?,
                end: opt::<String>(file, case, "end")?
                    .map(|s| parse_timestamp(&s))
                    .transpose()?,
            };
            to_json(analytics::retention_matrix(&events()?, &spec)?)
        }
        "active_users" => {
            let names: Vec<String> = opt(file, case, "activity_events")?.unwrap_or_default();
            let from = parse_date(&text(file, case, "from")?)?;
            let to = parse_date(&text(file, case, "to")?)?;
            let days = analytics::active_users_series(
                &events()?,
                &names,
                from,
                to,
                zone(file, case, "zone")?,
            )?;
            Ok(json!({"days": to_json(days)?}))
        }
        "repeat_purchase_rate" => to_json(analytics::repeat_purchase_rate(
            &events()?,
            &text(file, case, "purchase_event")?,
        )?),
        "funnel" => {
            let steps: Vec<String> = parse(file, case, "steps")?;
            let w = seconds(file, case, "window_seconds")?.unwrap_or(TimeDelta::zero());
            to_json(analytics::funnel(&events()?, &steps, w)?)
        }
        "k_factor" => to_json(analytics::k_factor(
            parse(file, case, "users")?,
            parse(file, case, "invites")?,
            parse(file, case, "conversions")?,
        )?),
        "channel_conversion" => {
            let touches: Vec<ChannelTouch> = parse(file, case, "touches")?;
            let rows = analytics::channel_conversion(
                &touches,
                &events()?,
                &text(file, case, "conversion_event")?,
                seconds(file, case, "window_seconds")?,
            )?;
            Ok(json!({"channels": to_json(rows)?}))
        }
        "z_test" => to_json(analytics::two_proportion_z_test(
            parse::<Arm>(file, case, "control")?,
            parse::<Arm>(file, case, "variant")?,
        )?),
        "chi_square" => to_json(analytics::chi_square_test(&parse::<Vec<Arm>>(
            file, case, "arms",
        )?)?),
        "bayes" => to_json(analytics::beta_binomial_beats_control(
            parse::<Arm>(file, case, "control")?,
            parse::<Arm>(file, case, "variant")?,
            opt(file, case, "prior_alpha")?.unwrap_or(1.0),
            opt(file, case, "prior_beta")?.unwrap_or(1.0),
        )?),
        "sample_size" => Ok(json!({"per_arm": analytics::sample_size_per_arm(
            parse(file, case, "baseline")?,
            parse(file, case, "mde")?,
            parse(file, case, "alpha")?,
            parse(file, case, "power")?,
        )?})),
        "frequent_pairs" => {
            let items: Vec<BasketItem> = parse(file, case, "items")?;
            let rules = analytics::frequent_pairs(
                &items,
                parse(file, case, "min_support")?,
                parse(file, case, "min_confidence")?,
            )?;
            Ok(json!({"rules": to_json(rules)?}))
        }
        "sequential_rules" => {
            let rules = analytics::sequential_rules(
                &events()?,
                seconds(file, case, "window_seconds")?.unwrap_or(TimeDelta::zero()),
                parse(file, case, "min_support")?,
                parse(file, case, "min_confidence")?,
            )?;
            Ok(json!({"rules": to_json(rules)?}))
        }
        "send_time" => {
            let names: BTreeMap<String, String> = opt(file, case, "zones")?.unwrap_or_default();
            let mut zones = BTreeMap::new();
            for (u, z) in names {
                zones.insert(u, Zone::parse(&z)?);
            }
            to_json(analytics::best_send_hours(
                &events()?,
                &text(file, case, "open_event")?,
                &zones,
                zone(file, case, "default_zone")?,
                opt(file, case, "weight")?.unwrap_or(analytics::sendtime::DEFAULT_WEIGHT),
            )?)
        }
        other => Err(bad(format!("unknown analytics op {other:?}"))),
    }
}
