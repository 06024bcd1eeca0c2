//! RFM layering: recency, frequency and monetary value from purchase events,
//! scored 1–5 and mapped to segments by an ordered box table.
//!
//! * [`RfmConfig::values`] computes raw R/F/M for one profile at `now`.
//! * [`ScoreMethod`] fits [`Thresholds`] over a population (`quantile`, `range`)
//!   or takes them as data (`fixed`); [`RfmThresholds::score`] scores one profile
//!   against stored thresholds and [`score_population`] is the batch API.
//! * [`SegmentMap`] maps scores to a segment: first matching box wins.
//!   [`SegmentMap::standard_11`] and [`SegmentMap::four_layer`] ship built in.
//! * [`write_to_profile`] puts `rfm_r`/`rfm_f`/`rfm_m` into [`Profile::scores`]
//!   (rules read `score("rfm_r")`) and the segment as a tag of an exclusive group.
//!
//! **Tie rule.** A score depends only on the value, never on the order of
//! profiles: equal values always get equal scores. For `quantile`, with the
//! population sorted best-last and `L(v)` = number of values strictly worse than
//! `v`, the score is `1 + floor(5 · L(v) / n)` — ties take the score of the lowest
//! rank they occupy. Thresholds make this exact: `t_s` is the smallest population
//! value with `5 · L(t_s) ≥ (s − 1) · n` and a value scores `1 + #{s : v reaches t_s}`.

mod columnar;
pub mod request;

pub use columnar::{score_batch, RfmRow, RfmScoring};

use crate::error::{Error, ErrorKind, Result};
use crate::profile::{EventLog, Profile};
use crate::rules::ast::Duration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Format version of persisted RFM thresholds.
pub const FORMAT_VERSION: u32 = 1;

/// Which raw values to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmConfig {
    /// The purchase event name (default `purchase`).
    #[serde(default = "default_event")]
    pub event: String,
    /// The numeric property summed for M (default `amount`).
    #[serde(default = "default_amount")]
    pub amount_property: String,
    /// Rolling window `(now − window, now]`; default all time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
}

fn default_event() -> String {
    "purchase".into()
}
fn default_amount() -> String {
    "amount".into()
}

impl Default for RfmConfig {
    fn default() -> RfmConfig {
        RfmConfig {
            event: default_event(),
            amount_property: default_amount(),
            window: None,
        }
    }
}

/// Raw RFM values of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmValues {
    /// Whole days since the last purchase: `floor((now − last) / 86400 s)`.
    pub recency_days: f64,
    /// Number of purchases in the window.
    pub frequency: f64,
    /// Sum of the amount property over those purchases (missing amounts count 0).
    pub monetary: f64,
}

impl RfmConfig {
    /// R/F/M at `now` from purchases in `(now − window, now]`; `None` when there
    /// is no purchase in the window (non-buyers are not RFM-scored).
    pub fn values(&self, events: &EventLog, now: DateTime<Utc>) -> Option<RfmValues> {
        let start = self
            .window
            .and_then(|w| now.checked_sub_signed(w.to_chrono()));
        let mut last = None;
        let mut frequency = 0.0;
        let mut monetary = 0.0;
        for e in events.events() {
            if e.timestamp > now {
                break;
            }
            if e.name != self.event || start.is_some_and(|s| e.timestamp <= s) {
                continue;
            }
            frequency += 1.0;
            monetary += e
                .properties
                .get(&self.amount_property)
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0);
            last = Some(e.timestamp);
        }
        let last = last?;
        Some(RfmValues {
            recency_days: ((now - last).num_seconds().div_euclid(86_400)) as f64,
            frequency,
            monetary,
        })
    }
}

/// Whether larger raw values are better (F, M) or smaller ones (R).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger is better: a value reaches `t` when `v >= t`.
    HigherIsBetter,
    /// Smaller is better: a value reaches `t` when `v <= t`.
    LowerIsBetter,
}

/// How scores are derived from a population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMethod {
    /// Population quantiles (quintiles) with the tie rule in the module docs.
    Quantile,
    /// Five equal-width bands between the population's worst and best value:
    /// `t_s = worst + (s − 1)·(best − worst)/5`. All values equal → every score 1.
    Range,
    /// Thresholds given as data (nothing is fitted).
    Fixed,
}

/// Score thresholds of one dimension: `thresholds[s − 2]` is the value a profile
/// must reach for score ≥ `s` (s = 2..5); `null` means the score is unreachable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Which way is better.
    pub direction: Direction,
    /// `[t2, t3, t4, t5]`, monotone in the direction.
    pub thresholds: [Option<f64>; 4],
}

impl Thresholds {
    /// The 1–5 score of `v`.
    pub fn score(&self, v: f64) -> u8 {
        let mut s = 1;
        for t in self.thresholds.iter().flatten() {
            let reached = match self.direction {
                Direction::HigherIsBetter => v >= *t,
                Direction::LowerIsBetter => v <= *t,
            };
            if reached {
                s += 1;
            } else {
                break;
            }
        }
        s
    }

    /// Fits thresholds over `values` (`quantile` or `range`). Errors on an empty
    /// population, a non-finite value or `fixed` (which has nothing to fit).
    pub fn fit(method: ScoreMethod, direction: Direction, values: &[f64]) -> Result<Thresholds> {
        if values.is_empty() {
            return Err(Error::new(
                ErrorKind::NumericDomain,
                "cannot fit RFM thresholds over an empty population",
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(
                Error::new(ErrorKind::NumericDomain, "RFM value is not finite")
                    .with_path(format!("[{i}]")),
            );
        }
        // Work on "goodness" keys so both directions share one ascending fit.
        let sign = match direction {
            Direction::HigherIsBetter => 1.0,
            Direction::LowerIsBetter => -1.0,
        };
        let mut t = [None; 4];
        match method {
            ScoreMethod::Fixed => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "`fixed` thresholds are given, not fitted",
                ))
            }
            ScoreMethod::Quantile => {
                let mut keys: Vec<f64> = values.iter().map(|v| v * sign).collect();
                keys.sort_unstable_by(f64::total_cmp);
                let n = keys.len();
                for (slot, s) in t.iter_mut().zip(2usize..) {
                    // Smallest first-occurrence index i with 5·i ≥ (s−1)·n.
                    let mut i = ((s - 1) * n).div_ceil(5);
                    while i < n && i > 0 && keys[i] == keys[i - 1] {
                        i += 1;
                    }
                    if i < n {
                        *slot = Some(keys[i] * sign + 0.0);
                    }
                }
            }
            ScoreMethod::Range => {
                let (lo, hi) = values
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |a, &v| {
                        (a.0.min(v * sign), a.1.max(v * sign))
                    });
                if hi > lo {
                    for (slot, s) in t.iter_mut().zip(1u32..) {
                        *slot = Some((lo + f64::from(s) * (hi - lo) / 5.0) * sign + 0.0);
                    }
                }
            }
        }
        Ok(Thresholds {
            direction,
            thresholds: t,
        })
    }

    fn validate(&self, path: &str) -> Result<()> {
        let mut prev: Option<f64> = None;
        let mut seen_null = false;
        for (i, t) in self.thresholds.iter().enumerate() {
            let p = format!("{path}.thresholds[{i}]");
            let Some(v) = *t else {
                seen_null = true;
                continue;
            };
            if seen_null {
                return Err(invalid(
                    p,
                    "a threshold cannot follow an unreachable (null) one",
                ));
            }
            if !v.is_finite() {
                return Err(invalid(p, "threshold is not finite"));
            }
            let monotone = prev.is_none_or(|q| match self.direction {
                Direction::HigherIsBetter => v >= q,
                Direction::LowerIsBetter => v <= q,
            });
            if !monotone {
                return Err(invalid(p, "thresholds must be monotone in the direction"));
            }
            prev = Some(v);
        }
        Ok(())
    }
}

fn invalid(path: String, msg: &str) -> Error {
    Error::new(ErrorKind::InvalidModel, msg.to_string()).with_path(path)
}

/// Stored thresholds for all three dimensions (persisted state, versioned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmThresholds {
    /// Format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// Recency (normally `lower_is_better`).
    pub r: Thresholds,
    /// Frequency.
    pub f: Thresholds,
    /// Monetary.
    pub m: Thresholds,
}

/// 1–5 scores of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmScores {
    /// Recency score.
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Monetary score.
    pub m: u8,
}

impl RfmThresholds {
    /// Reads and validates stored thresholds (`INVALID_STATE` for a wrong
    /// version, `INVALID_MODEL` for non-monotone thresholds).
    pub fn from_json(text: &str) -> Result<RfmThresholds> {
        let t: RfmThresholds = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidJson,
                format!("invalid RFM thresholds: {e}"),
            )
        })?;
        t.validate()?;
        Ok(t)
    }

    /// Checks version and monotonicity.
    pub fn validate(&self) -> Result<()> {
        if self.version != FORMAT_VERSION {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!(
                    "unsupported RFM thresholds version {} (expected {FORMAT_VERSION})",
                    self.version
                ),
            )
            .with_path("version"));
        }
        self.r.validate("r")?;
        self.f.validate("f")?;
        self.m.validate("m")
    }

    /// Fits all three dimensions (R lower-is-better, F and M higher-is-better).
    pub fn fit(method: ScoreMethod, population: &[RfmValues]) -> Result<RfmThresholds> {
        let col = |f: fn(&RfmValues) -> f64| population.iter().map(f).collect::<Vec<_>>();
        RfmThresholds::fit_columns(
            method,
            &col(|v| v.recency_days),
            &col(|v| v.frequency),
            &col(|v| v.monetary),
        )
    }

    /// Fits from column arrays (the fast path for analysts' data frames).
    pub fn fit_columns(
        method: ScoreMethod,
        r: &[f64],
        f: &[f64],
        m: &[f64],
    ) -> Result<RfmThresholds> {
        Ok(RfmThresholds {
            version: FORMAT_VERSION,
            r: Thresholds::fit(method, Direction::LowerIsBetter, r)
                .map_err(|e| e.prefix_path("r"))?,
            f: Thresholds::fit(method, Direction::HigherIsBetter, f)
                .map_err(|e| e.prefix_path("f"))?,
            m: Thresholds::fit(method, Direction::HigherIsBetter, m)
                .map_err(|e| e.prefix_path("m"))?,
        })
    }

    /// Scores one profile.
    pub fn score(&self, v: &RfmValues) -> RfmScores {
        RfmScores {
            r: self.r.score(v.recency_days),
            f: self.f.score(v.frequency),
            m: self.m.score(v.monetary),
        }
    }
}

/// Batch API: fits thresholds over the population and scores every member
/// (`result[i]` belongs to `population[i]`).
pub fn score_population(
    method: ScoreMethod,
    population: &[RfmValues],
) -> Result<(RfmThresholds, Vec<RfmScores>)> {
    let t = RfmThresholds::fit(method, population)?;
    let scores = population.iter().map(|v| t.score(v)).collect();
    Ok((t, scores))
}

/// Column batch API: as [`score_population`] over three equal-length arrays.
pub fn score_columns(
    method: ScoreMethod,
    r: &[f64],
    f: &[f64],
    m: &[f64],
) -> Result<(RfmThresholds, Vec<RfmScores>)> {
    if r.len() != f.len() || r.len() != m.len() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "R, F and M columns must have equal lengths",
        ));
    }
    let t = RfmThresholds::fit_columns(method, r, f, m)?;
    let scores = (0..r.len())
        .map(|i| RfmScores {
            r: t.r.score(r[i]),
            f: t.f.score(f[i]),
            m: t.m.score(m[i]),
        })
        .collect();
    Ok((t, scores))
}

/// An inclusive score range `[lo, hi]` within 1..=5.
pub type ScoreRange = [u8; 2];

/// One box of a segment map; an omitted dimension matches 1..=5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentBox {
    /// Segment id (a tag name: `[a-z0-9_]`, e.g. `cant_lose_them`).
    pub segment: String,
    /// Human label, e.g. `Can't Lose Them`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// R range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<ScoreRange>,
    /// F range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f: Option<ScoreRange>,
    /// M range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<ScoreRange>,
}

impl SegmentBox {
    fn contains(&self, s: &RfmScores) -> bool {
        let within = |r: &Option<ScoreRange>, v: u8| r.is_none_or(|[lo, hi]| lo <= v && v <= hi);
        within(&self.r, s.r) && within(&self.f, s.f) && within(&self.m, s.m)
    }
}

/// An ordered box table: the first box containing the scores names the segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentMap {
    /// The boxes, checked in order.
    pub boxes: Vec<SegmentBox>,
}

const STANDARD_11: &str = include_str!("rfm/standard_11.json");
const FOUR_LAYER: &str = include_str!("rfm/four_layer.json");

impl SegmentMap {
    /// Reads and validates a custom map (`INVALID_MODEL` with a path).
    pub fn from_json(text: &str) -> Result<SegmentMap> {
        let m: SegmentMap = serde_json::from_str(text).map_err(|e| {
            Error::new(ErrorKind::InvalidModel, format!("invalid segment map: {e}"))
        })?;
        m.validate()?;
        Ok(m)
    }

    /// The common 11-segment map over R and F, with `lost` (R1 F1 M1) checked
    /// before `hibernating` so it is reachable. See docs/rfm.md.
    pub fn standard_11() -> SegmentMap {
        SegmentMap::from_json(STANDARD_11).unwrap_or(SegmentMap { boxes: Vec::new() })
    }

    /// DOMAIN.md's four layers: high-value loyal, churn warning, new, potential repeat.
    pub fn four_layer() -> SegmentMap {
        SegmentMap::from_json(FOUR_LAYER).unwrap_or(SegmentMap { boxes: Vec::new() })
    }

    /// Checks ids, ranges and that every score triple lands in some box.
    pub fn validate(&self) -> Result<()> {
        if self.boxes.is_empty() {
            return Err(invalid(
                "boxes".into(),
                "a segment map needs at least one box",
            ));
        }
        for (i, b) in self.boxes.iter().enumerate() {
            let p = format!("boxes[{i}]");
            if b.segment.is_empty()
                || !b
                    .segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(invalid(
                    format!("{p}.segment"),
                    "segment ids are non-empty [a-z0-9_]",
                ));
            }
            for (dim, r) in [("r", b.r), ("f", b.f), ("m", b.m)] {
                if let Some([lo, hi]) = r {
                    if !(1..=5).contains(&lo) || !(1..=5).contains(&hi) || lo > hi {
                        return Err(invalid(
                            format!("{p}.{dim}"),
                            "a score range is [lo, hi] with 1 <= lo <= hi <= 5",
                        ));
                    }
                }
            }
        }
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    let s = RfmScores { r, f, m };
                    if self.segment(&s).is_none() {
                        return Err(invalid(
                            "boxes".into(),
                            &format!("no box covers R{r} F{f} M{m}"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The segment id of `scores` (first matching box).
    pub fn segment(&self, scores: &RfmScores) -> Option<&str> {
        self.boxes
            .iter()
            .find(|b| b.contains(scores))
            .map(|b| b.segment.as_str())
    }
}

/// Writes scores into `profile.scores` as `rfm_r`, `rfm_f`, `rfm_m` and the
/// segment as a rule tag of `group` (see [`crate::tagging::set_exclusive_tag`]).
pub fn write_to_profile(
    profile: &mut Profile,
    scores: &RfmScores,
    segment: &str,
    group: &str,
    now: DateTime<Utc>,
) {
    profile.scores.insert("rfm_r".into(), f64::from(scores.r));
    profile.scores.insert("rfm_f".into(), f64::from(scores.f));
    profile.scores.insert("rfm_m".into(), f64::from(scores.m));
    crate::tagging::set_exclusive_tag(profile, segment, group, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(vals: &[f64], dir: Direction) -> Vec<u8> {
        let t = Thresholds::fit(ScoreMethod::Quantile, dir, vals).unwrap();
        vals.iter().map(|v| t.score(*v)).collect()
    }

    #[test]
    fn quintiles_of_ten_distinct_values() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(
            fit(&v, Direction::HigherIsBetter),
            [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(
            fit(&v, Direction::LowerIsBetter),
            [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
        );
    }

    #[test]
    fn ties_share_the_lowest_rank_score() {
        // L = 0,0,0,0,4,5,6,7,8,9 → 1 + floor(5L/10)
        let v = [1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        assert_eq!(
            fit(&v, Direction::HigherIsBetter),
            [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(fit(&[3.0; 7], Direction::HigherIsBetter), [1; 7]);
    }

    #[test]
    fn range_method_and_degenerate_population() {
        let t =
            Thresholds::fit(ScoreMethod::Range, Direction::HigherIsBetter, &[0.0, 100.0]).unwrap();
        assert_eq!(
            t.thresholds,
            [Some(20.0), Some(40.0), Some(60.0), Some(80.0)]
        );
        assert_eq!(t.score(59.9), 3);
        let t =
            Thresholds::fit(ScoreMethod::Range, Direction::HigherIsBetter, &[5.0, 5.0]).unwrap();
        assert_eq!(t.score(5.0), 1);
    }

    #[test]
    fn standard_map_reaches_every_segment() {
        let map = SegmentMap::standard_11();
        assert_eq!(map.boxes.len(), 11);
        let seg = |r, f, m| map.segment(&RfmScores { r, f, m }).unwrap().to_string();
        assert_eq!(seg(1, 1, 1), "lost");
        assert_eq!(seg(1, 1, 2), "hibernating");
        assert_eq!(seg(5, 5, 1), "champions");
        assert_eq!(seg(5, 1, 1), "new_customers");
        assert_eq!(seg(2, 5, 5), "cant_lose_them");
        let four = SegmentMap::four_layer();
        assert_eq!(four.boxes.len(), 4);
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        assert_eq!(
            Thresholds::fit(ScoreMethod::Quantile, Direction::HigherIsBetter, &[])
                .unwrap_err()
                .kind(),
            ErrorKind::NumericDomain
        );
        let e = SegmentMap::from_json(r#"{"boxes":[{"segment":"a","r":[1,4]}]}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidModel);
    }
}
