//! Property tests: every rule AST prints to DSL text that parses back to an equal
//! tree, printing is stable, and the JSON form round-trips too.

use proptest::prelude::*;
use siyu_core::rules::ast::{
    AggFn, ArithOp, CalendarUnit, CmpOp, Direction, Duration, DurationUnit, Expr, ExprKind,
    Function, Literal, Rule, RuleSet, Span, StreakMode, StreakUnit, TagMode, TextTest, Window,
};
use siyu_core::rules::{parser, printer};

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind)
}

/// Any text, control characters and non-ASCII included.
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter)
}

/// Names: mostly identifiers, plus reserved words, call names and arbitrary text.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z_][a-z0-9_]{0,8}",
        1 => prop::sample::select(vec![
            "and", "or", "not", "in", "where", "segment", "trait", "prop", "now", "today",
            "count", "sum", "days_since", "has_tag", "timestamp", "last", "during",
        ])
        .prop_map(String::from),
        1 => any_text(),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    (
        any::<u32>(),
        prop::sample::select(vec![
            DurationUnit::Seconds,
            DurationUnit::Minutes,
            DurationUnit::Hours,
            DurationUnit::Days,
            DurationUnit::Weeks,
        ]),
    )
        .prop_map(|(amount, unit)| Duration { amount, unit })
}

fn timestamp() -> impl Strategy<Value = String> {
    (
        1970..2100i32,
        1..=12u32,
        1..=28u32,
        0..24u32,
        0..60u32,
        0..60u32,
        prop_oneof![
            Just("Z".to_string()),
            Just("+08:00".to_string()),
            Just("-05:30".to_string()),
            Just(".250Z".to_string()),
        ],
    )
        .prop_map(|(y, mo, d, h, mi, s, z)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{z}")
        })
}

fn date() -> impl Strategy<Value = String> {
    (1900..2100i32, 1..=12u32, 1..=28u32).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

fn literal() -> impl Strategy<Value = Literal> {
    let leaf = prop_oneof![
        any_text().prop_map(Literal::String),
        any::<i64>().prop_map(Literal::Integer),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Literal::Float),
        (-1000..1000i32).prop_map(|i| Literal::Float(f64::from(i))),
        any::<bool>().prop_map(Literal::Boolean),
        timestamp().prop_map(Literal::Timestamp),
        date().prop_map(Literal::Date),
        duration().prop_map(Literal::Duration),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Literal::List)
    })
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::All),
        duration().prop_map(|duration| Window::Rolling { duration }),
        (
            prop::sample::select(vec![
                CalendarUnit::Day,
                CalendarUnit::Week,
                CalendarUnit::Month,
                CalendarUnit::Quarter,
                CalendarUnit::Year,
            ]),
            prop_oneof![0..4u32, any::<u32>()],
            prop_oneof![1..4u32, 1..=u32::MAX],
        )
            .prop_map(|(unit, back, count)| Window::Calendar { unit, back, count }),
        (0..3u32)
            .prop_flat_map(|b| (Just(b), 1..4u32))
            .prop_map(|(b, c)| {
                // Keyword forms: `last N UNITS` needs back == count.
                Window::Calendar {
                    unit: CalendarUnit::Month,
                    back: b.max(c),
                    count: c,
                }
            }),
        (timestamp(), timestamp()).prop_map(|(start, end)| Window::Range { start, end }),
    ]
}

fn leaf_expr() -> impl Strategy<Value = Expr> {
    prop_oneof![
        literal().prop_map(|value| e(ExprKind::Literal { value })),
        name().prop_map(|name| e(ExprKind::Trait { name })),
        name().prop_map(|name| e(ExprKind::Prop { name })),
        Just(e(ExprKind::Now)),
        Just(e(ExprKind::Today)),
        any_text().prop_map(|name| e(ExprKind::Score { name })),
        (
            prop::collection::vec(any_text(), 0..3),
            prop::sample::select(vec![TagMode::Any, TagMode::All])
        )
            .prop_map(|(tags, mode)| e(ExprKind::HasTag { tags, mode })),
        any_text().prop_map(|group| e(ExprKind::HasTagInGroup { group })),
        (any_text(), any_text())
            .prop_map(|(channel, purpose)| e(ExprKind::HasConsent { channel, purpose })),
        any_text().prop_map(|namespace| e(ExprKind::HasIdentity { namespace })),
        name().prop_map(|name| e(ExprKind::Segment { name })),
    ]
}

fn aggregate(filter: Option<Expr>) -> impl Strategy<Value = Expr> {
    (
        prop::sample::select(AggFn::ALL.to_vec()),
        name(),
        name(),
        window(),
    )
        .prop_map(move |(agg, event, prop, window)| {
            e(ExprKind::Aggregate {
                agg,
                event,
                property: agg.needs_property().then_some(prop),
                filter: filter.clone().map(Box::new),
                window,
            })
        })
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf_expr().prop_recursive(5, 48, 4, |inner| {
        let b = || inner.clone().prop_map(Box::new);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|args| e(ExprKind::And { args })),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|args| e(ExprKind::Or { args })),
            b().prop_map(|arg| e(ExprKind::Not { arg })),
            (
                prop::sample::select(vec![ArithOp::Add, ArithOp::Sub, ArithOp::Mul, ArithOp::Div]),
                b(),
                b()
            )
                .prop_map(|(arith, left, right)| e(ExprKind::Arith {
                    arith,
                    left,
                    right
                })),
            (prop::sample::select(Function::ALL.to_vec()), inner.clone()).prop_map(
                |(function, arg)| e(ExprKind::Call {
                    function,
                    args: vec![arg]
                })
            ),
            (
                prop::sample::select(vec![
                    CmpOp::Eq,
                    CmpOp::Ne,
                    CmpOp::Lt,
                    CmpOp::Le,
                    CmpOp::Gt,
                    CmpOp::Ge,
                    CmpOp::Before,
                    CmpOp::After
                ]),
                b(),
                b()
            )
                .prop_map(|(cmp, left, right)| e(ExprKind::Compare {
                    cmp,
                    left,
                    right
                })),
            (
                b(),
                prop::collection::vec(inner.clone(), 0..3),
                any::<bool>()
            )
                .prop_map(|(expr, values, negated)| e(ExprKind::In {
                    expr,
                    values,
                    negated
                })),
            (
                prop::sample::select(vec![
                    TextTest::Contains,
                    TextTest::StartsWith,
                    TextTest::EndsWith,
                    TextTest::Matches
                ]),
                b(),
                b()
            )
                .prop_map(|(test, expr, pattern)| e(ExprKind::TextMatch {
                    test,
                    expr,
                    pattern
                })),
            (b(), b(), b()).prop_map(|(expr, low, high)| e(ExprKind::Between { expr, low, high })),
            (b(), any::<bool>()).prop_map(|(expr, negated)| e(ExprKind::Exists { expr, negated })),
            (
                b(),
                prop::sample::select(vec![Direction::Last, Direction::Next]),
                duration()
            )
                .prop_map(|(expr, direction, duration)| e(ExprKind::Within {
                    expr,
                    direction,
                    duration
                })),
            prop::option::of(inner.clone()).prop_flat_map(aggregate),
            (
                prop::sample::select(vec![StreakMode::Without, StreakMode::With]),
                prop::sample::select(vec![StreakUnit::Day, StreakUnit::Week, StreakUnit::Month]),
                name(),
                prop::option::of(b()),
            )
                .prop_map(|(mode, unit, event, filter)| e(ExprKind::Streak {
                    mode,
                    unit,
                    event,
                    filter
                })),
        ]
    })
}

fn description() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::collection::vec(any::<char>().prop_filter("no CR", |c| *c != '\r'), 0..12)
            .prop_map(String::from_iter),
    )
}

fn rule_set() -> impl Strategy<Value = RuleSet> {
    prop::collection::vec((name(), description(), expr()), 0..4).prop_map(|rules| RuleSet {
        rules: rules
            .into_iter()
            .map(|(name, description, expr)| Rule {
                name,
                description,
                expr,
                span: Span::default(),
            })
            .collect(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn expr_print_parse_identity(x in expr()) {
        let text = printer::print_expr(&x);
        let back = parser::parse_expr(&text)
            .map_err(|err| TestCaseError::fail(format!("{err}\n{text}")))?;
        prop_assert_eq!(&back, &x, "text: {}", text);
        prop_assert_eq!(printer::print_expr(&back), text);
    }

    #[test]
    fn rule_set_print_parse_identity(rs in rule_set()) {
        let text = rs.to_text();
        let back = RuleSet::parse(&text)
            .map_err(|err| TestCaseError::fail(format!("{err}\n{text}")))?;
        prop_assert_eq!(&back, &rs, "text: {}", text);
        prop_assert_eq!(back.to_text(), text);
    }

    #[test]
    fn json_identity(rs in rule_set()) {
        let value = serde_json::to_value(&rs).expect("serialize");
        let back: RuleSet = serde_json::from_value(value.clone()).expect("deserialize");
        prop_assert_eq!(&back, &rs);
        prop_assert_eq!(serde_json::to_value(&back).expect("serialize"), value);
        let via_text = RuleSet::from_json(&rs.to_json())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(&via_text, &rs);
    }
}

/// Parsed spans point at the source they came from, and reading DSL text from
/// a JSON rule document gives the same tree as parsing it directly.
#[test]
fn text_and_json_agree_on_examples() {
    let text = "segment churn_warning: none(message_opened, within 72h) and weeks_without(page_viewed) >= 3";
    let parsed = RuleSet::parse(text).unwrap();
    let doc = serde_json::json!({"rules": [{"name": "churn_warning",
        "expr": "none(message_opened, within 72h) and weeks_without(page_viewed) >= 3"}]});
    assert_eq!(RuleSet::from_json_value(&doc).unwrap(), parsed);
    let rule = &parsed.rules[0];
    let s = rule.expr.span;
    assert_eq!(&text[s.start as usize..s.end as usize], &text[23..]);
    let from_json = RuleSet::from_json(&parsed.to_json()).unwrap();
    assert_eq!(from_json, parsed);
    assert_eq!(from_json.to_text(), format!("{text}\n"));
}

/// Every ```text example in docs/rules.md parses: blocks with `segment` as rule
/// sets, other blocks line by line as expressions; and the JSON example reads.
#[test]
fn docs_examples_parse() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rules.md"))
        .expect("docs/rules.md");
    let mut checked = 0;
    for (i, block) in doc.split("```").enumerate() {
        // Odd pieces are inside fences; the first line names the language.
        if i % 2 == 0 {
            continue;
        }
        let (lang, body) = block.split_once('\n').unwrap_or((block, ""));
        match lang.trim() {
            "text" if body.contains("segment ") => {
                RuleSet::parse(body).unwrap_or_else(|e| panic!("{e}\n{body}"));
                checked += 1;
            }
            "text" => {
                for line in body.lines().filter(|l| !l.trim().is_empty()) {
                    parser::parse_expr(line).unwrap_or_else(|e| panic!("{e}\n{line}"));
                    checked += 1;
                }
            }
            "json" => {
                RuleSet::from_json(body).unwrap_or_else(|e| panic!("{e}\n{body}"));
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked >= 10, "only {checked} examples found");
}

/// The DSL's trees are what the compiler and evaluator expect: the layered
/// example of docs/rules.md compiles and evaluates, and so does its printed form.
#[test]
fn parsed_rules_compile_and_evaluate() {
    use siyu_core::rules::{CompiledRuleSet, EvalInput};
    use siyu_core::{EventLog, Profile, Schema};
    let schema = Schema::from_json(
        r#"{"traits": {"first_seen": "timestamp"},
            "events": {"purchase": {"properties": {"amount": "float", "category": "string"}},
                       "message_replied": {}, "message_opened": {}, "page_viewed": {}}}"#,
    )
    .unwrap();
    let text = r#"
/// High-value loyal customers.
segment loyal:
    count(purchase where category = "milk_powder", within 30d) >= 3
    and not has_tag("churn_warning")
/// Churn warning: 30 days without interaction, 72 h unread, 3 weeks without browsing.
segment churn_warning:
    none(message_replied, within 30d)
    and none(message_opened, within 72h)
    and weeks_without(page_viewed) >= 3
segment potential_repeat: count(purchase) = 1 and last_time(purchase) within last 30d
segment new_user: first_seen within last 7d and not in_segment(loyal)
"#;
    let rules = RuleSet::parse(text).unwrap();
    let reprinted = RuleSet::parse(&rules.to_text()).unwrap();
    let profile = Profile::from_json_value(
        &serde_json::json!({"id": "u1", "traits": {"first_seen": "2026-03-15T00:00:00Z"}}),
        &schema,
    )
    .unwrap();
    let events = EventLog::from_json_value(
        &serde_json::json!([
            {"id": "e1", "name": "page_viewed", "timestamp": "2026-02-19T10:00:00Z"},
            {"id": "e2", "name": "purchase", "timestamp": "2026-03-01T10:00:00Z",
             "properties": {"amount": 199.0, "category": "milk_powder"}}
        ]),
        &schema,
    )
    .unwrap();
    let now = siyu_core::value::parse_timestamp("2026-03-18T10:00:00Z").unwrap();
    for rs in [&rules, &reprinted] {
        let compiled = CompiledRuleSet::compile(rs, &schema).unwrap();
        let input = EvalInput::new(&profile, &events, now);
        // Weeks of 23 Feb, 2 Mar and 9 Mar had no page view: churn warning.
        assert_eq!(
            compiled.evaluate(&input).unwrap(),
            vec![false, true, true, true]
        );
    }
}

/// Token soup: fragments of the language in random order, plus arbitrary text.
fn soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "segment", "s", ":", "and", "or", "not", "(", ")", "[", "]", ",", ".", "=", "!=",
            "<", ">=", "+", "-", "*", "/", "in", "between", "exists", "is", "missing",
            "within", "last", "next", "during", "this", "month", "3", "2.5", "30d", "\"a\"",
            "where", "count(", "sum(", "purchase", "amount", "trait", "prop", "now", "today",
            "has_tag(", "calendar(", "timestamp(", "date(", "\"2026-03-01\"", "weeks_without(",
            "///", "#", "\n", "matches", "contains", "before", "-9223372036854775808",
        ])
        .prop_map(String::from),
        1 => any_text(),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any input gives a tree or a typed error with a position — never a panic —
    /// and whatever parses prints back to an equal tree.
    #[test]
    fn arbitrary_text_never_panics(text in soup()) {
        for parsed in [RuleSet::parse(&text), parser::parse_expr(&text).map(|e| RuleSet {
            rules: vec![Rule { name: "r".into(), description: None, expr: e, span: Span::default() }],
        })] {
            match parsed {
                Ok(rs) => {
                    let printed = rs.to_text();
                    let back = RuleSet::parse(&printed)
                        .map_err(|err| TestCaseError::fail(format!("{err}\n{printed}")))?;
                    prop_assert_eq!(back, rs);
                }
                Err(err) => {
                    prop_assert!(err.position().is_some(), "no position: {}", err);
                }
            }
        }
    }
}
