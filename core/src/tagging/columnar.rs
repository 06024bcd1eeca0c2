//! Tag diffs over a columnar batch ([`crate::columnar`]): the `when` rules are
//! evaluated for all users at once by
//! [`CompiledRuleSet::evaluate_columns`](crate::CompiledRuleSet::evaluate_columns),
//! templates are rendered from the grouped event columns, and each user's diff
//! is computed by the same steps as [`CompiledTagRules::diff`].

use super::{CompiledTagRules, Piece, TagDiff};
use crate::columnar::{micros_to_utc, Column};
use crate::error::{Error, ErrorKind, Result};
use crate::profile::{Tag, TagSource};
use crate::rules::eval::Val;
use crate::rules::ColumnarInput;
use chrono::{DateTime, Utc};

/// A template value as tag text (as the row path renders a property value).
fn render(v: &Val<'_>) -> Option<String> {
    match v {
        Val::Str(s) => Some(s.to_string()),
        Val::Int(i) => Some(i.to_string()),
        Val::Bool(b) => Some(b.to_string()),
        Val::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// The event columns one template reads.
struct TemplateColumns<'c, 'a> {
    /// The name code of the `values_from` event (`None`: no such event in the batch).
    event: Option<i32>,
    /// One column per piece (`None` for text pieces and absent properties).
    props: Vec<Option<&'c Column<'a>>>,
}

impl CompiledTagRules {
    /// Rule-sourced tags named `names` as a bulk caller's current tags: each
    /// gets the group of the first rule whose tag or template matches it (none
    /// if no rule owns it), `added_at = now` and no expiry.
    pub fn current_tags<S: AsRef<str>>(&self, names: &[S], now: DateTime<Utc>) -> Vec<Tag> {
        names
            .iter()
            .map(|n| {
                let name = n.as_ref();
                Tag {
                    name: name.to_string(),
                    group: self
                        .owner(name)
                        .and_then(|i| self.set.rules[i].group.clone()),
                    source: TagSource::Rule,
                    added_at: now,
                    expires_at: None,
                }
            })
            .collect()
    }

    /// The tag diff of every user of a columnar batch at `input.now`, in user
    /// order: `result[u]` equals [`CompiledTagRules::diff`] on user `u`'s profile
    /// (its current tags are those given by
    /// [`ProfileColumns::with_tags`](crate::columnar::ProfileColumns::with_tags))
    /// and events. One difference is documented: templated names rendered from
    /// events with equal timestamps come in input-row order here and in event-id
    /// order in the row path, which can change which of them wins an exclusive
    /// group. Rules are evaluated on up to `threads` threads.
    pub fn diff_columns(&self, input: &ColumnarInput<'_>, threads: usize) -> Result<Vec<TagDiff>> {
        let flags = self.rules.evaluate_columns(input, threads)?;
        let templates: Vec<Option<TemplateColumns<'_, '_>>> = self
            .set
            .rules
            .iter()
            .zip(&self.prepared)
            .map(|(r, p)| {
                r.values_from.as_ref().map(|vf| TemplateColumns {
                    event: input.events.name_code(&vf.event),
                    props: p
                        .pieces
                        .iter()
                        .map(|piece| match piece {
                            Piece::Prop(k) => input
                                .events
                                .property_index(k)
                                .map(|i| input.events.property(i)),
                            Piece::Text(_) => None,
                        })
                        .collect(),
                })
            })
            .collect();
        let now = input.now;
        let mut hits = vec![false; flags.len()];
        let mut out = Vec::with_capacity(input.profiles.len());
        for u in 0..input.profiles.len() {
            for (h, f) in hits.iter_mut().zip(&flags) {
                *h = f[u];
            }
            let mut failed: Option<Error> = None;
            let diff =
                self.diff_from(
                    &hits,
                    input.profiles.tags(u),
                    now,
                    &mut |i, names| match &templates[i] {
                        None => names.push(self.set.rules[i].tag.clone()),
                        Some(t) => {
                            if let Err(e) = self.render_columns(i, t, input, u, names) {
                                failed.get_or_insert(e);
                            }
                        }
                    },
                );
            if let Some(e) = failed {
                return Err(e.prefix_path(&format!("users[{u}]")));
            }
            out.push(diff);
        }
        Ok(out)
    }

    /// Rule `i`'s rendered names for user `u`, as `render_all` does for a log.
    fn render_columns(
        &self,
        i: usize,
        t: &TemplateColumns<'_, '_>,
        input: &ColumnarInput<'_>,
        u: usize,
        out: &mut Vec<String>,
    ) -> Result<()> {
        let Some(code) = t.event else {
            return Ok(());
        };
        let now = input.now;
        let within = self.set.rules[i]
            .values_from
            .as_ref()
            .and_then(|vf| vf.within);
        // A window reaching before the representable range covers everything.
        let start = within.and_then(|d| now.checked_sub_signed(d.to_chrono()));
        let pieces = &self.prepared[i].pieces;
        for g in input.grouped.range(u).rev() {
            let Some(at) = micros_to_utc(input.grouped.timestamp(g)) else {
                continue;
            };
            if at > now {
                continue;
            }
            if start.is_some_and(|s| at <= s) {
                break;
            }
            if input.grouped.name_code(g) != code {
                continue;
            }
            let row = input.grouped.row(g);
            let mut name = String::new();
            let mut complete = true;
            for (piece, col) in pieces.iter().zip(&t.props) {
                match piece {
                    Piece::Text(s) => name.push_str(s),
                    Piece::Prop(k) => {
                        let v = match col {
                            Some(c) => c.get(row).map_err(|m| {
                                Error::new(ErrorKind::InvalidEvent, m)
                                    .with_path(format!("events[{row}].properties.{k}"))
                            })?,
                            None => Val::Missing,
                        };
                        match render(&v) {
                            Some(v) if !v.is_empty() => name.push_str(&v),
                            _ => {
                                complete = false;
                                break;
                            }
                        }
                    }
                }
            }
            if complete && !out.contains(&name) {
                out.push(name);
            }
        }
        Ok(())
    }
}
