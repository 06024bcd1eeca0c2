//! RFM over a columnar batch ([`crate::columnar`]): raw values from the grouped
//! event columns exactly as [`RfmConfig::values`] computes them from a log, and
//! scores and segments for a whole batch.

use super::{RfmConfig, RfmScores, RfmThresholds, RfmValues, ScoreMethod, SegmentMap};
use crate::columnar::micros_to_utc;
use crate::error::{Error, ErrorKind, Result};
use crate::rules::eval::Val;
use crate::rules::ColumnarInput;

impl RfmConfig {
    /// R/F/M of every user of a columnar batch at `input.now`, in user order:
    /// `result[u]` equals [`RfmConfig::values`] on user `u`'s event log (`None`
    /// without a purchase in the window). A malformed amount is an
    /// `INVALID_EVENT` error with path `users[u].events[row].properties.<amount>`.
    pub fn values_columns(&self, input: &ColumnarInput<'_>) -> Result<Vec<Option<RfmValues>>> {
        let now = input.now;
        let start = self
            .window
            .and_then(|w| now.checked_sub_signed(w.to_chrono()));
        let code = input.events.name_code(&self.event);
        let amount = input
            .events
            .property_index(&self.amount_property)
            .map(|i| input.events.property(i));
        let g = input.grouped;
        (0..input.profiles.len())
            .map(|u| {
                let Some(code) = code else {
                    return Ok(None);
                };
                let (mut last, mut frequency, mut monetary) = (None, 0.0, 0.0);
                for i in g.range(u) {
                    let Some(at) = micros_to_utc(g.timestamp(i)) else {
                        continue;
                    };
                    if at > now {
                        break;
                    }
                    if g.name_code(i) != code || start.is_some_and(|s| at <= s) {
                        continue;
                    }
                    frequency += 1.0;
                    if let Some(col) = amount {
                        let row = g.row(i);
                        let v = col.get(row).map_err(|m| {
                            Error::new(ErrorKind::InvalidEvent, m).with_path(format!(
                                "users[{u}].events[{row}].properties.{}",
                                self.amount_property
                            ))
                        })?;
                        monetary += match v {
                            Val::Int(n) => n as f64,
                            Val::Float(f) => f,
                            _ => 0.0,
                        };
                    }
                    last = Some(at);
                }
                Ok(last.map(|last| RfmValues {
                    recency_days: ((now - last).num_seconds().div_euclid(86_400)) as f64,
                    frequency,
                    monetary,
                }))
            })
            .collect()
    }
}

/// Where the scores of a batch come from.
#[derive(Debug, Clone, PartialEq)]
pub enum RfmScoring {
    /// Thresholds fitted over the batch's buyers (`quantile` or `range`).
    Fit(ScoreMethod),
    /// Stored thresholds (the same scores whatever the batch).
    Thresholds(Box<RfmThresholds>),
}

/// One buyer's RFM result.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmRow {
    /// Raw values.
    pub values: RfmValues,
    /// 1–5 scores.
    pub scores: RfmScores,
    /// Segment id from the map.
    pub segment: String,
}

/// Scores and segments a batch of optional values (`None`: not a buyer, not
/// scored). With [`RfmScoring::Fit`] the thresholds are fitted over the buyers
/// exactly as [`super::score_population`] does (no thresholds when there is no
/// buyer); the thresholds used are returned with the rows, in input order.
pub fn score_batch(
    values: &[Option<RfmValues>],
    scoring: &RfmScoring,
    map: &SegmentMap,
) -> Result<(Option<RfmThresholds>, Vec<Option<RfmRow>>)> {
    let thresholds = match scoring {
        RfmScoring::Thresholds(t) => {
            t.validate()?;
            Some(RfmThresholds::clone(t))
        }
        RfmScoring::Fit(method) => {
            let buyers: Vec<RfmValues> = values.iter().flatten().copied().collect();
            if buyers.is_empty() {
                None
            } else {
                Some(RfmThresholds::fit(*method, &buyers)?)
            }
        }
    };
    let rows = values
        .iter()
        .map(|v| {
            let (Some(v), Some(t)) = (v, &thresholds) else {
                return Ok(None);
            };
            let scores = t.score(v);
            let segment = map.segment(&scores).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidModel,
                    format!(
                        "no box of the segment map covers R{} F{} M{}",
                        scores.r, scores.f, scores.m
                    ),
                )
            })?;
            Ok(Some(RfmRow {
                values: *v,
                scores,
                segment: segment.to_string(),
            }))
        })
        .collect::<Result<_>>()?;
    Ok((thresholds, rows))
}
