//! Bulk evaluation over Arrow IPC buffers (stream or file format, e.g. from
//! the `apache-arrow` npm package's `tableToIPC`), off the event loop.
//!
//! Reading Arrow into core inputs is the Python binding's reader
//! (`bindings-python/src/bulk.rs`), compiled into this crate as well: both
//! bindings map columns, convert Arrow types and report column errors the same
//! way, from one source file. That reader lends the Arrow buffers to the core's
//! columnar batch and evaluates with `CompiledRuleSet::evaluate_ungrouped`
//! (ADR 0006, 0013), so no per-row `Event` is built here either.

#[path = "../../bindings-python/src/bulk.rs"]
// The Python-only row readers (journeys) are unused here.
#[allow(missing_docs, unused_imports, dead_code)]
mod table;

use super::{guard, read_now_zone, CompiledRuleSet, Engine};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatchReader};
use arrow_ipc::reader::{FileReader, StreamReader};
use arrow_ipc::writer::StreamWriter;
use napi::bindgen_prelude::{AsyncTask, Buffer, Either};
use napi::{Env, Task};
use napi_derive::napi;
use siyu_core::{Error, ErrorKind};
use std::io::Cursor;
use table::{BulkResult, EventColumns, ProfileColumns};

/// The Arrow IPC file format starts (and ends) with this magic; the stream
/// format starts with a message length instead.
const FILE_MAGIC: &[u8] = b"ARROW1";

#[napi]
impl CompiledRuleSet {
    /// Evaluates every rule for the profiles of an Arrow IPC buffer (and their
    /// events, when given) on a libuv worker thread. `columns` is JSON text of
    /// the column mapping (`id_column`, `traits`, `time_zone_column`,
    /// `user_id_column`, `event_name_column`, `timestamp_column`,
    /// `event_id_column`, `properties`, `threads`; see docs/node.md). Resolves
    /// to JSON text `{"ids", "results", "unmatched_events"}`, or with
    /// `arrowOutput` to an Arrow IPC stream buffer (the id column, then one
    /// boolean column per rule). The buffers are copied before the worker
    /// starts, so the caller may reuse them at once.
    #[napi(ts_return_type = "Promise<string | Buffer>")]
    pub fn evaluate_arrow(
        &self,
        profiles: Buffer,
        events: Option<Buffer>,
        now: String,
        default_zone: Option<String>,
        columns: Option<String>,
        arrow_output: Option<bool>,
    ) -> AsyncTask<EvaluateArrow> {
        AsyncTask::new(EvaluateArrow {
            engine: self.engine.clone(),
            profiles: profiles.to_vec(),
            events: events.map(|b| b.to_vec()),
            now,
            default_zone,
            columns,
            arrow_output: arrow_output.unwrap_or(false),
        })
    }
}

/// The worker-thread task behind [`CompiledRuleSet::evaluate_arrow`].
pub struct EvaluateArrow {
    engine: Engine,
    profiles: Vec<u8>,
    events: Option<Vec<u8>>,
    now: String,
    default_zone: Option<String>,
    columns: Option<String>,
    arrow_output: bool,
}

/// What the worker produces: JSON text or Arrow IPC bytes.
pub type ArrowOutput = Either<String, Vec<u8>>;

impl Task for EvaluateArrow {
    type Output = ArrowOutput;
    type JsValue = Either<String, Buffer>;

    fn compute(&mut self) -> napi::Result<ArrowOutput> {
        guard(|| self.run())
    }

    fn resolve(&mut self, _env: Env, output: ArrowOutput) -> napi::Result<Self::JsValue> {
        Ok(match output {
            Either::A(text) => Either::A(text),
            Either::B(bytes) => Either::B(bytes.into()),
        })
    }
}

impl EvaluateArrow {
    fn run(&mut self) -> siyu_core::Result<ArrowOutput> {
        let (now, zone) = read_now_zone(&self.now, self.default_zone.as_deref())?;
        let mapping = Mapping::read(self.columns.as_deref())?;
        let profiles = open("profiles", std::mem::take(&mut self.profiles))?;
        let events = match self.events.take() {
            Some(bytes) => Some(open("events", bytes)?),
            None => None,
        };
        let profile_cols = mapping.profile_columns(&profiles.schema())?;
        let event_cols = mapping.event_columns(events.as_ref().map(|e| e.schema()).as_deref())?;
        let result = run_bulk(
            &self.engine,
            profiles,
            events,
            &profile_cols,
            &event_cols,
            now,
            zone,
            mapping.threads,
        )?;
        if self.arrow_output {
            to_ipc(&profile_cols.id, self.engine.compiled.rule_names(), &result).map(Either::B)
        } else {
            to_json(self.engine.compiled.rule_names(), &result).map(Either::A)
        }
    }
}

/// Evaluates the tables through the shared reader's columnar path.
#[allow(clippy::too_many_arguments)]
fn run_bulk(
    engine: &Engine,
    profiles: Box<dyn RecordBatchReader + Send>,
    events: Option<Box<dyn RecordBatchReader + Send>>,
    profile_cols: &ProfileColumns,
    event_cols: &EventColumns,
    now: chrono::DateTime<chrono::Utc>,
    zone: siyu_core::Zone,
    threads: usize,
) -> siyu_core::Result<BulkResult> {
    table::run(
        &engine.compiled,
        &engine.schema,
        profiles,
        events,
        profile_cols,
        event_cols,
        now,
        zone,
        threads,
    )
}

/// Opens an Arrow IPC buffer in either format.
fn open(what: &str, bytes: Vec<u8>) -> siyu_core::Result<Box<dyn RecordBatchReader + Send>> {
    let bad = |e: arrow_schema::ArrowError| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("the {what} buffer is not Arrow IPC data (stream or file format): {e}"),
        )
        .with_path(what.to_string())
    };
    if bytes.starts_with(FILE_MAGIC) {
        Ok(Box::new(
            FileReader::try_new(Cursor::new(bytes), None).map_err(bad)?,
        ))
    } else {
        Ok(Box::new(
            StreamReader::try_new(Cursor::new(bytes), None).map_err(bad)?,
        ))
    }
}

/// The column mapping, as the Python bulk API names it (defaults included).
struct Mapping {
    id: String,
    traits: Option<serde_json::Value>,
    time_zone: Option<String>,
    user_id: String,
    name: String,
    timestamp: String,
    event_id: Option<String>,
    properties: Option<serde_json::Value>,
    threads: usize,
}

impl Mapping {
    fn read(text: Option<&str>) -> siyu_core::Result<Mapping> {
        let v = match text {
            Some(t) => super::parse_json(t, ErrorKind::InvalidArgument, "columns")?,
            None => serde_json::Value::Null,
        };
        if !v.is_null() && !v.is_object() {
            return Err(arg("columns", "the column mapping must be an object"));
        }
        let text = |key: &str, default: Option<&str>| -> siyu_core::Result<Option<String>> {
            match v.get(key) {
                None | Some(serde_json::Value::Null) => Ok(default.map(str::to_string)),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(arg(&format!("columns.{key}"), "must be a column name")),
            }
        };
        let threads = match v.get("threads") {
            None | Some(serde_json::Value::Null) => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            Some(t) => match t.as_u64() {
                Some(n) if n >= 1 => n as usize,
                _ => return Err(arg("columns.threads", "must be a positive integer")),
            },
        };
        let get = |key: &str| v.get(key).filter(|x| !x.is_null()).cloned();
        Ok(Mapping {
            id: text("id_column", Some("id"))?.unwrap_or_default(),
            traits: get("traits"),
            time_zone: text("time_zone_column", None)?,
            user_id: text("user_id_column", Some("user_id"))?.unwrap_or_default(),
            name: text("event_name_column", Some("name"))?.unwrap_or_default(),
            timestamp: text("timestamp_column", Some("timestamp"))?.unwrap_or_default(),
            event_id: text("event_id_column", None)?,
            properties: get("properties"),
            threads,
        })
    }

    fn profile_columns(&self, schema: &arrow_schema::Schema) -> siyu_core::Result<ProfileColumns> {
        let skip = [Some(self.id.as_str()), self.time_zone.as_deref()];
        Ok(ProfileColumns {
            id: self.id.clone(),
            traits: pairs("traits", self.traits.as_ref(), Some(schema), &skip)?,
            time_zone: self.time_zone.clone(),
        })
    }

    fn event_columns(
        &self,
        schema: Option<&arrow_schema::Schema>,
    ) -> siyu_core::Result<EventColumns> {
        let skip = [
            Some(self.user_id.as_str()),
            Some(self.name.as_str()),
            Some(self.timestamp.as_str()),
            self.event_id.as_deref(),
        ];
        Ok(EventColumns {
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            timestamp: self.timestamp.clone(),
            id: self.event_id.clone(),
            properties: pairs("properties", self.properties.as_ref(), schema, &skip)?,
        })
    }
}

fn arg(path: &str, message: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{path}: {message}")).with_path(path)
}

/// `(column, name)` pairs from a list of column names, a `{column: name}`
/// object, or (absent) every column of the table except `skip`.
fn pairs(
    key: &str,
    given: Option<&serde_json::Value>,
    schema: Option<&arrow_schema::Schema>,
    skip: &[Option<&str>],
) -> siyu_core::Result<Vec<(String, String)>> {
    let path = format!("columns.{key}");
    match given {
        None => Ok(schema
            .map(|s| {
                s.fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .filter(|n| !skip.contains(&Some(*n)))
                    .map(|n| (n.to_string(), n.to_string()))
                    .collect()
            })
            .unwrap_or_default()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|c| match c {
                serde_json::Value::String(c) => Ok((c.clone(), c.clone())),
                _ => Err(arg(&path, "a list of column names holds a non-string")),
            })
            .collect(),
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(c, n)| match n {
                serde_json::Value::String(n) => Ok((c.clone(), n.clone())),
                _ => Err(arg(&format!("{path}.{c}"), "must name a field")),
            })
            .collect(),
        Some(_) => Err(arg(
            &path,
            "must be a list of column names or a {column: name} object",
        )),
    }
}

/// `{"ids", "results": [{rule: bool}], "unmatched_events"}` as JSON text.
fn to_json(rules: &[String], result: &BulkResult) -> siyu_core::Result<String> {
    // `result.flags` is rule-major (`flags[r][i]`); JS wants one object per profile.
    let results: Vec<serde_json::Value> = (0..result.ids.len())
        .map(|i| {
            serde_json::Value::Object(
                rules
                    .iter()
                    .zip(&result.flags)
                    .map(|(r, flags)| (r.clone(), serde_json::Value::Bool(flags[i])))
                    .collect(),
            )
        })
        .collect();
    let ids: Vec<&str> = result
        .ids
        .as_string::<i32>()
        .iter()
        .map(Option::unwrap_or_default)
        .collect();
    super::write_json(&serde_json::json!({
        "ids": ids,
        "results": results,
        "unmatched_events": result.unmatched_events,
    }))
}

/// The result table (as the Python binding returns it) as an Arrow IPC stream,
/// with the unmatched-event count in the schema metadata.
fn to_ipc(id_column: &str, rules: &[String], result: &BulkResult) -> siyu_core::Result<Vec<u8>> {
    let batch = table::to_batch(id_column, rules, result)?;
    let metadata = [(
        "siyu.unmatched_events".to_string(),
        result.unmatched_events.to_string(),
    )]
    .into_iter()
    .collect();
    let schema = batch.schema().as_ref().clone().with_metadata(metadata);
    let batch = batch.with_schema(schema.into()).map_err(internal)?;
    let mut out = Vec::new();
    {
        let mut w = StreamWriter::try_new(&mut out, &batch.schema()).map_err(internal)?;
        w.write(&batch).map_err(internal)?;
        w.finish().map_err(internal)?;
    }
    Ok(out)
}

fn internal(e: arrow_schema::ArrowError) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!("writing the result table: {e}"),
    )
}
