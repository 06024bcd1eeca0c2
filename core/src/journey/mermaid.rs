//! Mermaid flowchart export of a definition.

use super::definition::{JourneyDefinition, NodeKind, Trigger};

fn esc(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// Renders `def` as a Mermaid `flowchart TD`. Nodes are named `n0`, `n1` … in
/// definition order; the entry is `entry`, the end `done`. Splits are diamonds,
/// waits rounded boxes, actions rectangles; edges carry their branch labels.
pub fn to_mermaid(def: &JourneyDefinition) -> String {
    // An event filter is part of what a node waits for, so the chart shows it.
    fn where_text(w: &Option<String>) -> String {
        w.as_ref()
            .map(|w| format!(" where {w}"))
            .unwrap_or_default()
    }
    let mut out = String::from("flowchart TD\n");
    let trigger = match &def.trigger {
        Trigger::Event { event, r#where, .. } => format!("event {event}{}", where_text(r#where)),
        Trigger::Segment { rule } => format!("segment: {rule}"),
        Trigger::Date {
            trait_name, offset, ..
        } => format!(
            "date {trait_name} {}",
            serde_json::to_value(offset)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        Trigger::Explicit => "explicit entry".to_string(),
    };
    out.push_str(&format!("  entry([\"{}\"])\n", esc(&trigger)));
    let idx = |id: &str| def.node_index(id).map(|i| format!("n{i}"));
    for (i, n) in def.nodes.iter().enumerate() {
        let detail = match &n.kind {
            NodeKind::Message {
                channel, template, ..
            } => format!("message {channel}: {template}"),
            NodeKind::Tags { add, remove, .. } => {
                format!("tags +{} -{}", add.join(","), remove.join(","))
            }
            NodeKind::SetTraits { traits, .. } => format!(
                "set {}",
                traits.keys().cloned().collect::<Vec<_>>().join(",")
            ),
            NodeKind::Task {
                assignee, template, ..
            } => format!("task {assignee}: {template}"),
            NodeKind::Call { action, .. } => format!("call {action}"),
            NodeKind::Wait { duration, .. } => format!("wait {duration}"),
            NodeKind::WaitUntilTime { time, weekdays, .. } => {
                format!("wait until {time} {}", weekdays.join(","))
            }
            NodeKind::WaitUntilDate { trait_name, .. } => format!("wait until {trait_name}"),
            NodeKind::WaitEvent {
                event,
                timeout,
                r#where,
                ..
            } => format!("wait for {event}{} ≤ {timeout}", where_text(r#where)),
            NodeKind::SplitRule { rule, .. } => rule.clone(),
            NodeKind::SplitMulti { .. } => "first match".to_string(),
            NodeKind::SplitRandom { .. } => "random split".to_string(),
            NodeKind::Goal {} => "goal".to_string(),
            NodeKind::End {} => "end".to_string(),
        };
        let label = esc(&format!("{}<br/>{}", n.id, detail)).replace("#lt;br/#gt;", "<br/>");
        let (open, close) = match &n.kind {
            NodeKind::SplitRule { .. }
            | NodeKind::SplitMulti { .. }
            | NodeKind::SplitRandom { .. } => ("{", "}"),
            k if k.is_wait() => ("(", ")"),
            NodeKind::Goal {} | NodeKind::End {} => ("((", "))"),
            _ => ("[", "]"),
        };
        out.push_str(&format!("  n{i}{open}\"{label}\"{close}\n"));
    }
    if let Some(s) = def.start_id().and_then(idx) {
        out.push_str(&format!("  entry --> {s}\n"));
    }
    let mut done = false;
    for (i, n) in def.nodes.iter().enumerate() {
        let labels: Vec<String> = match &n.kind {
            NodeKind::SplitRandom { branches } => branches
                .iter()
                .map(|b| format!("{} {}", b.name, b.weight))
                .collect(),
            NodeKind::SplitMulti { branches, .. } => {
                let mut v: Vec<String> = branches.iter().map(|b| b.rule.clone()).collect();
                v.push("default".into());
                v
            }
            k => k.edges().iter().map(|(l, _)| l.clone()).collect(),
        };
        for ((_, target), label) in n.kind.edges().into_iter().zip(labels) {
            let to = match target.and_then(idx) {
                Some(t) => t,
                None => {
                    done = true;
                    "done".to_string()
                }
            };
            if label == "next" {
                out.push_str(&format!("  n{i} --> {to}\n"));
            } else {
                out.push_str(&format!("  n{i} -->|\"{}\"| {to}\n", esc(&label)));
            }
        }
    }
    if done {
        out.push_str("  done((end))\n");
    }
    out
}
