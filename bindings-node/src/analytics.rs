//! Analytics (retention, activity, funnels, growth, A/B tests, association
//! rules, send time): one entry point taking an operation name and a request
//! object (JSON text) with the fields conformance/README.md (`analytics`) names.

use super::{guard, parse_json};
use chrono::TimeDelta;
use napi_derive::napi;
use serde_json::{json, Value};
use siyu_core::analytics::{
    self, Arm, BasketItem, ChannelTouch, Granularity, RetentionSpec, UserEvent,
};
use siyu_core::value::{parse_date, parse_timestamp};
use siyu_core::{Error, ErrorKind, Zone};
use std::collections::BTreeMap;

fn bad(key: &str, msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg).with_path(key)
}

/// The request fields, read with typed errors naming the field.
struct Request(Value);

impl Request {
    fn raw(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> siyu_core::Result<T> {
        let v = self
            .raw(key)
            .ok_or_else(|| bad(key, format!("missing field {key:?}")))?;
        // A value of the wrong shape is a malformed document (INVALID_JSON, as in Rust).
        serde_json::from_value(v.clone()).map_err(|e| {
            Error::new(ErrorKind::InvalidJson, format!("invalid {key}: {e}")).with_path(key)
        })
    }

    fn opt<T: serde::de::DeserializeOwned>(&self, key: &str) -> siyu_core::Result<Option<T>> {
        match self.raw(key) {
            None => Ok(None),
            Some(_) => self.get(key).map(Some),
        }
    }

    fn zone(&self, key: &str) -> siyu_core::Result<Zone> {
        match self.opt::<String>(key)? {
            Some(z) => Zone::parse(&z).map_err(|e| e.prefix_path(key)),
            None => Ok(Zone::utc()),
        }
    }

    fn seconds(&self, key: &str) -> siyu_core::Result<Option<TimeDelta>> {
        Ok(self.opt::<i64>(key)?.map(TimeDelta::seconds))
    }

    fn events(&self) -> siyu_core::Result<Vec<UserEvent>> {
        Ok(self.opt("events")?.unwrap_or_default())
    }
}

fn to_value<T: serde::Serialize>(v: T) -> siyu_core::Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

fn execute(op: &str, r: &Request) -> siyu_core::Result<Value> {
    match op {
        "retention" => {
            let spec = RetentionSpec {
                cohort_event: r.get("cohort_event")?,
                activity_events: r.opt("activity_events")?.unwrap_or_default(),
                granularity: r.get::<Granularity>("granularity")?,
                periods: r.get("periods")?,
                zone: r.zone("zone")?,
                end: r
                    .opt::<String>("end")?
                    .map(|s| parse_timestamp(&s).map_err(|e| e.prefix_path("end")))
                    .transpose()?,
            };
            to_value(analytics::retention_matrix(&r.events()?, &spec)?)
        }
        "active_users" => {
            let names: Vec<String> = r.opt("activity_events")?.unwrap_or_default();
            let from = parse_date(&r.get::<String>("from")?).map_err(|e| e.prefix_path("from"))?;
            let to = parse_date(&r.get::<String>("to")?).map_err(|e| e.prefix_path("to"))?;
            let days =
                analytics::active_users_series(&r.events()?, &names, from, to, r.zone("zone")?)?;
            Ok(json!({"days": to_value(days)?}))
        }
        "repeat_purchase_rate" => to_value(analytics::repeat_purchase_rate(
            &r.events()?,
            &r.get::<String>("purchase_event")?,
        )?),
        "funnel" => {
            let steps: Vec<String> = r.get("steps")?;
            let w = r.seconds("window_seconds")?.unwrap_or(TimeDelta::zero());
            to_value(analytics::funnel(&r.events()?, &steps, w)?)
        }
        "k_factor" => to_value(analytics::k_factor(
            r.get("users")?,
            r.get("invites")?,
            r.get("conversions")?,
        )?),
        "channel_conversion" => {
            let touches: Vec<ChannelTouch> = r.get("touches")?;
            let rows = analytics::channel_conversion(
                &touches,
                &r.events()?,
                &r.get::<String>("conversion_event")?,
                r.seconds("window_seconds")?,
            )?;
            Ok(json!({"channels": to_value(rows)?}))
        }
        "z_test" => to_value(analytics::two_proportion_z_test(
            r.get::<Arm>("control")?,
            r.get::<Arm>("variant")?,
        )?),
        "chi_square" => to_value(analytics::chi_square_test(&r.get::<Vec<Arm>>("arms")?)?),
        "bayes" => to_value(analytics::beta_binomial_beats_control(
            r.get::<Arm>("control")?,
            r.get::<Arm>("variant")?,
            r.opt("prior_alpha")?.unwrap_or(1.0),
            r.opt("prior_beta")?.unwrap_or(1.0),
        )?),
        "sample_size" => Ok(json!({"per_arm": analytics::sample_size_per_arm(
            r.get("baseline")?,
            r.get("mde")?,
            r.get("alpha")?,
            r.get("power")?,
        )?})),
        "frequent_pairs" => {
            let items: Vec<BasketItem> = r.get("items")?;
            let rules =
                analytics::frequent_pairs(&items, r.get("min_support")?, r.get("min_confidence")?)?;
            Ok(json!({"rules": to_value(rules)?}))
        }
        "sequential_rules" => {
            let rules = analytics::sequential_rules(
                &r.events()?,
                r.seconds("window_seconds")?.unwrap_or(TimeDelta::zero()),
                r.get("min_support")?,
                r.get("min_confidence")?,
            )?;
            Ok(json!({"rules": to_value(rules)?}))
        }
        "send_time" => {
            let names: BTreeMap<String, String> = r.opt("zones")?.unwrap_or_default();
            let mut zones = BTreeMap::new();
            for (u, z) in names {
                let zone = Zone::parse(&z).map_err(|e| e.prefix_path(&format!("zones.{u}")))?;
                zones.insert(u, zone);
            }
            to_value(analytics::best_send_hours(
                &r.events()?,
                &r.get::<String>("open_event")?,
                &zones,
                r.zone("default_zone")?,
                r.opt("weight")?
                    .unwrap_or(analytics::sendtime::DEFAULT_WEIGHT),
            )?)
        }
        other => Err(bad("op", format!("unknown analytics operation {other:?}"))),
    }
}

/// Runs one analytics operation (`retention`, `active_users`,
/// `repeat_purchase_rate`, `funnel`, `k_factor`, `channel_conversion`, `z_test`,
/// `chi_square`, `bayes`, `sample_size`, `frequent_pairs`, `sequential_rules`,
/// `send_time`) on a request object (JSON text); returns the report as JSON text.
#[napi]
pub fn analytics(op: String, request: String) -> napi::Result<String> {
    guard(|| {
        let v = parse_json(&request, ErrorKind::InvalidJson, "request")?;
        if !v.is_object() {
            return Err(bad("request", "the request must be an object"));
        }
        let out = execute(&op, &Request(v))?;
        serde_json::to_string(&out).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
    })
}
