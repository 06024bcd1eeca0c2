//! The columnar bulk outputs equal the per-profile core calls on the same data,
//! over a sample population: lifecycle stages (`classify_columns` vs `classify`,
//! with and without previous states), tag diffs (`diff_columns` vs `diff`, with
//! current tags) and RFM (`values_columns` vs `values`, `score_batch` vs
//! `score_population`).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use siyu_core::columnar::{Bitmap, Column, ColumnData, EventColumns, ProfileColumns};
use siyu_core::lifecycle::{LifecycleModel, StageState};
use siyu_core::rfm::{score_batch, RfmConfig, RfmScoring, ScoreMethod, SegmentMap};
use siyu_core::rules::{ColumnarInput, EvalInput};
use siyu_core::sample::{schema, Generator, SampleConfig};
use siyu_core::tagging::TagRuleSet;
use siyu_core::{EventLog, Profile, Tag, Value, ValueType, Zone};

/// Owned buffers of one column (values as the core's types; nulls by a bitmap).
struct Owned {
    ty: ValueType,
    valid: Vec<u8>,
    n: usize,
    ints: Vec<i64>,
    floats: Vec<f64>,
    offsets: Vec<i32>,
    data: Vec<u8>,
    dates: Vec<i32>,
}

impl Owned {
    fn build(ty: ValueType, values: &[Option<&Value>]) -> Owned {
        let n = values.len();
        let mut o = Owned {
            ty,
            valid: vec![0; n.div_ceil(8) + 1],
            n,
            ints: Vec::new(),
            floats: Vec::new(),
            offsets: vec![0],
            data: Vec::new(),
            dates: Vec::new(),
        };
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for (i, v) in values.iter().enumerate() {
            if v.is_some() {
                o.valid[i / 8] |= 1 << (i % 8);
            }
            match (ty, v) {
                (ValueType::Integer, Some(Value::Integer(x))) => o.ints.push(*x),
                (ValueType::Timestamp, Some(Value::Timestamp(t))) => {
                    o.ints.push(t.timestamp_micros())
                }
                (ValueType::Integer | ValueType::Timestamp, _) => o.ints.push(0),
                (ValueType::Float, Some(Value::Float(x))) => o.floats.push(*x),
                (ValueType::Float, Some(Value::Integer(x))) => o.floats.push(*x as f64),
                (ValueType::Float, _) => o.floats.push(0.0),
                (ValueType::Date, Some(Value::Date(d))) => {
                    o.dates.push((*d - epoch).num_days() as i32)
                }
                (ValueType::Date, _) => o.dates.push(0),
                (ValueType::String, v) => {
                    if let Some(Value::String(s)) = v {
                        o.data.extend_from_slice(s.as_bytes());
                    }
                    o.offsets.push(o.data.len() as i32);
                }
                (other, _) => panic!("the sample schema has no {other} columns"),
            }
        }
        o
    }

    fn column(&self) -> Column<'_> {
        let data = match self.ty {
            ValueType::Integer => ColumnData::Integer(&self.ints),
            ValueType::Timestamp => ColumnData::TimestampMicros(&self.ints),
            ValueType::Float => ColumnData::Float(&self.floats),
            ValueType::Date => ColumnData::Date32(&self.dates),
            _ => ColumnData::Utf8 {
                offsets: &self.offsets,
                data: &self.data,
            },
        };
        Column::new(data, Some(Bitmap::new(&self.valid, 0, self.n).unwrap())).unwrap()
    }
}

/// A sample population as rows and as owned column buffers.
struct Population {
    users: Vec<(Profile, EventLog)>,
    now: DateTime<Utc>,
    zone: Zone,
    traits: Vec<(String, Owned)>,
    ts: Vec<i64>,
    names: Vec<i32>,
    name_table: Vec<String>,
    ids: Owned,
    props: Vec<(String, Owned)>,
    owners: Vec<u32>,
}

fn population(n: usize, seed: u64) -> Population {
    let config = SampleConfig::new(n, seed);
    let gen = Generator::new(config.clone()).unwrap();
    let users: Vec<(Profile, EventLog)> = gen
        .iter()
        .map(|(mut p, log)| {
            // The columnar path reads traits, zone and tags only.
            p.tags.clear();
            p.scores.clear();
            (p, log)
        })
        .collect();
    let s = schema();
    let traits = s
        .traits
        .iter()
        .map(|(name, def)| {
            let vals: Vec<Option<&Value>> = users.iter().map(|(p, _)| p.traits.get(name)).collect();
            (name.clone(), Owned::build(def.ty, &vals))
        })
        .collect();
    // Events of all users, interleaved in reverse user order (grouping must sort).
    let flat: Vec<(u32, &siyu_core::Event)> = users
        .iter()
        .enumerate()
        .rev()
        .flat_map(|(u, (_, log))| log.events().iter().map(move |e| (u as u32, e)))
        .collect();
    let mut name_table: Vec<String> = Vec::new();
    let names = flat
        .iter()
        .map(
            |(_, e)| match name_table.iter().position(|n| *n == e.name) {
                Some(k) => k as i32,
                None => {
                    name_table.push(e.name.clone());
                    name_table.len() as i32 - 1
                }
            },
        )
        .collect();
    let mut prop_types = std::collections::BTreeMap::new();
    for def in s.events.values() {
        for (p, f) in &def.properties {
            prop_types.insert(p.clone(), f.ty);
        }
    }
    let props = prop_types
        .iter()
        .map(|(p, ty)| {
            let vals: Vec<Option<&Value>> = flat.iter().map(|(_, e)| e.properties.get(p)).collect();
            (p.clone(), Owned::build(*ty, &vals))
        })
        .collect();
    let id_values: Vec<Value> = flat
        .iter()
        .map(|(_, e)| Value::String(e.id.clone()))
        .collect();
    let id_refs: Vec<Option<&Value>> = id_values.iter().map(Some).collect();
    Population {
        now: config.end,
        zone: config.default_zone,
        ts: flat
            .iter()
            .map(|(_, e)| e.timestamp.timestamp_micros())
            .collect(),
        names,
        name_table,
        ids: Owned::build(ValueType::String, &id_refs),
        props,
        owners: flat.iter().map(|(u, _)| *u).collect(),
        traits,
        users,
    }
}

/// Builds the columnar input (with `tags` as the users' current tags) and runs `f`.
fn with_input<T>(
    p: &Population,
    tags: Option<&[Vec<Tag>]>,
    f: impl FnOnce(&ColumnarInput<'_>) -> T,
) -> T {
    let n = p.users.len();
    let mut profiles = ProfileColumns::new(n)
        .with_zones(p.users.iter().map(|(u, _)| u.time_zone).collect())
        .unwrap();
    for (name, col) in &p.traits {
        profiles = profiles.with_trait(name.clone(), col.column()).unwrap();
    }
    if let Some(t) = tags {
        profiles = profiles.with_tags(t).unwrap();
    }
    let mut events = EventColumns::new(&p.ts, &p.names, p.name_table.clone())
        .unwrap()
        .with_ids(p.ids.column())
        .unwrap();
    for (name, col) in &p.props {
        events = events.with_property(name.clone(), col.column()).unwrap();
    }
    profiles.validate(&schema()).unwrap();
    events.validate(&schema()).unwrap();
    let grouped = events.group(&p.owners, n).unwrap();
    f(&ColumnarInput {
        profiles: &profiles,
        events: &events,
        grouped: &grouped,
        now: p.now,
        default_zone: p.zone,
    })
}

fn row_input<'a>(p: &'a Population, u: usize) -> EvalInput<'a> {
    let (profile, log) = &p.users[u];
    EvalInput::new(profile, log, p.now).with_default_zone(p.zone)
}

#[test]
fn lifecycle_stages_equal_the_per_profile_call() {
    let p = population(400, 7);
    let lc = LifecycleModel::default_model().compile(&schema()).unwrap();
    let stages: Vec<&str> = lc.model().stages.iter().map(|s| s.name.as_str()).collect();
    // Previous states: none, or a stage entered some days ago (dwell and
    // transition rules then matter).
    let previous: Vec<Option<StageState>> = (0..p.users.len())
        .map(|u| {
            (u % 3 != 0).then(|| {
                StageState::new(
                    stages[u % stages.len()],
                    p.now - Duration::days((u % 40) as i64),
                )
            })
        })
        .collect();
    for threads in [1, 3] {
        let bulk = with_input(&p, None, |i| lc.classify_columns(i, None, threads).unwrap());
        let held = with_input(&p, None, |i| {
            lc.classify_columns(i, Some(&previous), threads).unwrap()
        });
        let mut distinct = std::collections::BTreeSet::new();
        for u in 0..p.users.len() {
            let input = row_input(&p, u);
            assert_eq!(bulk[u], lc.classify(&input, None).unwrap(), "user {u}");
            let one = lc.classify(&input, previous[u].as_ref()).unwrap();
            assert_eq!(held[u], one, "user {u} with a previous stage");
            distinct.insert(bulk[u].state.stage.clone());
        }
        assert!(
            distinct.len() >= 4,
            "the sample reaches several stages: {distinct:?}"
        );
    }
    let bad = vec![Some(StageState::new("nope", p.now)); p.users.len()];
    let e = with_input(&p, None, |i| lc.classify_columns(i, Some(&bad), 1)).unwrap_err();
    assert_eq!(e.kind(), siyu_core::ErrorKind::InvalidState);
    assert_eq!(e.path(), Some("users[0].stage"));
}

const TAG_RULES: &str = r#"{"rules":[
  {"tag":"interest:{category}","group":"interest","ttl":"30d",
   "when":"any(consulted, within 90d)","values_from":{"event":"consulted","within":"90d"}},
  {"id":"big","tag":"class:big_spender","group":"rfm_class","when":"sum(purchase.amount) > 2000"},
  {"id":"buyer","tag":"class:buyer","group":"rfm_class","when":"any(purchase)"},
  {"id":"quiet","tag":"quiet","when":"none(message_opened, within 30d)","policy":"live"},
  {"id":"kept","tag":"kept","policy":"sticky","when":"count(check_in) >= 3"},
  {"id":"reads_tags","tag":"was_quiet","when":"has_tag(\"quiet\") or has_tag_in_group(\"rfm_class\")"}
]}"#;

#[test]
fn tag_diffs_equal_the_per_profile_call() {
    let mut p = population(300, 11);
    let rules = TagRuleSet::from_json(TAG_RULES)
        .unwrap()
        .compile(&schema())
        .unwrap();
    let candidates = [
        "quiet",
        "class:buyer",
        "class:big_spender",
        "interest:toys",
        "kept",
        "manual",
    ];
    // Current tags: a varying subset of names, as a bulk caller gives them.
    let current: Vec<Vec<Tag>> = (0..p.users.len())
        .map(|u| {
            let names: Vec<&str> = candidates
                .iter()
                .enumerate()
                .filter(|(k, _)| (u >> k) & 1 == 1)
                .map(|(_, n)| *n)
                .collect();
            rules.current_tags(&names, p.now)
        })
        .collect();
    assert_eq!(current[2][0].group.as_deref(), Some("rfm_class"));
    for (u, tags) in current.iter().enumerate() {
        p.users[u].0.tags = tags.clone();
    }
    let bulk = with_input(&p, Some(&current), |i| rules.diff_columns(i, 2).unwrap());
    let (mut added, mut removed) = (0, 0);
    for (u, d) in bulk.iter().enumerate() {
        let one = rules.diff(&row_input(&p, u)).unwrap();
        assert_eq!(*d, one, "user {u}");
        added += d.added.len();
        removed += d.removed.len();
    }
    assert!(added > 0 && removed > 0, "added {added}, removed {removed}");
}

#[test]
fn rfm_values_and_scores_equal_the_per_profile_calls() {
    let p = population(400, 3);
    let map = SegmentMap::standard_11();
    for config in [
        RfmConfig::default(),
        RfmConfig {
            window: Some(siyu_core::rules::ast::Duration::parse("90d").unwrap()),
            ..RfmConfig::default()
        },
    ] {
        let values = with_input(&p, None, |i| config.values_columns(i).unwrap());
        let rows: Vec<_> = p
            .users
            .iter()
            .map(|(_, log)| config.values(log, p.now))
            .collect();
        assert_eq!(values, rows);
        let buyers: Vec<_> = rows.iter().flatten().copied().collect();
        assert!(buyers.len() > 20);
        let (fitted, scored) =
            score_batch(&values, &RfmScoring::Fit(ScoreMethod::Quantile), &map).unwrap();
        let (t, scores) = siyu_core::rfm::score_population(ScoreMethod::Quantile, &buyers).unwrap();
        assert_eq!(fitted.as_ref(), Some(&t));
        let mut k = 0;
        for (v, row) in values.iter().zip(&scored) {
            match (v, row) {
                (None, None) => {}
                (Some(v), Some(r)) => {
                    assert_eq!(r.values, *v);
                    assert_eq!(r.scores, scores[k]);
                    assert_eq!(Some(r.segment.as_str()), map.segment(&scores[k]));
                    k += 1;
                }
                other => panic!("buyer and row disagree: {other:?}"),
            }
        }
        // Stored thresholds score every batch the same way.
        let (_, again) = score_batch(&values, &RfmScoring::Thresholds(Box::new(t)), &map).unwrap();
        assert_eq!(again, scored);
    }
    let none = score_batch(&[None, None], &RfmScoring::Fit(ScoreMethod::Quantile), &map).unwrap();
    assert_eq!(none, (None, vec![None, None]));
}
