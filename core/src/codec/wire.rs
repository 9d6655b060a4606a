//! Wire primitives: the fixed header, Variable Byte Integers, Two Byte lengths,
//! UTF-8 strings and binary data (MQTT 5.0 §1.5, §2.1). Reading is built on
//! `nom` parsers; a [`Reader`] applies them to a packet held in [`Bytes`] and
//! turns every string and binary field into a zero-copy slice of it.

use super::{ByteStr, DecodeError};
use bytes::{BufMut, Bytes};
use nom::error::{ErrorKind, ParseError};
use nom::{Err as NomErr, IResult, Needed};

/// The largest value a Variable Byte Integer can hold (§1.5.5).
pub(crate) const VBI_MAX: u32 = 268_435_455;

/// Why a nom parser stopped. Only the message is kept: offsets are computed by
/// the [`Reader`] from the unconsumed input.
#[derive(Debug)]
pub(crate) struct Fault(pub(crate) &'static str);

impl<'a> ParseError<&'a [u8]> for Fault {
    fn from_error_kind(_: &'a [u8], _: ErrorKind) -> Self {
        Fault("field overruns the packet")
    }
    fn append(_: &'a [u8], _: ErrorKind, other: Self) -> Self {
        other
    }
}

/// A Variable Byte Integer: at most four bytes and, as [MQTT-1.5.5-1] demands,
/// in the fewest bytes that hold the value. Streaming: input that ends inside
/// the integer is `Incomplete`.
#[inline]
pub(crate) fn vbi(input: &[u8]) -> IResult<&[u8], u32, Fault> {
    let mut value: u32 = 0;
    for (i, &b) in input.iter().enumerate().take(4) {
        value |= u32::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            if i > 0 && b == 0 {
                return Err(NomErr::Error(Fault(
                    "variable byte integer is not in its shortest form",
                )));
            }
            return Ok((&input[i + 1..], value));
        }
    }
    if input.len() >= 4 {
        Err(NomErr::Error(Fault("variable byte integer is longer than 4 bytes")))
    } else {
        Err(NomErr::Incomplete(Needed::new(1)))
    }
}

/// A big-endian integer of `N` bytes, the parser of [`be_u8`], [`be_u16`] and
/// [`be_u32`]. Written here rather than taken from `nom::number` so that it
/// always inlines into the field readers: nom's versions go through a
/// generic `Input::take_from` that the compiler leaves out of line.
#[inline(always)]
fn be_bytes<const N: usize>(input: &[u8]) -> IResult<&[u8], [u8; N], Fault> {
    match input.split_first_chunk::<N>() {
        Some((bytes, rest)) => Ok((rest, *bytes)),
        None => Err(NomErr::Error(Fault("field overruns the packet"))),
    }
}

/// A Byte.
#[inline(always)]
fn be_u8(input: &[u8]) -> IResult<&[u8], u8, Fault> {
    be_bytes::<1>(input).map(|(rest, b)| (rest, b[0]))
}

/// A Two Byte Integer (§1.5.2).
#[inline(always)]
fn be_u16(input: &[u8]) -> IResult<&[u8], u16, Fault> {
    be_bytes(input).map(|(rest, b)| (rest, u16::from_be_bytes(b)))
}

/// A Four Byte Integer (§1.5.3).
#[inline(always)]
fn be_u32(input: &[u8]) -> IResult<&[u8], u32, Fault> {
    be_bytes(input).map(|(rest, b)| (rest, u32::from_be_bytes(b)))
}

/// Number of bytes `v` takes as a Variable Byte Integer.
#[inline]
pub(crate) const fn vbi_len(v: u32) -> usize {
    match v {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// `v`, at most [`VBI_MAX`], as a Variable Byte Integer: its bytes packed
/// little-endian into a `u32` (the first byte lowest) and how many there
/// are. Packed in a register, the bytes reach memory in one store, so a copy
/// that reads them back gets them forwarded from that store; bytes stored
/// one by one and read back by a wider load stall until they are written out.
#[inline]
pub(crate) fn vbi_word(v: u32) -> (u32, usize) {
    if v < 0x80 {
        (v, 1)
    } else if v < 0x4000 {
        (v & 0x7F | 0x80 | (v >> 7) << 8, 2)
    } else if v < 0x20_0000 {
        (v & 0x7F | 0x80 | ((v >> 7) & 0x7F | 0x80) << 8 | (v >> 14) << 16, 3)
    } else {
        let low = v & 0x7F | 0x80 | ((v >> 7) & 0x7F | 0x80) << 8;
        (low | ((v >> 14) & 0x7F | 0x80) << 16 | (v >> 21) << 24, 4)
    }
}

/// Writes `v` as a Variable Byte Integer. `v` must be at most [`VBI_MAX`].
/// The bytes go out in one `put_slice`: each call into a `BufMut` costs a
/// capacity check.
#[inline]
pub(crate) fn put_vbi<B: BufMut>(out: &mut B, v: u32) {
    let (word, n) = vbi_word(v);
    out.put_slice(&word.to_le_bytes()[..n]);
}

/// Writes a fixed header: the first byte, then `remaining` (at most
/// [`VBI_MAX`]) as a Variable Byte Integer, in one `put_slice` of bytes
/// packed in a register (see [`vbi_word`]).
#[inline]
pub(crate) fn put_fixed_header<B: BufMut>(out: &mut B, first: u8, remaining: u32) {
    let (word, n) = vbi_word(remaining);
    out.put_slice(&(u64::from(first) | u64::from(word) << 8).to_le_bytes()[..1 + n]);
}

/// Writes a Two Byte length followed by the bytes. The caller has checked the
/// length fits in 16 bits.
#[inline]
pub(crate) fn put_bin<B: BufMut>(out: &mut B, b: &[u8]) {
    out.put_u16(b.len() as u16);
    out.put_slice(b);
}

/// The rules for a UTF-8 Encoded String's bytes: at most 65,535 bytes,
/// well-formed UTF-8 without surrogates [MQTT-1.5.4-1], no U+0000 [MQTT-1.5.4-2].
#[inline]
pub(crate) fn check_string(b: &[u8]) -> Result<(), &'static str> {
    check_scanned(b).map(|_| ())
}

/// [`check_string`] for a Topic Name, which also must hold no wildcard
/// character [MQTT-3.3.2-2]; the string rules are checked first.
#[inline]
pub(crate) fn check_topic_name(b: &[u8]) -> Result<(), &'static str> {
    if check_scanned(b)?.wildcard {
        return Err("topic name contains a wildcard");
    }
    Ok(())
}

/// [`check_string`] for bytes already known to be well-formed UTF-8 (a
/// [`ByteStr`]'s): the length and U+0000 rules. Gives the same answer as
/// [`check_string`] for such bytes, without the UTF-8 validation.
#[inline]
pub(crate) fn check_utf8_string(b: &[u8]) -> Result<(), &'static str> {
    check_scanned_utf8(b).map(|_| ())
}

/// [`check_topic_name`] for bytes already known to be well-formed UTF-8.
#[inline]
pub(crate) fn check_utf8_topic_name(b: &[u8]) -> Result<(), &'static str> {
    if check_scanned_utf8(b)?.wildcard {
        return Err("topic name contains a wildcard");
    }
    Ok(())
}

/// What one pass over a string's bytes found.
#[derive(Clone, Copy)]
struct Scan {
    non_ascii: bool,
    nul: bool,
    wildcard: bool,
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Non-zero exactly when some byte of `x` is zero.
#[inline(always)]
fn zero_byte(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Non-zero exactly when some byte of `x` is `+` or `#`; the lowest set bit
/// is in the first such byte (a zero-byte test only errs above a true hit).
#[inline(always)]
fn wildcard_bytes(x: u64) -> u64 {
    zero_byte(x ^ (ONES * u64::from(b'+'))) | zero_byte(x ^ (ONES * u64::from(b'#')))
}

/// The index of the first `+` or `#` in `b`, eight bytes at a time: what a
/// Topic Filter check looks for, without a branch per byte.
#[inline]
pub(crate) fn find_wildcard(b: &[u8]) -> Option<usize> {
    let mut words = b.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let hits = wildcard_bytes(u64::from_le_bytes(w.try_into().unwrap_or_default()));
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&c| c == b'+' || c == b'#').map(|k| at + k)
}

/// One pass, eight bytes at a time: any byte above 0x7F, any 0x00, any `+` or
/// `#`. A string of 8 bytes or more ends with an overlapping last word
/// instead of a padded copy of its tail, and a shorter one is read in two
/// overlapping halves: the findings only accumulate, so a byte seen twice
/// changes nothing. A `+` or `#` byte is never part of a multi-byte UTF-8
/// sequence, so the wildcard finding holds for any well-formed string.
/// Always inlined: out of line, each string check pays a call.
#[inline(always)]
fn scan(b: &[u8]) -> Scan {
    let (mut high, mut nul, mut wild) = (0u64, 0u64, 0u64);
    let mut eat = |w: u64| {
        high |= w & HIGHS;
        nul |= zero_byte(w);
        wild |= wildcard_bytes(w);
    };
    let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or_default());
    if b.len() >= 8 {
        let mut words = b.chunks_exact(8);
        for w in &mut words {
            eat(word(w));
        }
        if !words.remainder().is_empty() {
            // The last 8 bytes, overlapping words already seen: the findings
            // only accumulate, so seeing a byte twice changes nothing.
            eat(word(&b[b.len() - 8..]));
        }
    } else {
        // 1 to 7 bytes as one word of two overlapping loads, the rest padded
        // with a byte that trips nothing. Loaded straight into a register:
        // bytes first copied into a padded array are read back by a wider
        // load than the copy's stores, which stalls until they are written.
        let half = |w: &[u8]| u64::from(u32::from_le_bytes(w.try_into().unwrap_or_default()));
        let quarter = |w: &[u8]| u64::from(u16::from_le_bytes(w.try_into().unwrap_or_default()));
        const PAD: u64 = ONES * b'a' as u64;
        match b.len() {
            0 => {}
            1 => eat(PAD << 8 | u64::from(b[0])),
            2..=3 => eat(PAD << 32 | quarter(&b[b.len() - 2..]) << 16 | quarter(&b[..2])),
            _ => eat(half(&b[b.len() - 4..]) << 32 | half(&b[..4])),
        }
    }
    Scan { non_ascii: high != 0, nul: nul != 0, wildcard: wild != 0 }
}

/// [`check_scanned`] without the UTF-8 validation, for well-formed UTF-8.
#[inline]
fn check_scanned_utf8(b: &[u8]) -> Result<Scan, &'static str> {
    if b.len() > u16::MAX as usize {
        return Err("string longer than 65,535 bytes");
    }
    let s = scan(b);
    if s.nul {
        return Err("string contains U+0000");
    }
    Ok(s)
}

/// The checks of [`check_string`], in its order, and what the scan found.
/// Full UTF-8 validation runs only when a byte is not ASCII.
#[inline]
fn check_scanned(b: &[u8]) -> Result<Scan, &'static str> {
    if b.len() > u16::MAX as usize {
        return Err("string longer than 65,535 bytes");
    }
    let s = scan(b);
    if s.non_ascii && core::str::from_utf8(b).is_err() {
        return Err("string is not well-formed UTF-8");
    }
    if s.nul {
        return Err("string contains U+0000");
    }
    Ok(s)
}

/// A decoded fixed header (§2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    /// The first byte: packet type in the high nibble, flags in the low one.
    pub first_byte: u8,
    /// Remaining Length: the bytes after the fixed header.
    pub remaining_length: u32,
    /// Bytes the fixed header itself takes (2 to 5).
    pub header_length: usize,
}

impl FixedHeader {
    /// Total packet length: fixed header plus Remaining Length.
    pub fn packet_length(&self) -> usize {
        self.header_length + self.remaining_length as usize
    }

    /// Parses a fixed header from the start of `input`. `Ok(None)` when `input`
    /// ends before the header does.
    #[inline]
    pub fn parse(input: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
        let Some((&first_byte, rest)) = input.split_first() else {
            return Ok(None);
        };
        match vbi(rest) {
            Ok((after, remaining_length)) => Ok(Some(FixedHeader {
                first_byte,
                remaining_length,
                header_length: input.len() - after.len(),
            })),
            Err(NomErr::Incomplete(_)) => Ok(None),
            Err(NomErr::Error(Fault(m)) | NomErr::Failure(Fault(m))) => {
                Err(DecodeError::malformed(1, m))
            }
        }
    }
}

/// Reads the fields of one packet from a byte slice. Offsets are from the
/// start of the packet's fixed header; `end` is where the packet ends. String
/// and binary fields come out as sub-slices of the input ([`SliceReader::binary_ref`]);
/// [`Reader`] adds zero-copy [`Bytes`] slices on top.
pub(crate) struct SliceReader<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> SliceReader<'a> {
    /// A reader over `data[pos..end]`.
    pub(crate) fn new(data: &'a [u8], pos: usize, end: usize) -> Self {
        SliceReader { data, pos, end }
    }

    #[inline]
    fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..self.end]
    }

    #[inline]
    fn run<T>(
        &mut self,
        parser: impl FnOnce(&'a [u8]) -> IResult<&'a [u8], T, Fault>,
    ) -> Result<T, DecodeError> {
        match parser(self.rest()) {
            Ok((rest, v)) => {
                self.pos = self.end - rest.len();
                Ok(v)
            }
            Err(NomErr::Error(Fault(m)) | NomErr::Failure(Fault(m))) => {
                Err(DecodeError::malformed(self.pos, m))
            }
            Err(NomErr::Incomplete(_)) => {
                Err(DecodeError::malformed(self.pos, "field overruns the packet"))
            }
        }
    }

    /// Offset of the next unread byte.
    #[inline]
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// Offset just past the packet.
    #[inline]
    pub(crate) fn end_offset(&self) -> usize {
        self.end
    }

    /// Bytes left in the packet.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        self.run(be_u8)
    }

    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.run(be_u16)
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.run(be_u32)
    }

    /// A Variable Byte Integer inside the packet; running out of packet is Malformed.
    #[inline]
    pub(crate) fn vbi(&mut self) -> Result<u32, DecodeError> {
        self.run(vbi)
    }

    /// A Packet Identifier, which must not be 0 [MQTT-2.2.1-3].
    #[inline]
    pub(crate) fn packet_id(&mut self) -> Result<u16, DecodeError> {
        let at = self.pos;
        match self.u16()? {
            0 => Err(DecodeError::protocol(at, "packet identifier is 0")),
            id => Ok(id),
        }
    }

    /// Binary Data: a Two Byte length and that many bytes; gives where they are.
    #[inline]
    fn binary_range(&mut self) -> Result<core::ops::Range<usize>, DecodeError> {
        let at = self.pos;
        let len = self.u16()? as usize;
        if len > self.remaining() {
            return Err(DecodeError::malformed(at, "length overruns the packet"));
        }
        let range = self.pos..self.pos + len;
        self.pos += len;
        Ok(range)
    }

    /// Binary Data, borrowed from the input.
    #[inline]
    pub(crate) fn binary_ref(&mut self) -> Result<&'a [u8], DecodeError> {
        let range = self.binary_range()?;
        Ok(&self.data[range])
    }

    /// Binary Data whose bytes pass `check` (a rule of [`check_string`]'s
    /// kind, refused as Malformed at the field); gives where they are.
    #[inline]
    fn checked_range(
        &mut self,
        check: impl FnOnce(&[u8]) -> Result<(), &'static str>,
    ) -> Result<core::ops::Range<usize>, DecodeError> {
        let at = self.pos;
        let range = self.binary_range()?;
        check(&self.data[range.clone()]).map_err(|m| DecodeError::malformed(at, m))?;
        Ok(range)
    }

    /// A UTF-8 Encoded String, checked as [`check_string`] says; its bytes,
    /// borrowed from the input.
    #[inline]
    pub(crate) fn string_ref(&mut self) -> Result<&'a [u8], DecodeError> {
        let range = self.checked_range(check_string)?;
        Ok(&self.data[range])
    }

    /// `data[from..to]`, for a stretch already read.
    #[inline]
    pub(crate) fn bytes(&self, from: usize, to: usize) -> &'a [u8] {
        &self.data[from..to]
    }

    /// A Topic Name, checked as [`check_topic_name`] says, borrowed from the
    /// input as a `str`. The UTF-8 validation that makes the `str` is that
    /// check itself, so the bytes are not also scanned for non-ASCII ones;
    /// the checks and their order are those of [`check_topic_name`].
    #[inline]
    pub(crate) fn topic_name_str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let range = self.binary_range()?;
        let s = core::str::from_utf8(&self.data[range])
            .map_err(|_| DecodeError::malformed(at, "string is not well-formed UTF-8"))?;
        check_utf8_topic_name(s.as_bytes()).map_err(|m| DecodeError::malformed(at, m))?;
        Ok(s)
    }

    /// Everything left in the packet, borrowed from the input.
    #[inline]
    pub(crate) fn rest_ref(&mut self) -> &'a [u8] {
        let b = self.rest();
        self.pos = self.end;
        b
    }

    /// Fails unless the whole packet has been read.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.pos == self.end {
            Ok(())
        } else {
            Err(DecodeError::malformed(self.pos, "bytes left over after the packet's last field"))
        }
    }
}

/// Reads fields of one packet held in a [`Bytes`]: a [`SliceReader`] (whose
/// methods it has through `Deref`) that turns every string and binary field
/// into a zero-copy slice of the buffer.
pub(crate) struct Reader<'a> {
    slice: SliceReader<'a>,
    buf: &'a Bytes,
}

impl<'a> Reader<'a> {
    /// A reader over `buf[pos..end]`.
    pub(crate) fn new(buf: &'a Bytes, pos: usize, end: usize) -> Self {
        Reader { slice: SliceReader::new(buf, pos, end), buf }
    }

    /// Binary Data: a Two Byte length and that many bytes, sliced without copying.
    #[inline]
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let range = self.slice.binary_range()?;
        Ok(self.buf.slice(range))
    }

    /// A UTF-8 Encoded String, checked as [`check_string`] says, sliced without copying.
    #[inline]
    pub(crate) fn string(&mut self) -> Result<ByteStr, DecodeError> {
        let range = self.slice.checked_range(check_string)?;
        Ok(ByteStr::from_utf8_checked(self.buf.slice(range)))
    }

    /// A Topic Name: a UTF-8 Encoded String without wildcard characters,
    /// checked as [`check_topic_name`] says, sliced without copying.
    #[inline]
    pub(crate) fn topic_name(&mut self) -> Result<ByteStr, DecodeError> {
        let range = self.slice.checked_range(check_topic_name)?;
        Ok(ByteStr::from_utf8_checked(self.buf.slice(range)))
    }

    /// Everything left in the packet, sliced without copying.
    #[inline]
    pub(crate) fn rest_bytes(&mut self) -> Bytes {
        let b = self.buf.slice(self.slice.pos..self.slice.end);
        self.slice.pos = self.slice.end;
        b
    }
}

impl<'a> core::ops::Deref for Reader<'a> {
    type Target = SliceReader<'a>;
    #[inline]
    fn deref(&self) -> &SliceReader<'a> {
        &self.slice
    }
}

impl core::ops::DerefMut for Reader<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.slice
    }
}

#[cfg(test)]
mod tests {
    use super::{check_string, check_topic_name, check_utf8_string, check_utf8_topic_name};
    use super::{find_wildcard, vbi, vbi_len, vbi_word, VBI_MAX};
    use alloc::vec::Vec;

    #[test]
    fn wildcard_search_finds_the_first_wildcard_at_every_position() {
        for len in 0..40 {
            for at in 0..=len {
                for (w, second) in [(b'+', b'#'), (b'#', b'+'), (b'+', b'+')] {
                    let mut b: Vec<u8> = (0..len).map(|i| b"a/\x2a\x2c\x22\x24"[i % 6]).collect();
                    b.insert(at, w);
                    b.push(second);
                    let first = b.iter().position(|&c| c == b'+' || c == b'#');
                    assert_eq!(find_wildcard(&b), first, "{b:?}");
                    assert_eq!(find_wildcard(&b[..at]), None, "{b:?}");
                }
            }
        }
    }

    /// The packed Variable Byte Integer is the minimal encoding [MQTT-1.5.5-1]:
    /// it decodes back to the value, takes `vbi_len` bytes, and nothing is
    /// packed above them.
    #[test]
    fn packed_vbi_is_the_minimal_encoding_at_every_length_edge_mqtt_1_5_5_1() {
        let edges = [0, 1, 127, 128, 300, 16_383, 16_384, 2_097_151, 2_097_152, VBI_MAX];
        let steps = (0..VBI_MAX).step_by(9_973);
        for v in edges.into_iter().chain(steps) {
            let (word, n) = vbi_word(v);
            assert_eq!(n, vbi_len(v), "{v}");
            assert_eq!(u64::from(word) >> (8 * n), 0, "{v}: bytes above the {n} it takes");
            let bytes = word.to_le_bytes();
            let Ok((rest, back)) = vbi(&bytes[..n]) else { panic!("{v} does not decode") };
            assert_eq!((rest.len(), back), (0, v));
        }
    }

    /// The string rules as first written: three passes over the bytes.
    fn reference(b: &[u8], topic: bool) -> Result<(), &'static str> {
        if b.len() > u16::MAX as usize {
            return Err("string longer than 65,535 bytes");
        }
        if core::str::from_utf8(b).is_err() {
            return Err("string is not well-formed UTF-8");
        }
        if b.contains(&0) {
            return Err("string contains U+0000");
        }
        if topic && b.iter().any(|&c| c == b'+' || c == b'#') {
            return Err("topic name contains a wildcard");
        }
        Ok(())
    }

    #[test]
    fn one_pass_checks_match_the_rules_at_every_position() {
        let specials: [&[u8]; 9] = [
            b"\0",
            b"+",
            b"#",
            "é".as_bytes(),
            "€".as_bytes(),
            b"\xC3",
            b"\xED\xA0\x80",
            b"\x7F",
            b"\x80",
        ];
        for len in 0..40 {
            for at in 0..=len {
                for s in specials {
                    let mut b: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    b.splice(at..at, s.iter().copied());
                    assert_eq!(check_string(&b), reference(&b, false), "{b:?}");
                    assert_eq!(check_topic_name(&b), reference(&b, true), "{b:?}");
                    if core::str::from_utf8(&b).is_ok() {
                        assert_eq!(check_utf8_string(&b), reference(&b, false), "{b:?}");
                        assert_eq!(check_utf8_topic_name(&b), reference(&b, true), "{b:?}");
                    }
                }
            }
        }
        let long = alloc::vec![b'a'; 65_536];
        assert_eq!(check_string(&long), reference(&long, false));
    }
}
