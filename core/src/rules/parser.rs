//! The DSL parser: text → [`RuleSet`] / [`Expr`] with byte spans.
//!
//! A hand-written recursive-descent parser over the tokens of the lexer, using
//! precedence climbing for the operator levels (low → high): `or`, `and`, `not`,
//! predicates (non-associative), `+ -`, `* /`, unary minus on number literals,
//! primaries.
//! The grammar is documented as EBNF in `docs/rules.md`.
//!
//! Nesting (parentheses, `not`, call arguments, lists, filters, operator chains)
//! is limited to [`Limits::max_depth`](super::Limits) levels and input to
//! [`MAX_INPUT_BYTES`]; both give `LIMIT_EXCEEDED` instead of exhausting the stack.

use super::ast::{
    AggFn, ArithOp, CalendarUnit, CmpOp, Direction, Expr, ExprKind, Function, Literal, Rule,
    RuleSet, Span, StreakMode, StreakUnit, TagMode, TextTest, Window,
};
use super::lexer::{lex, Tok, Token};
use super::Limits;
use crate::error::{suggest, Error, ErrorKind, Position, Result};

/// Internal result: the error is boxed so that the recursive parse functions'
/// frames stay small (a nesting level costs less stack, debug builds included).
type PResult<T> = std::result::Result<T, Box<Error>>;

/// The largest DSL text accepted (1 MiB).
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// Words that cannot be bare names (write `trait.NAME`, `prop.NAME` or a string).
pub const RESERVED: &[&str] = &[
    "segment",
    "and",
    "or",
    "not",
    "in",
    "is",
    "missing",
    "exists",
    "between",
    "within",
    "during",
    "where",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "before",
    "after",
    "true",
    "false",
    "now",
    "today",
    "trait",
    "prop",
];

/// Names of the call forms that are not [`Function`]s or [`AggFn`]s.
const SPECIAL_CALLS: &[&str] = &[
    "timestamp",
    "date",
    "score",
    "has_tag",
    "has_any_tag",
    "has_all_tags",
    "has_tag_in_group",
    "has_consent",
    "has_identity",
    "in_segment",
    "all_of",
    "any_of",
];

const STREAKS: &[(&str, StreakMode, StreakUnit)] = &[
    ("days_without", StreakMode::Without, StreakUnit::Day),
    ("weeks_without", StreakMode::Without, StreakUnit::Week),
    ("months_without", StreakMode::Without, StreakUnit::Month),
    ("days_with", StreakMode::With, StreakUnit::Day),
    ("weeks_with", StreakMode::With, StreakUnit::Week),
    ("months_with", StreakMode::With, StreakUnit::Month),
];

/// Whether `name` is a reserved word.
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

/// Whether `name` is followed by `(` in some call form (function, aggregate, streak …).
pub fn is_callable(name: &str) -> bool {
    SPECIAL_CALLS.contains(&name)
        || Function::from_name(name).is_some()
        || AggFn::from_name(name).is_some()
        || STREAKS.iter().any(|s| s.0 == name)
}

/// The name of the streak form for a mode and unit (`weeks_without`).
pub fn streak_name(mode: StreakMode, unit: StreakUnit) -> &'static str {
    STREAKS
        .iter()
        .find(|s| s.1 == mode && s.2 == unit)
        .map_or("days_without", |s| s.0)
}

fn all_callables() -> impl Iterator<Item = &'static str> {
    SPECIAL_CALLS
        .iter()
        .copied()
        .chain(Function::ALL.iter().map(|f| f.name()))
        .chain(AggFn::ALL.iter().map(|a| a.name()))
        .chain(STREAKS.iter().map(|s| s.0))
}

/// Parses a whole rule set (`segment name: expr` …).
pub fn parse_rule_set(text: &str) -> Result<RuleSet> {
    rule_set(text).map_err(|e| *e)
}

fn rule_set(text: &str) -> PResult<RuleSet> {
    let mut p = Parser::new(text)?;
    let mut rules = Vec::new();
    loop {
        let mut docs = Vec::new();
        while let Tok::Doc(d) = &p.peek().tok {
            docs.push(d.clone());
            p.pos += 1;
        }
        if p.peek().tok == Tok::Eof {
            if !docs.is_empty() {
                return Err(p.err_here("a `///` description must be followed by a `segment`"));
            }
            break;
        }
        if !p.at_word("segment") {
            let t = p.peek().clone();
            let mut e = p.err_at(
                t.start,
                format!("expected `segment NAME: ...`, found {}", p.describe(&t)),
            );
            if t.tok == Tok::Ident {
                if let Some(s) = suggest(p.text(&t), ["segment"]) {
                    e = Box::new(e.with_suggestion(s));
                }
            }
            return Err(e);
        }
        p.pos += 1;
        let (name, name_span) = p.name("segment name")?;
        p.expect(&Tok::Colon, "after the segment name")?;
        let expr = p.parse_top()?;
        let after = p.peek().clone();
        if !matches!(after.tok, Tok::Eof | Tok::Doc(_)) && !p.at_word("segment") {
            return Err(p.trailing_error(&after, "a new `segment`"));
        }
        rules.push(Rule {
            name,
            description: if docs.is_empty() {
                None
            } else {
                Some(docs.join("\n"))
            },
            expr,
            span: name_span,
        });
    }
    Ok(RuleSet { rules })
}

/// Parses one expression.
pub fn parse_expr(text: &str) -> Result<Expr> {
    expression(text).map_err(|e| *e)
}

/// Parses one event filter: the text after `where` in
/// `count(order_paid where amount > 100)`, so bare names are the event's
/// properties (`trait.NAME` reads a profile trait).
pub fn parse_filter(text: &str) -> Result<Expr> {
    filter_expression(text).map_err(|e| *e)
}

fn filter_expression(text: &str) -> PResult<Expr> {
    let mut p = Parser::new(text)?;
    p.in_filter = true;
    let e = p.parse_top()?;
    let after = p.peek().clone();
    if after.tok != Tok::Eof {
        return Err(p.trailing_error(&after, "the end of the filter"));
    }
    Ok(e)
}

fn expression(text: &str) -> PResult<Expr> {
    let mut p = Parser::new(text)?;
    let e = p.parse_top()?;
    let after = p.peek().clone();
    if after.tok != Tok::Eof {
        return Err(p.trailing_error(&after, "the end of the expression"));
    }
    Ok(e)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    max_depth: usize,
    /// Inside an aggregate's or streak's `where`: bare names are properties.
    in_filter: bool,
}

fn span(start: usize, end: usize) -> Span {
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

fn node(kind: ExprKind, start: usize, end: usize) -> Expr {
    Expr {
        kind,
        span: span(start, end),
    }
}

fn lit(value: Literal, start: usize, end: usize) -> Expr {
    node(ExprKind::Literal { value }, start, end)
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> PResult<Parser<'a>> {
        if src.len() > MAX_INPUT_BYTES {
            return Err(Box::new(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "rule text is {} bytes; at most {MAX_INPUT_BYTES} bytes are accepted",
                    src.len()
                ),
            )));
        }
        Ok(Parser {
            src,
            toks: lex(src)?,
            pos: 0,
            depth: 0,
            max_depth: Limits::default().max_depth,
            in_filter: false,
        })
    }

    // ----- token helpers -------------------------------------------------

    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn text(&self, t: &Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.end)
    }

    fn at_word(&self, w: &str) -> bool {
        let t = self.peek();
        t.tok == Tok::Ident && self.text(t) == w
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.at_word(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn describe(&self, t: &Token) -> String {
        // Long tokens (a 1 MiB string) are cut so that messages stay readable.
        let text = self.text(t);
        if text.chars().count() > 40 {
            let head: String = text.chars().take(37).collect();
            return format!("`{head}...`");
        }
        match &t.tok {
            Tok::Eof => "the end of the input".into(),
            Tok::Str(_) => format!("string {}", self.text(t)),
            Tok::Int(_) | Tok::Float(_) => format!("number `{}`", self.text(t)),
            Tok::Dur(_) => format!("duration `{}`", self.text(t)),
            Tok::Doc(_) => "a `///` description".into(),
            _ => format!("`{}`", self.text(t)),
        }
    }

    fn err_at(&self, offset: usize, msg: impl Into<String>) -> Box<Error> {
        Box::new(
            Error::new(ErrorKind::RuleSyntax, msg)
                .with_position(Position::from_offset(self.src, offset)),
        )
    }

    fn err_here(&self, msg: impl Into<String>) -> Box<Error> {
        self.err_at(self.peek().start, msg)
    }

    fn expected(&self, what: &str) -> Box<Error> {
        let t = self.peek();
        self.err_at(
            t.start,
            format!("expected {what}, found {}", self.describe(t)),
        )
    }

    fn expect(&mut self, tok: &Tok, context: &str) -> PResult<Token> {
        if &self.peek().tok == tok {
            return Ok(self.bump());
        }
        let sym = match tok {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::Dot => ".",
            _ => "token",
        };
        Err(self.expected(&format!("`{sym}` {context}")))
    }

    fn expect_word(&mut self, w: &str, context: &str) -> PResult<()> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{w}` {context}")))
        }
    }

    /// The error for a token left over after a complete expression.
    fn trailing_error(&self, t: &Token, next: &str) -> Box<Error> {
        let mut e = self.err_at(
            t.start,
            format!(
                "unexpected {} after a complete expression; expected an operator, `and`, `or` or {next}",
                self.describe(t)
            ),
        );
        if t.tok == Tok::RParen {
            e = self.err_at(t.start, "unmatched `)`");
        } else if t.tok == Tok::Ident {
            let words = RESERVED.iter().copied().filter(|w| *w != "segment");
            if let Some(s) = suggest(self.text(t), words) {
                e = Box::new(e.with_suggestion(s));
            }
        }
        e
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            // Report at the token that opened the level (`(`, `[`, `not` …).
            let at = self.pos.checked_sub(1).map_or(0, |i| self.toks[i].start);
            return Err(self.depth_error(at));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn depth_error(&self, at: usize) -> Box<Error> {
        Box::new(
            Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "expression nested deeper than {} levels; split it into several segments",
                    self.max_depth
                ),
            )
            .with_position(Position::from_offset(self.src, at)),
        )
    }

    /// A name: an identifier that is not reserved, or a string literal.
    fn name(&mut self, what: &str) -> PResult<(String, Span)> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Str(s) => {
                self.pos += 1;
                Ok((s.clone(), span(t.start, t.end)))
            }
            Tok::Ident if is_reserved(self.text(&t)) => Err(self.err_at(
                t.start,
                format!(
                    "`{}` is a reserved word and cannot be a {what}; write it as a string: \"{}\"",
                    self.text(&t),
                    self.text(&t)
                ),
            )),
            Tok::Ident => {
                self.pos += 1;
                Ok((self.text(&t).to_string(), span(t.start, t.end)))
            }
            _ => Err(self.expected(&format!("a {what}"))),
        }
    }

    /// A name after `trait.`, `prop.` or `event.`: any identifier (reserved words too) or a string.
    fn member_name(&mut self, what: &str) -> PResult<String> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Str(s) => {
                self.pos += 1;
                Ok(s.clone())
            }
            Tok::Ident => {
                self.pos += 1;
                Ok(self.text(&t).to_string())
            }
            _ => Err(self.expected(&format!("a {what} after `.`"))),
        }
    }

    fn string_arg(&mut self, what: &str) -> PResult<String> {
        match self.peek().tok.clone() {
            Tok::Str(s) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.expected(&format!("a string {what}"))),
        }
    }

    /// A non-negative integer literal that fits `u32`.
    fn small_int(&mut self, what: &str) -> PResult<u32> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Int(n) => {
                self.pos += 1;
                u32::try_from(n)
                    .map_err(|_| self.err_at(t.start, format!("{what} `{n}` is too large")))
            }
            _ => Err(self.expected(what)),
        }
    }

    // ----- expressions ---------------------------------------------------

    /// A complete expression, checked against the depth limit.
    fn parse_top(&mut self) -> PResult<Expr> {
        let e = self.parse_bp(1)?;
        if let Some(at) = exceeds_depth(&e, self.max_depth) {
            return Err(self.depth_error(at));
        }
        Ok(e)
    }

    /// Precedence climbing over the binding levels: 1 `or`, 2 `and`, 3 `not`,
    /// 4 predicates (non-associative), 5 `+ -`, 6 `* /`, 7 unary minus and
    /// primaries. Parses an expression whose operators bind at least as tightly
    /// as `min`. One function for every level keeps each nesting level (a
    /// parenthesis, a call) at three stack frames.
    fn parse_bp(&mut self, min: u8) -> PResult<Expr> {
        let (mut left, mut level) = if min <= 3 && self.at_word("not") {
            (self.not_prefix()?, 3)
        } else {
            (self.parse_unary()?, 7)
        };
        let mut chain = 0;
        while let Some(op) = self.op_level() {
            // Left-associative operators apply to an operand of the same or a
            // tighter level; anything else belongs to an enclosing call.
            if op < min || op > level {
                break;
            }
            left = match op {
                1 => self.or_tail(left)?,
                2 => self.and_tail(left)?,
                4 => self.predicate_tail(left)?,
                _ => {
                    chain += 1;
                    if self.depth + chain > self.max_depth {
                        return Err(self.depth_error(self.peek().start));
                    }
                    self.arith_step(left, op)?
                }
            };
            level = op;
        }
        Ok(left)
    }

    /// The binding level of the operator at the current token, if it is one.
    fn op_level(&self) -> Option<u8> {
        match self.peek().tok {
            Tok::Plus | Tok::Minus => Some(5),
            Tok::Star | Tok::Slash => Some(6),
            Tok::Ident if self.at_word("or") => Some(1),
            Tok::Ident if self.at_word("and") => Some(2),
            _ if self.cmp_op().is_some() || self.predicate_word().is_some() => Some(4),
            _ => None,
        }
    }

    // The `*_tail` functions hold the operator loops out of the recursive path,
    // so that each nesting level takes little stack (debug builds included).
    #[inline(never)]
    fn or_tail(&mut self, first: Expr) -> PResult<Expr> {
        let start = first.span.start as usize;
        let mut args = vec![first];
        while self.eat_word("or") {
            args.push(self.parse_bp(2)?);
        }
        Ok(node(ExprKind::Or { args }, start, self.prev_end()))
    }

    #[inline(never)]
    fn and_tail(&mut self, first: Expr) -> PResult<Expr> {
        let start = first.span.start as usize;
        let mut args = vec![first];
        while self.eat_word("and") {
            args.push(self.parse_bp(3)?);
        }
        Ok(node(ExprKind::And { args }, start, self.prev_end()))
    }

    #[inline(never)]
    fn not_prefix(&mut self) -> PResult<Expr> {
        let start = self.bump().start;
        self.enter()?;
        let arg = self.parse_bp(3)?;
        self.leave();
        Ok(node(
            ExprKind::Not { arg: Box::new(arg) },
            start,
            self.prev_end(),
        ))
    }

    /// One `+ - * /` step: the operator and its right operand.
    #[inline(never)]
    fn arith_step(&mut self, left: Expr, level: u8) -> PResult<Expr> {
        let arith = match self.bump().tok {
            Tok::Plus => ArithOp::Add,
            Tok::Minus => ArithOp::Sub,
            Tok::Star => ArithOp::Mul,
            _ => ArithOp::Div,
        };
        let right = self.parse_bp(level + 1)?;
        let start = left.span.start as usize;
        Ok(node(
            ExprKind::Arith {
                arith,
                left: Box::new(left),
                right: Box::new(right),
            },
            start,
            self.prev_end(),
        ))
    }

    fn predicate_word(&self) -> Option<&'a str> {
        let t = self.peek();
        if t.tok != Tok::Ident {
            return None;
        }
        let w = self.text(t);
        matches!(
            w,
            "before"
                | "after"
                | "in"
                | "not"
                | "contains"
                | "starts_with"
                | "ends_with"
                | "matches"
                | "between"
                | "exists"
                | "is"
                | "within"
        )
        .then_some(w)
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        Some(match self.peek().tok {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::Ident => match self.predicate_word() {
                Some("before") => CmpOp::Before,
                Some("after") => CmpOp::After,
                _ => return None,
            },
            _ => return None,
        })
    }

    /// The operator and right side of a predicate (kept out of the recursive
    /// path so that nested parentheses use little stack in debug builds).
    #[inline(never)]
    fn predicate_tail(&mut self, left: Expr) -> PResult<Expr> {
        let start = left.span.start as usize;
        let kind = if let Some(cmp) = self.cmp_op() {
            self.bump();
            let right = self.parse_bp(5)?;
            ExprKind::Compare {
                cmp,
                left: Box::new(left),
                right: Box::new(right),
            }
        } else {
            match self.predicate_word() {
                None => return Ok(left),
                Some("in") => {
                    self.bump();
                    self.parse_in(left, false)?
                }
                Some("not") => {
                    // `x not in [...]`; a bare `not` here is a misplaced negation.
                    if !(self.peek_at(1).tok == Tok::Ident && self.text(self.peek_at(1)) == "in") {
                        return Err(self.err_here(
                            "expected `in` after `not` (`x not in [...]`); to negate a condition put `not` before it",
                        ));
                    }
                    self.pos += 2;
                    self.parse_in(left, true)?
                }
                Some(w @ ("contains" | "starts_with" | "ends_with" | "matches")) => {
                    self.bump();
                    let test = match w {
                        "contains" => TextTest::Contains,
                        "starts_with" => TextTest::StartsWith,
                        "ends_with" => TextTest::EndsWith,
                        _ => TextTest::Matches,
                    };
                    let pattern = self.parse_bp(5)?;
                    ExprKind::TextMatch {
                        test,
                        expr: Box::new(left),
                        pattern: Box::new(pattern),
                    }
                }
                Some("between") => {
                    self.bump();
                    let low = self.parse_bp(5)?;
                    self.expect_word("and", "between the bounds of `between`")?;
                    let high = self.parse_bp(5)?;
                    ExprKind::Between {
                        expr: Box::new(left),
                        low: Box::new(low),
                        high: Box::new(high),
                    }
                }
                Some("exists") => {
                    self.bump();
                    ExprKind::Exists {
                        expr: Box::new(left),
                        negated: false,
                    }
                }
                Some("is") => {
                    self.bump();
                    if self.at_word("not") && {
                        let t = self.peek_at(1);
                        t.tok == Tok::Ident && self.text(t) == "missing"
                    } {
                        return Err(
                            self.err_here("`is not missing` is written `exists` (`x exists`)")
                        );
                    }
                    self.expect_word("missing", "after `is`")?;
                    ExprKind::Exists {
                        expr: Box::new(left),
                        negated: true,
                    }
                }
                Some(_) => {
                    self.bump();
                    let direction = if self.eat_word("last") {
                        Direction::Last
                    } else if self.eat_word("next") {
                        Direction::Next
                    } else {
                        return Err(self.expected("`last` or `next` after `within`"));
                    };
                    let duration = match self.peek().tok {
                        Tok::Dur(d) => {
                            self.bump();
                            d
                        }
                        _ => return Err(self.expected("a duration such as `30d`")),
                    };
                    ExprKind::Within {
                        expr: Box::new(left),
                        direction,
                        duration,
                    }
                }
            }
        };
        let e = node(kind, start, self.prev_end());
        if self.cmp_op().is_some() || self.predicate_word().is_some() {
            return Err(self.err_here(format!(
                "comparisons do not chain: {} cannot follow another comparison; add parentheses or use `and`",
                self.describe(self.peek())
            )));
        }
        Ok(e)
    }

    fn parse_in(&mut self, left: Expr, negated: bool) -> PResult<ExprKind> {
        self.expect(&Tok::LBracket, "after `in` (a list such as [\"a\", \"b\"])")?;
        self.enter()?;
        let mut values = Vec::new();
        if self.peek().tok != Tok::RBracket {
            loop {
                values.push(self.parse_bp(1)?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        self.expect(&Tok::RBracket, "to close the `in` list")?;
        self.leave();
        Ok(ExprKind::In {
            expr: Box::new(left),
            values,
            negated,
        })
    }

    fn parse_unary(&mut self) -> PResult<Expr> {
        if self.peek().tok == Tok::Minus {
            let start = self.peek().start;
            let value = self.literal()?;
            return Ok(lit(value, start, self.prev_end()));
        }
        self.parse_primary()
    }

    /// A number literal with an optional leading minus.
    fn number(&mut self) -> PResult<Literal> {
        let minus = if self.peek().tok == Tok::Minus {
            self.bump();
            true
        } else {
            false
        };
        let t = self.peek().clone();
        match t.tok {
            Tok::Int(n) => {
                self.bump();
                let v = if minus { -i128::from(n) } else { i128::from(n) };
                i64::try_from(v).map(Literal::Integer).map_err(|_| {
                    self.err_at(
                        t.start,
                        format!("integer `{}` is out of range", self.text(&t)),
                    )
                })
            }
            Tok::Float(f) => {
                self.bump();
                Ok(Literal::Float(if minus { -f } else { f }))
            }
            _ if minus => Err(self.err_at(
                t.start,
                format!(
                    "a unary minus applies only to number literals, found {}; write `0 - x` to negate an expression",
                    self.describe(&t)
                ),
            )),
            _ => Err(self.expected("a number")),
        }
    }

    /// A constant: string, number, boolean, duration, `timestamp("…")`,
    /// `date("…")` or a list of constants.
    fn literal(&mut self) -> PResult<Literal> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Str(s) => {
                self.bump();
                Ok(Literal::String(s.clone()))
            }
            Tok::Minus | Tok::Int(_) | Tok::Float(_) => self.number(),
            Tok::Dur(d) => {
                self.bump();
                Ok(Literal::Duration(*d))
            }
            Tok::LBracket => {
                self.bump();
                self.enter()?;
                let mut items = Vec::new();
                if self.peek().tok != Tok::RBracket {
                    loop {
                        items.push(self.literal()?);
                        if self.peek().tok != Tok::Comma {
                            break;
                        }
                        self.bump();
                    }
                }
                self.expect(&Tok::RBracket, "to close the list")?;
                self.leave();
                Ok(Literal::List(items))
            }
            Tok::Ident => match self.text(&t) {
                "true" => {
                    self.bump();
                    Ok(Literal::Boolean(true))
                }
                "false" => {
                    self.bump();
                    Ok(Literal::Boolean(false))
                }
                w @ ("timestamp" | "date") if self.peek_at(1).tok == Tok::LParen => {
                    self.pos += 2;
                    let at = self.peek().start;
                    let s = self.string_arg(&format!("in {w}(...)"))?;
                    let checked = if w == "timestamp" {
                        crate::value::parse_timestamp(&s).map(|_| Literal::Timestamp(s))
                    } else {
                        crate::value::parse_date(&s).map(|_| Literal::Date(s))
                    };
                    let value = checked
                        .map_err(|e| e.with_position(Position::from_offset(self.src, at)))?;
                    self.expect(&Tok::RParen, &format!("after the {w} string"))?;
                    Ok(value)
                }
                _ => Err(self.expected("a constant (string, number, boolean, duration, timestamp(\"...\"), date(\"...\") or list)")),
            },
            _ => Err(self.expected("a constant (string, number, boolean, duration, timestamp(\"...\"), date(\"...\") or list)")),
        }
    }

    fn parse_primary(&mut self) -> PResult<Expr> {
        let t = self.peek();
        let start = t.start;
        if t.tok == Tok::LParen {
            self.bump();
            self.enter()?;
            let e = self.parse_bp(1)?;
            if self.peek().tok != Tok::RParen {
                return Err(self.expected("`)` to close the parenthesised expression"));
            }
            self.bump();
            self.leave();
            return Ok(e);
        }
        if t.tok == Tok::Ident && self.peek_at(1).tok == Tok::LParen {
            let name = self.text(t);
            return self.parse_call(name, start);
        }
        self.primary_leaf()
    }

    /// Primaries that do not nest: literals, names, `now`, `today`.
    #[inline(never)]
    fn primary_leaf(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        let start = t.start;
        match &t.tok {
            Tok::Str(_) | Tok::Int(_) | Tok::Float(_) | Tok::Dur(_) | Tok::LBracket => {
                let value = self.literal()?;
                Ok(lit(value, start, self.prev_end()))
            }
            Tok::Ident => {
                let word = self.text(&t);
                let kind = match word {
                    "true" | "false" => {
                        let value = self.literal()?;
                        return Ok(lit(value, start, self.prev_end()));
                    }
                    "now" => ExprKind::Now,
                    "today" => ExprKind::Today,
                    "trait" | "prop" => {
                        self.bump();
                        if self.peek().tok != Tok::Dot {
                            return Err(
                                self.expected(&format!("`.` after `{word}` (`{word}.NAME`)"))
                            );
                        }
                        self.bump();
                        let name = self.member_name(&format!("{word} name"))?;
                        let kind = if word == "trait" {
                            ExprKind::Trait { name }
                        } else {
                            ExprKind::Prop { name }
                        };
                        return Ok(node(kind, start, self.prev_end()));
                    }
                    w if is_reserved(w) => {
                        return Err(self.err_at(
                            start,
                            format!(
                                "expected an expression, found the reserved word `{w}`{}",
                                if matches!(w, "and" | "or" | "in" | "between" | "within") {
                                    String::new()
                                } else {
                                    format!(" (a trait with this name is written trait.{w})")
                                }
                            ),
                        ))
                    }
                    w if self.in_filter => ExprKind::Prop {
                        name: w.to_string(),
                    },
                    w => ExprKind::Trait {
                        name: w.to_string(),
                    },
                };
                self.bump();
                Ok(node(kind, start, self.prev_end()))
            }
            _ => Err(self.expected("an expression")),
        }
    }

    /// `NAME(...)`: every call form. The current token is the name.
    fn parse_call(&mut self, name: &'a str, start: usize) -> PResult<Expr> {
        if matches!(name, "timestamp" | "date") || !is_callable(name) {
            return self.leaf_call(name, start);
        }
        self.pos += 2; // name and `(`
        self.enter()?;
        let kind = self.call_body(name)?;
        if self.peek().tok != Tok::RParen {
            return Err(self.unclosed_call(name));
        }
        self.bump();
        self.leave();
        Ok(node(kind, start, self.prev_end()))
    }

    #[inline(never)]
    fn unclosed_call(&self, name: &str) -> Box<Error> {
        self.expected(&format!("`)` to close `{name}(`"))
    }

    /// `timestamp("…")`, `date("…")`, or an unknown function.
    #[inline(never)]
    fn leaf_call(&mut self, name: &str, start: usize) -> PResult<Expr> {
        if matches!(name, "timestamp" | "date") {
            let value = self.literal()?;
            return Ok(lit(value, start, self.prev_end()));
        }
        {
            let mut e = Error::new(
                ErrorKind::UnknownFunction,
                format!("unknown function `{name}`"),
            )
            .with_position(Position::from_offset(self.src, start));
            if let Some(s) = suggest(name, all_callables()) {
                e = e.with_suggestion(s);
            }
            Err(Box::new(e))
        }
    }

    fn call_body(&mut self, name: &str) -> PResult<ExprKind> {
        if let Some(function) = Function::from_name(name) {
            return self.function_call(function);
        }
        if let Some(agg) = AggFn::from_name(name) {
            return self.aggregate(agg);
        }
        if let Some(&(_, mode, unit)) = STREAKS.iter().find(|s| s.0 == name) {
            return self.streak(mode, unit);
        }
        if matches!(name, "all_of" | "any_of") {
            let args = self.expr_list()?;
            return Ok(if name == "all_of" {
                ExprKind::And { args }
            } else {
                ExprKind::Or { args }
            });
        }
        self.fact_call(name)
    }

    fn function_call(&mut self, function: Function) -> PResult<ExprKind> {
        let at = self.peek().start;
        let args = self.expr_list()?;
        if args.len() != 1 {
            return Err(self.arity_error(at, function, args.len()));
        }
        Ok(ExprKind::Call { function, args })
    }

    #[inline(never)]
    fn arity_error(&self, at: usize, function: Function, found: usize) -> Box<Error> {
        self.err_at(
            at,
            format!("`{}` takes 1 argument, found {found}", function.name()),
        )
    }

    fn streak(&mut self, mode: StreakMode, unit: StreakUnit) -> PResult<ExprKind> {
        let event = self.name("event name")?.0;
        let filter = self.filter()?;
        Ok(ExprKind::Streak {
            mode,
            unit,
            event,
            filter,
        })
    }

    /// The call forms without sub-expressions: tags, consent, identity, score, segment.
    #[inline(never)]
    fn fact_call(&mut self, name: &str) -> PResult<ExprKind> {
        Ok(match name {
            "score" => ExprKind::Score {
                name: self.string_arg("score name, e.g. score(\"p_alive\")")?,
            },
            "has_tag" => ExprKind::HasTag {
                tags: vec![self.string_arg("tag name")?],
                mode: TagMode::Any,
            },
            "has_any_tag" | "has_all_tags" => {
                let mut tags = Vec::new();
                if self.peek().tok != Tok::RParen {
                    loop {
                        tags.push(self.string_arg("tag name")?);
                        if self.peek().tok != Tok::Comma {
                            break;
                        }
                        self.bump();
                    }
                }
                ExprKind::HasTag {
                    tags,
                    mode: if name == "has_any_tag" {
                        TagMode::Any
                    } else {
                        TagMode::All
                    },
                }
            }
            "has_tag_in_group" => ExprKind::HasTagInGroup {
                group: self.string_arg("tag group name")?,
            },
            "has_consent" => {
                let channel = self.string_arg("consent channel, e.g. \"wechat\"")?;
                self.expect(&Tok::Comma, "between channel and purpose")?;
                let purpose = self.string_arg("consent purpose, e.g. \"marketing\"")?;
                ExprKind::HasConsent { channel, purpose }
            }
            "has_identity" => ExprKind::HasIdentity {
                namespace: self.string_arg("identity namespace")?,
            },
            "in_segment" => ExprKind::Segment {
                name: self.name("segment name")?.0,
            },
            _ => {
                return Err(Box::new(Error::new(
                    ErrorKind::Internal,
                    format!("call form `{name}` has no parser"),
                )))
            }
        })
    }

    /// Comma-separated expressions up to (not including) `)`.
    fn expr_list(&mut self) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                args.push(self.parse_bp(1)?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        Ok(args)
    }

    /// An optional `where` filter; bare names inside it are event properties.
    fn filter(&mut self) -> PResult<Option<Box<Expr>>> {
        if !self.eat_word("where") {
            return Ok(None);
        }
        let outer = std::mem::replace(&mut self.in_filter, true);
        let e = self.parse_bp(1);
        self.in_filter = outer;
        Ok(Some(Box::new(e?)))
    }

    fn aggregate(&mut self, agg: AggFn) -> PResult<ExprKind> {
        let (event, _) = self.name("event name")?;
        let property = if self.peek().tok == Tok::Dot {
            let dot = self.bump().start;
            let p = self.member_name("property name")?;
            if !agg.needs_property() {
                return Err(self.err_at(
                    dot,
                    format!(
                        "`{}` counts events and takes no property; write `{}({event})`",
                        agg.name(),
                        agg.name()
                    ),
                ));
            }
            Some(p)
        } else {
            if agg.needs_property() {
                return Err(self.expected(&format!(
                    "`.property` after the event name: `{}` needs one, e.g. `{}({event}.amount)`",
                    agg.name(),
                    agg.name()
                )));
            }
            None
        };
        let filter = self.filter()?;
        if ["within", "during", "between"]
            .iter()
            .any(|w| self.at_word(w))
        {
            return Err(self.err_here(format!(
                "a window follows a comma: `{}({event}, {} ...)`",
                agg.name(),
                self.text(self.peek())
            )));
        }
        let window = if self.peek().tok == Tok::Comma {
            self.bump();
            self.window()?
        } else {
            Window::All
        };
        Ok(ExprKind::Aggregate {
            agg,
            event,
            property,
            filter,
            window,
        })
    }

    fn window(&mut self) -> PResult<Window> {
        if self.eat_word("within") {
            return match self.peek().tok {
                Tok::Dur(duration) => {
                    self.bump();
                    Ok(Window::Rolling { duration })
                }
                _ => Err(self.expected("a duration such as `30d` after `within`")),
            };
        }
        if self.eat_word("between") {
            let start = self.timestamp_arg()?;
            self.expect_word("and", "between the window's start and end")?;
            let end = self.timestamp_arg()?;
            return Ok(Window::Range { start, end });
        }
        if self.eat_word("during") {
            return self.calendar();
        }
        Err(self.expected("a window: `within 30d`, `during last month` or `between timestamp(...) and timestamp(...)`"))
    }

    fn timestamp_arg(&mut self) -> PResult<String> {
        if !(self.at_word("timestamp") && self.peek_at(1).tok == Tok::LParen) {
            return Err(self.expected("`timestamp(\"...\")`"));
        }
        match self.literal()? {
            Literal::Timestamp(s) => Ok(s),
            _ => Err(self.err_here("expected a timestamp")),
        }
    }

    fn unit_word(&mut self, plural: bool) -> PResult<CalendarUnit> {
        let t = self.peek().clone();
        let w = if t.tok == Tok::Ident {
            self.text(&t)
        } else {
            ""
        };
        let singular = if plural {
            w.strip_suffix('s').unwrap_or(w)
        } else {
            w
        };
        let unit = match singular {
            "day" => CalendarUnit::Day,
            "week" => CalendarUnit::Week,
            "month" => CalendarUnit::Month,
            "quarter" => CalendarUnit::Quarter,
            "year" => CalendarUnit::Year,
            _ => {
                return Err(self.expected(if plural {
                    "a calendar unit (days, weeks, months, quarters or years)"
                } else {
                    "a calendar unit (day, week, month, quarter or year)"
                }))
            }
        };
        self.bump();
        Ok(unit)
    }

    fn calendar(&mut self) -> PResult<Window> {
        let cal = |unit, back, count| Window::Calendar { unit, back, count };
        if self.eat_word("today") {
            return Ok(cal(CalendarUnit::Day, 0, 1));
        }
        if self.eat_word("yesterday") {
            return Ok(cal(CalendarUnit::Day, 1, 1));
        }
        if self.eat_word("this") {
            return Ok(cal(self.unit_word(false)?, 0, 1));
        }
        if self.eat_word("last") {
            if let Tok::Int(_) = self.peek().tok {
                let at = self.peek().start;
                let n = self.small_int("a number of units")?;
                if n == 0 {
                    return Err(self.err_at(at, "`during last N ...` needs N ≥ 1"));
                }
                return Ok(cal(self.unit_word(true)?, n, n));
            }
            return Ok(cal(self.unit_word(false)?, 1, 1));
        }
        if self.at_word("calendar") && self.peek_at(1).tok == Tok::LParen {
            self.pos += 2;
            let unit = self.unit_word(false)?;
            self.expect(&Tok::Comma, "after the unit of calendar(unit, back, count)")?;
            let back = self.small_int("how many units back")?;
            self.expect(&Tok::Comma, "after `back` of calendar(unit, back, count)")?;
            let at = self.peek().start;
            let count = self.small_int("how many units long")?;
            if count == 0 {
                return Err(self.err_at(at, "a calendar window spans at least 1 unit"));
            }
            self.expect(&Tok::RParen, "to close `calendar(`")?;
            return Ok(cal(unit, back, count));
        }
        Err(self.expected(
            "`today`, `yesterday`, `this UNIT`, `last UNIT`, `last N UNITS` or `calendar(unit, back, count)` after `during`",
        ))
    }
}

/// The start offset of a node nested deeper than `max` (iterative: never recurses).
fn exceeds_depth(root: &Expr, max: usize) -> Option<usize> {
    let mut stack = vec![(root, 1usize)];
    while let Some((e, d)) = stack.pop() {
        if d > max {
            return Some(e.span.start as usize);
        }
        for c in children(e) {
            stack.push((c, d + 1));
        }
    }
    None
}

/// The direct sub-expressions of a node.
pub(crate) fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::And { args } | ExprKind::Or { args } | ExprKind::Call { args, .. } => {
            args.iter().collect()
        }
        ExprKind::Not { arg } => vec![arg],
        ExprKind::Arith { left, right, .. } | ExprKind::Compare { left, right, .. } => {
            vec![left, right]
        }
        ExprKind::In { expr, values, .. } => std::iter::once(&**expr).chain(values).collect(),
        ExprKind::TextMatch { expr, pattern, .. } => vec![expr, pattern],
        ExprKind::Between { expr, low, high } => vec![expr, low, high],
        ExprKind::Exists { expr, .. } | ExprKind::Within { expr, .. } => vec![expr],
        ExprKind::Aggregate { filter, .. } | ExprKind::Streak { filter, .. } => {
            filter.iter().map(|f| &**f).collect()
        }
        ExprKind::Literal { .. }
        | ExprKind::Trait { .. }
        | ExprKind::Prop { .. }
        | ExprKind::Now
        | ExprKind::Today
        | ExprKind::Score { .. }
        | ExprKind::HasTag { .. }
        | ExprKind::HasTagInGroup { .. }
        | ExprKind::HasConsent { .. }
        | ExprKind::HasIdentity { .. }
        | ExprKind::Segment { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ast::{Duration, DurationUnit};
    use crate::rules::printer::{print_expr, print_rule_set};

    fn p(text: &str) -> Expr {
        parse_expr(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Parses, checks the canonical print and that it parses back equal.
    fn canon(text: &str, expected: &str) {
        let e = p(text);
        let printed = print_expr(&e);
        assert_eq!(printed, expected, "printing {text}");
        assert_eq!(p(&printed), e, "re-parsing {printed}");
    }

    fn same(text: &str) {
        canon(text, text);
    }

    fn err(text: &str) -> Error {
        match parse_expr(text) {
            Ok(e) => panic!("{text} parsed as {e:?}"),
            Err(e) => e,
        }
    }

    fn err_at(text: &str, kind: ErrorKind, line: u32, column: u32) -> Error {
        let e = err(text);
        assert_eq!(e.kind(), kind, "{text}: {e}");
        let pos = e.position().expect("position");
        assert_eq!((pos.line, pos.column), (line, column), "{text}: {e}");
        e
    }

    fn int(i: i64) -> Expr {
        Expr::new(ExprKind::Literal {
            value: Literal::Integer(i),
        })
    }

    fn tr(n: &str) -> Expr {
        Expr::new(ExprKind::Trait { name: n.into() })
    }

    #[test]
    fn precedence_and_flattening() {
        let e = p("a = 1 or b = 2 and not c = 3");
        let ExprKind::Or { args } = &e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(args.len(), 2);
        assert!(matches!(&args[1].kind, ExprKind::And { args } if args.len() == 2));
        assert!(matches!(p("a and b and c").kind, ExprKind::And { args } if args.len() == 3));
        same("a = 1 or b = 2 and not c = 3");
        canon("(a = 1 or b = 2) and c", "(a = 1 or b = 2) and c");
        canon("((a))", "a");
        canon("a and (b and c)", "a and (b and c)");
        canon("not (a and b)", "not (a and b)");
        canon("not not a", "not not a");
        same("1 + 2 * 3 - 4 / 5 >= x");
        canon("(1 + 2) * 3 = x", "(1 + 2) * 3 = x");
        canon("1 - (2 - 3) = x", "1 - (2 - 3) = x");
        canon("(1 - 2) - 3 = x", "1 - 2 - 3 = x");
        canon("(a = b) = c", "(a = b) = c");
    }

    #[test]
    fn spans_cover_the_source() {
        let text = "x >= 3 and has_tag(\"vip\")";
        let e = p(text);
        assert_eq!((e.span.start, e.span.end), (0, text.len() as u32));
        let ExprKind::And { args } = &e.kind else {
            panic!()
        };
        assert_eq!((args[0].span.start, args[0].span.end), (0, 6));
        assert_eq!(
            &text[args[1].span.start as usize..args[1].span.end as usize],
            "has_tag(\"vip\")"
        );
    }

    #[test]
    fn comparisons_and_predicates() {
        for t in [
            "age = 30",
            "age != 30",
            "age < 30",
            "age <= 30",
            "age > 30",
            "age >= 30",
            "first_seen before now - 30d",
            "first_seen after timestamp(\"2026-01-01T00:00:00+08:00\")",
            "city in [\"上海\", \"北京\"]",
            "city not in [\"上海\"]",
            "city in []",
            "interests contains \"baby\"",
            "phone starts_with \"138\"",
            "email ends_with \"@qq.com\"",
            "nickname matches \"^[a-z]+$\"",
            "age between 18 and 35",
            "birthday exists",
            "birthday is missing",
            "birthday within next 7d",
            "last_seen within last 72h",
        ] {
            same(t);
        }
        assert!(matches!(
            p("x before 3").kind,
            ExprKind::Compare {
                cmp: CmpOp::Before,
                ..
            }
        ));
        assert!(matches!(
            p("x not in [1]").kind,
            ExprKind::In { negated: true, .. }
        ));
    }

    #[test]
    fn literals() {
        same("x = \"a\\\"b\\\\c\\nd\\te\"");
        canon("x = \"\\u{5BA2}\\u{7}\"", "x = \"客\\u{7}\"");
        same("x = -5");
        same("x = -9223372036854775808");
        same("x = 9223372036854775807");
        same("x = 2.5");
        canon("x = 1e3", "x = 1000.0");
        canon("x = 1E-7", "x = 1e-7");
        same("x = -0.0");
        same("x = true and y = false");
        for d in ["30d", "72h", "3w", "15m", "10s"] {
            let e = p(d);
            assert_eq!(
                e.kind,
                ExprKind::Literal {
                    value: Literal::Duration(Duration::parse(d).unwrap())
                }
            );
            same(d);
        }
        same("x = [1, -2, 3.5, \"a\", true, 7d, date(\"2026-03-01\"), [\"n\"]]");
        same("x = date(\"2024-02-29\")");
        assert_eq!(
            p("0.1").kind,
            ExprKind::Literal {
                value: Literal::Float(0.1)
            }
        );
        assert_eq!(p("-5"), int(-5));
    }

    #[test]
    fn float_printing_is_exact() {
        for f in [
            0.1,
            1.0 / 3.0,
            1e300,
            -2.5e-300,
            123456789.125,
            1e21,
            5e-324,
        ] {
            let e = Expr::new(ExprKind::Literal {
                value: Literal::Float(f),
            });
            let back = p(&print_expr(&e));
            assert_eq!(back, e, "{f:?}");
        }
    }

    #[test]
    fn names_and_values() {
        assert_eq!(p("city"), tr("city"));
        assert_eq!(p("trait.city"), tr("city"));
        canon("trait.city", "city");
        same("trait.count > 1");
        same("trait.and = 1");
        same("trait.\"会员 等级\" = \"gold\"");
        same("prop.amount > 1");
        same("now - 30d");
        same("today + 7d");
        same("score(\"p_alive\") < 0.3");
        same("days_since(last_purchase) > 30");
        same("hours_since(last_seen) >= 72");
        same("anniversary(birthday) within next 7d");
        same("lower(city) = \"shanghai\"");
        same("length(interests) > 0");
        same("abs(balance) < 5");
    }

    #[test]
    fn profile_facts() {
        same("has_tag(\"vip\")");
        same("has_any_tag(\"a\", \"b\")");
        same("has_all_tags(\"a\", \"b\")");
        canon("has_any_tag(\"a\")", "has_tag(\"a\")");
        same("has_any_tag()");
        same("has_tag_in_group(\"rfm\")");
        same("has_consent(\"wechat\", \"marketing\")");
        same("has_identity(\"wechat_unionid\")");
        same("in_segment(new_users)");
        canon("in_segment(\"new_users\")", "in_segment(new_users)");
        same("in_segment(\"and\")");
        same("all_of()");
        same("any_of(x)");
        canon("all_of(a, b)", "a and b");
    }

    #[test]
    fn aggregates_and_windows() {
        for t in [
            "count(purchase) >= 1",
            "count(purchase where category = \"milk_powder\", within 30d) >= 3",
            "sum(purchase.amount, during last month) > 1000",
            "avg(purchase.amount where amount > 0) > 50.5",
            "min(purchase.amount) > 1",
            "max(purchase.amount, during this year) > 1",
            "distinct_count(purchase.category) >= 3",
            "first_time(purchase) before now - 365d",
            "last_time(message_opened) within last 72h",
            "any(consulted, during today)",
            "none(message_opened, within 72h)",
            "count(page_viewed, during yesterday) = 0",
            "count(x, during this week) = 0",
            "count(x, during this quarter) = 0",
            "count(x, during last quarter) = 0",
            "count(x, during last year) = 0",
            "count(x, during last 3 months) = 0",
            "count(x, during last 7 days) = 0",
            "count(x, during calendar(month, 2, 1)) = 0",
            "count(x, during calendar(week, 0, 2)) = 0",
            "count(x, between timestamp(\"2026-01-01T00:00:00Z\") and timestamp(\"2026-02-01T00:00:00+08:00\")) > 0",
            "count(purchase where trait.vip = true and amount > 10) > 0",
            "sum(\"page viewed\".\"the amount\") > 0",
        ] {
            same(t);
        }
        canon(
            "count(x, during last 1 month) = 0",
            "count(x, during last month) = 0",
        );
        canon(
            "count(x, during this day) = 0",
            "count(x, during today) = 0",
        );
        canon(
            "count(x, during last day) = 0",
            "count(x, during yesterday) = 0",
        );
        canon(
            "count(x, during calendar(day, 3, 3)) = 0",
            "count(x, during last 3 days) = 0",
        );
        canon(
            "count(x, during calendar(month, 1, 1)) = 0",
            "count(x, during last month) = 0",
        );
        let e = p("count(purchase where category = \"milk\", within 30d)");
        let ExprKind::Aggregate {
            agg,
            event,
            property,
            filter,
            window,
        } = e.kind
        else {
            panic!()
        };
        assert_eq!(
            (agg, event.as_str(), property),
            (AggFn::Count, "purchase", None)
        );
        assert_eq!(
            window,
            Window::Rolling {
                duration: Duration {
                    amount: 30,
                    unit: DurationUnit::Days
                }
            }
        );
        let f = filter.unwrap();
        assert!(matches!(&f.kind, ExprKind::Compare { left, .. }
            if left.kind == ExprKind::Prop { name: "category".into() }));
        assert_eq!(
            p("sum(purchase.amount, during last 3 months)").kind,
            ExprKind::Aggregate {
                agg: AggFn::Sum,
                event: "purchase".into(),
                property: Some("amount".into()),
                filter: None,
                window: Window::Calendar {
                    unit: CalendarUnit::Month,
                    back: 3,
                    count: 3
                }
            }
        );
    }

    #[test]
    fn streaks() {
        for t in [
            "days_without(message_opened) >= 3",
            "weeks_without(page_viewed) >= 3",
            "months_without(purchase where amount > 100) >= 2",
            "days_with(check_in) >= 7",
            "weeks_with(purchase) >= 2",
            "months_with(purchase where category = \"diapers\") >= 3",
        ] {
            same(t);
        }
        assert!(matches!(
            p("weeks_without(page_viewed)").kind,
            ExprKind::Streak {
                mode: StreakMode::Without,
                unit: StreakUnit::Week,
                ..
            }
        ));
    }

    #[test]
    fn rule_sets_and_doc_comments() {
        let text = "# layers\n/// Churn warning:\n///  30 days without interaction\nsegment churn_warning: none(message_opened, within 72h) # unread\n\nsegment new_user:\n  count(purchase) = 0\n";
        let rs = parse_rule_set(text).unwrap();
        assert_eq!(rs.rules.len(), 2);
        assert_eq!(rs.rules[0].name, "churn_warning");
        assert_eq!(
            rs.rules[0].description.as_deref(),
            Some("Churn warning:\n 30 days without interaction")
        );
        assert_eq!(rs.rules[1].description, None);
        assert_eq!(
            rs.rules[1].span.start as usize,
            text.find("new_user").unwrap()
        );
        let printed = print_rule_set(&rs);
        assert_eq!(
            printed,
            "/// Churn warning:\n///  30 days without interaction\nsegment churn_warning: none(message_opened, within 72h)\nsegment new_user: count(purchase) = 0\n"
        );
        assert_eq!(parse_rule_set(&printed).unwrap(), rs);
        assert_eq!(parse_rule_set("").unwrap(), RuleSet::default());
        assert_eq!(
            parse_rule_set("  # only a comment\n").unwrap(),
            RuleSet::default()
        );
        let two = parse_rule_set("segment a: x\n/// d\nsegment b: y").unwrap();
        assert_eq!(
            print_rule_set(&two),
            "segment a: x\n\n/// d\nsegment b: y\n"
        );
        let empty_line = parse_rule_set("///\n/// x\nsegment a: y").unwrap();
        assert_eq!(empty_line.rules[0].description.as_deref(), Some("\nx"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = err_at("count(purchase", ErrorKind::RuleSyntax, 1, 15);
        assert!(e.message().contains("expected `)`"), "{e}");
        err_at("a = ", ErrorKind::RuleSyntax, 1, 5);
        err_at("a = 1 = 2", ErrorKind::RuleSyntax, 1, 7);
        err_at("a < b < c", ErrorKind::RuleSyntax, 1, 7);
        err_at("(a", ErrorKind::RuleSyntax, 1, 3);
        err_at("a)", ErrorKind::RuleSyntax, 1, 2);
        err_at("-x", ErrorKind::RuleSyntax, 1, 2);
        err_at("x is not missing", ErrorKind::RuleSyntax, 1, 6);
        err_at("x not like 1", ErrorKind::RuleSyntax, 1, 3);
        err_at("x within 30d", ErrorKind::RuleSyntax, 1, 10);
        err_at("x within last 3", ErrorKind::RuleSyntax, 1, 15);
        err_at("x between 1 or 2", ErrorKind::RuleSyntax, 1, 13);
        err_at("and = 1", ErrorKind::RuleSyntax, 1, 1);
        err_at("x = 1 and", ErrorKind::RuleSyntax, 1, 10);
        err_at("sum(purchase) > 1", ErrorKind::RuleSyntax, 1, 13);
        err_at("count(purchase.amount) > 1", ErrorKind::RuleSyntax, 1, 15);
        err_at("count(where) > 1", ErrorKind::RuleSyntax, 1, 7);
        err_at("count(x, during last 0 days)", ErrorKind::RuleSyntax, 1, 22);
        err_at(
            "count(x, during calendar(month, 1, 0))",
            ErrorKind::RuleSyntax,
            1,
            36,
        );
        err_at(
            "count(x, during last fortnight)",
            ErrorKind::RuleSyntax,
            1,
            22,
        );
        err_at("count(x, lately)", ErrorKind::RuleSyntax, 1, 10);
        err_at("days_since(a, b)", ErrorKind::RuleSyntax, 1, 12);
        err_at("has_tag(vip)", ErrorKind::RuleSyntax, 1, 9);
        err_at("has_consent(\"wechat\")", ErrorKind::RuleSyntax, 1, 21);
        err_at("x = 99999999999999999999", ErrorKind::RuleSyntax, 1, 5);
        err_at("x = 9223372036854775808", ErrorKind::RuleSyntax, 1, 5);
        err_at("trait", ErrorKind::RuleSyntax, 1, 6);
        let e = err_at("x betwen 1 and 2", ErrorKind::RuleSyntax, 1, 3);
        assert_eq!(e.suggestion(), Some("between"));
        let long = format!("x = 1 \"{}\"", "y".repeat(500));
        assert!(err(&long).message().len() < 200);
    }

    #[test]
    fn multi_line_positions() {
        let text = "segment a: x = 1\n\nsegment b:\n  count(purchase\n    where amount > )\n";
        let e = parse_rule_set(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RuleSyntax);
        let pos = e.position().unwrap();
        assert_eq!((pos.line, pos.column), (5, 20));
        assert_eq!(pos.offset as usize, text.rfind(')').unwrap());
        let e = parse_rule_set("segment a: x\nsegmnt b: y").unwrap_err();
        assert_eq!(e.position().unwrap().line, 2);
        let e = parse_rule_set("segment 客户: x").unwrap_err();
        assert_eq!(e.position().unwrap().column, 9);
        let e = parse_rule_set("segment a: x\n/// dangling\n").unwrap_err();
        assert_eq!(e.position().unwrap().line, 3);
        let e = parse_rule_set("segment a x").unwrap_err();
        assert!(e.message().contains("expected `:`"), "{e}");
        let e = parse_rule_set("segment and: x").unwrap_err();
        assert!(e.message().contains("reserved"), "{e}");
        let e = parse_rule_set("segmnt a: x").unwrap_err();
        assert_eq!(e.suggestion(), Some("segment"));
    }

    #[test]
    fn unknown_functions_and_bad_times() {
        let e = err_at(
            "x = 1 and lenght(name) > 3",
            ErrorKind::UnknownFunction,
            1,
            11,
        );
        assert_eq!(e.suggestion(), Some("length"));
        let e = err_at("cuont(purchase) > 1", ErrorKind::UnknownFunction, 1, 1);
        assert_eq!(e.suggestion(), Some("count"));
        assert_eq!(err("frobnicate(1)").suggestion(), None);
        err_at(
            "x > timestamp(\"2026-13-01T00:00:00Z\")",
            ErrorKind::InvalidTime,
            1,
            15,
        );
        err_at("x = date(\"2026-02-30\")", ErrorKind::InvalidTime, 1, 10);
        err_at(
            "count(x, between timestamp(\"2026-01-01\") and timestamp(\"2026-02-01T00:00:00Z\"))",
            ErrorKind::InvalidTime,
            1,
            28,
        );
        err_at("x = 4294967296d", ErrorKind::InvalidTime, 1, 5);
    }

    #[test]
    fn limits() {
        let deep = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(err(&deep).kind(), ErrorKind::LimitExceeded);
        let nots = format!("{}x", "not ".repeat(100_000));
        assert_eq!(err(&nots).kind(), ErrorKind::LimitExceeded);
        let lists = format!("x = {}", "[".repeat(100_000));
        assert_eq!(err(&lists).kind(), ErrorKind::LimitExceeded);
        let chain = format!("x = 1{}", " + 1".repeat(100_000));
        assert_eq!(err(&chain).kind(), ErrorKind::LimitExceeded);
        let calls = format!("{}x{}", "abs(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(err(&calls).kind(), ErrorKind::LimitExceeded);
        // Chains inside parentheses that together nest too deep.
        let nested = format!("({}x){} = 1", "1 + ".repeat(40), " + 1".repeat(40));
        assert_eq!(err(&nested).kind(), ErrorKind::LimitExceeded);
        // Exactly at the limit is fine; a long flat `and` is not nesting.
        let ok = format!("{}x{}", "(".repeat(63), ")".repeat(63));
        assert_eq!(p(&ok), tr("x"));
        let flat = vec!["x = 1"; 5000].join(" and ");
        assert!(matches!(p(&flat).kind, ExprKind::And { args } if args.len() == 5000));
        // The deepest accepted nesting of the heaviest forms parses on a 1 MiB stack
        // even unoptimised (release builds need about a tenth of that).
        for deep in [
            format!("{}x{}", "abs(".repeat(63), ")".repeat(63)),
            format!("{}x{}", "count(e where ".repeat(63), ")".repeat(63)),
            format!("{}x{}", "(".repeat(63), ")".repeat(63)),
        ] {
            let ok = std::thread::Builder::new()
                .stack_size(1 << 20)
                .spawn(move || parse_expr(&deep).is_ok())
                .unwrap()
                .join()
                .unwrap();
            assert!(ok);
        }
        let big = format!("x = \"{}\"", "a".repeat(MAX_INPUT_BYTES));
        assert_eq!(err(&big).kind(), ErrorKind::LimitExceeded);
        assert_eq!(
            parse_rule_set(&format!("segment a: {big}"))
                .unwrap_err()
                .kind(),
            ErrorKind::LimitExceeded
        );
    }
}
