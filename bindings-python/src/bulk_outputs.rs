//! Bulk outputs beyond segment membership: one Arrow table with, per profile in
//! input order, segment membership, lifecycle stage, tag diffs and RFM — whole
//! tables (`evaluate_outputs`) or a stream of profile batches (`OutputStream`).
//!
//! The tables are read into the core's columnar batch by `bulk::run_with`; every
//! output is the core's (`CompiledRuleSet::evaluate_columns`,
//! `CompiledLifecycle::classify_columns`, `CompiledTagRules::diff_columns`,
//! `RfmConfig::values_columns`, `rfm::score_batch`). This file maps the
//! optional input columns (current tags, previous stage) and builds the result.

use crate::bulk::{self, EventColumns, ProfileColumns};
use crate::lifecycle::Lifecycle;
use crate::tags::TagRules;
use crate::{column_mappings, default_threads, detached, CompiledRuleSet, Schema};
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int8Array, RecordBatch, RecordBatchIterator,
    RecordBatchReader, StringArray, TimestampMicrosecondArray,
};
use arrow_cast::cast::cast;
use arrow_schema::{DataType, Field, Schema as ArrowSchema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3_arrow::{PyRecordBatch, PyRecordBatchReader, PyTable};
use siyu_core::columnar::micros_to_utc;
use siyu_core::error::{Error, ErrorKind, Result};
use siyu_core::lifecycle::{CompiledLifecycle, Hold, StageState};
use siyu_core::rfm::{
    self, request as rfm_request, RfmConfig, RfmScoring, RfmThresholds, SegmentMap,
};
use siyu_core::rules::{ColumnarInput, CompiledRuleSet as CoreCompiled};
use siyu_core::tagging::CompiledTagRules;
use siyu_core::{Schema as CoreSchema, Tag, TagSource, Zone};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The RFM output: raw values from `config`, scores from `scoring`, segment from `map`.
struct RfmSpec {
    config: RfmConfig,
    scoring: RfmScoring,
    map: SegmentMap,
}

impl RfmSpec {
    /// From the Python layer's `(config, method, thresholds, map)` JSON/text parts.
    fn read(parts: &RfmParts) -> Result<RfmSpec> {
        let (config, method, thresholds, map) = parts;
        let scoring = match thresholds {
            Some(t) => RfmScoring::Thresholds(Box::new(RfmThresholds::from_json(t)?)),
            None => RfmScoring::Fit(rfm_request::method(
                method.as_deref().unwrap_or("quantile"),
            )?),
        };
        Ok(RfmSpec {
            config: rfm_request::config(config.as_deref())?,
            scoring,
            map: rfm_request::segment_map(map.as_deref())?,
        })
    }
}

type RfmParts = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// What to compute.
struct Spec<'a> {
    segments: Option<&'a CoreCompiled>,
    lifecycle: Option<&'a CompiledLifecycle>,
    tags: Option<&'a CompiledTagRules>,
    rfm: Option<RfmSpec>,
}

/// The optional profile columns that are inputs of the outputs, not traits.
#[derive(Clone, Default)]
struct StateColumns {
    tags: Option<String>,
    stage: Option<String>,
    stage_since: Option<String>,
}

impl StateColumns {
    fn names(&self) -> Vec<&str> {
        [&self.tags, &self.stage, &self.stage_since]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }
}

fn type_error(column: &str, dt: &DataType, want: &str) -> Error {
    Error::new(
        ErrorKind::TypeMismatch,
        format!(
            "column `{column}` of the profiles table has Arrow type {dt}, which cannot hold {want}"
        ),
    )
    .with_path(format!("profiles.{column}"))
}

/// Each row's tag names from a list-of-strings column (null list: no tags).
fn tag_names(column: &str, array: &ArrayRef) -> Result<Vec<Vec<String>>> {
    let dt = array.data_type();
    let target = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let ok = matches!(dt, DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::LargeListView(f)
        if matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..)));
    if !ok && *dt != DataType::Null {
        return Err(type_error(column, dt, "lists of tag names"));
    }
    let a = cast(array, &target).map_err(|_| type_error(column, dt, "lists of tag names"))?;
    let lists = a.as_list::<i32>();
    (0..lists.len())
        .map(|row| {
            if lists.is_null(row) {
                return Ok(Vec::new());
            }
            let v = lists.value(row);
            let s = v.as_string::<i32>();
            (0..s.len())
                .map(|i| {
                    if s.is_null(i) {
                        Err(Error::new(
                            ErrorKind::InvalidProfile,
                            format!("profiles row {row}, column `{column}`: a tag name is null"),
                        )
                        .with_path(format!("profiles.{column}")))
                    } else {
                        Ok(s.value(i).to_string())
                    }
                })
                .collect()
        })
        .collect()
}

/// Each row's previous stage state (null stage: none).
fn previous_states(
    cols: &StateColumns,
    stage: &ArrayRef,
    since: &ArrayRef,
) -> Result<Vec<Option<StageState>>> {
    let (sc, tc) = (
        cols.stage.as_deref().unwrap_or_default(),
        cols.stage_since.as_deref().unwrap_or_default(),
    );
    if !matches!(
        stage.data_type(),
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Dictionary(..)
            | DataType::Null
    ) {
        return Err(type_error(sc, stage.data_type(), "stage names"));
    }
    if !matches!(since.data_type(), DataType::Timestamp(..) | DataType::Null) {
        return Err(type_error(tc, since.data_type(), "timestamps"));
    }
    let names = cast(stage, &DataType::Utf8)
        .map_err(|_| type_error(sc, stage.data_type(), "stage names"))?;
    let times = cast(
        since,
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    )
    .map_err(|_| type_error(tc, since.data_type(), "timestamps"))?;
    let (names, times) = (
        names.as_string::<i32>(),
        times.as_primitive::<TimestampMicrosecondType>(),
    );
    (0..names.len())
        .map(|row| {
            if names.is_null(row) {
                return Ok(None);
            }
            let at = times
                .is_valid(row)
                .then(|| micros_to_utc(times.value(row)))
                .flatten()
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidProfile,
                        format!("profiles row {row}, column `{tc}`: a previous stage needs the time it was entered"),
                    )
                    .with_path(format!("profiles.{tc}"))
                })?;
            Ok(Some(StageState::new(names.value(row), at)))
        })
        .collect()
}

/// The result columns (before the id column).
struct Outputs {
    fields: Vec<Field>,
    columns: Vec<ArrayRef>,
    thresholds: Option<RfmThresholds>,
}

fn strings<'a>(v: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(v.collect::<StringArray>())
}

fn string_lists(lists: impl Iterator<Item = Vec<String>>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        false,
    )));
    for l in lists {
        for s in l {
            b.values().append_value(s);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// Every requested output for the batch `input`, on `threads` threads;
/// `step()` is called after each output (the progress bar's ticks).
fn compute(
    spec: &Spec<'_>,
    cols: &StateColumns,
    input: &ColumnarInput<'_>,
    extra: Vec<ArrayRef>,
    threads: usize,
    step: &dyn Fn(),
) -> Result<Outputs> {
    let now = input.now;
    let mut extra = extra.into_iter();
    let current: Option<Vec<Vec<Tag>>> = match &cols.tags {
        Some(c) => {
            let names = tag_names(
                c,
                &extra
                    .next()
                    .unwrap_or_else(|| arrow_array::new_null_array(&DataType::Null, 0)),
            )?;
            Some(
                names
                    .iter()
                    .map(|n| match spec.tags {
                        Some(t) => t.current_tags(n, now),
                        None => n
                            .iter()
                            .map(|name| Tag {
                                name: name.clone(),
                                group: None,
                                source: TagSource::Rule,
                                added_at: now,
                                expires_at: None,
                            })
                            .collect(),
                    })
                    .collect(),
            )
        }
        None => None,
    };
    let previous = match (&cols.stage, &cols.stage_since) {
        (Some(_), Some(_)) => {
            let (s, t) = (extra.next(), extra.next());
            match (s, t) {
                (Some(s), Some(t)) => Some(previous_states(cols, &s, &t)?),
                _ => None,
            }
        }
        _ => None,
    };
    let with_tags;
    let input = match &current {
        Some(t) => {
            with_tags = input.profiles.clone().with_tags(t)?;
            ColumnarInput {
                profiles: &with_tags,
                ..*input
            }
        }
        None => *input,
    };
    let input = &input;
    let users = input.profiles.len();
    let mut out = Outputs {
        fields: Vec::new(),
        columns: Vec::new(),
        thresholds: None,
    };
    let mut push = |name: &str, col: ArrayRef, nullable: bool| {
        out.fields
            .push(Field::new(name, col.data_type().clone(), nullable));
        out.columns.push(col);
    };
    if let Some(seg) = spec.segments {
        let flags = seg.evaluate_columns(input, threads)?;
        for (name, f) in seg.rule_names().iter().zip(flags) {
            push(name, Arc::new(bulk::flag_array(&f)), false);
        }
        step();
    }
    if let Some(lc) = spec.lifecycle {
        let o = lc.classify_columns(input, previous.as_deref(), threads)?;
        push(
            "stage",
            strings(o.iter().map(|o| Some(o.state.stage.as_str()))),
            false,
        );
        push(
            "stage_since",
            Arc::new(
                TimestampMicrosecondArray::from(
                    o.iter()
                        .map(|o| o.state.since.timestamp_micros())
                        .collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            false,
        );
        push(
            "stage_rule",
            strings(o.iter().map(|o| o.rule.as_deref())),
            true,
        );
        push(
            "stage_held",
            strings(o.iter().map(|o| {
                o.held.map(|h| match h {
                    Hold::MinDwell => "min_dwell",
                    Hold::TransitionNotAllowed => "transition_not_allowed",
                })
            })),
            true,
        );
        push(
            "stage_changed",
            Arc::new(BooleanArray::from(
                o.iter().map(|o| o.transition.is_some()).collect::<Vec<_>>(),
            )),
            false,
        );
        step();
    }
    if let Some(tr) = spec.tags {
        let d = tr.diff_columns(input, threads)?;
        let names = |v: &[siyu_core::tagging::TagChange]| v.iter().map(|c| c.tag.clone()).collect();
        push(
            "tags_added",
            string_lists(d.iter().map(|d| names(&d.added))),
            false,
        );
        push(
            "tags_removed",
            string_lists(d.iter().map(|d| {
                let mut v: Vec<String> = names(&d.removed);
                v.extend(d.expired.iter().map(|c| c.tag.clone()));
                v
            })),
            false,
        );
        step();
    }
    if let Some(r) = &spec.rfm {
        let values = r.config.values_columns(input)?;
        let (thresholds, rows) = rfm::score_batch(&values, &r.scoring, &r.map)?;
        let f64s = |f: fn(&rfm::RfmValues) -> f64| -> ArrayRef {
            Arc::new(
                values
                    .iter()
                    .map(|v| v.as_ref().map(f))
                    .collect::<Float64Array>(),
            )
        };
        push("rfm_recency_days", f64s(|v| v.recency_days), true);
        push("rfm_frequency", f64s(|v| v.frequency), true);
        push("rfm_monetary", f64s(|v| v.monetary), true);
        let i8s = |f: fn(&rfm::RfmScores) -> u8| -> ArrayRef {
            Arc::new(
                rows.iter()
                    .map(|r| r.as_ref().map(|r| f(&r.scores) as i8))
                    .collect::<Int8Array>(),
            )
        };
        push("rfm_r", i8s(|s| s.r), true);
        push("rfm_f", i8s(|s| s.f), true);
        push("rfm_m", i8s(|s| s.m), true);
        push(
            "rfm_segment",
            strings(rows.iter().map(|r| r.as_ref().map(|r| r.segment.as_str()))),
            true,
        );
        out.thresholds = thresholds;
        step();
    }
    debug_assert!(out.columns.iter().all(|c| c.len() == users));
    Ok(out)
}

/// One result batch: the id column, then the outputs; a name used twice is an error.
fn to_batch(id_column: &str, ids: &ArrayRef, out: Outputs) -> Result<RecordBatch> {
    let mut fields = vec![Field::new(id_column, DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![ids.clone()];
    for (f, c) in out.fields.into_iter().zip(out.columns) {
        if fields.iter().any(|g| g.name() == f.name()) {
            return Err(Error::new(
                ErrorKind::DuplicateName,
                format!("the result would have two columns named `{}` (rename the rule or the id column)", f.name()),
            ));
        }
        fields.push(f);
        columns.push(c);
    }
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("building the result table: {e}"),
        )
    })
}

/// Everything one call needs besides the tables.
struct Job<'a> {
    schema: &'a CoreSchema,
    spec: Spec<'a>,
    profile_cols: ProfileColumns,
    event_cols: EventColumns,
    state: StateColumns,
    now: DateTime<Utc>,
    zone: Zone,
    threads: usize,
}

impl Job<'_> {
    /// One batch of profiles with its events: `(result, unmatched events, thresholds)`.
    fn run(
        &self,
        profiles: Box<dyn RecordBatchReader + Send>,
        events: Option<Box<dyn RecordBatchReader + Send>>,
        step: &dyn Fn(),
    ) -> Result<(RecordBatch, u64, Option<RfmThresholds>)> {
        let extra = self.state.names();
        let (ids, out, unmatched) = bulk::run_with(
            self.schema,
            profiles,
            events,
            &self.profile_cols,
            &self.event_cols,
            self.now,
            self.zone,
            self.threads,
            &extra,
            |batch, extra| {
                let grouped = batch.group(self.threads)?;
                let input = batch.with_grouped(&grouped);
                compute(&self.spec, &self.state, &input, extra, self.threads, step)
            },
        )?;
        let thresholds = out.thresholds.clone();
        Ok((
            to_batch(&self.profile_cols.id, &ids, out)?,
            unmatched,
            thresholds,
        ))
    }
}

/// The compiled definitions a Python call passes (a dict).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Defs<'py> {
    segments: Option<Bound<'py, CompiledRuleSet>>,
    lifecycle: Option<Bound<'py, Lifecycle>>,
    tag_rules: Option<Bound<'py, TagRules>>,
}

/// Calls the Python progress callback (if any) with the GIL held only for the call.
fn ticker(progress: Option<&Py<PyAny>>, amount: u64) {
    if let Some(cb) = progress {
        // A failing progress callback must not fail the run.
        Python::attach(|py| {
            let _ = cb.call1(py, (amount,));
        });
    }
}

/// A request for no output at all is a caller error, reported before any data is read.
fn something_to_compute(asked: [bool; 4]) -> Result<()> {
    if asked.contains(&true) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidArgument,
        "nothing to compute: give segments, lifecycle, tag_rules or rfm",
    ))
}

#[allow(clippy::too_many_arguments)]
fn job<'a>(
    schema: Option<&'a Schema>,
    segments: Option<&'a CompiledRuleSet>,
    lifecycle: Option<&'a Lifecycle>,
    tag_rules: Option<&'a TagRules>,
    rfm: Option<RfmSpec>,
    cols: (ProfileColumns, EventColumns, StateColumns),
    now: &str,
    default_zone: Option<&str>,
    threads: Option<usize>,
) -> Result<Job<'a>> {
    something_to_compute([
        segments.is_some(),
        lifecycle.is_some(),
        tag_rules.is_some(),
        rfm.is_some(),
    ])?;
    let schema = schema
        .map(|s| &s.inner)
        .or(segments.map(|s| &s.schema))
        .or(lifecycle.map(|l| &l.schema))
        .or(tag_rules.map(|t| &t.schema))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "give a schema (or at least one of segments, lifecycle, tag_rules)",
            )
        })?;
    if cols.2.stage.is_some() != cols.2.stage_since.is_some() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "stage_column and stage_since_column go together (a previous stage needs the time it was entered)",
        ));
    }
    Ok(Job {
        schema,
        spec: Spec {
            segments: segments.map(|s| &s.inner),
            lifecycle: lifecycle.map(|l| &l.inner),
            tags: tag_rules.map(|t| &t.inner),
            rfm,
        },
        profile_cols: cols.0,
        event_cols: cols.1,
        state: cols.2,
        now: siyu_core::value::parse_timestamp(now)?,
        zone: match default_zone {
            Some(z) => Zone::parse(z)?,
            None => Zone::utc(),
        },
        threads: threads.unwrap_or_else(default_threads),
    })
}

/// The column mappings with the state columns kept out of the default traits.
#[allow(clippy::too_many_arguments)]
fn mappings(
    profiles: &PyRecordBatchReader,
    events: Option<&PyRecordBatchReader>,
    columns: ColumnArgs,
) -> PyResult<(ProfileColumns, EventColumns, StateColumns)> {
    let state = StateColumns {
        tags: columns.tags_column,
        stage: columns.stage_column,
        stage_since: columns.stage_since_column,
    };
    let (mut p, e) = column_mappings(
        profiles,
        events,
        columns.id_column,
        columns.traits.clone(),
        columns.time_zone_column,
        columns.user_id_column,
        columns.event_name_column,
        columns.timestamp_column,
        columns.event_id_column,
        columns.properties,
    )?;
    if columns.traits.is_none() {
        let taken = state.names();
        p.traits.retain(|(c, _)| !taken.contains(&c.as_str()));
    }
    Ok((p, e, state))
}

/// Column arguments as the Python layer passes them (a dict).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct ColumnArgs {
    id_column: String,
    traits: Option<Vec<(String, String)>>,
    time_zone_column: Option<String>,
    user_id_column: String,
    event_name_column: String,
    timestamp_column: String,
    event_id_column: Option<String>,
    properties: Option<Vec<(String, String)>>,
    tags_column: Option<String>,
    stage_column: Option<String>,
    stage_since_column: Option<String>,
}

/// Bulk outputs over whole tables: `(pyarrow.Table, unmatched_events,
/// rfm_thresholds_json_or_None)`. `defs` is `{segments, lifecycle, tag_rules}`
/// (each optional), `rfm` `(config, method, thresholds, map)` or `None`,
/// `columns` the column mapping; `progress(n)` is called after each output.
#[pyfunction]
#[pyo3(signature = (profiles, events, now, defs, columns, schema=None, rfm=None, default_zone=None, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn evaluate_outputs<'py>(
    py: Python<'py>,
    profiles: PyRecordBatchReader,
    events: Option<PyRecordBatchReader>,
    now: &str,
    defs: Defs<'py>,
    columns: ColumnArgs,
    schema: Option<Bound<'py, Schema>>,
    rfm: Option<RfmParts>,
    default_zone: Option<&str>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, u64, Option<String>)> {
    let cols = mappings(&profiles, events.as_ref(), columns)?;
    let profiles = profiles.into_reader()?;
    let events = events.map(|e| e.into_reader()).transpose()?;
    let (seg, lc, tr) = (
        defs.segments.as_ref().map(|b| b.get()),
        defs.lifecycle.as_ref().map(|b| b.get()),
        defs.tag_rules.as_ref().map(|b| b.get()),
    );
    let schema = schema.as_ref().map(|s| s.get());
    let progress = progress.as_ref();
    let (batch, unmatched, thresholds) = detached(py, move || {
        let rfm = rfm.as_ref().map(RfmSpec::read).transpose()?;
        let job = job(schema, seg, lc, tr, rfm, cols, now, default_zone, threads)?;
        let step = || ticker(progress, 1);
        job.run(profiles, events, &step)
    })?;
    let thresholds = thresholds
        .map(|t| serde_json::to_string(&t))
        .transpose()
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let schema = batch.schema();
    let table = PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)?;
    Ok((table, unmatched, thresholds))
}

/// The profile and event columns of a stream, and its read position.
struct StreamState {
    profiles: Box<dyn RecordBatchReader + Send>,
    events: Option<Box<dyn RecordBatchReader + Send>>,
    events_schema: Option<SchemaRef>,
    /// Event batches not yet consumed (their users' profiles have not come yet).
    pending: Vec<RecordBatch>,
    /// Ids of the users of every batch already yielded.
    seen: HashSet<String>,
    batches: usize,
    done: bool,
}

/// Bulk outputs over a stream of profile batches (see `siyu.evaluate_batches`).
#[pyclass(module = "siyu._native")]
pub struct OutputStream {
    segments: Option<Py<CompiledRuleSet>>,
    lifecycle: Option<Py<Lifecycle>>,
    tag_rules: Option<Py<TagRules>>,
    schema: Option<Py<Schema>>,
    rfm: Option<RfmParts>,
    cols: (ProfileColumns, EventColumns, StateColumns),
    now: String,
    default_zone: Option<String>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    state: Mutex<StreamState>,
    unmatched: Mutex<u64>,
}

/// The user ids of an events batch as text (as profiles' ids are reported).
fn user_ids(batch: &RecordBatch, column: &str) -> Result<Vec<Option<String>>> {
    let a = batch.column_by_name(column).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("the events table has no column `{column}`"),
        )
        .with_path(format!("events.{column}"))
    })?;
    let s = cast(a, &DataType::Utf8).map_err(|e| {
        Error::new(
            ErrorKind::TypeMismatch,
            format!("column `{column}` of the events table: {e}"),
        )
        .with_path(format!("events.{column}"))
    })?;
    let s = s.as_string::<i32>();
    Ok(s.iter().map(|v| v.map(str::to_string)).collect())
}

/// Keeps the rows of `batch` where `keep` holds.
fn filter_rows(batch: &RecordBatch, keep: Vec<bool>) -> Result<RecordBatch> {
    arrow_select::filter::filter_record_batch(batch, &BooleanArray::from(keep))
        .map_err(|e| Error::new(ErrorKind::Internal, format!("filtering events: {e}")))
}

impl OutputStream {
    /// The next result batch, or `None` at the end.
    fn step(&self, st: &mut StreamState, job: &Job<'_>) -> Result<Option<(RecordBatch, u64)>> {
        if st.done {
            return Ok(None);
        }
        let Some(pbatch) = st.profiles.next() else {
            // Events still pending belong to users no batch had.
            st.done = true;
            let left: usize = st.pending.iter().map(RecordBatch::num_rows).sum();
            st.pending.clear();
            *self.unmatched.lock().map_err(|_| poisoned())? += left as u64;
            return Ok(None);
        };
        let pbatch = pbatch.map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("reading the profiles stream: {e}"),
            )
        })?;
        let k = st.batches;
        st.batches += 1;
        let user_col = &job.event_cols.user_id;
        if let Some(events) = st.events.as_mut() {
            if let Some(eb) = events.next() {
                let eb = eb.map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidArgument,
                        format!("reading the events stream: {e}"),
                    )
                })?;
                for (row, id) in user_ids(&eb, user_col)?.iter().enumerate() {
                    if let Some(id) = id.as_ref().filter(|id| st.seen.contains(*id)) {
                        return Err(Error::new(
                            ErrorKind::InvalidArgument,
                            format!(
                                "events batch {k}, row {row}: user `{id}` had its profile in an earlier batch; \
                                 a user's events must arrive in the same batch as their profile or earlier"
                            ),
                        )
                        .with_path(format!("events.{user_col}"))
                        .with_suggestion("split profiles and events by the same ordered user ranges"));
                    }
                }
                st.pending.push(eb);
            }
        }
        let rows = pbatch.num_rows() as u64;
        let pschema = pbatch.schema();
        let preader = Box::new(RecordBatchIterator::new(vec![Ok(pbatch)], pschema));
        let ereader = st.events_schema.clone().map(|s| {
            Box::new(RecordBatchIterator::new(
                st.pending.clone().into_iter().map(Ok),
                s,
            )) as Box<dyn RecordBatchReader + Send>
        });
        let (batch, _, _) = job.run(preader, ereader, &|| {})?;
        // The batch's users are done: their events leave the pending set.
        let ids = batch.column(0).as_string::<i32>();
        let here: HashSet<&str> = ids.iter().flatten().collect();
        let mut kept = Vec::with_capacity(st.pending.len());
        for eb in &st.pending {
            let keep: Vec<bool> = user_ids(eb, user_col)?
                .iter()
                .map(|id| id.as_deref().is_none_or(|id| !here.contains(id)))
                .collect();
            let f = filter_rows(eb, keep)?;
            if f.num_rows() > 0 {
                kept.push(f);
            }
        }
        st.pending = kept;
        st.seen.extend(here.into_iter().map(str::to_string));
        Ok(Some((batch, rows)))
    }
}

fn poisoned() -> Error {
    Error::new(ErrorKind::Internal, "the stream's state is poisoned")
}

#[pymethods]
impl OutputStream {
    /// A stream over `profiles` (and `events`) batches; see `siyu.evaluate_batches`.
    #[new]
    #[pyo3(signature = (profiles, events, now, defs, columns, schema=None, rfm=None, default_zone=None, threads=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        profiles: PyRecordBatchReader,
        events: Option<PyRecordBatchReader>,
        now: String,
        defs: Defs<'_>,
        columns: ColumnArgs,
        schema: Option<Py<Schema>>,
        rfm: Option<RfmParts>,
        default_zone: Option<String>,
        threads: Option<usize>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<OutputStream> {
        something_to_compute([
            defs.segments.is_some(),
            defs.lifecycle.is_some(),
            defs.tag_rules.is_some(),
            rfm.is_some(),
        ])
        .map_err(|e| crate::to_py_err(py, &e))?;
        let cols = mappings(&profiles, events.as_ref(), columns)?;
        if rfm.as_ref().is_some_and(|r| r.2.is_none()) {
            return Err(crate::to_py_err(
                py,
                &Error::new(
                    ErrorKind::InvalidArgument,
                    "streamed RFM needs stored thresholds (rfm={\"thresholds\": ...}): \
                     fitting per batch would score the same user differently by batch",
                )
                .with_path("rfm.thresholds"),
            ));
        }
        let events_schema = events.as_ref().map(|e| e.schema_ref()).transpose()?;
        let state = StreamState {
            profiles: profiles.into_reader()?,
            events: events.map(|e| e.into_reader()).transpose()?,
            events_schema,
            pending: Vec::new(),
            seen: HashSet::new(),
            batches: 0,
            done: false,
        };
        Ok(OutputStream {
            segments: defs.segments.map(Bound::unbind),
            lifecycle: defs.lifecycle.map(Bound::unbind),
            tag_rules: defs.tag_rules.map(Bound::unbind),
            schema,
            rfm,
            cols,
            now,
            default_zone,
            threads,
            progress,
            state: Mutex::new(state),
            unmatched: Mutex::new(0),
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut st = self.state.try_lock().map_err(|_| {
            crate::to_py_err(
                py,
                &Error::new(
                    ErrorKind::InvalidArgument,
                    "this stream is being read by another thread",
                ),
            )
        })?;
        let (seg, lc, tr, schema) = (
            self.segments.as_ref().map(|p| p.get()),
            self.lifecycle.as_ref().map(|p| p.get()),
            self.tag_rules.as_ref().map(|p| p.get()),
            self.schema.as_ref().map(|p| p.get()),
        );
        let progress = self.progress.as_ref();
        let st = &mut *st;
        let next = detached(py, || {
            let rfm = self.rfm.as_ref().map(RfmSpec::read).transpose()?;
            let job = job(
                schema,
                seg,
                lc,
                tr,
                rfm,
                self.cols.clone(),
                &self.now,
                self.default_zone.as_deref(),
                self.threads,
            )?;
            let next = self.step(st, &job)?;
            if let Some((_, rows)) = &next {
                ticker(progress, *rows);
            }
            Ok(next)
        })?;
        match next {
            Some((batch, _)) => PyRecordBatch::new(batch).into_pyarrow(py),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    /// Events whose user had no profile in any batch (known once the stream ends).
    #[getter]
    fn unmatched_events(&self) -> u64 {
        self.unmatched.lock().map(|u| *u).unwrap_or(0)
    }
}

/// Adds the bulk-output entry points to `siyu._native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(evaluate_outputs, m)?)?;
    m.add_class::<OutputStream>()
}
