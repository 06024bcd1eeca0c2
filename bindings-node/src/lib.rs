//! Node.js binding of siyu (napi-rs).
//!
//! This native layer is deliberately string-typed: definitions, profiles and
//! events arrive as JSON text and results leave as JSON text. The npm package's
//! JavaScript layer (`index.js`) turns plain objects into JSON, parses results,
//! and maps errors to `SiyuError` subclasses. All behaviour lives in
//! `siyu-core`; this crate only converts values and errors.
//!
//! Errors cross as a JS `Error` whose message is [`ERROR_MARK`] followed by
//! the core error's JSON form (`{"code","message","position"?,"path"?,"suggestion"?}`).
//! Every entry point runs under `catch_unwind`, so a panic becomes an
//! `INTERNAL` error instead of aborting the Node process.

// napi-derive expands to the FFI glue (`unsafe extern "C"` callbacks).
#![allow(unsafe_code)]

pub mod arrow;
pub mod bulk;
pub mod journey;
pub mod simulate;
pub mod value_models;
mod wire;

use chrono::{DateTime, Utc};
use napi::bindgen_prelude::Buffer;
use napi::bindgen_prelude::{AsyncTask, Status};
use napi::{Env, Task};
use napi_derive::napi;
use siyu_core::erasure::{erase, ErasureRequest};
use siyu_core::journey::{request, Input, UserState};
use siyu_core::lifecycle::CompiledLifecycle;
use siyu_core::merge::{merge_profiles, MergePolicy};
use siyu_core::points;
use siyu_core::rfm;
use siyu_core::rules::EvalInput;
use siyu_core::tagging::{CompiledTagRules, TagRuleSet};
use siyu_core::value::{parse_date, parse_timestamp};
use siyu_core::{Error, ErrorKind, Event, EventLog, Profile, Zone};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Prefix of the message of every error this addon throws; the JS layer
/// recognises it and parses the JSON that follows.
pub const ERROR_MARK: &str = "SIYU_ERROR:";

/// Converts a core error into the JS error the wrapper decodes.
fn to_napi(e: &Error) -> napi::Error {
    napi::Error::new(
        Status::GenericFailure,
        format!("{ERROR_MARK}{}", e.to_json()),
    )
}

/// Runs `f`, turning core errors and panics into JS errors.
fn guard<T>(f: impl FnOnce() -> siyu_core::Result<T>) -> napi::Result<T> {
    guard_core(f).map_err(|e| to_napi(&e))
}

/// Runs `f`, turning a panic into an `INTERNAL` core error.
fn guard_core<T>(f: impl FnOnce() -> siyu_core::Result<T>) -> siyu_core::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Error::new(
                ErrorKind::Internal,
                format!("internal error in siyu (please report): {detail}"),
            ))
        }
    }
}

/// Parses JSON text received from the JS layer.
fn parse_json(text: &str, kind: ErrorKind, what: &str) -> siyu_core::Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::new(kind, format!("{what} is not valid JSON: {e}")))
}

/// Serialises a result for the JS layer.
fn write_json(v: &serde_json::Value) -> siyu_core::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

/// The crate version (shared by every siyu binding).
#[napi]
pub fn version() -> String {
    siyu_core::VERSION.to_string()
}

/// Every stable error code of the core, in declaration order.
#[napi]
pub fn error_codes() -> Vec<String> {
    ErrorKind::ALL
        .iter()
        .map(|k| k.code().to_string())
        .collect()
}

/// Validates an IANA zone name or fixed offset and returns its canonical name.
#[napi]
pub fn parse_zone(name: String) -> napi::Result<String> {
    guard(|| Zone::parse(&name).map(|z| z.name()))
}

/// Raises a panic inside the addon; used by the tests to prove panics become `INTERNAL`.
#[napi]
pub fn debug_panic() -> napi::Result<()> {
    guard(|| -> siyu_core::Result<()> { panic!("deliberate panic for testing") })
}

/// A schema: the traits, events and tag groups profiles may hold.
#[napi]
pub struct Schema {
    inner: Arc<siyu_core::Schema>,
}

#[napi]
impl Schema {
    /// Reads and validates a schema document (JSON text).
    #[napi(factory)]
    pub fn from_json(json: String) -> napi::Result<Schema> {
        guard(|| {
            Ok(Schema {
                inner: Arc::new(siyu_core::Schema::from_json(&json)?),
            })
        })
    }

    /// The schema as JSON text.
    #[napi]
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Validates a profile (JSON text) and returns its normalised JSON text.
    #[napi]
    pub fn validate_profile(&self, profile: String) -> napi::Result<String> {
        guard(|| {
            let v = parse_json(&profile, ErrorKind::InvalidProfile, "profile")?;
            write_json(&Profile::from_json_value(&v, &self.inner)?.to_json())
        })
    }

    /// Validates events (a JSON array) and returns them sorted and de-duplicated as JSON text.
    #[napi]
    pub fn validate_events(&self, events: String) -> napi::Result<String> {
        guard(|| {
            let v = parse_json(&events, ErrorKind::InvalidEvent, "events")?;
            write_json(&EventLog::from_json_value(&v, &self.inner)?.to_json())
        })
    }
}

#[napi]
impl Schema {
    /// The sample schema the default lifecycle model is written against.
    #[napi(factory)]
    pub fn lifecycle_default() -> napi::Result<Schema> {
        guard(|| {
            Ok(Schema {
                inner: Arc::new(siyu_core::lifecycle::default_schema()),
            })
        })
    }

    /// Merges the `secondary` profile (and its events) into `primary` under a
    /// merge policy (JSON text; `None` = the default policy). Returns the core's
    /// outcome JSON `{"profile", "events", "changes"}` as text.
    #[napi]
    pub fn merge_profiles(
        &self,
        primary: String,
        primary_events: String,
        secondary: String,
        secondary_events: String,
        policy: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let policy = match policy {
                Some(p) => MergePolicy::from_json_value(&parse_json(
                    &p,
                    ErrorKind::InvalidJson,
                    "policy",
                )?)?,
                None => MergePolicy::default(),
            };
            let p = Profile::from_json_value(
                &parse_json(&primary, ErrorKind::InvalidProfile, "primary")?,
                &self.inner,
            )?;
            let s = Profile::from_json_value(
                &parse_json(&secondary, ErrorKind::InvalidProfile, "secondary")?,
                &self.inner,
            )?;
            let pe = EventLog::from_json_value(
                &parse_json(&primary_events, ErrorKind::InvalidEvent, "primaryEvents")?,
                &self.inner,
            )?;
            let se = EventLog::from_json_value(
                &parse_json(
                    &secondary_events,
                    ErrorKind::InvalidEvent,
                    "secondaryEvents",
                )?,
                &self.inner,
            )?;
            write_json(&merge_profiles(&p, &pe, &s, &se, &self.inner, &policy)?.to_json())
        })
    }

    /// Erases personal data from a profile and its events under an erasure
    /// request (JSON text; `None` = `{}`). Returns the core's outcome JSON
    /// `{"profile", "events", "erased"}` as text.
    #[napi]
    pub fn erase(
        &self,
        profile: String,
        events: String,
        request: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let request = match request {
                Some(r) => ErasureRequest::from_json_value(&parse_json(
                    &r,
                    ErrorKind::InvalidJson,
                    "request",
                )?)?,
                None => ErasureRequest::from_json_value(&serde_json::json!({}))?,
            };
            let p = Profile::from_json_value(
                &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                &self.inner,
            )?;
            let e = EventLog::from_json_value(
                &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                &self.inner,
            )?;
            write_json(&erase(&p, &e, &self.inner, &request)?.to_json())
        })
    }
}

/// A parsed (not yet compiled) rule set.
#[napi]
pub struct RuleSet {
    inner: siyu_core::RuleSet,
    /// The DSL text it was parsed from, so compile errors can carry line/column.
    source: Option<String>,
}

#[napi]
impl RuleSet {
    /// Parses DSL text.
    #[napi(factory)]
    pub fn parse(text: String) -> napi::Result<RuleSet> {
        guard(|| {
            Ok(RuleSet {
                inner: siyu_core::RuleSet::parse(&text)?,
                source: Some(text),
            })
        })
    }

    /// Reads the JSON form (JSON text).
    #[napi(factory)]
    pub fn from_json(json: String) -> napi::Result<RuleSet> {
        guard(|| {
            Ok(RuleSet {
                inner: siyu_core::RuleSet::from_json(&json)?,
                source: None,
            })
        })
    }

    /// Canonical DSL text.
    #[napi]
    pub fn to_text(&self) -> napi::Result<String> {
        guard(|| Ok(self.inner.to_text()))
    }

    /// The JSON form with AST objects (JSON text).
    #[napi]
    pub fn to_json(&self) -> napi::Result<String> {
        guard(|| Ok(self.inner.to_json()))
    }

    /// Rule names in declaration order.
    #[napi]
    pub fn rule_names(&self) -> Vec<String> {
        self.inner.rules.iter().map(|r| r.name.clone()).collect()
    }
}

/// Everything an evaluation reads besides the profile and events.
#[derive(Clone)]
struct Engine {
    compiled: Arc<siyu_core::CompiledRuleSet>,
    schema: Arc<siyu_core::Schema>,
}

impl Engine {
    /// Validates `profile` and `events` (JSON values) and evaluates every rule.
    fn evaluate_value(
        &self,
        profile: &serde_json::Value,
        events: &serde_json::Value,
        now: DateTime<Utc>,
        zone: Zone,
    ) -> siyu_core::Result<serde_json::Value> {
        let profile = Profile::from_json_value(profile, &self.schema)?;
        let events = EventLog::from_json_value(events, &self.schema)?;
        let input = EvalInput::new(&profile, &events, now).with_default_zone(zone);
        let verdicts = self.compiled.evaluate(&input)?;
        let map = self
            .compiled
            .rule_names()
            .iter()
            .zip(verdicts)
            .map(|(n, b)| (n.clone(), serde_json::Value::Bool(b)))
            .collect::<serde_json::Map<_, _>>();
        Ok(serde_json::Value::Object(map))
    }
}

/// Reads `now` and the optional default zone.
fn read_now_zone(
    now: &str,
    default_zone: Option<&str>,
) -> siyu_core::Result<(DateTime<Utc>, Zone)> {
    let now = parse_timestamp(now).map_err(|e| e.prefix_path("now"))?;
    let zone = match default_zone {
        Some(z) => Zone::parse(z).map_err(|e| e.prefix_path("defaultZone"))?,
        None => Zone::utc(),
    };
    Ok((now, zone))
}

/// A rule set compiled against a schema; evaluates profiles.
#[napi]
pub struct CompiledRuleSet {
    engine: Engine,
}

#[napi]
impl CompiledRuleSet {
    /// Type-checks and compiles `rules` against `schema`. Rules parsed from DSL
    /// text are compiled from that text, so compile errors carry line/column.
    #[napi(factory)]
    pub fn compile(rules: &RuleSet, schema: &Schema) -> napi::Result<CompiledRuleSet> {
        guard(|| {
            let compiled = match &rules.source {
                Some(text) => siyu_core::CompiledRuleSet::compile_text(text, &schema.inner)?,
                None => siyu_core::CompiledRuleSet::compile(&rules.inner, &schema.inner)?,
            };
            Ok(CompiledRuleSet {
                engine: Engine {
                    compiled: Arc::new(compiled),
                    schema: schema.inner.clone(),
                },
            })
        })
    }

    /// Rule names in declaration order.
    #[napi]
    pub fn rule_names(&self) -> Vec<String> {
        self.engine.compiled.rule_names().to_vec()
    }

    /// Evaluates every rule for one profile; returns `{rule: bool}` as JSON text.
    #[napi]
    pub fn evaluate(
        &self,
        profile: String,
        events: String,
        now: String,
        default_zone: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let (now, zone) = read_now_zone(&now, default_zone.as_deref())?;
            let p = parse_json(&profile, ErrorKind::InvalidProfile, "profile")?;
            let e = parse_json(&events, ErrorKind::InvalidEvent, "events")?;
            write_json(&self.engine.evaluate_value(&p, &e, now, zone)?)
        })
    }

    /// Explains one rule's verdict for one profile; returns the explanation as JSON text.
    #[napi]
    pub fn explain(
        &self,
        rule: String,
        profile: String,
        events: String,
        now: String,
        default_zone: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let (now, zone) = read_now_zone(&now, default_zone.as_deref())?;
            let p = parse_json(&profile, ErrorKind::InvalidProfile, "profile")?;
            let e = parse_json(&events, ErrorKind::InvalidEvent, "events")?;
            let profile = Profile::from_json_value(&p, &self.engine.schema)?;
            let events = EventLog::from_json_value(&e, &self.engine.schema)?;
            let input = EvalInput::new(&profile, &events, now).with_default_zone(zone);
            let explanation = self.engine.compiled.explain(&input, &rule)?;
            let v = serde_json::to_value(&explanation)
                .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
            write_json(&v)
        })
    }

    /// Evaluates many profiles on a libuv worker thread. `items` is JSON text of
    /// `[{"profile": {...}, "events": [...]}, ...]`; resolves to JSON text of
    /// `[{rule: bool}, ...]`. The first invalid item rejects the whole call,
    /// with `[i]` prefixed to the error's path.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn evaluate_many(
        &self,
        items: String,
        now: String,
        default_zone: Option<String>,
    ) -> AsyncTask<EvaluateMany> {
        AsyncTask::new(EvaluateMany {
            engine: self.engine.clone(),
            items,
            now,
            default_zone,
        })
    }
}

/// The worker-thread task behind [`CompiledRuleSet::evaluate_many`].
pub struct EvaluateMany {
    engine: Engine,
    items: String,
    now: String,
    default_zone: Option<String>,
}

impl EvaluateMany {
    fn run(&self) -> siyu_core::Result<String> {
        let (now, zone) = read_now_zone(&self.now, self.default_zone.as_deref())?;
        let v = parse_json(&self.items, ErrorKind::InvalidArgument, "items")?;
        let items = v.as_array().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "evaluateMany takes an array of {profile, events}",
            )
        })?;
        let empty = serde_json::Value::Array(Vec::new());
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let profile = item.get("profile").ok_or_else(|| {
                Error::new(ErrorKind::InvalidArgument, "item needs a \"profile\"")
                    .with_path(format!("[{i}].profile"))
            })?;
            let events = item.get("events").unwrap_or(&empty);
            let r = self
                .engine
                .evaluate_value(profile, events, now, zone)
                .map_err(|e| e.prefix_path(&format!("[{i}]")))?;
            out.push(r);
        }
        write_json(&serde_json::Value::Array(out))
    }
}

impl Task for EvaluateMany {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        guard(|| self.run())
    }

    fn resolve(&mut self, _env: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// Serialises a value for the JS layer.
fn to_json_text<T: serde::Serialize>(v: &T) -> siyu_core::Result<String> {
    serde_json::to_string(v).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

/// A lifecycle model compiled against a schema: classifies a profile into a stage.
#[napi]
pub struct Lifecycle {
    inner: Arc<CompiledLifecycle>,
    schema: Arc<siyu_core::Schema>,
}

#[napi]
impl Lifecycle {
    /// Compiles a lifecycle model (JSON text; `None` = the shipped default model).
    #[napi(factory)]
    pub fn compile(model: Option<String>, schema: &Schema) -> napi::Result<Lifecycle> {
        guard(|| {
            let model = siyu_core::lifecycle::request::model(model.as_deref())?;
            Ok(Lifecycle {
                inner: Arc::new(model.compile(&schema.inner)?),
                schema: schema.inner.clone(),
            })
        })
    }

    /// The compiled stage rule names, in declaration order.
    #[napi]
    pub fn rule_names(&self) -> Vec<String> {
        self.inner.rules().rule_names().to_vec()
    }

    /// Classifies the profile at `now` given the previous state (JSON text or
    /// `None`); returns the core's outcome JSON (`{"state", "matched", "rule",
    /// "reason", "held", "transition"}`) as text.
    #[napi]
    pub fn evaluate(
        &self,
        profile: String,
        events: String,
        now: String,
        previous: Option<String>,
        default_zone: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let zone = match default_zone.as_deref() {
                Some(z) => Zone::parse(z).map_err(|e| e.prefix_path("defaultZone"))?,
                None => Zone::utc(),
            };
            let p = Profile::from_json_value(
                &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                &self.schema,
            )?;
            let e = EventLog::from_json_value(
                &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                &self.schema,
            )?;
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            let previous = siyu_core::lifecycle::request::stage_state(previous.as_deref())?;
            let input = EvalInput::new(&p, &e, now).with_default_zone(zone);
            to_json_text(&self.inner.evaluate(&input, previous.as_ref())?)
        })
    }

    /// Replays the stage day by day over `from..=to` (dates `YYYY-MM-DD`);
    /// returns `[{"date", "stage", "transition"}]` as JSON text.
    #[napi]
    pub fn replay(
        &self,
        profile: String,
        events: String,
        from: String,
        to: String,
        default_zone: Option<String>,
        initial: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let zone = match default_zone.as_deref() {
                Some(z) => Zone::parse(z).map_err(|e| e.prefix_path("defaultZone"))?,
                None => Zone::utc(),
            };
            let p = Profile::from_json_value(
                &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                &self.schema,
            )?;
            let e = EventLog::from_json_value(
                &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                &self.schema,
            )?;
            let from = parse_date(&from).map_err(|e| e.prefix_path("from"))?;
            let to = parse_date(&to).map_err(|e| e.prefix_path("to"))?;
            let initial = siyu_core::lifecycle::request::stage_state(initial.as_deref())?;
            to_json_text(
                &self
                    .inner
                    .replay(&p, &e, from, to, zone, initial.as_ref())?,
            )
        })
    }
}

/// Tag rules compiled against a schema: add, remove and expire rule-owned tags.
#[napi]
pub struct TagRules {
    inner: Arc<CompiledTagRules>,
    schema: Arc<siyu_core::Schema>,
}

#[napi]
impl TagRules {
    /// Compiles a tag-rule document (JSON text `{"rules": [...]}`).
    #[napi(factory)]
    pub fn compile(rules: String, schema: &Schema) -> napi::Result<TagRules> {
        guard(|| {
            Ok(TagRules {
                inner: Arc::new(TagRuleSet::from_json(&rules)?.compile(&schema.inner)?),
                schema: schema.inner.clone(),
            })
        })
    }

    /// Applies the rules to a profile at `now`; returns JSON text of
    /// `{"diff": {"added", "removed", "expired"}, "profile": <updated profile>}`.
    #[napi]
    pub fn apply(
        &self,
        profile: String,
        events: String,
        now: String,
        default_zone: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let mut p = Profile::from_json_value(
                &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                &self.schema,
            )?;
            let e = EventLog::from_json_value(
                &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                &self.schema,
            )?;
            let (now, zone) = read_now_zone(&now, default_zone.as_deref())?;
            let diff = self.inner.apply(&mut p, &e, now, zone)?;
            let diff = serde_json::to_value(&diff)
                .map_err(|x| Error::new(ErrorKind::Internal, x.to_string()))?;
            write_json(&serde_json::json!({"diff": diff, "profile": p.to_json()}))
        })
    }
}

/// RFM values (recency days, frequency, monetary) of an event log at `now`;
/// JSON text of the values object, or `null` without a qualifying purchase.
#[napi]
pub fn rfm_values(
    schema: &Schema,
    events: String,
    now: String,
    config: Option<String>,
) -> napi::Result<String> {
    guard(|| {
        let e = EventLog::from_json_value(
            &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
            &schema.inner,
        )?;
        let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
        write_json(&rfm::request::values(&e, now, config.as_deref())?)
    })
}

/// Fits thresholds to a population of values (`method`: quantile, range or fixed);
/// JSON text of `{"thresholds", "scores": [[r, f, m], ...]}`.
#[napi]
pub fn rfm_fit(method: String, population: String) -> napi::Result<String> {
    guard(|| write_json(&rfm::request::fit(&method, &population)?))
}

/// Scores values with stored thresholds; JSON text of `[r, f, m]`.
#[napi]
pub fn rfm_score(thresholds: String, values: String) -> napi::Result<String> {
    guard(|| write_json(&rfm::request::score(&thresholds, &values)?))
}

/// The segment of `[r, f, m]` scores in a segment map (`standard_11`,
/// `four_layer` or a map document); JSON text of the id or `null`.
#[napi]
pub fn rfm_segment(map: Option<String>, scores: String) -> napi::Result<String> {
    guard(|| write_json(&rfm::request::segment(map.as_deref(), &scores)?))
}

/// Computes values, scores and segment for a profile and writes them into it
/// (`scores.rfm_r/f/m` and a segment tag in `group`); JSON text of
/// `{"values", "scores", "segment", "profile"}`, or `{"values": null}` without a purchase.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn rfm_apply(
    schema: &Schema,
    profile: String,
    events: String,
    now: String,
    thresholds: String,
    config: Option<String>,
    map: Option<String>,
    group: Option<String>,
) -> napi::Result<String> {
    guard(|| {
        let mut p = Profile::from_json_value(
            &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
            &schema.inner,
        )?;
        let e = EventLog::from_json_value(
            &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
            &schema.inner,
        )?;
        let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
        write_json(&rfm::request::apply(
            &mut p,
            &e,
            now,
            &thresholds,
            config.as_deref(),
            map.as_deref(),
            group.as_deref(),
        )?)
    })
}

/// Reads a journey user state (JSON text; `None` = no instances yet).
fn read_user_state(state: Option<&str>) -> siyu_core::Result<UserState> {
    match state {
        None => Ok(UserState::new()),
        Some(t) => request::user_state(Some(&parse_json(t, ErrorKind::InvalidState, "state")?)),
    }
}

/// Journeys compiled against a schema under engine policies: steps a user's
/// journey instances on inputs and returns effects for the host to carry out.
#[napi]
pub struct JourneyEngine {
    inner: Arc<siyu_core::journey::JourneyEngine>,
    /// Definition strings already numbered for the JS side (`stepState`, ADR 0015).
    strings: std::rc::Rc<std::cell::RefCell<wire::StringTable>>,
}

#[napi]
impl JourneyEngine {
    /// Validates and compiles journey definitions (JSON text of an array, any
    /// number of versions per id) with policies (JSON text; `None` = defaults).
    #[napi(factory)]
    pub fn create(
        schema: &Schema,
        journeys: String,
        policies: Option<String>,
    ) -> napi::Result<JourneyEngine> {
        guard(|| {
            let defs =
                request::definitions(&parse_json(&journeys, ErrorKind::InvalidJson, "journeys")?)?;
            let policies = match policies {
                Some(p) => {
                    request::policies(Some(&parse_json(&p, ErrorKind::InvalidJson, "policies")?))?
                }
                None => request::policies(None)?,
            };
            Ok(JourneyEngine {
                inner: Arc::new(siyu_core::journey::JourneyEngine::new(
                    (*schema.inner).clone(),
                    defs,
                    policies,
                )?),
                strings: Default::default(),
            })
        })
    }

    /// Validation reports of every definition, as JSON text `{id: report}`.
    #[napi]
    pub fn reports(&self) -> napi::Result<String> {
        guard(|| write_json(&request::reports(&self.inner)?))
    }

    /// Processes one input (JSON text: `{"type": "event", "event": ...}`, `tick`,
    /// `profile_changed`, `outcome`, `enter`) for one user at `now`. `events` is the
    /// user's event history; an event input is added to it (by id, so including it
    /// already is harmless). Returns JSON text of `{"effects", "notices",
    /// "next_wake", "state"}`; the input state is not modified.
    #[napi]
    pub fn step(
        &self,
        state: Option<String>,
        profile: String,
        events: String,
        input: String,
        now: String,
    ) -> napi::Result<String> {
        guard(|| {
            let schema = self.inner.schema();
            let state = read_user_state(state.as_deref())?;
            let p = Profile::from_json_value(
                &parse_json(&profile, ErrorKind::InvalidProfile, "profile")?,
                schema,
            )?;
            let history = EventLog::from_json_value(
                &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                schema,
            )?
            .into_events();
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            let input = Input::from_json_value(
                &parse_json(&input, ErrorKind::InvalidArgument, "input")?,
                schema,
            )?;
            let log = request::history(history, &input);
            let r = self.inner.step(&state, &p, &log, &input, now)?;
            write_json(&request::step_json(&r)?)
        })
    }

    /// Moves instances to other journey versions per a migration map (JSON text).
    /// With `dryRun` only plans. Returns JSON text of `{"moves", "state"}`.
    #[napi]
    pub fn migrate(
        &self,
        state: String,
        map: String,
        now: String,
        dry_run: bool,
    ) -> napi::Result<String> {
        guard(|| {
            let st = read_user_state(Some(&state))?;
            let map = parse_json(&map, ErrorKind::InvalidJson, "migration map")?;
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            let (_, out) = request::migrate(&self.inner, &st, &map, now, dry_run)?;
            write_json(&out)
        })
    }
}

/// Validates one journey definition (JSON text), also against a schema when
/// given; returns the validation report as JSON text.
#[napi]
pub fn validate_journey(definition: String, schema: Option<&Schema>) -> napi::Result<String> {
    guard(|| {
        let d = parse_json(&definition, ErrorKind::InvalidJson, "journey")?;
        to_json_text(&request::validate(&d, schema.map(|s| &*s.inner))?)
    })
}

/// Encodes a journey user state (JSON text) in the versioned binary form.
#[napi]
pub fn encode_journey_state(state: String) -> napi::Result<Buffer> {
    guard(|| Ok(read_user_state(Some(&state))?.to_bytes().into()))
}

/// Encodes each instance of a user state (JSON text) in its binary form.
#[napi]
pub fn encode_journey_instances(state: String) -> napi::Result<Vec<Buffer>> {
    guard(|| {
        Ok(read_user_state(Some(&state))?
            .instances
            .iter()
            .map(|i| i.to_bytes().into())
            .collect())
    })
}

/// Decodes the binary form of a user state; returns its JSON text.
#[napi]
pub fn decode_journey_state(bytes: Buffer) -> napi::Result<String> {
    guard(|| write_json(&UserState::from_bytes(&bytes)?.to_json()))
}

/// Deterministic bucketing hash in [0, 1) (GrowthBook-compatible, versions 1 and 2);
/// `null` for an unsupported version.
#[napi]
pub fn bucket_hash(seed: String, value: String, version: u32) -> Option<f64> {
    siyu_core::hashing::hash(&seed, &value, version)
}

fn read_zone(zone: Option<&str>) -> siyu_core::Result<Zone> {
    zone.map_or_else(
        || Ok(Zone::utc()),
        |z| Zone::parse(z).map_err(|e| e.prefix_path("zone")),
    )
}

/// A points model (earn rules, caps, expiry, levels, tiers, engagement) validated
/// against a schema. Ledgers are JSON documents the caller persists: every
/// method takes a ledger and returns the new one (a failed call changes nothing).
#[napi]
pub struct PointsModel {
    inner: Arc<siyu_core::points::PointsModel>,
    schema: Arc<siyu_core::Schema>,
}

#[napi]
impl PointsModel {
    /// Reads a points model (JSON text; `None` = the shipped default model).
    #[napi(factory)]
    pub fn create(model: Option<String>, schema: &Schema) -> napi::Result<PointsModel> {
        guard(|| {
            let text = model
                .as_deref()
                .unwrap_or(siyu_core::points::PointsModel::default_model_json());
            Ok(PointsModel {
                inner: Arc::new(siyu_core::points::PointsModel::from_json(
                    text,
                    &schema.inner,
                )?),
                schema: schema.inner.clone(),
            })
        })
    }

    /// Earns points for one event; returns JSON text of `{"ledger", "entries"}`.
    #[napi]
    pub fn apply_event(
        &self,
        ledger: Option<String>,
        event: String,
        zone: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let mut l = points::request::ledger(ledger.as_deref())?;
            let e = Event::from_json_value(
                &parse_json(&event, ErrorKind::InvalidEvent, "event")?,
                &self.schema,
            )?;
            let zone = read_zone(zone.as_deref())?;
            write_json(&points::request::apply_event(
                &self.inner,
                &mut l,
                &e,
                zone,
            )?)
        })
    }

    /// Earns points for every event at or before `now` not yet applied, then
    /// expires lots; returns the ledger JSON text.
    #[napi]
    pub fn apply_events(
        &self,
        ledger: Option<String>,
        events: String,
        now: String,
        zone: Option<String>,
    ) -> napi::Result<String> {
        guard(|| {
            let mut l = points::request::ledger(ledger.as_deref())?;
            let e = EventLog::from_json_value(
                &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                &self.schema,
            )?;
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            l.apply_events(&self.inner, &e, read_zone(zone.as_deref())?, now)?;
            write_json(&points::request::ledger_json(&l)?)
        })
    }

    /// Redeems points at `at`; returns JSON text of `{"ledger", "entry"}`.
    #[napi]
    pub fn redeem(
        &self,
        ledger: Option<String>,
        points: i64,
        at: String,
        reference: String,
    ) -> napi::Result<String> {
        guard(|| {
            let mut l = points::request::ledger(ledger.as_deref())?;
            let at = parse_timestamp(&at).map_err(|e| e.prefix_path("at"))?;
            write_json(&points::request::redeem(&mut l, points, at, &reference)?)
        })
    }

    /// Expires lots whose expiry is at or before `now`; returns the ledger JSON text.
    #[napi]
    pub fn expire(&self, ledger: Option<String>, now: String) -> napi::Result<String> {
        guard(|| {
            let mut l = points::request::ledger(ledger.as_deref())?;
            l.expire(parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?);
            write_json(&points::request::ledger_json(&l)?)
        })
    }

    /// Balance at `now`, lifetime points, level and benefits, entries and lots,
    /// as JSON text.
    #[napi]
    pub fn summary(&self, ledger: Option<String>, now: String) -> napi::Result<String> {
        guard(|| {
            let l = points::request::ledger(ledger.as_deref())?;
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            write_json(&points::request::summary(&self.inner, &l, now)?)
        })
    }

    /// Evaluates the tier at `now` from the ledger and events with the previous
    /// tier state (JSON text or `None`); returns the outcome JSON text (the
    /// core's outcome plus `tier` and `benefits`).
    #[napi]
    pub fn evaluate_tier(
        &self,
        ledger: Option<String>,
        events: String,
        state: Option<String>,
        now: String,
    ) -> napi::Result<String> {
        guard(|| {
            let l = points::request::ledger(ledger.as_deref())?;
            let e = EventLog::from_json_value(
                &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                &self.schema,
            )?;
            let state = points::request::tier_state(state.as_deref())?;
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            write_json(&points::request::tier(&self.inner, &l, &e, &state, now)?)
        })
    }

    /// The engagement score of an event history at `now`.
    #[napi]
    pub fn engagement(&self, events: String, now: String) -> napi::Result<f64> {
        guard(|| {
            let model = points::request::engagement(&self.inner)?;
            let e = EventLog::from_json_value(
                &parse_json(&events, ErrorKind::InvalidEvent, "events")?,
                &self.schema,
            )?;
            let now = parse_timestamp(&now).map_err(|e| e.prefix_path("now"))?;
            Ok(model.score(&e, now))
        })
    }
}

/// Customer summaries (frequency, recency, T, monetary value) from transactions:
/// request JSON `{"transactions", "observation_end", "calibration_end"?, "unit"?,
/// "zone"?, "decimals"?}`; with `calibration_end` the calibration/holdout split.
/// Returns JSON text of the rows.
#[napi]
pub fn clv_summarize(request: String) -> napi::Result<String> {
    guard(|| {
        let r = parse_json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::summarize(&r)?)
    })
}

/// Fits a model (`bgnbd`, `mbgnbd`, `paretonbd`, `gammagamma`): request JSON
/// `{"model", "frequency", "recency"?, "T"?, "monetary_value"?, "penalizer"?}` (columns
/// as arrays). Returns JSON text of `{"params", "log_likelihood", "customers"}`.
#[napi]
pub fn clv_fit(request: String) -> napi::Result<String> {
    guard(|| {
        let r = parse_json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::fit(&r)?)
    })
}

/// Purchase-model predictions: request JSON `{"params", "t", "customers": [{"frequency",
/// "recency", "T"}]}`. Returns JSON text of `{"expected_purchases", "rows": [{"p_alive",
/// "conditional_expected_purchases", "log_likelihood"}]}`.
#[napi]
pub fn clv_predict(request: String) -> napi::Result<String> {
    guard(|| {
        let r = parse_json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::predict(&r)?)
    })
}

/// Spend-model predictions: request JSON `{"params", "customers": [{"frequency",
/// "monetary_value"}]}`. Returns JSON text of `{"mean_spend", "rows": [{"expected_average_value"}]}`.
#[napi]
pub fn clv_spend(request: String) -> napi::Result<String> {
    guard(|| {
        let r = parse_json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::spend(&r)?)
    })
}

/// Customer lifetime value: request JSON `{"model": <value-model document with purchase
/// and spend>, "months", "discount_rate", "unit", "customers": [{"frequency", "recency",
/// "T", "monetary_value"}]}`. Returns JSON text of the CLV per customer.
#[napi]
pub fn clv_lifetime_value(request: String) -> napi::Result<String> {
    guard(|| {
        let r = parse_json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::clv::request::lifetime_value(&r)?)
    })
}

/// Validates and normalises a value-model document (JSON text); returns it as JSON text.
#[napi]
pub fn clv_model_document(document: String) -> napi::Result<String> {
    guard(|| {
        let v = parse_json(&document, ErrorKind::InvalidJson, "document")?;
        write_json(&siyu_core::clv::ValueModel::from_json(&v)?.to_json())
    })
}

/// Runs one analytics operation (`retention`, `active_users`, `repeat_purchase_rate`,
/// `funnel`, `k_factor`, `channel_conversion`, `z_test`, `chi_square`, `bayes`,
/// `sample_size`, `frequent_pairs`, `sequential_rules`, `send_time`) on a request
/// (JSON text; fields as in conformance/README.md, kind `analytics`). Returns JSON text.
#[napi]
pub fn analytics_run(op: String, request: String) -> napi::Result<String> {
    guard(|| {
        let r = parse_json(&request, ErrorKind::InvalidJson, "request")?;
        write_json(&siyu_core::analytics::request::execute(&op, &r)?)
    })
}
