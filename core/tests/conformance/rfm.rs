//! Runner for `rfm` vectors (see conformance/README.md, kind `rfm`).

// Each runner is self-contained; the helpers are compiled into each.
#[allow(clippy::duplicate_mod)]
#[path = "lifecycle_common.rs"]
mod common;

use common::{finish, req, ts};
use serde_json::{json, Value};
use siyu_core::rfm::{
    self, RfmConfig, RfmScores, RfmThresholds, RfmValues, ScoreMethod, SegmentMap,
};
use siyu_core::{CompiledRuleSet, Error, ErrorKind, EvalInput, RuleSet};

fn bad(msg: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

fn from<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> Result<T, Error> {
    serde_json::from_value(v.clone())
        .map_err(|e| Error::new(ErrorKind::InvalidJson, format!("{what}: {e}")))
}

fn map(v: Option<&Value>) -> Result<SegmentMap, Error> {
    match v {
        None => Ok(SegmentMap::standard_11()),
        Some(Value::String(s)) if s == "standard_11" => Ok(SegmentMap::standard_11()),
        Some(Value::String(s)) if s == "four_layer" => Ok(SegmentMap::four_layer()),
        Some(Value::String(s)) => Err(bad(format!("unknown built-in map {s:?}"))),
        Some(v) => SegmentMap::from_json(&v.to_string()),
    }
}

fn scores_json(s: &RfmScores) -> Value {
    json!([s.r, s.f, s.m])
}

fn scores_of(v: &Value) -> Result<RfmScores, Error> {
    let a: [u8; 3] = from(v, "scores")?;
    Ok(RfmScores {
        r: a[0],
        f: a[1],
        m: a[2],
    })
}

fn run_op(file: &Value, case: &Value) -> Result<Value, Error> {
    let f = |k: &str| crate::support::field(file, case, k);
    let op = f("op").and_then(Value::as_str).unwrap_or("");
    match op {
        "values" => {
            let schema = common::schema(file, case)?;
            let events = common::events(file, case, &schema)?;
            let config: RfmConfig = match f("config") {
                Some(c) => from(c, "config")?,
                None => RfmConfig::default(),
            };
            let now = ts(req(file, case, "now").map_err(bad)?).map_err(bad)?;
            Ok(json!({"values": config.values(&events, now)}))
        }
        "fit" => {
            let method: ScoreMethod = from(f("method").unwrap_or(&json!("quantile")), "method")?;
            let population: Vec<RfmValues> =
                from(req(file, case, "population").map_err(bad)?, "population")?;
            let (t, scores) = rfm::score_population(method, &population)?;
            Ok(json!({
                "thresholds": t,
                "scores": scores.iter().map(scores_json).collect::<Vec<_>>(),
            }))
        }
        "score" => {
            let t =
                RfmThresholds::from_json(&req(file, case, "thresholds").map_err(bad)?.to_string())?;
            let values: RfmValues = from(req(file, case, "values").map_err(bad)?, "values")?;
            Ok(json!({"scores": scores_json(&t.score(&values))}))
        }
        "segment" => {
            let m = map(f("map"))?;
            let s = scores_of(req(file, case, "scores").map_err(bad)?)?;
            Ok(json!({"segment": m.segment(&s)}))
        }
        "profile" => {
            let schema = common::schema(file, case)?;
            let mut profile = common::profile(file, case, &schema)?;
            let events = common::events(file, case, &schema)?;
            let now = ts(req(file, case, "now").map_err(bad)?).map_err(bad)?;
            let config: RfmConfig = match f("config") {
                Some(c) => from(c, "config")?,
                None => RfmConfig::default(),
            };
            let t =
                RfmThresholds::from_json(&req(file, case, "thresholds").map_err(bad)?.to_string())?;
            let m = map(f("map"))?;
            let group = f("group").and_then(Value::as_str).unwrap_or("rfm_segment");
            let Some(values) = config.values(&events, now) else {
                return Ok(json!({"values": null}));
            };
            let scores = t.score(&values);
            let segment = m.segment(&scores).unwrap_or_default().to_string();
            rfm::write_to_profile(&mut profile, &scores, &segment, group, now);
            let mut out = json!({
                "values": values,
                "scores": scores_json(&scores),
                "segment": segment,
                "profile": profile.to_json(),
            });
            if let Some(rules) = f("rules") {
                let set = match rules {
                    Value::String(s) => RuleSet::parse(s)?,
                    v => RuleSet::from_json_value(v)?,
                };
                let compiled = CompiledRuleSet::compile(&set, &schema)?;
                let hits = compiled.evaluate(&EvalInput::new(&profile, &events, now))?;
                let seg: serde_json::Map<String, Value> = compiled
                    .rule_names()
                    .iter()
                    .zip(hits)
                    .map(|(n, h)| (n.clone(), Value::Bool(h)))
                    .collect();
                out["rules"] = Value::Object(seg);
            }
            Ok(out)
        }
        other => Err(bad(format!("unknown rfm op {other:?}"))),
    }
}

/// Runs one case.
pub fn run(file: &Value, case: &Value) -> Result<(), String> {
    finish(file, case, run_op(file, case))
}
