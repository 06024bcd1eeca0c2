//! Shared setup of the journey bench and the `journey_cpu` example (included
//! with `#[path]`, not part of the library, so the library needs no serde_json).

use chrono::{DateTime, Utc};
use siyu_core::journey::{Input, JourneyDefinition, JourneyEngine, Policies, UserState};
use siyu_core::sample::{Generator, SampleConfig};
use siyu_core::value::parse_timestamp;
use siyu_core::value::Value;
use siyu_core::{EventLog, Profile, Schema};

/// The six example journeys, in `core/journeys/`.
pub const SIX: [&str; 6] = [
    "welcome",
    "group_activation",
    "browse_abandonment",
    "win_back",
    "replenishment",
    "churn_warning",
];

/// Text of `core/journeys/<name>.json`.
pub fn load(name: &str) -> String {
    let path = format!(
        "{}/../core/journeys/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("example journey")
}

/// The sample population's schema plus the traits and events the example
/// journeys use that the sample does not have (its own entries win).
pub fn sample_journey_schema() -> Schema {
    let mut s: serde_json::Value =
        serde_json::from_str(siyu_core::sample::SCHEMA_JSON).expect("sample schema");
    let j: serde_json::Value = serde_json::from_str(&load("schema")).expect("journey schema");
    for part in ["traits", "events"] {
        if let (Some(to), Some(from)) = (
            s.get_mut(part).and_then(|v| v.as_object_mut()),
            j.get(part).and_then(|v| v.as_object()),
        ) {
            for (k, v) in from {
                to.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    Schema::from_json(&s.to_string()).expect("merged schema")
}

/// An engine over all six example journeys (caps 2/day, quiet hours 22–08).
pub fn six_journeys(schema: &Schema) -> JourneyEngine {
    let defs = SIX
        .iter()
        .map(|n| JourneyDefinition::from_json(&load(n)).expect("journey"))
        .collect();
    let policies = Policies::from_json_value(&serde_json::json!({
        "default_zone": "Asia/Shanghai",
        "caps": [{"channel": "*", "per_day": 2}],
        "quiet_hours": {"start": "22:00", "end": "08:00"}
    }))
    .expect("policies");
    JourneyEngine::new(schema.clone(), defs, policies).expect("engine")
}

/// The 100 000-user sample (seed 42, the year to 2026-12-01).
pub fn sample() -> Generator {
    Generator::new(SampleConfig::default()).expect("sample config")
}

/// Sample users `from..to`. The sample has no `last_interaction_at` trait (the
/// win-back trigger); it is set to the user's last event, as a host would keep it.
pub fn sample_users(gen: &Generator, from: usize, to: usize) -> Vec<(Profile, EventLog)> {
    (from..to)
        .map(|i| {
            let (mut p, log) = gen.user(i);
            if let Some(last) = log.events().last() {
                p.traits.insert(
                    "last_interaction_at".to_string(),
                    Value::Timestamp(last.timestamp),
                );
            }
            (p, log)
        })
        .collect()
}

/// The restore + step + persist fixture: one instance of the 6-node
/// replenishment journey, persisted at its day-7 wait (probiotics message next).
pub struct Cycle {
    /// Engine with the replenishment journey (caps 3/day, quiet hours 22–08).
    pub engine: JourneyEngine,
    /// A consenting user.
    pub profile: Profile,
    /// No events.
    pub events: EventLog,
    /// The persisted state.
    pub blob: Vec<u8>,
    /// When the instance is due.
    pub due: DateTime<Utc>,
}

/// Builds the [`Cycle`] fixture.
pub fn cycle() -> Cycle {
    let schema = Schema::from_json(&load("schema")).unwrap();
    let def = JourneyDefinition::from_json(&load("replenishment")).unwrap();
    let policies = Policies::from_json_value(&serde_json::json!({
        "default_zone": "Asia/Shanghai",
        "caps": [{"channel": "*", "per_day": 3}],
        "quiet_hours": {"start": "22:00", "end": "08:00"}
    }))
    .unwrap();
    let engine = JourneyEngine::new(schema.clone(), vec![def], policies).unwrap();
    let profile = Profile::from_json_value(
        &serde_json::json!({"id": "u1", "time_zone": "Asia/Shanghai", "consents": [
            {"channel": "wechat", "purpose": "marketing", "status": "granted", "at": "2026-01-01T00:00:00Z"}]}),
        &schema,
    )
    .unwrap();
    let events = EventLog::default();
    // Bring one instance to the day-7 wait (probiotics message next).
    let purchase = siyu_core::Event::from_json_value(
        &serde_json::json!({"id": "p1", "name": "purchase", "timestamp": "2026-03-02T02:00:00Z",
            "properties": {"order_id": "o1", "category": "milk_powder"}}),
        &schema,
    )
    .unwrap();
    let t = |s| parse_timestamp(s).unwrap();
    let s = engine
        .step(
            &UserState::new(),
            &profile,
            &events,
            &Input::Event(purchase),
            t("2026-03-02T02:00:00Z"),
        )
        .unwrap()
        .state;
    let s = engine
        .step(
            &s,
            &profile,
            &events,
            &Input::Tick,
            t("2026-03-05T04:00:00Z"),
        )
        .unwrap()
        .state;
    let blob = s.to_bytes();
    let due = s.instances[0].due.unwrap().to_chrono();
    Cycle {
        engine,
        profile,
        events,
        blob,
        due,
    }
}
