//! RFM as request documents: JSON text in, JSON values out.
//!
//! Every binding receives RFM arguments as JSON text (a config, a population,
//! thresholds, scores, a segment map name or document). Reading them lives
//! here once so that every binding reports the same error codes: malformed
//! documents are `INVALID_JSON`, an unknown built-in map is `INVALID_ARGUMENT`,
//! invalid thresholds and maps keep the codes of [`RfmThresholds::from_json`]
//! and [`SegmentMap::from_json`]. Field names are those of the `rfm`
//! conformance kind (conformance/README.md).

use super::{RfmConfig, RfmScores, RfmThresholds, RfmValues, ScoreMethod, SegmentMap};
use crate::error::{Error, ErrorKind, Result};
use crate::profile::{EventLog, Profile};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The tag group a segment is written to when none is given.
pub const DEFAULT_GROUP: &str = "rfm_segment";

fn from_text<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::new(ErrorKind::InvalidJson, format!("{what}: {e}")))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

/// Scores as the JSON array `[r, f, m]`.
pub fn scores_json(s: &RfmScores) -> Value {
    json!([s.r, s.f, s.m])
}

/// A segment map: `None` or `standard_11` (the default), `four_layer`, or a map
/// document as JSON text (text starting with `{`). Any other name is
/// `INVALID_ARGUMENT`.
pub fn segment_map(spec: Option<&str>) -> Result<SegmentMap> {
    match spec {
        None | Some("standard_11") => Ok(SegmentMap::standard_11()),
        Some("four_layer") => Ok(SegmentMap::four_layer()),
        Some(text) if text.trim_start().starts_with('{') => SegmentMap::from_json(text),
        Some(other) => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("unknown built-in map {other:?} (standard_11, four_layer or a map document)"),
        )),
    }
}

/// An RFM config document (JSON text); `None` is the default config.
pub fn config(text: Option<&str>) -> Result<RfmConfig> {
    text.map_or_else(|| Ok(RfmConfig::default()), |c| from_text(c, "config"))
}

/// Raw values of an event log at `now` under `config` (JSON text or `None`):
/// the values object, or `null` without a qualifying purchase.
pub fn values(events: &EventLog, now: DateTime<Utc>, config_text: Option<&str>) -> Result<Value> {
    to_value(&config(config_text)?.values(events, now))
}

/// A score method by name (`quantile`, `range` or `fixed`; else `INVALID_JSON`).
pub fn method(name: &str) -> Result<ScoreMethod> {
    from_text(&Value::String(name.into()).to_string(), "method")
}

/// Scores three equal-length columns with stored thresholds (the batch form
/// of [`RfmThresholds::score`]; unequal lengths are `INVALID_ARGUMENT`).
pub fn score_columns(t: &RfmThresholds, r: &[f64], f: &[f64], m: &[f64]) -> Result<Vec<RfmScores>> {
    if r.len() != f.len() || r.len() != m.len() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "R, F and M columns must have equal lengths",
        ));
    }
    Ok((0..r.len())
        .map(|i| {
            t.score(&RfmValues {
                recency_days: r[i],
                frequency: f[i],
                monetary: m[i],
            })
        })
        .collect())
}

/// Fits thresholds to a population (`method`: `quantile`, `range` or `fixed`;
/// `population`: JSON text of an array of values objects) and scores every
/// member: `{"thresholds", "scores": [[r, f, m], ...]}`.
pub fn fit(method: &str, population: &str) -> Result<Value> {
    let method = self::method(method)?;
    let population: Vec<RfmValues> = from_text(population, "population")?;
    let (t, scores) = super::score_population(method, &population)?;
    Ok(json!({
        "thresholds": to_value(&t)?,
        "scores": scores.iter().map(scores_json).collect::<Vec<_>>(),
    }))
}

/// Scores one values object (JSON text) with stored thresholds (JSON text): `[r, f, m]`.
pub fn score(thresholds: &str, values: &str) -> Result<Value> {
    let t = RfmThresholds::from_json(thresholds)?;
    let v: RfmValues = from_text(values, "values")?;
    Ok(scores_json(&t.score(&v)))
}

/// The segment id of scores (JSON text `[r, f, m]`) in a map (see
/// [`segment_map`]), or `null` when no box holds them.
pub fn segment(map: Option<&str>, scores: &str) -> Result<Value> {
    let m = segment_map(map)?;
    let [r, f, s]: [u8; 3] = from_text(scores, "scores")?;
    to_value(&m.segment(&RfmScores { r, f, m: s }))
}

/// Computes values, scores and segment for a profile at `now` and writes them
/// into it (see [`super::write_to_profile`]; `group` defaults to
/// [`DEFAULT_GROUP`]). Returns `{"values", "scores", "segment", "profile"}`, or
/// `{"values": null}` (profile untouched) without a qualifying purchase.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    profile: &mut Profile,
    events: &EventLog,
    now: DateTime<Utc>,
    thresholds: &str,
    config_text: Option<&str>,
    map: Option<&str>,
    group: Option<&str>,
) -> Result<Value> {
    let config = config(config_text)?;
    let t = RfmThresholds::from_json(thresholds)?;
    let m = segment_map(map)?;
    let Some(values) = config.values(events, now) else {
        return Ok(json!({"values": null}));
    };
    let scores = t.score(&values);
    let segment = m.segment(&scores).unwrap_or_default().to_string();
    super::write_to_profile(
        profile,
        &scores,
        &segment,
        group.unwrap_or(DEFAULT_GROUP),
        now,
    );
    Ok(json!({
        "values": to_value(&values)?,
        "scores": scores_json(&scores),
        "segment": segment,
        "profile": profile.to_json(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_by_name_or_document() {
        assert_eq!(segment_map(None).unwrap(), SegmentMap::standard_11());
        assert_eq!(
            segment_map(Some("four_layer")).unwrap(),
            SegmentMap::four_layer()
        );
        let doc = r#"{"boxes": [{"segment": "all"}]}"#;
        assert_eq!(segment_map(Some(doc)).unwrap().boxes[0].segment, "all");
        let e = segment_map(Some("gold")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn malformed_documents_are_invalid_json() {
        assert_eq!(
            config(Some("{\"nope\": 1}")).unwrap_err().kind(),
            ErrorKind::InvalidJson
        );
        assert_eq!(
            fit("median", "[]").unwrap_err().kind(),
            ErrorKind::InvalidJson
        );
        assert_eq!(
            segment(None, "[1, 2]").unwrap_err().kind(),
            ErrorKind::InvalidJson
        );
    }

    #[test]
    fn column_scores_match_single_scores() {
        let t = fit(
            "range",
            r#"[{"recency_days": 0, "frequency": 10, "monetary": 100},
            {"recency_days": 50, "frequency": 0, "monetary": 0}]"#,
        )
        .unwrap()["thresholds"]
            .to_string();
        let t = RfmThresholds::from_json(&t).unwrap();
        let cols = score_columns(&t, &[0.0, 25.0], &[10.0, 5.0], &[100.0, 50.0]).unwrap();
        let one = t.score(&RfmValues {
            recency_days: 25.0,
            frequency: 5.0,
            monetary: 50.0,
        });
        assert_eq!(cols[1], one);
        assert_eq!(cols[0], RfmScores { r: 5, f: 5, m: 5 });
        let e = score_columns(&t, &[1.0], &[], &[]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn fit_scores_and_segments_agree() {
        let population = r#"[
            {"recency_days": 1, "frequency": 9, "monetary": 900},
            {"recency_days": 300, "frequency": 1, "monetary": 10}
        ]"#;
        let out = fit("quantile", population).unwrap();
        let thresholds = out["thresholds"].to_string();
        let best = score(
            &thresholds,
            r#"{"recency_days": 1, "frequency": 9, "monetary": 900}"#,
        )
        .unwrap();
        assert_eq!(best, out["scores"][0]);
        let worst = out["scores"][1].to_string();
        assert_eq!(segment(None, &worst).unwrap(), json!("lost"));
    }
}
