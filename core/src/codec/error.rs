//! Errors of the codec: [`DecodeError`] for bytes that are not a valid packet,
//! [`EncodeError`] for a packet value that cannot be put on the wire.

use super::ReasonCode;
use core::fmt;

/// Why bytes could not be decoded as an MQTT packet.
///
/// `reason_code` is the code the standard gives for the fault (0x81 Malformed
/// Packet, 0x82 Protocol Error, 0x84 Unsupported Protocol Version, 0x95 Packet
/// too large); `offset` is the byte offset, from the first byte of the packet's
/// fixed header, at which the fault was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The MQTT reason code for this fault.
    pub reason_code: ReasonCode,
    /// Offset of the fault from the start of the packet.
    pub offset: usize,
    /// What is wrong, as a sentence fragment ("topic name contains a wildcard").
    pub message: &'static str,
}

impl DecodeError {
    pub(crate) const fn new(reason_code: ReasonCode, offset: usize, message: &'static str) -> Self {
        DecodeError { reason_code, offset, message }
    }

    pub(crate) const fn malformed(offset: usize, message: &'static str) -> Self {
        Self::new(ReasonCode::MALFORMED_PACKET, offset, message)
    }

    pub(crate) const fn protocol(offset: usize, message: &'static str) -> Self {
        Self::new(ReasonCode::PROTOCOL_ERROR, offset, message)
    }

    /// The same error with its offset moved by `by` bytes (for errors found in a
    /// packet that sits inside a larger stream).
    pub fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (at byte {})", self.reason_code, self.message, self.offset)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

/// Why a packet value could not be encoded.
///
/// Encoding validates what decoding validates, so the codec never writes a
/// packet it would refuse to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError {
    /// The reason code a receiver would give for such a packet.
    pub reason_code: ReasonCode,
    /// What is wrong.
    pub message: &'static str,
}

impl EncodeError {
    pub(crate) const fn new(reason_code: ReasonCode, message: &'static str) -> Self {
        EncodeError { reason_code, message }
    }
}

impl From<DecodeError> for EncodeError {
    fn from(e: DecodeError) -> Self {
        EncodeError { reason_code: e.reason_code, message: e.message }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason_code, self.message)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}
