//! The compact form in which `journey_step_state` hands a step's
//! effects and notices to the JS layer (ADR 0015), instead of JSON text.
//!
//! Strings that come from journey definitions (journey and node ids, channels,
//! templates, purposes, assignees, tags, notice types and reasons) are
//! numbered once per engine in a [`StringTable`]; the JS engine keeps the same
//! list and receives each new entry once. Per call only the dynamic strings
//! (effect ids, keys, instants, notice details) travel as text, all of them in
//! one run of bytes the JS side decodes with one call and slices. Records are
//! `i32` words (native byte order: JS reads them through an `Int32Array`).
//!
//! A string reference is `-1` (absent), `2 * i` (entry `i` of the table) or
//! `2 * k + 1` (dynamic string `k` of this call). Records, in order:
//! * send_message: `[0, id, journey, node, key, at, channel, template, purpose]`
//! * create_task: `[1, id, journey, node, key, at, assignee, template]`
//! * update_tags: `[2, id, journey, node, key, at, adds, removes, tag...]`
//! * anything else: `[3, json]` (the effect's JSON text as a dynamic string)
//! * notices: `[type, journey, key, node, at, reason, detail, until]`
//!
//! `index.js` (`readStep`) is the reader; `test/wire.test.mjs` checks that it
//! rebuilds exactly the objects the JSON path gives.

use siyu_core::journey::{Action, Effect, Instant, Notice, NoticeKind};
use siyu_core::{Error, ErrorKind, Result};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};

/// Entries a table may hold; strings beyond it travel as dynamic text (a
/// guard only: definitions hold far fewer distinct strings).
const TABLE_LIMIT: usize = 1 << 16;

/// A word-at-a-time multiplicative hash (as rustc's `FxHasher`): the table's
/// keys are short definition strings looked up for every effect; SipHash's
/// flooding resistance buys nothing for them and costs several times more.
#[derive(Default)]
struct WordHash(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WordHash {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        let mut word = [0u8; 8];
        for c in &mut chunks {
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
}

/// The strings of one engine's definitions, numbered in order of first use;
/// the JS engine holds the same list.
pub(crate) struct StringTable {
    index: HashMap<Box<str>, i32, BuildHasherDefault<WordHash>>,
    list: Vec<Box<str>>,
    /// The reference of each notice kind's name (by discriminant; -1: not yet).
    kinds: Vec<i32>,
    /// The last entry used in each field (journey, node, channel …): most
    /// effects repeat them, and a comparison is cheaper than hashing.
    recent: [i32; FIELDS],
}

/// Fields with a [`StringTable::recent`] entry.
const FIELDS: usize = 8;
const JOURNEY: usize = 0;
const NODE: usize = 1;
const CHANNEL: usize = 2;
const TEMPLATE: usize = 3;
const PURPOSE: usize = 4;
const ASSIGNEE: usize = 5;
const TAG: usize = 6;
const REASON: usize = 7;

impl Default for StringTable {
    fn default() -> Self {
        StringTable {
            index: HashMap::default(),
            list: Vec::new(),
            kinds: Vec::new(),
            recent: [-1; FIELDS],
        }
    }
}

impl StringTable {
    /// The number of `s` as a value of `field`, adding it if new (`None`: the
    /// table is full).
    fn number(&mut self, field: usize, s: &str) -> Option<i32> {
        let last = self.recent[field];
        if last >= 0 && *self.list[last as usize] == *s {
            return Some(last);
        }
        if let Some(&i) = self.index.get(s) {
            self.recent[field] = i;
            return Some(i);
        }
        if self.list.len() >= TABLE_LIMIT {
            return None;
        }
        let i = self.list.len() as i32;
        self.list.push(s.into());
        self.index.insert(s.into(), i);
        self.recent[field] = i;
        Some(i)
    }
}

/// Scratch vectors of one stepper, reused across calls.
#[derive(Default)]
pub(crate) struct Scratch {
    words: Vec<i32>,
    /// Start of each dynamic string in UTF-16 units, plus the end.
    offsets: Vec<i32>,
    text: Vec<u8>,
}

/// Header words; the records follow. Word 0: state length in bytes; 1:
/// effects; 2: notices; 3: flags (bit 0: the dynamic text is not ASCII, decode
/// it as UTF-8); 4–5: next wake-up in ms (f64, native byte order; NaN: none); 6: word index of
/// the first record; 7: word index of the dynamic strings' offsets (count + 1
/// of them, in UTF-16 units from the start of the text, which follows them);
/// 8: number of dynamic strings; 9: the first of them that is a new table
/// entry; 10: how many are; 11: length of the text in bytes; 12: byte offset
/// of the state in the JS buffer (written apart from the records).
pub(crate) const HEADER_WORDS: usize = 13;

/// Writes a step's header, records, dynamic-string offsets and text into
/// `out`, which holds [`HEADER_WORDS`] reserved words; the state (`state_len`
/// bytes) goes to byte `state_at` of the JS buffer. `known` is the number of
/// table entries the JS side holds; the ones after it go out as the last
/// dynamic strings. The one place that reads the fields of [`Effect`] and
/// [`Notice`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_step(
    out: &mut Vec<u8>,
    state_len: usize,
    state_at: usize,
    wake_ms: f64,
    effects: &[Effect],
    notices: &[Notice],
    table: &mut StringTable,
    known: usize,
    scratch: &mut Scratch,
) -> Result<()> {
    if known > table.list.len() {
        return Err(Error::new(
            ErrorKind::Internal,
            "the JS string table is longer than the engine's",
        ));
    }
    scratch.words.clear();
    scratch.offsets.clear();
    scratch.offsets.push(0);
    scratch.text.clear();
    let mut w = Writer {
        table,
        words: &mut scratch.words,
        dynamic: Dynamic {
            offsets: &mut scratch.offsets,
            text: &mut scratch.text,
            units: 0,
            ascii: true,
        },
        last_at: None,
    };
    for e in effects {
        w.effect(e)?;
    }
    for n in notices {
        w.notice(n)?;
    }
    let first_new = w.dynamic.offsets.len() - 1;
    for s in &w.table.list[known..] {
        w.dynamic.push(s);
    }
    let added = w.table.list.len() - known;
    let (ascii, units) = (w.dynamic.ascii, w.dynamic.units);
    let count = scratch.offsets.len() - 1;
    let records_at = out.len() / 4;
    let offsets_at = records_at + scratch.words.len();
    let too_large = || Error::new(ErrorKind::Internal, "step result too large");
    if units > i32::MAX as usize
        || offsets_at + count + 1 + scratch.text.len() / 4 > i32::MAX as usize
    {
        return Err(too_large());
    }
    for v in scratch.words.iter().chain(scratch.offsets.iter()) {
        out.extend_from_slice(&v.to_ne_bytes());
    }
    out.extend_from_slice(&scratch.text);
    let header: [usize; HEADER_WORDS] = [
        state_len,
        effects.len(),
        notices.len(),
        usize::from(!ascii),
        0,
        0,
        records_at,
        offsets_at,
        count,
        first_new,
        added,
        scratch.text.len(),
        state_at,
    ];
    for (i, v) in header.into_iter().enumerate() {
        let v = i32::try_from(v).map_err(|_| too_large())?;
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_ne_bytes());
    }
    out[16..24].copy_from_slice(&wake_ms.to_ne_bytes());
    Ok(())
}

/// The dynamic strings of one call.
struct Dynamic<'a> {
    offsets: &'a mut Vec<i32>,
    text: &'a mut Vec<u8>,
    /// Length of the text so far in UTF-16 units (JS string indices).
    units: usize,
    ascii: bool,
}

impl Dynamic<'_> {
    /// Appends `s`; its reference.
    fn push(&mut self, s: &str) -> i32 {
        self.append(s);
        self.end()
    }

    /// Appends `s` to the string being written.
    fn append(&mut self, s: &str) {
        self.text.extend_from_slice(s.as_bytes());
        self.units += if s.is_ascii() {
            s.len()
        } else {
            self.ascii = false;
            s.encode_utf16().count()
        };
    }

    /// Ends the string being written (what was appended since the last
    /// end); its reference.
    fn end(&mut self) -> i32 {
        // Wraps only beyond 2^31 units, which `write_step` then refuses.
        self.offsets.push(self.units as i32);
        (((self.offsets.len() - 2) as i32) << 1) | 1
    }
}

/// Lets core write text (effect ids, instants) straight into the dynamic
/// strings, without an intermediate `String`.
impl std::fmt::Write for Dynamic<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.append(s);
        Ok(())
    }
}

struct Writer<'a> {
    table: &'a mut StringTable,
    words: &'a mut Vec<i32>,
    dynamic: Dynamic<'a>,
    /// The last instant written and its reference (effects and notices of
    /// one step mostly share their instants).
    last_at: Option<(Instant, i32)>,
}

impl Writer<'_> {
    /// A definition string (a value of `field`): its table entry (dynamic
    /// once the table is full).
    fn defined(&mut self, field: usize, s: &str) -> i32 {
        match self.table.number(field, s) {
            Some(i) => i << 1,
            None => self.dynamic.push(s),
        }
    }

    /// A definition string that is absent when empty.
    fn defined_or_absent(&mut self, field: usize, s: &str) -> i32 {
        if s.is_empty() {
            -1
        } else {
            self.defined(field, s)
        }
    }

    /// A dynamic string that is absent when empty.
    fn dynamic_or_absent(&mut self, s: &str) -> i32 {
        if s.is_empty() {
            -1
        } else {
            self.dynamic.push(s)
        }
    }

    /// An instant as its canonical text (as the JSON form writes it).
    fn at(&mut self, t: impl Into<Instant>) -> i32 {
        let t = t.into();
        if let Some((last, r)) = self.last_at {
            if last == t {
                return r;
            }
        }
        // Writing to the dynamic text cannot fail.
        let _ = write!(self.dynamic, "{t}");
        let r = self.dynamic.end();
        self.last_at = Some((t, r));
        r
    }

    fn effect(&mut self, e: &Effect) -> Result<()> {
        let kind = match &e.action {
            Action::SendMessage { .. } => 0,
            Action::CreateTask { .. } => 1,
            Action::UpdateTags { .. } => 2,
            Action::SetTraits { .. } | Action::CallHost { .. } => {
                let json = serde_json::to_string(e)
                    .map_err(|x| Error::new(ErrorKind::Internal, x.to_string()))?;
                let r = self.dynamic.push(&json);
                self.words.extend_from_slice(&[3, r]);
                return Ok(());
            }
        };
        let head = [
            kind,
            {
                // Writing to the dynamic text cannot fail.
                let _ = e.write_id(&mut self.dynamic);
                self.dynamic.end()
            },
            self.defined(JOURNEY, &e.journey),
            self.defined(NODE, &e.node),
            self.dynamic_or_absent(&e.key),
            self.at(e.at),
        ];
        self.words.extend_from_slice(&head);
        match &e.action {
            Action::SendMessage {
                channel,
                template,
                purpose,
            } => {
                let tail = [
                    self.defined(CHANNEL, channel),
                    self.defined(TEMPLATE, template),
                    self.defined(PURPOSE, purpose),
                ];
                self.words.extend_from_slice(&tail);
            }
            Action::CreateTask { assignee, template } => {
                let tail = [
                    self.defined(ASSIGNEE, assignee),
                    self.defined(TEMPLATE, template),
                ];
                self.words.extend_from_slice(&tail);
            }
            Action::UpdateTags { add, remove } => {
                self.words.push(add.len() as i32);
                self.words.push(remove.len() as i32);
                for tag in add.iter().chain(remove) {
                    let r = self.defined(TAG, tag);
                    self.words.push(r);
                }
            }
            Action::SetTraits { .. } | Action::CallHost { .. } => {}
        }
        Ok(())
    }

    fn notice(&mut self, n: &Notice) -> Result<()> {
        let record = [
            self.notice_type(n.kind)?,
            self.defined_or_absent(JOURNEY, &n.journey),
            self.dynamic_or_absent(&n.key),
            n.node.as_deref().map_or(-1, |s| self.defined(NODE, s)),
            self.at(n.at),
            n.reason.as_deref().map_or(-1, |s| self.defined(REASON, s)),
            n.detail.as_deref().map_or(-1, |s| self.dynamic.push(s)),
            n.until.map_or(-1, |t| self.at(t)),
        ];
        self.words.extend_from_slice(&record);
        Ok(())
    }

    /// The name of a notice kind, taken from its JSON form once per engine.
    fn notice_type(&mut self, k: NoticeKind) -> Result<i32> {
        let i = k as usize;
        if let Some(&r) = self.table.kinds.get(i).filter(|r| **r >= 0) {
            return Ok(r);
        }
        let name = match serde_json::to_value(k) {
            Ok(serde_json::Value::String(s)) => s,
            _ => {
                return Err(Error::new(
                    ErrorKind::Internal,
                    "a notice kind is not a string",
                ))
            }
        };
        let r = self.defined(REASON, &name);
        if r & 1 == 0 {
            if self.table.kinds.len() <= i {
                self.table.kinds.resize(i + 1, -1);
            }
            self.table.kinds[i] = r;
        }
        Ok(r)
    }
}
