//! The DSL lexer: source text → tokens with byte offsets.
//!
//! Whitespace and `#` comments are skipped; `///` doc comments become tokens so
//! the parser can attach them to the following `segment`.

use super::ast::{Duration, DurationUnit};
use crate::error::{Error, ErrorKind, Position, Result};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An ASCII identifier or keyword (text is `src[start..end]`).
    Ident,
    /// A string literal, escapes resolved.
    Str(String),
    /// An unsigned integer literal (≤ 2^63 so that `-9223372036854775808` parses).
    Int(u64),
    /// An unsigned float literal.
    Float(f64),
    /// A duration literal such as `30d`.
    Dur(Duration),
    /// A `///` doc comment line (text after `///` and one optional space).
    Doc(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Eof,
}

/// A token and its byte range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn syntax(src: &str, at: usize, msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::RuleSyntax, msg).with_position(Position::from_offset(src, at))
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `src` into tokens (the last one is always [`Tok::Eof`]).
pub(crate) fn lex(src: &str) -> Result<Vec<Token>> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let single = |t: Tok| Token {
            tok: t,
            start,
            end: start + 1,
        };
        if let Some(t) = punct(b, bytes.get(i + 1).copied()) {
            out.push(single(t));
            i += 1;
            continue;
        }
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => i = line_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                if bytes.get(i + 2) != Some(&b'/') {
                    return Err(syntax(
                        src,
                        i,
                        "`//` is not a comment; write `#` for a comment or `///` for a segment description",
                    ));
                }
                let line_start = src[..i].rfind('\n').map_or(0, |n| n + 1);
                if !src[line_start..i].trim().is_empty() {
                    return Err(syntax(
                        src,
                        i,
                        "a `///` description must be on its own line(s) directly before `segment`; use `#` for a comment after code",
                    ));
                }
                let end = line_end(bytes, i);
                let mut text = &src[i + 3..end];
                text = text.strip_suffix('\r').unwrap_or(text);
                text = text.strip_prefix(' ').unwrap_or(text);
                out.push(Token {
                    tok: Tok::Doc(text.to_string()),
                    start,
                    end,
                });
                i = end;
            }
            b'"' => {
                let (s, end) = lex_string(src, i)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    start,
                    end,
                });
                i = end;
            }
            b'0'..=b'9' => {
                let (tok, end) = lex_number(src, i)?;
                out.push(Token { tok, start, end });
                i = end;
            }
            _ if is_ident_start(b) => {
                while i < bytes.len() && is_ident_char(bytes[i]) {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident,
                    start,
                    end: i,
                });
            }
            b'=' => return Err(syntax(src, i, "write `=` (not `==`) for equality")),
            b'!' => {
                if bytes.get(i + 1) != Some(&b'=') {
                    return Err(syntax(src, i, "write `not` (not `!`) for negation"));
                }
                out.push(Token {
                    tok: Tok::Ne,
                    start,
                    end: i + 2,
                });
                i += 2;
            }
            b'<' | b'>' => {
                let eq = bytes.get(i + 1) == Some(&b'=');
                let tok = match (b, eq) {
                    (b'<', false) => Tok::Lt,
                    (b'<', true) => Tok::Le,
                    (_, false) => Tok::Gt,
                    (_, true) => Tok::Ge,
                };
                let end = i + 1 + usize::from(eq);
                out.push(Token { tok, start, end });
                i = end;
            }
            b'&' if bytes.get(i + 1) == Some(&b'&') => {
                return Err(syntax(src, i, "write `and` (not `&&`)"));
            }
            b'|' if bytes.get(i + 1) == Some(&b'|') => {
                return Err(syntax(src, i, "write `or` (not `||`)"));
            }
            _ => {
                let c = src[i..].chars().next().unwrap_or('?');
                let hint = if c.is_alphabetic() {
                    "; names outside ASCII are written as strings, e.g. trait.\"会员等级\""
                } else {
                    ""
                };
                return Err(syntax(src, i, format!("unexpected character `{c}`{hint}")));
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    Ok(out)
}

/// Single-byte punctuation (`/` only when not starting a comment).
fn punct(b: u8, next: Option<u8>) -> Option<Tok> {
    Some(match b {
        b'(' => Tok::LParen,
        b')' => Tok::RParen,
        b'[' => Tok::LBracket,
        b']' => Tok::RBracket,
        b',' => Tok::Comma,
        b':' => Tok::Colon,
        b'.' => Tok::Dot,
        b'+' => Tok::Plus,
        b'-' => Tok::Minus,
        b'*' => Tok::Star,
        b'/' if next != Some(b'/') => Tok::Slash,
        b'=' if next != Some(b'=') => Tok::Eq,
        _ => return None,
    })
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// Lexes a string literal starting at the opening quote; returns the value and
/// the offset after the closing quote.
fn lex_string(src: &str, open: usize) -> Result<(String, usize)> {
    let mut out = String::new();
    let mut chars = src[open + 1..].char_indices();
    while let Some((rel, c)) = chars.next() {
        let at = open + 1 + rel;
        match c {
            '"' => return Ok((out, at + 1)),
            '\n' => break,
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'u' => {
                        let rest = &src[at + 2..];
                        let close = rest.find('}').filter(|_| rest.starts_with('{'));
                        let hex = close.map(|c| &rest[1..c]);
                        let ch = hex
                            .filter(|h| {
                                (1..=6).contains(&h.len())
                                    && h.bytes().all(|b| b.is_ascii_hexdigit())
                            })
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .and_then(char::from_u32);
                        match (ch, close) {
                            (Some(ch), Some(close)) => {
                                out.push(ch);
                                // Skip `{hex}`.
                                for _ in 0..=close {
                                    chars.next();
                                }
                            }
                            _ => {
                                return Err(syntax(
                                    src,
                                    at,
                                    "invalid unicode escape: write \\u{...} with 1-6 hex digits of a valid code point",
                                ))
                            }
                        }
                    }
                    other => {
                        return Err(syntax(
                            src,
                            at,
                            format!(
                                "unknown escape `\\{other}` in string (use \\\" \\\\ \\n \\t \\r or \\u{{...}})"
                            ),
                        ))
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(syntax(
        src,
        open,
        "unterminated string: a `\"` is missing before the end of the line",
    ))
}

/// Lexes an integer, float or duration literal.
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize)> {
    let bytes = src.as_bytes();
    let digits_end = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits_end(start);
    let mut is_float = false;
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        is_float = true;
        i = digits_end(i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            is_float = true;
            i = digits_end(j);
        }
    }
    let text = &src[start..i];
    // A letter directly after the number: a duration suffix, or an error.
    if bytes.get(i).copied().is_some_and(is_ident_char) {
        let mut end = i;
        while end < bytes.len() && is_ident_char(bytes[end]) {
            end += 1;
        }
        let word = &src[start..end];
        if !is_float && end == i + 1 {
            let unit = match bytes[i] {
                b's' => Some(DurationUnit::Seconds),
                b'm' => Some(DurationUnit::Minutes),
                b'h' => Some(DurationUnit::Hours),
                b'd' => Some(DurationUnit::Days),
                b'w' => Some(DurationUnit::Weeks),
                _ => None,
            };
            if let Some(unit) = unit {
                let amount: u32 = text.parse().map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidTime,
                        format!("duration `{word}` is too long (at most 4294967295 units)"),
                    )
                    .with_position(Position::from_offset(src, start))
                })?;
                return Ok((Tok::Dur(Duration { amount, unit }), end));
            }
        }
        return Err(syntax(
            src,
            start,
            format!(
                "invalid number or duration `{word}` (durations are whole numbers with one of s, m, h, d, w: 30d, 72h, 3w, 15m, 10s)"
            ),
        ));
    }
    if is_float {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok((Tok::Float(f), i)),
            _ => Err(syntax(
                src,
                start,
                format!("float `{text}` is out of range"),
            )),
        }
    } else {
        match text.parse::<u64>() {
            Ok(n) if n <= 1 << 63 => Ok((Tok::Int(n), i)),
            _ => Err(syntax(
                src,
                start,
                format!("integer `{text}` is out of range (64-bit signed integers only)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_durations_and_operators() {
        assert_eq!(
            kinds("3 2.5 1e3 30d 72h <= != >"),
            vec![
                Tok::Int(3),
                Tok::Float(2.5),
                Tok::Float(1000.0),
                Tok::Dur(Duration {
                    amount: 30,
                    unit: DurationUnit::Days
                }),
                Tok::Dur(Duration {
                    amount: 72,
                    unit: DurationUnit::Hours
                }),
                Tok::Le,
                Tok::Ne,
                Tok::Gt,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            kinds(r#""a\"b\\c\n\t\u{5BA2}""#),
            vec![Tok::Str("a\"b\\c\n\t客".into()), Tok::Eof]
        );
        let e = lex("\"abc").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RuleSyntax);
        assert_eq!(e.position().unwrap().column, 1);
        assert!(lex(r#""\q""#).is_err());
        assert!(lex(r#""\u{110000}""#).is_err());
        assert!(lex(r#""\u{}""#).is_err());
    }

    #[test]
    fn comments_and_doc_comments() {
        assert_eq!(
            kinds("# note\n/// Doc line\n///x\nsegment"),
            vec![
                Tok::Doc("Doc line".into()),
                Tok::Doc("x".into()),
                Tok::Ident,
                Tok::Eof
            ]
        );
        assert!(lex("// x").is_err());
        let e = lex("x = 1 /// trailing").unwrap_err();
        assert_eq!(e.position().unwrap().column, 7);
    }

    #[test]
    fn bad_numbers() {
        assert!(lex("3days").is_err());
        assert!(lex("1.5d").is_err());
        assert!(lex("99999999999999999999").is_err());
        assert_eq!(
            lex("4294967296d").unwrap_err().kind(),
            ErrorKind::InvalidTime
        );
        assert_eq!(kinds("9223372036854775808")[0], Tok::Int(1 << 63));
        assert!(lex("== 1").is_err());
        assert!(lex("a && b").is_err());
    }
}
