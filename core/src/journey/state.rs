//! Persisted journey state of one user: instances, per-journey entry records,
//! the shared frequency-cap ledger and the de-duplication window.
//!
//! Two encodings, both versioned ([`STATE_FORMAT_VERSION`]):
//! * JSON (serde; `"format": 1`), readable and stable;
//! * a compact hand-written binary form ([`UserState::to_bytes`],
//!   [`Instance::to_bytes`]): `b'J'`/`b'U'`, a version byte, then LEB128 varints,
//!   length-prefixed UTF-8 strings and timestamps as zig-zag varint seconds
//!   (shifted left by one, low bit = "nanoseconds follow").
//!
//! Readers accept every version up to the current one.

use crate::error::{Error, ErrorKind, Result};
use crate::value::ts_serde;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The current state format version (JSON `format` and the binary version byte).
pub const STATE_FORMAT_VERSION: u32 = 1;

/// One running journey instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// Journey id.
    pub journey: String,
    /// Pinned definition version.
    pub version: u32,
    /// Concurrency key (empty when the journey has none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Entry number of this user in this journey (1-based).
    pub seq: u32,
    /// When the user entered.
    #[serde(with = "ts_serde")]
    pub entered_at: DateTime<Utc>,
    /// Current node id.
    pub node: String,
    /// When the flow reached the current node (due time, not processing time).
    #[serde(with = "ts_serde")]
    pub since: DateTime<Utc>,
    /// When the instance must be woken (absolute).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub due: Option<DateTime<Utc>>,
    /// Whether the current node has been started and is waiting (`false`: the
    /// node runs from scratch when due, e.g. a deferred message).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub armed: bool,
    /// Nodes processed so far (makes effect ids unique within the instance).
    pub steps: u32,
    /// Effect id whose outcome a `call` node awaits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

/// Per user and journey: entries so far and remembered split assignments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct JourneyRecord {
    /// Journey id.
    pub journey: String,
    /// Number of entries so far.
    pub entries: u32,
    /// Time of the last entry.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub last_entry: Option<DateTime<Utc>>,
    /// Segment-trigger membership at the last input (entry happens on false → true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_segment: bool,
    /// Last date-trigger instant that fired.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub last_date: Option<DateTime<Utc>>,
    /// Random-split assignments: `[node id, branch name]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignments: Vec<(String, String)>,
}

/// A sent message in the frequency-cap ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRecord {
    /// When it was sent (its due time).
    #[serde(with = "ts_serde")]
    pub at: DateTime<Utc>,
    /// Channel.
    pub channel: String,
    /// The effect id (a `failed` outcome removes the record).
    pub effect: String,
}

/// All journey state of one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserState {
    /// Format version.
    pub format: u32,
    /// The latest `now` seen (earlier `now`s are clamped to it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "ts_serde::option"
    )]
    pub last_now: Option<DateTime<Utc>>,
    /// Recent event ids, oldest first (bounded by the policy's `dedup_window`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
    /// Per-journey records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journeys: Vec<JourneyRecord>,
    /// Active instances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<Instance>,
    /// Recent message sends (the shared cap ledger).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<SendRecord>,
}

impl Default for UserState {
    fn default() -> UserState {
        UserState {
            format: STATE_FORMAT_VERSION,
            last_now: None,
            seen: Vec::new(),
            journeys: Vec::new(),
            instances: Vec::new(),
            sends: Vec::new(),
        }
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidState, msg)
}

impl UserState {
    /// An empty state.
    pub fn new() -> UserState {
        UserState::default()
    }

    /// JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Reads the JSON form (any supported format version).
    pub fn from_json_value(v: &serde_json::Value) -> Result<UserState> {
        let format = v.get("format").and_then(|f| f.as_u64()).unwrap_or(0);
        if format == 0 || format > u64::from(STATE_FORMAT_VERSION) {
            return Err(invalid(format!(
                "unsupported journey state format {format} (this build reads 1..={STATE_FORMAT_VERSION})"
            ))
            .with_path("format"));
        }
        let mut s: UserState = serde_json::from_value(v.clone())
            .map_err(|e| invalid(format!("invalid journey state: {e}")))?;
        s.format = STATE_FORMAT_VERSION;
        Ok(s)
    }

    /// The record of `journey`, if any.
    pub fn record(&self, journey: &str) -> Option<&JourneyRecord> {
        self.journeys.iter().find(|r| r.journey == journey)
    }

    /// The compact binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(64 + 48 * self.instances.len()));
        w.0.push(b'U');
        w.0.push(STATE_FORMAT_VERSION as u8);
        w.opt_ts(self.last_now);
        w.uint(self.seen.len() as u64);
        for s in &self.seen {
            w.str(s);
        }
        w.uint(self.journeys.len() as u64);
        for r in &self.journeys {
            w.str(&r.journey);
            w.uint(u64::from(r.entries));
            w.opt_ts(r.last_entry);
            w.0.push(u8::from(r.in_segment));
            w.opt_ts(r.last_date);
            w.uint(r.assignments.len() as u64);
            for (n, b) in &r.assignments {
                w.str(n);
                w.str(b);
            }
        }
        w.uint(self.instances.len() as u64);
        for i in &self.instances {
            i.write_body(&mut w);
        }
        w.uint(self.sends.len() as u64);
        for s in &self.sends {
            w.ts(s.at);
            w.str(&s.channel);
            w.str(&s.effect);
        }
        w.0
    }

    /// Reads the binary form (any supported version).
    pub fn from_bytes(bytes: &[u8]) -> Result<UserState> {
        let mut r = Reader { b: bytes, pos: 0 };
        let version = r.header(b'U')?;
        let _ = version; // v1 is the only layout so far
        let last_now = r.opt_ts()?;
        let n = r.len()?;
        let mut seen = Vec::with_capacity(n);
        for _ in 0..n {
            seen.push(r.str()?);
        }
        let n = r.len()?;
        let mut journeys = Vec::with_capacity(n);
        for _ in 0..n {
            let journey = r.str()?;
            let entries = r.u32()?;
            let last_entry = r.opt_ts()?;
            let in_segment = r.byte()? != 0;
            let last_date = r.opt_ts()?;
            let m = r.len()?;
            let mut assignments = Vec::with_capacity(m);
            for _ in 0..m {
                assignments.push((r.str()?, r.str()?));
            }
            journeys.push(JourneyRecord {
                journey,
                entries,
                last_entry,
                in_segment,
                last_date,
                assignments,
            });
        }
        let n = r.len()?;
        let mut instances = Vec::with_capacity(n);
        for _ in 0..n {
            instances.push(Instance::read_body(&mut r)?);
        }
        let n = r.len()?;
        let mut sends = Vec::with_capacity(n);
        for _ in 0..n {
            sends.push(SendRecord {
                at: r.ts()?,
                channel: r.str()?,
                effect: r.str()?,
            });
        }
        r.end()?;
        Ok(UserState {
            format: STATE_FORMAT_VERSION,
            last_now,
            seen,
            journeys,
            instances,
            sends,
        })
    }
}

impl Instance {
    /// The compact binary form of one instance.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(48));
        w.0.push(b'J');
        w.0.push(STATE_FORMAT_VERSION as u8);
        self.write_body(&mut w);
        w.0
    }

    /// Reads one instance from its binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Instance> {
        let mut r = Reader { b: bytes, pos: 0 };
        r.header(b'J')?;
        let i = Instance::read_body(&mut r)?;
        r.end()?;
        Ok(i)
    }

    fn write_body(&self, w: &mut Writer) {
        w.str(&self.journey);
        w.uint(u64::from(self.version));
        w.str(&self.key);
        w.uint(u64::from(self.seq));
        w.ts(self.entered_at);
        w.str(&self.node);
        // `since` relative to entry keeps it to a byte or three.
        w.delta(self.entered_at, self.since);
        let flags = u8::from(self.armed)
            | (u8::from(self.due.is_some()) << 1)
            | (u8::from(self.pending.is_some()) << 2);
        w.0.push(flags);
        if let Some(d) = self.due {
            w.delta(self.since, d);
        }
        w.uint(u64::from(self.steps));
        if let Some(p) = &self.pending {
            w.str(p);
        }
    }

    fn read_body(r: &mut Reader) -> Result<Instance> {
        let journey = r.str()?;
        let version = r.u32()?;
        let key = r.str()?;
        let seq = r.u32()?;
        let entered_at = r.ts()?;
        let node = r.str()?;
        let since = r.delta(entered_at)?;
        let flags = r.byte()?;
        if flags > 7 {
            return Err(invalid("corrupt journey state: bad instance flags"));
        }
        let due = if flags & 2 != 0 {
            Some(r.delta(since)?)
        } else {
            None
        };
        let steps = r.u32()?;
        let pending = if flags & 4 != 0 { Some(r.str()?) } else { None };
        Ok(Instance {
            journey,
            version,
            key,
            seq,
            entered_at,
            node,
            since,
            due,
            armed: flags & 1 != 0,
            steps,
            pending,
        })
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn uint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn secs_nanos(&mut self, secs: i64, nanos: u32) {
        let z = ((secs << 1) ^ (secs >> 63)) as u64;
        self.uint((z << 1) | u64::from(nanos != 0));
        if nanos != 0 {
            self.uint(u64::from(nanos));
        }
    }
    fn ts(&mut self, t: DateTime<Utc>) {
        self.secs_nanos(t.timestamp(), t.timestamp_subsec_nanos());
    }
    fn opt_ts(&mut self, t: Option<DateTime<Utc>>) {
        match t {
            None => self.0.push(0),
            Some(t) => {
                self.0.push(1);
                self.ts(t);
            }
        }
    }
    /// `t - base` as signed seconds + nanoseconds.
    fn delta(&mut self, base: DateTime<Utc>, t: DateTime<Utc>) {
        let d = t - base;
        let secs = d.num_seconds();
        let nanos = (d - chrono::Duration::seconds(secs))
            .num_nanoseconds()
            .unwrap_or(0);
        // Normalise to a non-negative nanosecond part.
        let (secs, nanos) = if nanos < 0 {
            (secs - 1, nanos + 1_000_000_000)
        } else {
            (secs, nanos)
        };
        self.secs_nanos(secs, nanos as u32);
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn header(&mut self, tag: u8) -> Result<u8> {
        let t = self.byte()?;
        if t != tag {
            return Err(invalid(format!(
                "not a journey {} blob (tag {t:#04x})",
                if tag == b'J' { "instance" } else { "state" }
            )));
        }
        let v = self.byte()?;
        if v == 0 || u32::from(v) > STATE_FORMAT_VERSION {
            return Err(invalid(format!(
                "unsupported journey state format {v} (this build reads 1..={STATE_FORMAT_VERSION})"
            )));
        }
        Ok(v)
    }
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .b
            .get(self.pos)
            .ok_or_else(|| invalid("corrupt journey state: truncated"))?;
        self.pos += 1;
        Ok(b)
    }
    fn uint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(invalid("corrupt journey state: varint too long"))
    }
    fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.uint()?).map_err(|_| invalid("corrupt journey state: number too large"))
    }
    fn len(&mut self) -> Result<usize> {
        let n = self.uint()?;
        // A length can never exceed the remaining bytes (every item takes ≥ 1 byte).
        if n > (self.b.len() - self.pos) as u64 {
            return Err(invalid("corrupt journey state: length past the end"));
        }
        Ok(n as usize)
    }
    fn str(&mut self) -> Result<String> {
        let n = self.len()?;
        let s = std::str::from_utf8(&self.b[self.pos..self.pos + n])
            .map_err(|_| invalid("corrupt journey state: invalid UTF-8"))?
            .to_string();
        self.pos += n;
        Ok(s)
    }
    fn secs_nanos(&mut self) -> Result<(i64, u32)> {
        let v = self.uint()?;
        let z = v >> 1;
        let secs = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let nanos = if v & 1 != 0 { self.u32()? } else { 0 };
        if nanos >= 1_000_000_000 {
            return Err(invalid("corrupt journey state: bad nanoseconds"));
        }
        Ok((secs, nanos))
    }
    fn ts(&mut self) -> Result<DateTime<Utc>> {
        let (s, n) = self.secs_nanos()?;
        DateTime::from_timestamp(s, n)
            .ok_or_else(|| invalid("corrupt journey state: bad timestamp"))
    }
    fn opt_ts(&mut self) -> Result<Option<DateTime<Utc>>> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(self.ts()?)),
            _ => Err(invalid("corrupt journey state: bad option tag")),
        }
    }
    fn delta(&mut self, base: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let (s, n) = self.secs_nanos()?;
        let d = chrono::Duration::try_seconds(s)
            .and_then(|d| d.checked_add(&chrono::Duration::nanoseconds(i64::from(n))))
            .ok_or_else(|| invalid("corrupt journey state: bad time delta"))?;
        base.checked_add_signed(d)
            .ok_or_else(|| invalid("corrupt journey state: bad time delta"))
    }
    fn end(&self) -> Result<()> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(invalid("corrupt journey state: trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    fn sample() -> Instance {
        let t = |s| parse_timestamp(s).unwrap();
        Instance {
            journey: "welcome".into(),
            version: 1,
            key: String::new(),
            seq: 1,
            entered_at: t("2026-03-01T08:00:00Z"),
            node: "wait_7d".into(),
            since: t("2026-03-01T08:00:00Z"),
            due: Some(t("2026-03-08T08:00:00Z")),
            armed: true,
            steps: 3,
            pending: None,
        }
    }

    #[test]
    fn instance_binary_is_small_and_round_trips() {
        let i = sample();
        let b = i.to_bytes();
        assert!(b.len() <= 96, "{} bytes", b.len());
        assert_eq!(Instance::from_bytes(&b).unwrap(), i);
    }

    /// A blob written by format version 1; it must keep loading in every later version.
    #[test]
    fn frozen_v1_blob_loads() {
        const V1: &str = "4a010777656c636f6d650100018090bfb41a07776169745f3764000380d4930103";
        let bytes: Vec<u8> = (0..V1.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&V1[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(Instance::from_bytes(&bytes).unwrap(), sample());
    }

    #[test]
    fn corrupt_blobs_are_typed_errors() {
        let b = sample().to_bytes();
        for cut in 0..b.len() {
            let e = Instance::from_bytes(&b[..cut]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidState);
        }
        let mut v9 = b.clone();
        v9[1] = 9;
        assert_eq!(
            Instance::from_bytes(&v9).unwrap_err().kind(),
            ErrorKind::InvalidState
        );
    }

    #[test]
    fn user_state_round_trips_both_ways() {
        let mut s = UserState::new();
        s.instances.push(sample());
        s.seen.push("e1".into());
        s.journeys.push(JourneyRecord {
            journey: "welcome".into(),
            entries: 1,
            assignments: vec![("ab".into(), "b".into())],
            ..Default::default()
        });
        assert_eq!(UserState::from_bytes(&s.to_bytes()).unwrap(), s);
        assert_eq!(UserState::from_json_value(&s.to_json()).unwrap(), s);
    }
}
