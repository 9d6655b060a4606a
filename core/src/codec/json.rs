//! Serde support for the JSON form of packets (feature `serde`).

use super::{ByteStr, Protocol, QoS, ReasonCode, RetainHandling};
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn to_hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

fn from_hex<E: serde::de::Error>(s: &str) -> Result<Bytes, E> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(E::invalid_value(Unexpected::Str(s), &"a string of hex digits")),
    };
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return Err(E::invalid_length(b.len(), &"an even number of hex digits"));
    }
    let mut out = Vec::with_capacity(b.len() / 2);
    for pair in b.chunks(2) {
        out.push(digit(pair[0])? << 4 | digit(pair[1])?);
    }
    Ok(Bytes::from(out))
}

/// `Bytes` as a lowercase hex string.
pub(crate) mod hex {
    use super::*;
    pub(crate) fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(b))
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let s = String::deserialize(d)?;
        from_hex(&s)
    }
}

/// `Option<Bytes>` as an optional lowercase hex string.
pub(crate) mod opt_hex {
    use super::*;
    pub(crate) fn serialize<S: Serializer>(b: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&to_hex(b)),
            None => s.serialize_none(),
        }
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => from_hex(&s).map(Some),
            None => Ok(None),
        }
    }
}

impl Serialize for ByteStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ByteStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ByteStr::from)
    }
}

macro_rules! as_u8 {
    ($ty:ty, $from:expr, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(*self as u8)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = u8::deserialize(d)?;
                $from(v)
                    .ok_or_else(|| D::Error::invalid_value(Unexpected::Unsigned(v.into()), &$what))
            }
        }
    };
}

as_u8!(QoS, QoS::from_u8, "0, 1 or 2");
as_u8!(Protocol, Protocol::from_level, "4 or 5");
as_u8!(RetainHandling, RetainHandling::from_u8, "0, 1 or 2");

impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for ReasonCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u8::deserialize(d).map(ReasonCode)
    }
}
