//! [`Decoder`]: frames a byte stream that arrives in arbitrary chunks.

use super::{decode, DecodeError, FixedHeader, Packet, Protocol, ReasonCode, MAX_REMAINING_LENGTH};
use bytes::BytesMut;

/// A streaming decoder for one direction of one connection.
///
/// [`Decoder::push`] takes bytes in chunks of any size: part of a packet, many
/// packets, or both. [`Decoder::next_packet`] then yields each complete packet
/// in order. Memory is bounded by the maximum packet size: a packet whose fixed
/// header announces more than the limit is refused with Packet too large (0x95)
/// as soon as the header is complete, and none of its body is kept.
///
/// After an error the connection must be closed: the decoder drops what it had
/// buffered and starts afresh.
///
/// ```
/// use mqtt_engine::codec::{Decoder, Packet, Protocol};
/// let mut d = Decoder::new(Protocol::V5);
/// d.push(&[0xC0]).unwrap(); // first half of a PINGREQ
/// assert_eq!(d.next_packet().unwrap(), None);
/// d.push(&[0x00, 0xD0, 0x00]).unwrap(); // its second half and a PINGRESP
/// assert_eq!(d.next_packet().unwrap(), Some(Packet::Pingreq));
/// assert_eq!(d.next_packet().unwrap(), Some(Packet::Pingresp));
/// assert_eq!(d.next_packet().unwrap(), None);
/// ```
#[derive(Debug)]
pub struct Decoder {
    protocol: Protocol,
    max_packet_size: u32,
    /// Complete packets in `buf[..tail]`, the packet being assembled after.
    buf: BytesMut,
    tail: usize,
    /// Total length of the packet being assembled, once its header is complete.
    tail_len: Option<usize>,
}

impl Decoder {
    /// A decoder for `protocol` that accepts packets up to the largest size MQTT allows.
    pub fn new(protocol: Protocol) -> Self {
        Decoder {
            protocol,
            max_packet_size: MAX_REMAINING_LENGTH + 5,
            buf: BytesMut::new(),
            tail: 0,
            tail_len: None,
        }
    }

    /// Sets the largest packet, in bytes including the fixed header, to accept
    /// (the Maximum Packet Size this side announced).
    pub fn with_max_packet_size(mut self, max: u32) -> Self {
        self.max_packet_size = max;
        self
    }

    /// The largest packet accepted.
    pub fn max_packet_size(&self) -> u32 {
        self.max_packet_size
    }

    /// The protocol version packets are decoded with.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Changes the protocol version, for instance once CONNECT has been seen.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    /// Bytes held: complete packets not yet taken plus the partial packet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Drops everything buffered (for a new connection).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.tail = 0;
        self.tail_len = None;
    }

    /// Appends bytes from the stream.
    ///
    /// Fails, and drops what it had buffered, if a fixed header is malformed
    /// or announces a packet above the maximum packet size.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), DecodeError> {
        while !data.is_empty() {
            match self.tail_len {
                Some(total) => {
                    let have = self.buf.len() - self.tail;
                    let take = (total - have).min(data.len());
                    self.buf.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if have + take == total {
                        self.tail = self.buf.len();
                        self.tail_len = None;
                    }
                }
                None => {
                    // The fixed header is at most 5 bytes: feed it a byte at a
                    // time so that an oversized packet is refused before any
                    // of its body is copied.
                    self.buf.extend_from_slice(&data[..1]);
                    data = &data[1..];
                    let header = match FixedHeader::parse(&self.buf[self.tail..]) {
                        Ok(Some(h)) => h,
                        Ok(None) => continue,
                        Err(e) => {
                            self.reset();
                            return Err(e);
                        }
                    };
                    if header.packet_length() > self.max_packet_size as usize {
                        self.reset();
                        return Err(DecodeError::new(
                            ReasonCode::PACKET_TOO_LARGE,
                            0,
                            "packet is larger than the maximum packet size",
                        ));
                    }
                    if header.remaining_length == 0 {
                        self.tail = self.buf.len();
                    } else {
                        // No reservation for the announced length: memory
                        // grows with the bytes that really arrive, so a
                        // header alone cannot make the decoder allocate.
                        self.tail_len = Some(header.packet_length());
                    }
                }
            }
        }
        Ok(())
    }

    /// The next complete packet, or `None` until more bytes arrive.
    ///
    /// Strings and payloads of the packet share the decoder's buffer: they are
    /// not copied again. A decode error means the connection must be closed.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, DecodeError> {
        if self.tail == 0 {
            return Ok(None);
        }
        let Ok(Some(header)) = FixedHeader::parse(&self.buf) else {
            // `push` marks a packet complete only after parsing its header.
            self.reset();
            return Err(DecodeError::malformed(0, "framing lost"));
        };
        let len = header.packet_length();
        let bytes = self.buf.split_to(len).freeze();
        self.tail -= len;
        match decode(self.protocol, &bytes, u32::MAX) {
            Ok(Some((packet, _))) => {
                if let Packet::Connect(c) = &packet {
                    self.protocol = c.protocol;
                }
                Ok(Some(packet))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }
}

impl Iterator for Decoder {
    type Item = Result<Packet, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DESIGN §3, memory is bounded: a fixed header announcing a large packet
    /// allocates nothing for the body until its bytes arrive.
    #[test]
    fn a_header_alone_does_not_allocate_the_announced_length() {
        let mut d = Decoder::new(Protocol::V5);
        // PUBLISH announcing Remaining Length 268,435,455, then 3 body bytes.
        d.push(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x01, b'a']).unwrap();
        assert_eq!(d.next_packet().unwrap(), None);
        assert_eq!(d.buffered(), 8);
        assert!(d.buf.capacity() < 4096, "capacity {}", d.buf.capacity());
    }
}
