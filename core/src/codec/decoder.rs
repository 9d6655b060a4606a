//! [`Decoder`]: frames a byte stream that arrives in arbitrary chunks.

use super::view::{self, PacketView};
use super::{decode, DecodeError, FixedHeader, Packet, Protocol, ReasonCode, MAX_REMAINING_LENGTH};
use bytes::{Buf, Bytes, BytesMut};

/// A streaming decoder for one direction of one connection.
///
/// [`Decoder::push`] takes bytes in chunks of any size: part of a packet, many
/// packets, or both. [`Decoder::next_packet`] then yields each complete packet
/// in order. Memory is bounded by the maximum packet size: a packet whose fixed
/// header announces more than the limit is refused with Packet too large (0x95)
/// as soon as the header is complete, and none of its body is kept.
///
/// Errors come in stream order. When a chunk holds complete packets followed
/// by a fault, [`Decoder::next_packet`] yields those packets first and then the
/// error, so the packets and the error are the same however the stream was
/// split. Once failed, the decoder stays failed: the connection must be closed
/// ([`Decoder::reset`] readies it for a new one).
///
/// [`Decoder::next_view`] is the borrowed form of [`Decoder::next_packet`]: it
/// gives a PUBLISH as a [`PublishView`](super::PublishView) of the decoder's
/// own buffer, without reference counts or allocation.
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
    /// The fault that broke the stream, returned once the packets before it are taken.
    failed: Option<DecodeError>,
    /// Bytes at the front of `buf` still lent out by [`Decoder::next_view`]:
    /// the next call drops them ([`Decoder::release`]).
    lent: usize,
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
            failed: None,
            lent: 0,
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
        self.buf.len() - self.lent
    }

    /// Drops everything buffered and any error (for a new connection).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.tail = 0;
        self.tail_len = None;
        self.failed = None;
        self.lent = 0;
    }

    /// Drops the packet the last [`Decoder::next_view`] lent out, whose
    /// borrow has ended since this takes `&mut self`. `push` and every
    /// `next_*` method call it first.
    fn release(&mut self) {
        if self.lent > 0 {
            self.buf.advance(self.lent);
            self.tail -= self.lent;
            self.lent = 0;
        }
    }

    /// Records the fault that breaks the stream at the end of the complete
    /// packets: the partial packet and anything after it are dropped.
    fn fail(&mut self, e: DecodeError) -> DecodeError {
        self.buf.truncate(self.tail);
        self.tail_len = None;
        self.failed = Some(e);
        e
    }

    /// Appends bytes from the stream.
    ///
    /// Fails if a fixed header is malformed or announces a packet above the
    /// maximum packet size, or if the stream had already failed; the bytes of
    /// the faulty packet and after it are dropped. Complete packets before
    /// the fault are kept: [`Decoder::next_packet`] yields them, then the error.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), DecodeError> {
        self.release();
        if let Some(e) = self.failed {
            return Err(e);
        }
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
                        Err(e) => return Err(self.fail(e)),
                    };
                    if header.packet_length() > self.max_packet_size as usize {
                        return Err(self.fail(DecodeError::new(
                            ReasonCode::PACKET_TOO_LARGE,
                            0,
                            "packet is larger than the maximum packet size",
                        )));
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
    /// not copied again. An error means the stream is broken and the
    /// connection must be closed; it is returned again on every later call.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, DecodeError> {
        let Some(bytes) = self.next_frame()? else { return Ok(None) };
        self.decode_frame(&bytes)
    }

    /// The next complete packet, a PUBLISH borrowed from the decoder's buffer,
    /// or `None` until more bytes arrive.
    ///
    /// The same packets, in the same order and with the same errors, as
    /// [`Decoder::next_packet`]; a PUBLISH comes as
    /// [`PacketView::Publish`], checked as fully as the owned one, with no
    /// reference count and no allocation: its bytes stay in the buffer until
    /// the next call on the decoder. Other packets come as
    /// [`PacketView::Other`], owned and sharing the buffer as
    /// [`Decoder::next_packet`] makes them.
    ///
    /// ```
    /// use mqtt_engine::codec::{Decoder, PacketView, Protocol};
    /// let mut d = Decoder::new(Protocol::V311);
    /// // A QoS 0 PUBLISH of "hi" to "a/b", in two chunks.
    /// d.push(&[0x30, 0x07, 0x00, 0x03, b'a']).unwrap();
    /// assert_eq!(d.next_view().unwrap(), None);
    /// d.push(&[b'/', b'b', b'h', b'i']).unwrap();
    /// let Some(PacketView::Publish(p)) = d.next_view().unwrap() else { panic!() };
    /// assert_eq!((p.topic, p.payload), ("a/b", &b"hi"[..]));
    /// assert_eq!(d.next_view().unwrap(), None);
    /// ```
    pub fn next_view(&mut self) -> Result<Option<PacketView<'_>>, DecodeError> {
        let Some(header) = self.next_header()? else { return Ok(None) };
        let len = header.packet_length();
        if header.first_byte >> 4 != 3 {
            let bytes = self.split_frame(len);
            return Ok(self.decode_frame(&bytes)?.map(PacketView::Other));
        }
        self.lent = len;
        match view::publish_view(self.protocol, header, &self.buf[..len]) {
            Ok(publish) => Ok(Some(PacketView::Publish(publish))),
            Err(e) => {
                // As `fail` after a bad body, except that the buffer is
                // borrowed until the function returns: everything in it is
                // marked lent, so the next call drops it.
                self.lent = self.buf.len();
                self.tail = self.lent;
                self.tail_len = None;
                self.failed = Some(e);
                Err(e)
            }
        }
    }

    /// Decodes the bytes of one framed packet; a fault breaks the stream.
    fn decode_frame(&mut self, bytes: &Bytes) -> Result<Option<Packet>, DecodeError> {
        match decode(self.protocol, bytes, u32::MAX) {
            Ok(Some((packet, _))) => {
                if let Packet::Connect(c) = &packet {
                    self.protocol = c.protocol;
                }
                Ok(Some(packet))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.tail = 0;
                Err(self.fail(e))
            }
        }
    }

    /// The bytes of the next complete packet, fixed header included, not yet
    /// decoded; `None` until more bytes arrive. For callers that handle some
    /// packets from their bytes and give the rest to [`decode`]: the decoder
    /// has checked only the fixed header, and does not learn of a fault the
    /// caller finds in the body.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, DecodeError> {
        let Some(header) = self.next_header()? else { return Ok(None) };
        Ok(Some(self.split_frame(header.packet_length())))
    }

    /// Takes the first complete packet, `len` bytes, out of the buffer.
    fn split_frame(&mut self, len: usize) -> Bytes {
        self.tail -= len;
        self.buf.split_to(len).freeze()
    }

    /// The fixed header of the next complete packet, which starts the buffer.
    fn next_header(&mut self) -> Result<Option<FixedHeader>, DecodeError> {
        self.release();
        if self.tail == 0 {
            return match self.failed {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
        let Ok(Some(header)) = FixedHeader::parse(&self.buf) else {
            // `push` marks a packet complete only after parsing its header.
            self.tail = 0;
            return Err(self.fail(DecodeError::malformed(0, "framing lost")));
        };
        Ok(Some(header))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is the test failing
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

    /// DESIGN §8: the same bytes decode to the same packets and error however
    /// they are split. A chunk with a PINGREQ then a malformed fixed header
    /// yields the PINGREQ, then the error, as byte-by-byte feeding does.
    #[test]
    fn packets_before_a_bad_header_in_the_same_chunk_are_kept() {
        let stream = [0xC0, 0x00, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
        let mut whole = Decoder::new(Protocol::V5);
        let err = whole.push(&stream).unwrap_err();
        assert_eq!(err.reason_code, ReasonCode::MALFORMED_PACKET);
        assert_eq!(whole.next_packet(), Ok(Some(Packet::Pingreq)));
        assert_eq!(whole.next_packet(), Err(err));
        assert_eq!(whole.next_packet(), Err(err), "the stream stays broken");
        assert_eq!(whole.push(&[0xC0, 0x00]), Err(err));

        let mut bytewise = Decoder::new(Protocol::V5);
        let mut got = alloc::vec::Vec::new();
        for b in stream {
            let pushed = bytewise.push(&[b]);
            while let Ok(Some(p)) = bytewise.next_packet() {
                got.push(p);
            }
            if pushed.is_err() {
                break;
            }
        }
        assert_eq!(got, [Packet::Pingreq]);
        assert_eq!(bytewise.next_packet(), Err(err));

        whole.reset();
        whole.push(&[0xD0, 0x00]).unwrap();
        assert_eq!(whole.next_packet(), Ok(Some(Packet::Pingresp)));
    }

    /// A QoS 0 PUBLISH to "t" carrying `payload` (under 125 bytes).
    fn publish_bytes(payload: &[u8]) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec![0x30, 3 + payload.len() as u8, 0x00, 0x01, b't'];
        v.extend_from_slice(payload);
        v
    }

    /// A view lends the decoder's own buffer: topic and payload are read
    /// where `push` copied them, not from a further copy.
    #[test]
    fn a_view_borrows_the_decoder_buffer() {
        let mut d = Decoder::new(Protocol::V311);
        d.push(&publish_bytes(b"payload")).unwrap();
        let held = d.buf.as_ptr_range();
        let Some(PacketView::Publish(p)) = d.next_view().unwrap() else { panic!("no PUBLISH") };
        assert_eq!((p.topic, p.payload), ("t", &b"payload"[..]));
        assert!(held.contains(&p.topic.as_ptr()) && held.contains(&p.payload.as_ptr()));
        assert_eq!(d.buffered(), 0);
    }

    /// DESIGN §3, memory is bounded: the bytes of each view are dropped by
    /// the next call, so a long stream taken one packet per push through
    /// `next_view` keeps the buffer at the size of a packet or two.
    #[test]
    fn views_do_not_let_the_buffer_grow() {
        let mut d = Decoder::new(Protocol::V311);
        let packet = publish_bytes(&[0xA5; 100]);
        for i in 0..10_000 {
            // Header and body in separate pushes, with a view still lent
            // at each push.
            d.push(&packet[..3]).unwrap();
            d.push(&packet[3..]).unwrap();
            let Some(PacketView::Publish(p)) = d.next_view().unwrap() else { panic!("packet {i}") };
            assert_eq!(p.payload.len(), 100);
        }
        assert_eq!(d.buffered(), 0);
        assert!(d.buf.capacity() < 4 * packet.len(), "capacity {}", d.buf.capacity());
    }
}
