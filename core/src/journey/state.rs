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

use super::instant::Instant;
use crate::error::{Error, ErrorKind, Result};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// The current state format version (JSON `format` and the binary version byte).
pub const STATE_FORMAT_VERSION: u32 = 1;

/// One running journey instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// Journey id.
    pub journey: CompactString,
    /// Pinned definition version.
    pub version: u32,
    /// Concurrency key (empty when the journey has none).
    #[serde(default, skip_serializing_if = "CompactString::is_empty")]
    pub key: CompactString,
    /// Entry number of this user in this journey (1-based).
    pub seq: u32,
    /// When the user entered.
    pub entered_at: Instant,
    /// Current node id.
    pub node: CompactString,
    /// When the flow reached the current node (due time, not processing time).
    pub since: Instant,
    /// When the instance must be woken (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Instant>,
    /// Whether the current node has been started and is waiting (`false`: the
    /// node runs from scratch when due, e.g. a deferred message).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub armed: bool,
    /// Nodes processed so far (makes effect ids unique within the instance).
    pub steps: u32,
    /// Effect id whose outcome a `call` node awaits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<CompactString>,
}

/// Per user and journey: entries so far and remembered split assignments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct JourneyRecord {
    /// Journey id.
    pub journey: CompactString,
    /// Number of entries so far.
    pub entries: u32,
    /// Time of the last entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_entry: Option<Instant>,
    /// Segment-trigger membership at the last input (entry happens on false → true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_segment: bool,
    /// Last date-trigger instant that fired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_date: Option<Instant>,
    /// Random-split assignments: `[node id, branch name]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignments: Vec<(String, String)>,
}

/// A sent message in the frequency-cap ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRecord {
    /// When it was sent (its due time).
    pub at: Instant,
    /// Channel.
    pub channel: CompactString,
    /// The effect id (a `failed` outcome removes the record).
    pub effect: CompactString,
}

/// All journey state of one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserState {
    /// Format version.
    pub format: u32,
    /// The latest `now` seen (earlier `now`s are clamped to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_now: Option<Instant>,
    /// Recent event ids, oldest first (bounded by the policy's `dedup_window`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<CompactString>,
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
        let mut out = Vec::with_capacity(self.size_hint());
        self.write_bytes(&mut out);
        out
    }

    /// Appends the compact binary form to `out` (a host persisting many users
    /// can reuse one buffer: `out.clear()` between users).
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        out.reserve(self.size_hint());
        let mut w = Writer(std::mem::take(out));
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
        *out = w.0;
    }

    /// A size estimate (ids are short; a longer state grows the buffer once).
    fn size_hint(&self) -> usize {
        32 + 24 * self.seen.len()
            + 48 * self.journeys.len()
            + 96 * self.instances.len()
            + 64 * self.sends.len()
    }

    /// Reads the binary form (any supported version).
    pub fn from_bytes(bytes: &[u8]) -> Result<UserState> {
        Ok(decode_new(bytes)?)
    }

    /// Replaces `self` with the state in `bytes` (binary form, any supported
    /// version), reusing `self`'s strings and vectors: a host restoring many
    /// users in a loop keeps one scratch state and allocates little. The blob
    /// is checked completely first, so on error `self` is unchanged.
    pub fn read_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        decode_user(bytes, None, Some(self))?;
        Ok(decode_user(bytes, Some(self), None)?)
    }
}

/// Sets `s` to `v`, keeping its allocation.
#[inline]
fn set(s: &mut String, v: &str) {
    if s.capacity() == 0 {
        // A fresh string: one exact allocation, not the growth path.
        *s = v.to_owned();
    } else {
        s.clear();
        s.push_str(v);
    }
}

/// `b` as text, or the "invalid UTF-8" error.
#[inline]
fn text(b: &[u8]) -> Dec<&str> {
    std::str::from_utf8(b).map_err(|_| Bad::Msg("corrupt journey state: invalid UTF-8"))
}

#[inline]
fn check_text(b: &[u8]) -> Dec<()> {
    text(b).map(|_| ())
}

/// Checks that `b` is UTF-8, which it is when it equals `known`, a string
/// the scratch state already holds at the same place (a comparison is
/// cheaper than the check).
#[inline]
fn check_known(known: Option<&CompactString>, b: &[u8]) -> Dec<()> {
    if known.is_some_and(|k| k.as_bytes() == b) {
        return Ok(());
    }
    check_text(b)
}

/// Sets `s` to the string in `b` (checked to be UTF-8) unless it already
/// holds it: a scratch state refilled user after user mostly sees the same
/// journey and node ids, which then cost a comparison, not a check and a copy.
#[inline]
fn put_id(s: &mut CompactString, b: &[u8]) -> Dec<()> {
    if s.as_bytes() != b {
        set_id(s, text(b)?);
    }
    Ok(())
}

/// Sets `s` to `v`: inline (no allocation) up to 24 bytes, else reusing a
/// heap buffer that is large enough.
#[inline]
fn set_id(s: &mut CompactString, v: &str) {
    if v.len() > std::mem::size_of::<CompactString>()
        && s.is_heap_allocated()
        && s.capacity() >= v.len()
    {
        s.clear();
        s.push_str(v);
    } else {
        *s = CompactString::from(v);
    }
}

/// Resizes `v` to `n` items (new ones from `blank`), keeping the items (and
/// their allocations) that stay; a fresh vector gets room for `spare` more.
#[inline]
fn fit<T>(v: &mut Vec<T>, n: usize, spare: usize, blank: impl FnMut() -> T) {
    if v.capacity() < n && v.is_empty() {
        // A fresh vector: one exact allocation, not the growth path.
        *v = Vec::with_capacity(n + spare);
    }
    v.truncate(n);
    v.resize_with(n, blank);
}

fn blank_instance() -> Instance {
    Instance {
        journey: CompactString::default(),
        version: 0,
        key: CompactString::default(),
        seq: 0,
        entered_at: Instant::UNIX_EPOCH,
        node: CompactString::default(),
        since: Instant::UNIX_EPOCH,
        due: None,
        armed: false,
        steps: 0,
        pending: None,
    }
}

/// Decodes a `U` blob into `out` (reusing its allocations), or only checks it
/// when `out` is `None`. One decoder for both, so checking and reading agree.
/// When checking, `known` is the state the blob will be read into: its
/// strings at the same places need no UTF-8 check when they are equal.
fn decode_user(
    bytes: &[u8],
    mut out: Option<&mut UserState>,
    known: Option<&UserState>,
) -> Dec<()> {
    let mut r = Reader::new(bytes);
    let version = r.header(b'U')?;
    let _ = version; // v1 is the only layout so far
    let last_now = r.opt_ts()?;
    if let Some(o) = out.as_deref_mut() {
        o.format = STATE_FORMAT_VERSION;
        o.last_now = last_now;
    }
    let n = r.len()?;
    if let Some(o) = out.as_deref_mut() {
        fit(&mut o.seen, n, 0, CompactString::default);
    }
    for i in 0..n {
        let s = r.raw()?;
        match out.as_deref_mut() {
            Some(o) => put_id(&mut o.seen[i], s)?,
            None => check_known(known.and_then(|k| k.seen.get(i)), s)?,
        }
    }
    let n = r.len()?;
    if let Some(o) = out.as_deref_mut() {
        fit(&mut o.journeys, n, 0, JourneyRecord::default);
    }
    for i in 0..n {
        let journey = r.raw()?;
        let entries = r.u32()?;
        let last_entry = r.opt_ts()?;
        let in_segment = r.byte()? != 0;
        let last_date = r.opt_ts()?;
        let m = r.len()?;
        let mut rec = out.as_deref_mut().map(|o| &mut o.journeys[i]);
        if rec.is_none() {
            check_known(
                known.and_then(|k| Some(&k.journeys.get(i)?.journey)),
                journey,
            )?;
        }
        if let Some(rec) = rec.as_deref_mut() {
            put_id(&mut rec.journey, journey)?;
            rec.entries = entries;
            rec.last_entry = last_entry;
            rec.in_segment = in_segment;
            rec.last_date = last_date;
            fit(&mut rec.assignments, m, 0, Default::default);
        }
        for k in 0..m {
            let (node, branch) = (r.str_ref()?, r.str_ref()?);
            if let Some(rec) = rec.as_deref_mut() {
                set(&mut rec.assignments[k].0, node);
                set(&mut rec.assignments[k].1, branch);
            }
        }
    }
    let n = r.len()?;
    if let Some(o) = out.as_deref_mut() {
        fit(&mut o.instances, n, 0, blank_instance);
    }
    for i in 0..n {
        read_instance(
            &mut r,
            out.as_deref_mut().map(|o| &mut o.instances[i]),
            known.and_then(|k| k.instances.get(i)),
        )?;
    }
    let n = r.len()?;
    if let Some(o) = out.as_deref_mut() {
        // Room for one more: a firing step usually records a send.
        fit(&mut o.sends, n, 1, || SendRecord {
            at: Instant::UNIX_EPOCH,
            channel: CompactString::default(),
            effect: CompactString::default(),
        });
    }
    for i in 0..n {
        let (at, channel, effect) = (r.ts()?, r.raw()?, r.raw()?);
        match out.as_deref_mut() {
            Some(o) => {
                let s = &mut o.sends[i];
                s.at = at;
                put_id(&mut s.channel, channel)?;
                put_id(&mut s.effect, effect)?;
            }
            None => {
                let k = known.and_then(|k| k.sends.get(i));
                check_known(k.map(|k| &k.channel), channel)?;
                check_known(k.map(|k| &k.effect), effect)?;
            }
        }
    }
    r.end()
}

/// Decodes a `U` blob into a new state in one pass, building each item
/// directly (the same reads, in the same order, as [`decode_user`]).
fn decode_new(bytes: &[u8]) -> Dec<UserState> {
    let mut r = Reader::new(bytes);
    r.header(b'U')?;
    let last_now = r.opt_ts()?;
    let n = r.len()?;
    let mut seen = Vec::with_capacity(n);
    for _ in 0..n {
        seen.push(CompactString::from(r.str_ref()?));
    }
    let n = r.len()?;
    let mut journeys = Vec::with_capacity(n);
    for _ in 0..n {
        let journey = CompactString::from(r.str_ref()?);
        let entries = r.u32()?;
        let last_entry = r.opt_ts()?;
        let in_segment = r.byte()? != 0;
        let last_date = r.opt_ts()?;
        let m = r.len()?;
        let mut assignments = Vec::with_capacity(m);
        for _ in 0..m {
            let (node, branch) = (r.str_ref()?, r.str_ref()?);
            assignments.push((node.to_owned(), branch.to_owned()));
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
        instances.push(read_new_instance(&mut r)?);
    }
    let n = r.len()?;
    // Room for one more: a firing step usually records a send.
    let mut sends = Vec::with_capacity(if n == 0 { 0 } else { n + 1 });
    for _ in 0..n {
        let at = r.ts()?;
        let channel = CompactString::from(r.str_ref()?);
        let effect = CompactString::from(r.str_ref()?);
        sends.push(SendRecord {
            at,
            channel,
            effect,
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

/// Decodes one instance body into a new [`Instance`].
fn read_new_instance(r: &mut Reader) -> Dec<Instance> {
    let journey = CompactString::from(r.str_ref()?);
    let version = r.u32()?;
    let key = CompactString::from(r.str_ref()?);
    let seq = r.u32()?;
    let entered_at = r.ts()?;
    let node = CompactString::from(r.str_ref()?);
    let since = r.delta(entered_at)?;
    let flags = r.byte()?;
    if flags > 7 {
        return Err(Bad::Msg("corrupt journey state: bad instance flags"));
    }
    let due = if flags & 2 != 0 {
        Some(r.delta(since)?)
    } else {
        None
    };
    let steps = r.u32()?;
    let pending = if flags & 4 != 0 {
        Some(CompactString::from(r.str_ref()?))
    } else {
        None
    };
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

/// Decodes one instance body into `out`, or only checks it.
/// `known`: when checking, the instance the blob's will be read into.
fn read_instance(r: &mut Reader, out: Option<&mut Instance>, known: Option<&Instance>) -> Dec<()> {
    let journey = r.raw()?;
    let version = r.u32()?;
    let key = r.raw()?;
    let seq = r.u32()?;
    let entered_at = r.ts()?;
    let node = r.raw()?;
    let since = r.delta(entered_at)?;
    let flags = r.byte()?;
    if flags > 7 {
        return Err(Bad::Msg("corrupt journey state: bad instance flags"));
    }
    let due = if flags & 2 != 0 {
        Some(r.delta(since)?)
    } else {
        None
    };
    let steps = r.u32()?;
    let pending = if flags & 4 != 0 { Some(r.raw()?) } else { None };
    let Some(i) = out else {
        check_known(known.map(|k| &k.journey), journey)?;
        check_known(known.map(|k| &k.key), key)?;
        check_known(known.map(|k| &k.node), node)?;
        if let Some(p) = pending {
            check_known(known.and_then(|k| k.pending.as_ref()), p)?;
        }
        return Ok(());
    };
    {
        put_id(&mut i.journey, journey)?;
        i.version = version;
        put_id(&mut i.key, key)?;
        i.seq = seq;
        i.entered_at = entered_at;
        put_id(&mut i.node, node)?;
        i.since = since;
        i.due = due;
        i.armed = flags & 1 != 0;
        i.steps = steps;
        match (pending, &mut i.pending) {
            (Some(p), Some(old)) => put_id(old, p)?,
            (Some(p), old) => *old = Some(text(p)?.into()),
            (None, old) => *old = None,
        }
    }
    Ok(())
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
        let mut r = Reader::new(bytes);
        r.header(b'J')?;
        let i = read_new_instance(&mut r)?;
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
}

/// The binary writer (the output buffer).
struct Writer(Vec<u8>);

const NANOS: i64 = 1_000_000_000;

impl Writer {
    #[inline]
    fn uint(&mut self, mut v: u64) {
        if v < 0x80 {
            self.0.push(v as u8);
            return;
        }
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
    #[inline(always)]
    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    #[inline]
    fn secs_nanos(&mut self, secs: i64, nanos: u32) {
        let z = ((secs << 1) ^ (secs >> 63)) as u64;
        self.uint((z << 1) | u64::from(nanos != 0));
        if nanos != 0 {
            self.uint(u64::from(nanos));
        }
    }
    #[inline]
    fn ts(&mut self, t: Instant) {
        self.secs_nanos(t.timestamp(), t.timestamp_subsec_nanos());
    }
    fn opt_ts(&mut self, t: Option<Instant>) {
        match t {
            None => self.0.push(0),
            Some(t) => {
                self.0.push(1);
                self.ts(t);
            }
        }
    }
    /// `t - base` as signed seconds + a non-negative nanosecond part.
    #[inline]
    fn delta(&mut self, base: Instant, t: Instant) {
        let (bn, tn) = (
            i64::from(base.timestamp_subsec_nanos()),
            i64::from(t.timestamp_subsec_nanos()),
        );
        if bn < NANOS && tn < NANOS {
            // Plain integer arithmetic (no leap second involved).
            let (mut secs, mut nanos) = (t.timestamp() - base.timestamp(), tn - bn);
            if nanos < 0 {
                secs -= 1;
                nanos += NANOS;
            }
            return self.secs_nanos(secs, nanos as u32);
        }
        self.leap_delta(base, t);
    }
    /// [`Writer::delta`] when a leap second is involved: chrono's arithmetic.
    #[cold]
    fn leap_delta(&mut self, base: Instant, t: Instant) {
        let d = t.to_chrono() - base.to_chrono();
        let secs = d.num_seconds();
        let nanos = (d - chrono::Duration::seconds(secs))
            .num_nanoseconds()
            .unwrap_or(0);
        // Normalise to a non-negative nanosecond part.
        let (secs, nanos) = if nanos < 0 {
            (secs - 1, nanos + NANOS)
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

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, pos: 0 }
    }
    fn header(&mut self, tag: u8) -> Dec<u8> {
        let t = self.byte()?;
        if t != tag {
            return Err(Bad::Tag(tag, t));
        }
        let v = self.byte()?;
        if v == 0 || u32::from(v) > STATE_FORMAT_VERSION {
            return Err(Bad::Version(v));
        }
        Ok(v)
    }
    #[inline]
    fn byte(&mut self) -> Dec<u8> {
        match self.b.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(truncated()),
        }
    }
    #[inline]
    fn uint(&mut self) -> Dec<u64> {
        // Most numbers (lengths, counts, small deltas) take one byte.
        if let Some(&b) = self.b.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        self.uint_long()
    }
    fn uint_long(&mut self) -> Dec<u64> {
        let (b, mut pos) = (self.b, self.pos);
        let (mut v, mut shift) = (0u64, 0u32);
        loop {
            let Some(&byte) = b.get(pos) else {
                return Err(truncated());
            };
            pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                self.pos = pos;
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(Bad::Msg("corrupt journey state: varint too long"));
            }
        }
    }
    #[inline]
    fn u32(&mut self) -> Dec<u32> {
        u32::try_from(self.uint()?).map_err(|_| Bad::Msg("corrupt journey state: number too large"))
    }
    #[inline]
    fn len(&mut self) -> Dec<usize> {
        let n = self.uint()?;
        // A length can never exceed the remaining bytes (every item takes ≥ 1 byte).
        if n > (self.b.len() - self.pos) as u64 {
            return Err(Bad::Msg("corrupt journey state: length past the end"));
        }
        Ok(n as usize)
    }
    #[inline]
    fn str_ref(&mut self) -> Dec<&'a str> {
        text(self.raw()?)
    }
    /// The bytes of a length-prefixed string, not yet checked to be UTF-8.
    #[inline]
    fn raw(&mut self) -> Dec<&'a [u8]> {
        let n = self.len()?;
        let b: &'a [u8] = self.b;
        let bytes = &b[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }
    #[inline]
    fn secs_nanos(&mut self) -> Dec<(i64, u32)> {
        let v = self.uint()?;
        let z = v >> 1;
        let secs = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let nanos = if v & 1 != 0 { self.u32()? } else { 0 };
        if i64::from(nanos) >= NANOS {
            return Err(Bad::Msg("corrupt journey state: bad nanoseconds"));
        }
        Ok((secs, nanos))
    }
    /// A timestamp, checked to be within the range of [`Instant`].
    #[inline]
    fn ts(&mut self) -> Dec<Instant> {
        let (s, n) = self.secs_nanos()?;
        // `n` is below one second (checked), so only the range can fail.
        Instant::from_timestamp(s, n).ok_or(Bad::Msg("corrupt journey state: bad timestamp"))
    }
    fn opt_ts(&mut self) -> Dec<Option<Instant>> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(self.ts()?)),
            _ => Err(Bad::Msg("corrupt journey state: bad option tag")),
        }
    }
    /// `base` plus a delta (non-negative nanosecond part), checked.
    #[inline]
    fn delta(&mut self, base: Instant) -> Dec<Instant> {
        let (s, n) = self.secs_nanos()?;
        let bad = || Bad::Msg("corrupt journey state: bad time delta");
        // Both nanosecond parts are below one second (checked when read).
        let nanos = base.timestamp_subsec_nanos() + n;
        let carry = nanos >= NANOS as u32;
        let secs = base
            .timestamp()
            .checked_add(s)
            .and_then(|x| x.checked_add(i64::from(carry)))
            .ok_or_else(bad)?;
        Instant::from_timestamp(secs, if carry { nanos - NANOS as u32 } else { nanos })
            .ok_or_else(bad)
    }
    fn end(&self) -> Dec<()> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(Bad::Msg("corrupt journey state: trailing bytes"))
        }
    }
}

#[cold]
fn truncated() -> Bad {
    Bad::Msg("corrupt journey state: truncated")
}

/// Why a blob does not decode. Small and `Copy` so the reader's results stay
/// in registers (an [`Error`] is built only at the public boundary).
#[derive(Debug, Clone, Copy)]
enum Bad {
    /// The message.
    Msg(&'static str),
    /// Expected tag, found tag.
    Tag(u8, u8),
    /// An unsupported version byte.
    Version(u8),
}

type Dec<T> = std::result::Result<T, Bad>;

impl From<Bad> for Error {
    #[cold]
    fn from(b: Bad) -> Error {
        match b {
            Bad::Msg(m) => invalid(m),
            Bad::Tag(tag, t) => invalid(format!(
                "not a journey {} blob (tag {t:#04x})",
                if tag == b'J' { "instance" } else { "state" }
            )),
            Bad::Version(v) => invalid(format!(
                "unsupported journey state format {v} (this build reads 1..={STATE_FORMAT_VERSION})"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;
    use chrono::{DateTime, Utc};

    fn sample() -> Instance {
        let t = |s| Instant::from(parse_timestamp(s).unwrap());
        Instance {
            journey: "welcome".into(),
            version: 1,
            key: CompactString::default(),
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
        assert_eq!(sample().to_bytes(), bytes);
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
    fn sub_second_and_backward_deltas_round_trip() {
        let t = |s| Instant::from(parse_timestamp(s).unwrap());
        let mut i = sample();
        i.entered_at = t("2026-03-01T08:00:00.999999999Z");
        i.since = t("2026-03-01T07:59:59.000000001Z");
        i.due = Some(t("2027-01-01T00:00:00.5Z"));
        i.pending = Some("welcome#1/call/2".into());
        let b = i.to_bytes();
        assert_eq!(Instance::from_bytes(&b).unwrap(), i);
        let mut s = UserState::new();
        s.last_now = Some(t("1969-12-31T23:59:59.25Z"));
        s.instances.push(i);
        assert_eq!(UserState::from_bytes(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn read_bytes_reuses_a_scratch_state_and_keeps_it_on_error() {
        let mut big = UserState::new();
        for k in 0..3 {
            let mut i = sample();
            i.key = format!("order-{k}").into();
            i.pending = Some(format!("p{k}").into());
            big.instances.push(i);
            big.seen.push(format!("e{k}").into());
            big.sends.push(SendRecord {
                at: sample().since,
                channel: "sms".into(),
                effect: format!("x{k}").into(),
            });
        }
        big.journeys.push(JourneyRecord {
            journey: "welcome".into(),
            entries: 3,
            assignments: vec![("ab".into(), "a".into()), ("cd".into(), "b".into())],
            ..Default::default()
        });
        let mut small = UserState::new();
        small.instances.push(sample());
        small.journeys.push(JourneyRecord {
            journey: "welcome".into(),
            entries: 1,
            ..Default::default()
        });
        let mut scratch = UserState::new();
        for want in [&big, &small, &big, &UserState::new(), &small] {
            scratch.read_bytes(&want.to_bytes()).unwrap();
            assert_eq!(&scratch, want);
        }
        // A corrupt blob (cut anywhere) leaves the scratch as it was.
        let b = big.to_bytes();
        for cut in 0..b.len() {
            let e = scratch.read_bytes(&b[..cut]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidState);
            assert_eq!(&scratch, &small);
        }
        // Writing appends to the buffer given.
        let mut out = vec![9u8];
        big.write_bytes(&mut out);
        assert_eq!(out[0], 9);
        assert_eq!(&out[1..], &b[..]);
    }

    /// Timestamps are range-checked as integers (the check pass builds no
    /// `DateTime`): one past chrono's range, directly or through a delta, is
    /// `INVALID_STATE` from both readers, and the scratch state is kept.
    #[test]
    fn out_of_range_timestamps_are_rejected_by_both_readers() {
        let max = DateTime::<Utc>::MAX_UTC.timestamp();
        let blob = |last_now: i64, instance: Option<(i64, i64)>| {
            let mut w = Writer(vec![b'U', STATE_FORMAT_VERSION as u8]);
            w.0.push(1);
            w.secs_nanos(last_now, 0);
            w.uint(0); // seen
            w.uint(0); // journeys
            match instance {
                None => w.uint(0),
                Some((entered, since_delta)) => {
                    w.uint(1);
                    w.str("welcome");
                    w.uint(1);
                    w.str("");
                    w.uint(1);
                    w.secs_nanos(entered, 0);
                    w.str("wait_7d");
                    w.secs_nanos(since_delta, 0);
                    w.0.push(0); // flags
                    w.uint(1); // steps
                }
            }
            w.uint(0); // sends
            w.0
        };
        assert!(UserState::from_bytes(&blob(max, Some((max, 0)))).is_ok());
        let mut scratch = UserState::new();
        scratch.instances.push(sample());
        for bad in [
            blob(max + 1, None),
            blob(DateTime::<Utc>::MIN_UTC.timestamp() - 1, None),
            blob(0, Some((max, 1))),
            blob(0, Some((0, i64::MAX / 4))),
        ] {
            let e = UserState::from_bytes(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidState);
            let e = scratch.read_bytes(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidState);
            assert_eq!(scratch.instances, vec![sample()]);
        }
    }

    /// The one-pass reader of `from_bytes` and the check-then-fill reader of
    /// `read_bytes` agree on every blob: whole, cut anywhere, or with any
    /// byte changed.
    #[test]
    fn both_readers_agree_on_every_blob() {
        let mut big = UserState::new();
        big.last_now = Some(sample().due.unwrap());
        for k in 0..2 {
            let mut i = sample();
            i.key = format!("order-{k}").into();
            i.pending = (k == 1).then(|| "welcome#1#order-1/call/2".into());
            big.instances.push(i);
            big.seen.push(format!("e{k}").into());
            big.sends.push(SendRecord {
                at: sample().since,
                channel: "wechat".into(),
                effect: format!("welcome#{k}#order-{k}/hello/2").into(),
            });
        }
        big.journeys.push(JourneyRecord {
            journey: "welcome".into(),
            entries: 2,
            last_entry: Some(sample().since),
            in_segment: true,
            last_date: Some(sample().entered_at),
            assignments: vec![("ab".into(), "a".into())],
        });
        let b = big.to_bytes();
        let mut blobs = vec![b.clone()];
        for cut in 0..b.len() {
            blobs.push(b[..cut].to_vec());
        }
        for at in 0..b.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xc3, 0xff] {
                let mut x = b.clone();
                x[at] = v;
                blobs.push(x);
            }
        }
        for blob in &blobs {
            let one = UserState::from_bytes(blob);
            let mut scratch = big.clone();
            let two = scratch.read_bytes(blob).map(|_| scratch);
            match (one, two) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
                (a, b) => panic!("readers disagree on {blob:?}: {a:?} vs {b:?}"),
            }
        }
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
