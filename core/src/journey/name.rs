//! [`Name`]: the immutable, cheaply cloned string used for ids in journey state
//! and effects (journey, node and effect ids, channels, templates).
//!
//! The restore → step → persist cycle used to allocate about twenty small
//! `String`s. A `Name` of up to [`INLINE`] bytes is stored inline (no
//! allocation to create, copy or drop); a longer one is an `Arc<str>`, so
//! clones of definition strings only bump a reference count. It behaves as a
//! `str` (deref, comparisons, hashing, ordering) and serializes as a JSON string.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// Longest name stored without allocation (keeps `Name` at 40 bytes, enough
/// for typical effect ids such as `replenishment#1/probiotics_msg/4`).
pub const INLINE: usize = 38;

/// An immutable string: inline when short, shared (`Arc<str>`) when long.
#[derive(Clone)]
pub struct Name(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Shared(Arc<str>),
}

impl Name {
    /// The empty name.
    pub const fn empty() -> Name {
        Name(Repr::Inline {
            len: 0,
            buf: [0; INLINE],
        })
    }

    /// A name holding `s`.
    pub fn new(s: &str) -> Name {
        if s.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            Name(Repr::Inline {
                len: s.len() as u8,
                buf,
            })
        } else {
            Name(Repr::Shared(Arc::from(s)))
        }
    }

    /// The concatenation of `parts` (allocates only when longer than [`INLINE`]).
    pub fn concat(parts: &[&str]) -> Name {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len <= INLINE {
            let mut buf = [0; INLINE];
            let mut at = 0;
            for p in parts {
                buf[at..at + p.len()].copy_from_slice(p.as_bytes());
                at += p.len();
            }
            Name(Repr::Inline {
                len: len as u8,
                buf,
            })
        } else {
            Name::from(parts.concat())
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever filled from a `&str` cut at its length, so always valid
            // UTF-8 (checked here because the crate forbids `unsafe`).
            Repr::Inline { len, buf } => {
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or("")
            }
            Repr::Shared(s) => s,
        }
    }

    /// Whether the name is empty (also for `skip_serializing_if`).
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            Repr::Inline { len, .. } => *len == 0,
            Repr::Shared(s) => s.is_empty(),
        }
    }
}

impl Default for Name {
    fn default() -> Name {
        Name::empty()
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s)
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        if s.len() <= INLINE {
            Name::new(&s)
        } else {
            Name(Repr::Shared(Arc::from(s)))
        }
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.as_str().to_string()
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Name, E> {
                Ok(Name::new(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Name, E> {
                Ok(Name::from(v))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_names_behave_as_str() {
        let long = "x".repeat(INLINE + 1);
        for s in ["", "wechat", &"y".repeat(INLINE), &long, "欢迎_welcome"] {
            let n = Name::from(s);
            assert_eq!(n.as_str(), s);
            assert_eq!(n, s);
            assert_eq!(n.is_empty(), s.is_empty());
            assert_eq!(Name::from(s.to_string()), n);
            assert_eq!(format!("{n}"), s);
            assert_eq!(serde_json::to_value(&n).unwrap(), serde_json::json!(s));
            let back: Name = serde_json::from_value(serde_json::json!(s)).unwrap();
            assert_eq!(back, n);
        }
        assert!(Name::from("a") < Name::from(long.as_str()));
        assert_eq!(Name::concat(&["ab", "", "c"]), "abc");
        assert_eq!(Name::concat(&[&long, "z"]), format!("{long}z"));
        assert!(serde_json::from_value::<Name>(serde_json::json!(1)).is_err());
    }
}
