//! Borrowed columnar input: many users' traits and events as typed slices
//! (Arrow's memory layout, without depending on Arrow), so bulk callers never build
//! [`Profile`](crate::Profile)s or [`Event`](crate::Event)s.
//!
//! * [`Column`]: one typed column (integers, floats, booleans, UTF-8 or
//!   dictionary strings, timestamps in µs, dates in days, string lists) with an
//!   optional validity bitmap; a null is a missing value.
//! * [`ProfileColumns`]: one row per user (trait columns, optional zones).
//! * [`EventColumns`]: one row per event in any order (µs timestamps, name codes
//!   into a small name table, optional ids, property columns).
//! * [`UserEvents`]: the events grouped per user in time order and de-duplicated
//!   by id exactly as [`EventLog::new`](crate::EventLog::new) does (first
//!   occurrence kept), built once by [`EventColumns::group`] (or
//!   [`EventColumns::group_threaded`], the same result on several threads).
//!
//! [`CompiledRuleSet::evaluate_columns`](crate::CompiledRuleSet::evaluate_columns)
//! evaluates rules over them with the same evaluator as the row path (ADR 0006).

use crate::error::{suggest, Error, ErrorKind, Result};
use crate::profile::Tag;
use crate::rules::eval::Val;
use crate::schema::Schema;
use crate::value::ValueType;
use crate::zone::Zone;
use chrono::{DateTime, NaiveDate, Utc};
use std::borrow::Cow;
use std::collections::HashSet;

/// A bit-packed bitmap (least significant bit first, as Arrow), with a bit offset.
#[derive(Debug, Clone, Copy)]
pub struct Bitmap<'a> {
    bytes: &'a [u8],
    offset: usize,
    len: usize,
}

impl<'a> Bitmap<'a> {
    /// `len` bits starting at bit `offset` of `bytes`.
    pub fn new(bytes: &'a [u8], offset: usize, len: usize) -> Result<Bitmap<'a>> {
        let bits = offset.checked_add(len);
        if bits.is_none_or(|b| b.div_ceil(8) > bytes.len()) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "a bitmap of {len} bits at offset {offset} needs more than {} bytes",
                    bytes.len()
                ),
            ));
        }
        Ok(Bitmap { bytes, offset, len })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the bitmap has no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bits `i..i + 64` as a word, bit `k` = bit `i + k` (0 outside the bitmap).
    #[inline]
    pub fn word(&self, i: usize) -> u64 {
        if i >= self.len {
            return 0;
        }
        let j = self.offset + i;
        let (byte, shift) = (j >> 3, j & 7);
        let mut buf = [0u8; 16];
        let src = self.bytes.get(byte..).unwrap_or(&[]);
        let n = src.len().min(9);
        buf[..n].copy_from_slice(&src[..n]);
        let lo = u64::from_le_bytes(buf[..8].try_into().unwrap_or([0; 8]));
        let w = (lo >> shift) | (u64::from(buf[8]) << (63 - shift) << 1);
        let left = self.len - i;
        if left >= 64 {
            w
        } else {
            w & ((1u64 << left) - 1)
        }
    }

    /// Bit `i` (false outside the bitmap).
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        if i >= self.len {
            return false;
        }
        let j = self.offset + i;
        self.bytes
            .get(j >> 3)
            .is_some_and(|b| (b >> (j & 7)) & 1 == 1)
    }
}

/// The values of a column.
#[derive(Debug, Clone)]
pub enum ColumnData<'a> {
    /// Booleans, bit-packed.
    Boolean(Bitmap<'a>),
    /// 64-bit integers.
    Integer(&'a [i64]),
    /// 64-bit floats (a non-finite value is an error when read).
    Float(&'a [f64]),
    /// UTF-8 strings in Arrow's layout: `offsets[i]..offsets[i + 1]` into `data`.
    Utf8 {
        /// `len + 1` offsets.
        offsets: &'a [i32],
        /// The string bytes.
        data: &'a [u8],
    },
    /// Dictionary-encoded strings: `values[keys[i]]` (a `None` value is null).
    Dictionary {
        /// One key per row.
        keys: &'a [i32],
        /// The dictionary.
        values: Vec<Option<&'a str>>,
    },
    /// Instants as microseconds since the Unix epoch (UTC).
    TimestampMicros(&'a [i64]),
    /// Dates as days since 1970-01-01.
    Date32(&'a [i32]),
    /// Lists of strings.
    StringList(&'a [Vec<String>]),
}

impl ColumnData<'_> {
    fn len(&self) -> usize {
        match self {
            ColumnData::Boolean(b) => b.len(),
            ColumnData::Integer(v) | ColumnData::TimestampMicros(v) => v.len(),
            ColumnData::Float(v) => v.len(),
            ColumnData::Utf8 { offsets, .. } => offsets.len().saturating_sub(1),
            ColumnData::Dictionary { keys, .. } => keys.len(),
            ColumnData::Date32(v) => v.len(),
            ColumnData::StringList(v) => v.len(),
        }
    }

    /// The core type of the values.
    pub fn value_type(&self) -> ValueType {
        match self {
            ColumnData::Boolean(_) => ValueType::Boolean,
            ColumnData::Integer(_) => ValueType::Integer,
            ColumnData::Float(_) => ValueType::Float,
            ColumnData::Utf8 { .. } | ColumnData::Dictionary { .. } => ValueType::String,
            ColumnData::TimestampMicros(_) => ValueType::Timestamp,
            ColumnData::Date32(_) => ValueType::Date,
            ColumnData::StringList(_) => ValueType::StringList,
        }
    }
}

/// One typed column with optional validity (`false` = null = missing).
#[derive(Debug, Clone)]
pub struct Column<'a> {
    data: ColumnData<'a>,
    validity: Option<Bitmap<'a>>,
}

/// The timestamp of `us` microseconds since the epoch, if representable.
pub fn micros_to_utc(us: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(us)
}

/// The representable instants in microseconds since the epoch (hoist it out of
/// loops: checking a whole column is then an integer range test per value).
pub fn micros_range() -> std::ops::RangeInclusive<i64> {
    DateTime::<Utc>::MIN_UTC.timestamp_micros()..=DateTime::<Utc>::MAX_UTC.timestamp_micros()
}

/// The representable dates as days since 1970-01-01 (the domain of
/// `Date32` values; hoist it out of loops like [`micros_range`]).
pub fn days_range() -> std::ops::RangeInclusive<i64> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (NaiveDate::MIN - epoch).num_days()..=(NaiveDate::MAX - epoch).num_days()
}

/// Whether every timestamp of `ts` is in [`micros_range`]. Branch-free over a
/// conservative range first (±2^62 µs, about ±146,000 years, inside it), which
/// vectorizes; only a batch with a value outside that is compared exactly.
pub(crate) fn micros_clean(ts: &[i64]) -> bool {
    const HALF: u64 = 1 << 62;
    if ts
        .iter()
        .fold(0u64, |acc, &t| acc | (t as u64).wrapping_add(HALF))
        >> 63
        == 0
    {
        return true;
    }
    let (lo, hi) = (*micros_range().start(), *micros_range().end());
    ts.iter().all(|&t| (lo..=hi).contains(&t))
}

/// Whether every day of `days` is in [`days_range`]: as [`micros_clean`],
/// through ±2^26 days (about ±183,000 years) first.
pub(crate) fn days_clean(days: &[i32]) -> bool {
    const HALF: u32 = 1 << 26;
    if days
        .iter()
        .fold(0u32, |acc, &d| acc | (d as u32).wrapping_add(HALF))
        >> 27
        == 0
    {
        return true;
    }
    let (lo, hi) = (*days_range().start(), *days_range().end());
    days.iter().all(|&d| (lo..=hi).contains(&i64::from(d)))
}

/// Whether every code of `codes` is in `0..n` (branch-free, so it vectorizes).
fn codes_below(codes: &[i32], n: usize) -> bool {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    codes
        .iter()
        .fold(0u32, |bad, &c| bad | u32::from(c as u32 >= n))
        == 0
}

/// For up to 64 rows of name codes (all below `masks.len()`): word `j` has bit
/// `k` set when bit `j` of `masks[codes[k]]` is. Eight rows at a time: their
/// mask bytes in one word, each bit plane gathered to a byte by one multiply.
fn mask_planes(masks: &[u8], codes: &[i32]) -> [u64; 4] {
    // Bit 0 of byte `b` lands on bit 56 + b.
    const LOW: u64 = 0x0101_0101_0101_0101;
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut w = [0u64; 4];
    for (i, eight) in codes.chunks(8).enumerate() {
        let mut bytes = [0u8; 8];
        for (b, &c) in bytes.iter_mut().zip(eight) {
            *b = masks[c as usize];
        }
        let x = u64::from_le_bytes(bytes);
        for (j, w) in w.iter_mut().enumerate() {
            *w |= (((x >> j) & LOW).wrapping_mul(GATHER) >> 56) << (8 * i);
        }
    }
    w
}

fn days_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::days(days.into()))
}

/// A column's validity read without a branch (an absent bitmap reads as one
/// byte of ones at every row).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValidBits<'a> {
    bytes: &'a [u8],
    offset: usize,
    /// `usize::MAX` for a bitmap, 0 for none (every row reads byte 0).
    mask: usize,
}

impl ValidBits<'static> {
    /// Every row valid.
    pub(crate) fn all() -> ValidBits<'static> {
        ValidBits {
            bytes: &[0xFF],
            offset: 0,
            mask: 0,
        }
    }
}

impl ValidBits<'_> {
    /// Whether row `i` (below the column's length) holds a value.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> bool {
        let j = self.offset + i;
        (self.bytes[(j >> 3) & self.mask] >> (j & 7)) & 1 != 0
    }
}

impl<'a> Column<'a> {
    /// Its validity for branch-free reads ([`ValidBits`]).
    pub(crate) fn valid_bits(&self) -> ValidBits<'a> {
        match &self.validity {
            Some(v) => ValidBits {
                bytes: v.bytes,
                offset: v.offset,
                mask: usize::MAX,
            },
            None => ValidBits::all(),
        }
    }

    /// A column; the validity bitmap (if any) must have one bit per value.
    pub fn new(data: ColumnData<'a>, validity: Option<Bitmap<'a>>) -> Result<Column<'a>> {
        let len = data.len();
        if let Some(v) = &validity {
            if v.len() != len {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "a column of {len} values has a validity bitmap of {} bits",
                        v.len()
                    ),
                ));
            }
        }
        Ok(Column { data, validity })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The core type of the values.
    pub fn value_type(&self) -> ValueType {
        self.data.value_type()
    }

    /// The values (the vector kernel reads them a block at a time).
    pub(crate) fn data(&self) -> &ColumnData<'a> {
        &self.data
    }

    /// The validity bitmap, if any.
    pub(crate) fn validity(&self) -> Option<&Bitmap<'a>> {
        self.validity.as_ref()
    }

    /// Whether rows `i..i + 64` hold a value, as a word (bit `k`: row `i + k`;
    /// 0 past the end).
    #[inline]
    pub(crate) fn valid_word(&self, i: usize) -> u64 {
        match &self.validity {
            Some(v) => v.word(i),
            None if i >= self.len() => 0,
            None if self.len() - i >= 64 => u64::MAX,
            None => (1u64 << (self.len() - i)) - 1,
        }
    }

    /// Whether row `i` holds a value.
    #[inline]
    pub fn is_valid(&self, i: usize) -> bool {
        i < self.len() && self.validity.as_ref().is_none_or(|v| v.get(i))
    }

    /// Whether the valid values of `rows` are well formed (finite floats,
    /// timestamps and dates in range); other types are not looked at.
    fn values_clean(&self, rows: std::ops::Range<usize>) -> bool {
        let all_valid = |rows: std::ops::Range<usize>, ok: &dyn Fn(usize) -> bool| {
            rows.into_iter().all(|i| ok(i) || !self.is_valid(i))
        };
        match &self.data {
            ColumnData::Float(v) => {
                let fine = v[rows.clone()].iter().fold(true, |a, f| a & f.is_finite());
                fine || all_valid(rows, &|i| v[i].is_finite())
            }
            ColumnData::TimestampMicros(v) => {
                micros_clean(&v[rows.clone()]) || {
                    let r = micros_range();
                    all_valid(rows, &|i| r.contains(&v[i]))
                }
            }
            ColumnData::Date32(v) => {
                days_clean(&v[rows.clone()]) || {
                    let r = days_range();
                    all_valid(rows, &|i| r.contains(&i64::from(v[i])))
                }
            }
            _ => true,
        }
    }

    /// Row `i` as an evaluator value (`Missing` for null); a malformed value (bad
    /// UTF-8, out-of-range key or instant, non-finite float) is an error message.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> std::result::Result<Val<'a>, String> {
        if !self.is_valid(i) {
            return Ok(Val::Missing);
        }
        Ok(match &self.data {
            ColumnData::Boolean(b) => Val::Bool(b.get(i)),
            ColumnData::Integer(v) => Val::Int(v[i]),
            ColumnData::Float(v) => {
                let f = v[i];
                if !f.is_finite() {
                    return Err(format!("{f} is not a finite number"));
                }
                Val::Float(f)
            }
            ColumnData::Utf8 { offsets, data } => {
                let (s, e) = (offsets[i], offsets[i + 1]);
                let bytes = usize::try_from(s)
                    .ok()
                    .zip(usize::try_from(e).ok())
                    .and_then(|(s, e)| data.get(s..e))
                    .ok_or("string offsets out of range")?;
                Val::Str(Cow::Borrowed(
                    std::str::from_utf8(bytes).map_err(|_| "a string is not valid UTF-8")?,
                ))
            }
            ColumnData::Dictionary { keys, values } => {
                match usize::try_from(keys[i]).ok().and_then(|k| values.get(k)) {
                    Some(Some(s)) => Val::Str(Cow::Borrowed(s)),
                    Some(None) => Val::Missing,
                    None => return Err(format!("dictionary key {} out of range", keys[i])),
                }
            }
            ColumnData::TimestampMicros(v) => {
                Val::Ts(micros_to_utc(v[i]).ok_or("timestamp out of range")?)
            }
            ColumnData::Date32(v) => Val::Date(days_to_date(v[i]).ok_or("date out of range")?),
            ColumnData::StringList(v) => Val::List(&v[i]),
        })
    }

    /// Row `i` as text for de-duplication keys (strings as they are, integers in
    /// decimal); `None` for null.
    fn key(&self, i: usize) -> std::result::Result<Option<Cow<'a, str>>, String> {
        Ok(match self.get(i)? {
            Val::Missing => None,
            Val::Str(s) => Some(s),
            Val::Int(n) => Some(Cow::Owned(n.to_string())),
            _ => return Err("event ids must be strings or integers".into()),
        })
    }
}

/// One row per user: trait columns and optional per-user zones.
#[derive(Debug, Clone)]
pub struct ProfileColumns<'a> {
    len: usize,
    traits: Vec<(String, Column<'a>)>,
    zones: Option<Vec<Option<Zone>>>,
    tags: Option<&'a [Vec<Tag>]>,
}

impl<'a> ProfileColumns<'a> {
    /// `len` users with no traits.
    pub fn new(len: usize) -> ProfileColumns<'a> {
        ProfileColumns {
            len,
            traits: Vec::new(),
            zones: None,
            tags: None,
        }
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds the column of trait `name` (one value per user).
    pub fn with_trait(mut self, name: impl Into<String>, column: Column<'a>) -> Result<Self> {
        let name = name.into();
        if column.len() != self.len {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "trait column `{name}` has {} rows for {} users",
                    column.len(),
                    self.len
                ),
            )
            .with_path(format!("traits.{name}")));
        }
        if self.traits.iter().any(|(n, _)| *n == name) {
            return Err(Error::new(
                ErrorKind::DuplicateName,
                format!("trait `{name}` is given twice"),
            )
            .with_path(format!("traits.{name}")));
        }
        self.traits.push((name, column));
        Ok(self)
    }

    /// Sets each user's zone (`None`: the evaluation default).
    pub fn with_zones(mut self, zones: Vec<Option<Zone>>) -> Result<Self> {
        if zones.len() != self.len {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{} zones for {} users", zones.len(), self.len),
            ));
        }
        self.zones = Some(zones);
        Ok(self)
    }

    /// Sets each user's current tags (read by `has_tag` and `has_tag_in_group`,
    /// and the base of bulk tag diffs); without them every user has no tags.
    pub fn with_tags(mut self, tags: &'a [Vec<Tag>]) -> Result<Self> {
        if tags.len() != self.len {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{} tag lists for {} users", tags.len(), self.len),
            ));
        }
        self.tags = Some(tags);
        Ok(self)
    }

    /// User `user`'s current tags (none unless given by [`ProfileColumns::with_tags`]).
    pub fn tags(&self, user: usize) -> &'a [Tag] {
        self.tags
            .and_then(|t| t.get(user))
            .map_or(&[], Vec::as_slice)
    }

    pub(crate) fn trait_column(&self, name: &str) -> Option<&Column<'a>> {
        self.traits.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// Whether any user has a zone of their own.
    pub(crate) fn has_zones(&self) -> bool {
        self.zones
            .as_ref()
            .is_some_and(|z| z.iter().any(Option::is_some))
    }

    pub(crate) fn zone(&self, user: usize) -> Option<Zone> {
        self.zones
            .as_ref()
            .and_then(|z| z.get(user).copied().flatten())
    }

    /// Checks every trait column against the schema as
    /// [`Profile::validate`](crate::Profile::validate) checks a profile's traits:
    /// the trait is declared and the column's type fits (integers fit floats).
    pub fn validate(&self, schema: &Schema) -> Result<()> {
        for (name, col) in &self.traits {
            let def = schema.traits.get(name).ok_or_else(|| {
                let e = Error::new(ErrorKind::InvalidProfile, format!("unknown trait `{name}`"))
                    .with_path(format!("traits.{name}"));
                match suggest(name, schema.traits.keys().map(String::as_str)) {
                    Some(s) => e.with_suggestion(s),
                    None => e,
                }
            })?;
            let ty = col.value_type();
            if !(ty == def.ty || (def.ty == ValueType::Float && ty == ValueType::Integer)) {
                return Err(Error::new(
                    ErrorKind::InvalidProfile,
                    format!("trait `{name}` is declared {} but has {ty} values", def.ty),
                )
                .with_path(format!("traits.{name}")));
            }
        }
        Ok(())
    }
}

/// One row per event, in any order.
#[derive(Debug, Clone)]
pub struct EventColumns<'a> {
    timestamps: &'a [i64],
    names: &'a [i32],
    name_table: Vec<String>,
    ids: Option<Column<'a>>,
    properties: Vec<(String, Column<'a>)>,
    /// Set once [`EventColumns::rows_clean`] found every row clean (so later
    /// row checks without a schema need no second pass).
    clean: std::sync::OnceLock<()>,
}

fn invalid_event(row: usize, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidEvent, format!("event row {row}: {msg}"))
        .with_path(format!("events[{row}]"))
}

impl<'a> EventColumns<'a> {
    /// Events with timestamps (µs since the epoch, UTC) and names given as codes
    /// into `name_table`; a code outside the table is an error.
    pub fn new(
        timestamps: &'a [i64],
        names: &'a [i32],
        name_table: Vec<String>,
    ) -> Result<EventColumns<'a>> {
        if timestamps.len() != names.len() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "{} timestamps for {} event names",
                    timestamps.len(),
                    names.len()
                ),
            ));
        }
        Ok(EventColumns {
            timestamps,
            names,
            name_table,
            ids: None,
            properties: Vec::new(),
            clean: std::sync::OnceLock::new(),
        })
    }

    /// No events.
    pub fn empty() -> EventColumns<'static> {
        EventColumns {
            timestamps: &[],
            names: &[],
            name_table: Vec::new(),
            ids: None,
            properties: Vec::new(),
            clean: std::sync::OnceLock::new(),
        }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    fn check_len(&self, what: &str, column: &Column<'_>) -> Result<()> {
        if column.len() == self.len() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "{what} column has {} rows for {} events",
                    column.len(),
                    self.len()
                ),
            ))
        }
    }

    /// Adds event ids (strings or integers): events of one user with equal ids are
    /// one event (the first row is kept). Without ids every row is its own event.
    pub fn with_ids(mut self, ids: Column<'a>) -> Result<Self> {
        self.check_len("the id", &ids)?;
        self.ids = Some(ids);
        self.clean = std::sync::OnceLock::new();
        Ok(self)
    }

    /// Adds the column of property `name` (null where an event lacks it).
    pub fn with_property(mut self, name: impl Into<String>, column: Column<'a>) -> Result<Self> {
        let name = name.into();
        self.check_len(&format!("property `{name}`"), &column)?;
        if self.properties.iter().any(|(n, _)| *n == name) {
            return Err(Error::new(
                ErrorKind::DuplicateName,
                format!("property `{name}` is given twice"),
            ));
        }
        self.properties.push((name, column));
        self.clean = std::sync::OnceLock::new();
        Ok(self)
    }

    pub(crate) fn name_code(&self, name: &str) -> Option<i32> {
        self.name_table
            .iter()
            .position(|n| n == name)
            .and_then(|i| i32::try_from(i).ok())
    }

    pub(crate) fn property_index(&self, name: &str) -> Option<usize> {
        self.properties.iter().position(|(n, _)| n == name)
    }

    pub(crate) fn property(&self, i: usize) -> &Column<'a> {
        &self.properties[i].1
    }

    /// Checks the events against the schema as reading them as core events would:
    /// every name is a declared event (reported for the first row using it), every
    /// property column's type fits its declaration in each event declaring it, and
    /// a property holds values only on events that declare it.
    pub fn validate(&self, schema: &Schema) -> Result<()> {
        self.validate_rows(schema, |_| true)
    }

    /// As [`EventColumns::validate`], for the rows where `keep(row)` is true only
    /// (e.g. the rows that belong to a known user).
    pub fn validate_rows(&self, schema: &Schema, keep: impl Fn(usize) -> bool) -> Result<()> {
        let all = 0..self.len();
        let used = self.used_codes(&keep, all.clone())?;
        let undeclared = self.undeclared(schema, &used)?;
        for (j, u) in undeclared.iter().enumerate() {
            if let Some(u) = u {
                self.check_undeclared(schema, j, u, &keep, all.clone())?;
            }
        }
        Ok(())
    }

    /// As [`EventColumns::validate_rows`] on up to `threads` scoped threads over
    /// contiguous row ranges; the error (if any) is the one the sequential check
    /// reports.
    pub fn validate_rows_threaded(
        &self,
        schema: &Schema,
        keep: impl Fn(usize) -> bool + Sync,
        threads: usize,
    ) -> Result<()> {
        if self.rows_clean(Some(schema), threads) {
            return Ok(());
        }
        let ranges = row_ranges(self.len(), threads);
        let mut used = vec![None; self.name_table.len()];
        for part in par_map(ranges.clone(), |r| self.used_codes(&keep, r))? {
            for (slot, first) in used.iter_mut().zip(part?) {
                *slot = slot.or(first);
            }
        }
        let undeclared = self.undeclared(schema, &used)?;
        for (j, u) in undeclared.iter().enumerate() {
            if let Some(u) = u {
                for part in par_map(ranges.clone(), |r| {
                    self.check_undeclared(schema, j, u, &keep, r)
                })? {
                    part?;
                }
            }
        }
        Ok(())
    }

    /// Whether **every** row, kept or not, passes the row checks: its name code
    /// is inside the table, its timestamp in range, each property value well
    /// formed (finite floats, timestamps and dates in range) and, with a
    /// schema, its name declared and each of its property values declared by
    /// its event. One pass on up to `threads` threads; when it holds, the
    /// exact checks (which look at kept rows only and name the first bad one)
    /// would pass, so a caller may skip them.
    pub fn rows_clean(&self, schema: Option<&Schema>, threads: usize) -> bool {
        if schema.is_none() && self.clean.get().is_some() {
            return true;
        }
        // Per code: whether a row may use it; per suspect property: the codes
        // whose event does not declare it.
        let mut ok_code = vec![true; self.name_table.len()];
        let mut suspects: Vec<(&Column<'a>, Vec<bool>)> = Vec::new();
        if let Some(schema) = schema {
            for (code, name) in self.name_table.iter().enumerate() {
                ok_code[code] = schema.event_def(name).is_ok();
            }
            // Undeclared names are left to `ok_code`; a type mismatch is an
            // error whatever the rows (the exact check reports it).
            let Ok(undeclared) = self.undeclared(schema, &vec![None; self.name_table.len()]) else {
                return false;
            };
            for (j, u) in undeclared.into_iter().enumerate() {
                if let Some(u) = u {
                    suspects.push((&self.properties[j].1, u));
                }
            }
        }
        // Per group of four suspect properties, per code: which of them its
        // event leaves undeclared (bit `j`: the group's `j`-th).
        let code_masks: Vec<Vec<u8>> = suspects
            .chunks(4)
            .map(|group| {
                (0..self.name_table.len())
                    .map(|c| {
                        group
                            .iter()
                            .enumerate()
                            .fold(0u8, |m, (j, (_, u))| m | (u8::from(u[c]) << j))
                    })
                    .collect()
            })
            .collect();
        let suspects: Vec<&Column<'a>> = suspects.into_iter().map(|(c, _)| c).collect();
        let all_codes_ok = ok_code.iter().all(|&ok| ok);
        // Branch-free over a block; a value test that fails is then looked at
        // again with the validity bitmap (null slots may hold anything).
        let block_clean = |rows: std::ops::Range<usize>| {
            let names = &self.names[rows.clone()];
            let ts = &self.timestamps[rows.clone()];
            // Codes in range, then each code's own verdict only when some
            // name of the table is not usable.
            let mut bad = !codes_below(names, ok_code.len());
            if !bad && !all_codes_ok {
                bad = names.iter().any(|&c| !ok_code[c as usize]);
            }
            bad |= !micros_clean(ts);
            if bad {
                return false;
            }
            // 64 rows at a time, four suspect properties per pass: which
            // rows' events leave each undeclared (`masks[code]` bit `j`: the
            // group's `j`-th), against its validity word. Codes are in range
            // here.
            for (g, group) in suspects.chunks(4).enumerate() {
                let masks = &code_masks[g];
                for (start, chunk) in (rows.start..).step_by(64).zip(names.chunks(64)) {
                    let w = mask_planes(masks, chunk);
                    for (w, col) in w.iter().zip(group) {
                        bad |= w & col.valid_word(start) != 0;
                    }
                }
            }
            !bad && self
                .properties
                .iter()
                .all(|(_, col)| col.values_clean(rows.clone()))
        };
        let ranges = row_ranges(self.len(), threads);
        let clean = par_map(ranges, |r| {
            let mut start = r.start;
            while start < r.end {
                let end = (start + 4096).min(r.end);
                if !block_clean(start..end) {
                    return false;
                }
                start = end;
            }
            true
        })
        .is_ok_and(|parts| parts.into_iter().all(|ok| ok));
        if clean {
            let _ = self.clean.set(());
        }
        clean
    }

    /// Per property column: `None` when every event name declares it, else which
    /// name codes do not (their rows must be null). Type mismatches and unknown
    /// names used by a kept row (`used`) are errors.
    fn undeclared(
        &self,
        schema: &Schema,
        used: &[Option<usize>],
    ) -> Result<Vec<Option<Vec<bool>>>> {
        let mut declares: Vec<Vec<bool>> = Vec::with_capacity(self.name_table.len());
        for (code, name) in self.name_table.iter().enumerate() {
            let def = match schema.event_def(name) {
                Ok(def) => Some(def),
                Err(e) => match used[code] {
                    Some(row) => return Err(e.prefix_path(&format!("events[{row}].name"))),
                    None => None,
                },
            };
            let mut row = Vec::with_capacity(self.properties.len());
            for (p, col) in &self.properties {
                let d = def.and_then(|d| d.properties.get(p));
                if let Some(d) = d {
                    let ty = col.value_type();
                    if !(ty == d.ty || (d.ty == ValueType::Float && ty == ValueType::Integer)) {
                        return Err(Error::new(
                            ErrorKind::InvalidEvent,
                            format!(
                                "property `{p}` of event `{name}` is declared {} but the column holds {ty} values",
                                d.ty
                            ),
                        )
                        .with_path(format!("properties.{p}")));
                    }
                }
                row.push(d.is_some());
            }
            declares.push(row);
        }
        Ok((0..self.properties.len())
            .map(|j| {
                // Only rows of events that do not declare the property can fail.
                let undeclared: Vec<bool> = declares.iter().map(|d| !d[j]).collect();
                undeclared.contains(&true).then_some(undeclared)
            })
            .collect())
    }

    /// The first kept row of `rows` holding a value of property `j` on an event
    /// that does not declare it, as an error.
    fn check_undeclared(
        &self,
        schema: &Schema,
        j: usize,
        undeclared: &[bool],
        keep: &dyn Fn(usize) -> bool,
        rows: std::ops::Range<usize>,
    ) -> Result<()> {
        let (p, col) = &self.properties[j];
        // Blocks without a value on a suspect row are skipped by a branch-free
        // scan; a block with one is searched row by row (`keep` included).
        const BLOCK: usize = 512;
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + BLOCK).min(rows.end);
            let mut hit = false;
            for (row, &code) in (start..end).zip(&self.names[start..end]) {
                let suspect = usize::try_from(code)
                    .ok()
                    .and_then(|c| undeclared.get(c).copied())
                    .unwrap_or(true);
                hit |= suspect & col.is_valid(row);
            }
            if hit {
                self.find_undeclared(schema, p, col, undeclared, keep, start..end)?;
            }
            start = end;
        }
        Ok(())
    }

    /// The row-by-row search of [`EventColumns::check_undeclared`].
    fn find_undeclared(
        &self,
        schema: &Schema,
        p: &str,
        col: &Column<'_>,
        undeclared: &[bool],
        keep: &dyn Fn(usize) -> bool,
        rows: std::ops::Range<usize>,
    ) -> Result<()> {
        for (row, &code) in rows.clone().zip(&self.names[rows]) {
            let suspect = usize::try_from(code)
                .ok()
                .and_then(|c| undeclared.get(c).copied())
                .unwrap_or(true);
            if suspect && col.is_valid(row) && keep(row) {
                let event = usize::try_from(code)
                    .ok()
                    .and_then(|c| self.name_table.get(c))
                    .map_or("", String::as_str);
                return Err(schema
                    .property_def(event, p)
                    .err()
                    .unwrap_or_else(|| {
                        Error::new(
                            ErrorKind::UnknownProperty,
                            format!("unknown property `{p}`"),
                        )
                    })
                    .prefix_path(&format!("events[{row}].{p}")));
            }
        }
        Ok(())
    }

    /// The first kept row of `rows` using each name code; an error for a kept row
    /// whose code is outside the table.
    fn used_codes(
        &self,
        keep: &dyn Fn(usize) -> bool,
        rows: std::ops::Range<usize>,
    ) -> Result<Vec<Option<usize>>> {
        let mut used = vec![None; self.name_table.len()];
        for (row, &code) in rows.clone().zip(&self.names[rows]) {
            if !keep(row) {
                continue;
            }
            match usize::try_from(code).ok().and_then(|c| used.get_mut(c)) {
                Some(slot) => {
                    if slot.is_none() {
                        *slot = Some(row);
                    }
                }
                None => {
                    return Err(invalid_event(
                        row,
                        format!("name code {code} is outside the name table"),
                    ))
                }
            }
        }
        Ok(used)
    }

    /// The timestamps (µs), in row order.
    pub(crate) fn timestamps(&self) -> &'a [i64] {
        self.timestamps
    }

    /// The name codes, in row order.
    pub(crate) fn names(&self) -> &'a [i32] {
        self.names
    }

    /// Number of entries of the name table.
    pub(crate) fn name_table_len(&self) -> usize {
        self.name_table.len()
    }

    /// Whether the events have ids (de-duplicated when grouped).
    pub(crate) fn has_ids(&self) -> bool {
        self.ids.is_some()
    }

    /// The row checks of [`EventColumns::group`] (lengths, name codes inside the
    /// table, timestamps in range, for the kept rows), with its errors.
    pub(crate) fn check_rows(
        &self,
        owners: Owners<'_>,
        users: usize,
        threads: usize,
    ) -> Result<()> {
        if owners.len() != self.len() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{} owners for {} events", owners.len(), self.len()),
            ));
        }
        if u32::try_from(self.len()).is_err() {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                "at most 4294967295 events per batch",
            ));
        }
        if self.rows_clean(None, threads) {
            return Ok(());
        }
        let kept = |row: usize| owners.get(row, users) != u32::MAX;
        let ranges = row_ranges(self.len(), threads);
        for part in par_map(ranges.clone(), |r| self.used_codes(&kept, r))? {
            part?;
        }
        let range = micros_range();
        for part in par_map(ranges, |rows| {
            for (row, &t) in rows.clone().zip(&self.timestamps[rows]) {
                if !range.contains(&t) && kept(row) {
                    return Err(invalid_event(row, "timestamp out of range"));
                }
            }
            Ok(())
        })? {
            part?;
        }
        Ok(())
    }

    /// Groups the events by user: `owners[row]` is the user index of each row
    /// (`u32::MAX`, or any index ≥ `users`, drops the row). Each user's events are
    /// put in time order and de-duplicated by id, first row kept, as
    /// [`EventLog::new`](crate::EventLog::new) does; rows with equal timestamps
    /// keep their input order (their order never changes a result).
    pub fn group(&self, owners: &[u32], users: usize) -> Result<UserEvents> {
        self.group_threaded(owners, users, 1)
    }

    /// As [`EventColumns::group`] on up to `threads` scoped threads, each owning a
    /// contiguous range of users (it reads every row and writes only its users'
    /// events); the result is identical for any thread count.
    pub fn group_threaded(
        &self,
        owners: &[u32],
        users: usize,
        threads: usize,
    ) -> Result<UserEvents> {
        self.check_rows(Owners::Rows(owners), users, threads)?;
        // A stable counting sort by owner (input order is kept within a user), one
        // contiguous range of users per thread.
        let spans = row_ranges(users, threads);
        let counts = par_map(spans.clone(), |span| {
            let mut counts = vec![0usize; span.len()];
            for &o in owners {
                // One comparison: below `span.start` wraps around to a large value.
                let d = (o as usize).wrapping_sub(span.start);
                if let Some(c) = counts.get_mut(d) {
                    *c += 1;
                }
            }
            counts
        })?;
        let mut offsets = Vec::with_capacity(users + 1);
        offsets.push(0usize);
        let mut total = 0;
        for c in counts.iter().flatten() {
            total += c;
            offsets.push(total);
        }
        let mut rows = vec![0u32; total];
        let mut ts = vec![0i64; total];
        let mut names = vec![0i32; total];
        // Each thread's users own one contiguous slice of the outputs.
        let mut parts = Vec::with_capacity(spans.len());
        let (mut r, mut t, mut n) = (&mut rows[..], &mut ts[..], &mut names[..]);
        for span in &spans {
            let len = offsets[span.end] - offsets[span.start];
            let (r0, r1) = std::mem::take(&mut r).split_at_mut(len);
            let (t0, t1) = std::mem::take(&mut t).split_at_mut(len);
            let (n0, n1) = std::mem::take(&mut n).split_at_mut(len);
            (r, t, n) = (r1, t1, n1);
            parts.push((span.clone(), r0, t0, n0));
        }
        let sort_now = self.ids.is_none();
        let offsets_ref = &offsets;
        par_map(parts, |(span, rows, ts, names)| {
            let base = offsets_ref[span.start];
            let mut next: Vec<usize> = offsets_ref[span.clone()].iter().map(|o| o - base).collect();
            for (row, &o) in owners.iter().enumerate() {
                let d = (o as usize).wrapping_sub(span.start);
                if let Some(at) = next.get_mut(d) {
                    rows[*at] = row as u32;
                    ts[*at] = self.timestamps[row];
                    names[*at] = self.names[row];
                    *at += 1;
                }
            }
            if sort_now {
                let local: Vec<usize> = offsets_ref[span.start..=span.end]
                    .iter()
                    .map(|o| o - base)
                    .collect();
                sort_users(&local, rows, ts, names);
            }
        })?;
        let mut grouped = UserEvents {
            offsets,
            rows,
            ts,
            names,
            source_len: self.len(),
        };
        if let Some(ids) = &self.ids {
            grouped.dedup(ids)?;
            let UserEvents {
                offsets,
                rows,
                ts,
                names,
                ..
            } = &mut grouped;
            sort_users(offsets, rows, ts, names);
        }
        Ok(grouped)
    }
}

/// Sorts each user's events (`offsets[u]..offsets[u + 1]`) by time, stably:
/// equal timestamps keep their input order.
fn sort_users(offsets: &[usize], rows: &mut [u32], ts: &mut [i64], names: &mut [i32]) {
    let mut scratch: Vec<(i64, u32, i32)> = Vec::new();
    for w in offsets.windows(2) {
        let r = w[0]..w[1];
        if ts[r.clone()].windows(2).all(|w| w[0] <= w[1]) {
            continue;
        }
        scratch.clear();
        scratch.extend(r.clone().map(|i| (ts[i], rows[i], names[i])));
        scratch.sort_by_key(|e| e.0);
        for (i, e) in r.zip(&scratch) {
            (ts[i], rows[i], names[i]) = *e;
        }
    }
}

/// The user of each event row in a batch of many users' events: the user's
/// index among the profiles, any index ≥ the number of users dropping the row.
#[derive(Debug, Clone, Copy)]
pub enum Owners<'a> {
    /// `rows[row]` is the user index of each row.
    Rows(&'a [u32]),
    /// The user index is `ids[row] - base` (profiles given in id order without
    /// gaps, the common export), read as the rows are read: no array of
    /// indices is built.
    Offset {
        /// Each row's integer user id.
        ids: &'a [i64],
        /// The first profile's id.
        base: i64,
    },
}

impl<'a> Owners<'a> {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Owners::Rows(r) => r.len(),
            Owners::Offset { ids, .. } => ids.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The user index of `row` among `users` users, `u32::MAX` when none.
    #[inline]
    pub fn get(&self, row: usize, users: usize) -> u32 {
        let d = match self {
            Owners::Rows(r) => r[row] as u64,
            Owners::Offset { ids, base } => ids[row].wrapping_sub(*base) as u64,
        };
        if d < users as u64 {
            d as u32
        } else {
            u32::MAX
        }
    }

    /// Every row's user index among `users` users (`u32::MAX`: none), borrowed
    /// when it is already an array.
    pub fn to_rows(&self, users: usize) -> Cow<'a, [u32]> {
        match *self {
            Owners::Rows(r) => Cow::Borrowed(r),
            Owners::Offset { .. } => {
                Cow::Owned((0..self.len()).map(|i| self.get(i, users)).collect())
            }
        }
    }

    /// How many rows have no user among `users` users, counted on up to
    /// `threads` threads.
    pub fn unmatched(&self, users: usize, threads: usize) -> u64 {
        let n = users as u64;
        let count = |rows: std::ops::Range<usize>| -> u64 {
            // Branch-free, so it vectorizes.
            match self {
                Owners::Rows(r) => r[rows].iter().map(|&o| u64::from(u64::from(o) >= n)).sum(),
                Owners::Offset { ids, base } => ids[rows]
                    .iter()
                    .map(|&id| u64::from(id.wrapping_sub(*base) as u64 >= n))
                    .sum(),
            }
        };
        par_map(row_ranges(self.len(), threads), count)
            .map(|parts| parts.into_iter().sum())
            .unwrap_or_else(|_| count(0..self.len()))
    }
}

/// `0..len` cut into at most `threads` contiguous ranges of near-equal length
/// (one empty range when `len` is 0).
pub(crate) fn row_ranges(len: usize, threads: usize) -> Vec<std::ops::Range<usize>> {
    let per = len.div_ceil(threads.max(1)).max(1);
    let mut out: Vec<_> = (0..len)
        .step_by(per)
        .map(|s| s..(s + per).min(len))
        .collect();
    if out.is_empty() {
        out.push(0..0);
    }
    out
}

/// `f` over `items` on one scoped thread each (inline for a single item); results
/// in item order.
pub(crate) fn par_map<T: Send, R: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
) -> Result<Vec<R>> {
    if items.len() <= 1 {
        return Ok(items.into_iter().map(f).collect());
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| s.spawn(move || f(item)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| Error::new(ErrorKind::Internal, "a worker thread panicked"))
            })
            .collect()
    })
}

impl UserEvents {
    /// Drops repeated ids within each user (first row kept, order unchanged).
    fn dedup(&mut self, ids: &Column<'_>) -> Result<()> {
        let users = self.users();
        let mut w = 0;
        let mut new_offsets = vec![0usize; users + 1];
        let mut seen: HashSet<Cow<'_, str>> = HashSet::new();
        for u in 0..users {
            seen.clear();
            for i in self.offsets[u]..self.offsets[u + 1] {
                let r = self.rows[i] as usize;
                let key = ids
                    .key(r)
                    .map_err(|m| invalid_event(r, m))?
                    .ok_or_else(|| invalid_event(r, "the event id is null"))?;
                if seen.insert(key) {
                    self.rows[w] = self.rows[i];
                    self.ts[w] = self.ts[i];
                    self.names[w] = self.names[i];
                    w += 1;
                }
            }
            new_offsets[u + 1] = w;
        }
        self.rows.truncate(w);
        self.ts.truncate(w);
        self.names.truncate(w);
        self.offsets = new_offsets;
        Ok(())
    }
}

/// Events grouped per user (see [`EventColumns::group`]), with timestamps and name
/// codes copied into group order so a user's events are contiguous in memory.
#[derive(Debug, Clone, Default)]
pub struct UserEvents {
    offsets: Vec<usize>,
    rows: Vec<u32>,
    pub(crate) ts: Vec<i64>,
    pub(crate) names: Vec<i32>,
    /// Rows of the event columns grouped (every row index is below it).
    source_len: usize,
}

impl UserEvents {
    /// `users` users without events.
    pub fn empty(users: usize) -> UserEvents {
        UserEvents {
            offsets: vec![0; users + 1],
            ..UserEvents::default()
        }
    }

    /// Number of users.
    pub fn users(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of events kept.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no event was kept.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// User `u`'s events as a range of group positions.
    pub fn range(&self, u: usize) -> std::ops::Range<usize> {
        self.offsets[u]..self.offsets[u + 1]
    }

    /// The input row of group position `i`.
    pub fn row(&self, i: usize) -> usize {
        self.rows[i] as usize
    }

    /// The timestamp (µs) of group position `i`.
    pub fn timestamp(&self, i: usize) -> i64 {
        self.ts[i]
    }

    /// The name code of group position `i`.
    pub fn name_code(&self, i: usize) -> i32 {
        self.names[i]
    }

    /// Whether every row index is below `len` (the grouped columns' length).
    pub(crate) fn rows_below(&self, len: usize) -> bool {
        self.source_len <= len || self.rows.iter().all(|&r| (r as usize) < len)
    }
}
