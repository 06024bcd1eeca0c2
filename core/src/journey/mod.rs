//! Journeys (自动化旅程 / SOP): deterministic, host-driven state machines.
//!
//! A journey is a JSON [`JourneyDefinition`] — an entry trigger, a re-entry
//! policy, goals, exit criteria and a graph of nodes (messages, tags, traits,
//! staff tasks, host calls, waits, splits). A [`JourneyEngine`] holds many
//! definitions (all their versions), the user-level [`Policies`] (consent,
//! frequency caps, quiet hours) and the schema, and steps one user's
//! [`UserState`] with [`JourneyEngine::step`]: pure, no clock, no I/O. The host
//! persists the state (JSON or compact binary), carries out the returned
//! [`Effect`]s and calls again with a tick at [`StepResult::next_wake`].
//!
//! The full semantics are in `docs/journeys.md`.

pub mod definition;
pub mod engine;
pub mod filter;
pub mod instant;
pub mod mermaid;
pub mod migrate;
pub mod policy;
pub mod request;
pub mod simulate;
pub mod state;
pub mod validate;

/// Identifier and short-text type of journey state and effects: strings of up
/// to 24 bytes are stored inline, so decoding and cloning them does not
/// allocate. Derefs to `str`; serializes as a JSON string.
pub use compact_str::CompactString;
pub use definition::{JourneyDefinition, Node, NodeKind, Reentry, Trigger};
pub use engine::{
    Action, Effect, Input, JourneyEngine, Notice, NoticeKind, StepResult, UserJourneys, Visit,
};
pub use instant::Instant;
pub use migrate::{MigrationMap, MigrationPlan};
pub use policy::Policies;
pub use simulate::{simulate, simulate_threads, SimulationReport};
pub use state::{Instance, JourneyRecord, SendRecord, UserState, STATE_FORMAT_VERSION};
pub use validate::ValidationReport;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;
    use crate::{EventLog, Profile, Schema};

    fn example(name: &str) -> String {
        let p = format!("{}/journeys/{name}.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(p).unwrap()
    }

    fn engine() -> JourneyEngine {
        let schema = Schema::from_json(&example("schema")).unwrap();
        let defs = [
            "welcome",
            "group_activation",
            "browse_abandonment",
            "win_back",
            "replenishment",
            "churn_warning",
        ]
        .iter()
        .map(|n| JourneyDefinition::from_json(&example(n)).unwrap())
        .collect();
        JourneyEngine::new(schema, defs, Policies::default()).unwrap()
    }

    #[test]
    fn the_six_examples_load_and_export_to_mermaid() {
        let e = engine();
        assert_eq!(e.definitions().count(), 6);
        let m = mermaid::to_mermaid(e.definition("win_back", None).unwrap());
        assert!(m.starts_with("flowchart TD\n"));
        assert!(m.contains("entry([\"date last_interaction_at 30d\"])"));
        assert!(m.contains("n2 -->|\"on_event\"| n6"));
        assert!(m.contains("n3 -->|\"on_failure\"| n5"));
        let m = mermaid::to_mermaid(e.definition("welcome", None).unwrap());
        assert!(
            m.contains("n3{\"claimed<br/>count(benefit_claimed) #gt;= 1\"}"),
            "{m}"
        );
        // Event filters are part of what the chart shows.
        let m = mermaid::to_mermaid(e.definition("replenishment", None).unwrap());
        assert!(
            m.contains("entry([\"event purchase where category = #quot;milk_powder#quot;\"])"),
            "{m}"
        );
    }

    #[test]
    fn step_into_reuses_buffers_and_matches_step_owned() {
        let e = engine();
        let schema = e.schema().clone();
        let p = Profile::from_json_value(
            &serde_json::json!({"id": "u", "consents": [
                {"channel":"wechat","purpose":"marketing","status":"granted","at":"2026-01-01T00:00:00Z"},
                {"channel":"wechat","purpose":"service","status":"granted","at":"2026-01-01T00:00:00Z"}]}),
            &schema,
        )
        .unwrap();
        let log = EventLog::from_json_value(
            &serde_json::json!([{"id": "p1", "name": "purchase",
                "timestamp": "2026-03-02T02:00:00Z",
                "properties": {"order_id": "o1", "category": "milk_powder"}}]),
            &schema,
        )
        .unwrap();
        let purchase = engine::Input::Event(log.events()[0].clone());
        let mut now = parse_timestamp("2026-03-02T02:00:00Z").unwrap();
        let mut out = engine::StepResult::default();
        let (mut scratch, mut input, mut messages) = (UserState::new(), purchase, 0);
        for _ in 0..20 {
            let want = e
                .step_owned(scratch.clone(), &p, &log, &input, now)
                .unwrap();
            e.step_into(
                std::mem::take(&mut scratch),
                &p,
                &log,
                &input,
                now,
                &mut out,
            )
            .unwrap();
            assert_eq!(out, want);
            messages += out.effects.iter().filter(|f| f.action.is_message()).count();
            std::mem::swap(&mut scratch, &mut out.state);
            match out.next_wake {
                Some(t) => now = t,
                None => break,
            }
            input = engine::Input::Tick;
        }
        assert_eq!(messages, 2);
        assert!(scratch.instances.is_empty());
        // On error the state and next wake of `out` stay; its vectors are emptied.
        let before = (out.state.clone(), out.next_wake);
        let bad = engine::Input::Enter {
            journey: "nope".into(),
            key: None,
        };
        assert!(e.step_into(scratch, &p, &log, &bad, now, &mut out).is_err());
        assert_eq!((out.state.clone(), out.next_wake), before);
        assert!(out.effects.is_empty() && out.visits.is_empty());
    }

    #[test]
    fn simulation_counts_nodes_messages_and_suppressions() {
        let e = engine();
        let schema = e.schema().clone();
        let mut users = Vec::new();
        for i in 0..20 {
            // Even users consent to marketing; every user buys milk powder once.
            let consents = if i % 2 == 0 {
                serde_json::json!([{"channel":"wechat","purpose":"marketing","status":"granted","at":"2026-01-01T00:00:00Z"},
                                   {"channel":"wechat","purpose":"service","status":"granted","at":"2026-01-01T00:00:00Z"}])
            } else {
                serde_json::json!([])
            };
            let p = Profile::from_json_value(
                &serde_json::json!({"id": format!("u{i}"), "consents": consents}),
                &schema,
            )
            .unwrap();
            let log = EventLog::from_json_value(
                &serde_json::json!([{"id": format!("p{i}"), "name": "purchase",
                    "timestamp": "2026-03-02T02:00:00Z",
                    "properties": {"order_id": format!("o{i}"), "category": "milk_powder"}}]),
                &schema,
            )
            .unwrap();
            users.push((p, log));
        }
        let r = simulate(
            &e,
            &users,
            parse_timestamp("2026-03-01T00:00:00Z").unwrap(),
            parse_timestamp("2026-04-01T00:00:00Z").unwrap(),
        )
        .unwrap();
        assert_eq!(r.users, 20);
        let j = &r.journeys["replenishment"];
        assert_eq!(j.entered, 20);
        assert_eq!(j.completed, 20);
        assert_eq!(j.nodes["bottle_tips"].entered, 20);
        // 10 consenting users get two messages each; 10 are suppressed twice.
        assert_eq!(r.messages_per_day.values().sum::<u64>(), 20);
        assert_eq!(r.suppressions["no_consent"], 20);
        assert_eq!(r.effects["create_task"], 20);
        // Simulating in chunks and merging gives the same report.
        let (from, to) = (
            parse_timestamp("2026-03-01T00:00:00Z").unwrap(),
            parse_timestamp("2026-04-01T00:00:00Z").unwrap(),
        );
        let mut merged = SimulationReport::default();
        for chunk in users.chunks(7) {
            merged.merge(&simulate(&e, chunk, from, to).unwrap());
        }
        assert_eq!(merged, r);
        // The threaded entry point gives the same report for any thread count.
        for threads in [0, 1, 2, 3, 64] {
            assert_eq!(simulate_threads(&e, &users, from, to, threads).unwrap(), r);
        }
        // An empty or reversed period is refused, threaded or not.
        let err = simulate(&e, &users, to, from).unwrap_err();
        assert_eq!(
            (err.kind(), err.path()),
            (crate::ErrorKind::InvalidArgument, Some("start"))
        );
        let err = simulate_threads(&e, &users, from, from, 2).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
    }
}
