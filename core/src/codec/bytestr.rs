//! [`ByteStr`]: an immutable UTF-8 string that shares the buffer it was decoded from.

use bytes::Bytes;
use core::fmt;
use core::ops::Deref;

/// An immutable, cheaply cloneable UTF-8 string backed by [`Bytes`].
///
/// Strings decoded from a packet are slices of the input buffer: no bytes are
/// copied. The contents are always valid UTF-8; the codec additionally
/// guarantees that strings it decoded contain no U+0000.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteStr(Bytes);

impl ByteStr {
    /// An empty string.
    pub const fn new() -> Self {
        ByteStr(Bytes::new())
    }

    /// A string that borrows a `'static` str without copying.
    pub const fn from_static(s: &'static str) -> Self {
        ByteStr(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes that are valid UTF-8, or gives them back if they are not.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Bytes> {
        match core::str::from_utf8(&bytes) {
            Ok(_) => Ok(ByteStr(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// Wraps bytes the caller has already checked to be valid UTF-8.
    pub(crate) fn from_utf8_checked(bytes: Bytes) -> Self {
        debug_assert!(core::str::from_utf8(&bytes).is_ok());
        ByteStr(bytes)
    }

    /// Length in bytes, without looking at the contents.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty string, without looking at the contents.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The string.
    ///
    /// This checks the bytes are UTF-8 again (the crate has no `unsafe` code),
    /// which costs a pass over the string; [`ByteStr::len`],
    /// [`ByteStr::is_empty`] and [`ByteStr::as_bytes`] do not.
    pub fn as_str(&self) -> &str {
        // The invariant of this type is that the bytes are valid UTF-8; the
        // check below is a cheap fallback that never fails in practice and
        // keeps the crate free of `unsafe`.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Consumes the string and returns its bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for ByteStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ByteStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for ByteStr {
    fn from(s: &'static str) -> Self {
        ByteStr::from_static(s)
    }
}

impl From<alloc::string::String> for ByteStr {
    fn from(s: alloc::string::String) -> Self {
        ByteStr(Bytes::from(s.into_bytes()))
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}
