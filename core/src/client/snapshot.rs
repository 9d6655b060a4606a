//! Session snapshots: the session state as versioned bytes a host can persist,
//! so that a device that restarts resumes its QoS 1 and 2 flows
//! [MQTT-3.1.2-23].
//!
//! Layout (all integers big-endian), version 1:
//!
//! ```text
//! "MQES" 0x01            magic and version
//! u8                     protocol level (4 or 5)
//! u16 + bytes            client identifier (UTF-8)
//! u32 n, n x (u8 stage, u32 + bytes)   in flight: stage 0 published, 1 released;
//!                                      the PUBLISH as encoded for MQTT 5.0
//! u32 n, n x (u32 + bytes)             waiting PUBLISH, MQTT 5.0 encoding
//! u32 n, n x (u32 + bytes)             SUBSCRIBE / UNSUBSCRIBE not acknowledged,
//!                                      encoded for the protocol level
//! u32 n, n x u16                       inbound QoS 2 identifiers not released
//! u32 n, n x (u16 id, u8 kind, u8 code)  inbound acks not sent: kind 0 PUBACK,
//!                                      1 PUBREC; code 0xFF if not acked yet
//! ```
//!
//! Packets are stored in their wire form, so the snapshot reuses the codec's
//! validation on restore.

use super::session::{AckKind, InboundAck, Outgoing, Stage};
use super::{Client, LocalError, LocalErrorKind, Options};
use crate::codec::{decode_exact, ByteStr, Packet, Protocol, ReasonCode};
use crate::time::Instant;
use alloc::vec::Vec;
use bytes::{Buf, BufMut, Bytes};

const MAGIC: &[u8; 4] = b"MQES";
const VERSION: u8 = 1;
const NOT_ACKED: u8 = 0xFF;

fn corrupt(message: &'static str) -> LocalError {
    LocalError::implementation(LocalErrorKind::Snapshot, message)
}

fn put_packet(out: &mut Vec<u8>, packet: &Packet, protocol: Protocol) {
    let start = out.len();
    out.put_u32(0);
    let n = packet.encode(protocol, out).unwrap_or(0);
    out[start..start + 4].copy_from_slice(&(n as u32).to_be_bytes());
}

struct Reader(Bytes);

impl Reader {
    fn need(&self, n: usize) -> Result<(), LocalError> {
        if self.0.remaining() < n {
            Err(corrupt("session snapshot is truncated"))
        } else {
            Ok(())
        }
    }
    fn u8(&mut self) -> Result<u8, LocalError> {
        self.need(1)?;
        Ok(self.0.get_u8())
    }
    fn u16(&mut self) -> Result<u16, LocalError> {
        self.need(2)?;
        Ok(self.0.get_u16())
    }
    fn u32(&mut self) -> Result<u32, LocalError> {
        self.need(4)?;
        Ok(self.0.get_u32())
    }
    fn bytes(&mut self, n: usize) -> Result<Bytes, LocalError> {
        self.need(n)?;
        Ok(self.0.split_to(n))
    }
    fn packet(&mut self, protocol: Protocol) -> Result<Packet, LocalError> {
        let n = self.u32()? as usize;
        let b = self.bytes(n)?;
        decode_exact(protocol, &b).map_err(|_| corrupt("session snapshot holds a bad packet"))
    }
    /// A count, bounded by the bytes left so a corrupt count cannot make
    /// the restore allocate.
    fn count(&mut self, min_item: usize) -> Result<usize, LocalError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item) > self.0.remaining() {
            return Err(corrupt("session snapshot count exceeds its length"));
        }
        Ok(n)
    }
}

/// A restored PUBLISH must be one the client could have accepted: valid for
/// its protocol and without a Topic Alias, since the engine re-sends it
/// without validating it again.
fn check_restored(p: &crate::codec::Publish, protocol: Protocol) -> Result<(), LocalError> {
    if p.properties.topic_alias.is_some() || p.encoded_len(protocol).is_err() {
        return Err(corrupt("session snapshot holds a PUBLISH this client could not send"));
    }
    Ok(())
}

impl Client {
    /// The session state as bytes to persist: messages in flight and waiting,
    /// (un)subscriptions not acknowledged, inbound QoS 2 identifiers and
    /// acks not sent. [`Client::restore`] reads it back.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(self.opts.protocol.level());
        out.put_u16(self.client_id.len() as u16);
        out.extend_from_slice(self.client_id.as_bytes());
        out.put_u32(self.inflight.len() as u32);
        for o in &self.inflight {
            out.push(match o.stage {
                Stage::Published => 0,
                Stage::Released => 1,
            });
            let mut p = o.publish.clone();
            p.dup = false;
            put_packet(&mut out, &Packet::Publish(p), Protocol::V5);
        }
        out.put_u32(self.waiting.len() as u32);
        for p in &self.waiting {
            put_packet(&mut out, &Packet::Publish(p.clone()), Protocol::V5);
        }
        let control: Vec<&Packet> = self.awaiting_ack.iter().chain(self.control.iter()).collect();
        out.put_u32(control.len() as u32);
        for c in control {
            put_packet(&mut out, c, self.opts.protocol);
        }
        out.put_u32(self.inbound_qos2.len() as u32);
        for id in self.inbound_qos2.iter() {
            out.put_u16(id);
        }
        out.put_u32(self.inbound_acks.len() as u32);
        for a in &self.inbound_acks {
            out.put_u16(a.id);
            out.push(match a.kind {
                AckKind::Puback => 0,
                AckKind::Pubrec => 1,
            });
            out.push(a.code.map_or(NOT_ACKED, |c| c.0));
        }
        out
    }

    /// A client in [`super::State::Closed`] holding the session of a
    /// [`Client::snapshot`]; its first [`Client::connect`] asks to resume it
    /// (Clean Start 0). The snapshot's protocol must be `options.protocol`;
    /// its client identifier replaces an empty `options.client_id`.
    pub fn restore(options: Options, now: Instant, snapshot: &[u8]) -> Result<Client, LocalError> {
        let mut r = Reader(Bytes::copy_from_slice(snapshot));
        if r.bytes(4)?.as_ref() != MAGIC {
            return Err(corrupt("not a session snapshot"));
        }
        if r.u8()? != VERSION {
            return Err(corrupt("session snapshot version not supported"));
        }
        let protocol = Protocol::from_level(r.u8()?)
            .ok_or(corrupt("session snapshot protocol level unknown"))?;
        if protocol != options.protocol {
            return Err(corrupt("session snapshot is for the other protocol version"));
        }
        let id_len = r.u16()? as usize;
        let client_id = ByteStr::from_utf8(r.bytes(id_len)?)
            .map_err(|_| corrupt("session snapshot client identifier is not UTF-8"))?;
        let mut c = Client::new(options, now);
        if c.client_id.is_empty() {
            c.client_id = client_id;
        }
        let bad_id = || corrupt("session snapshot has a packet identifier twice");
        for _ in 0..r.count(5)? {
            let stage = match r.u8()? {
                0 => Stage::Published,
                1 => Stage::Released,
                _ => return Err(corrupt("session snapshot has an unknown stage")),
            };
            let Packet::Publish(publish) = r.packet(Protocol::V5)? else {
                return Err(corrupt("session snapshot in-flight entry is not a PUBLISH"));
            };
            check_restored(&publish, protocol)?;
            let id = publish.packet_id.ok_or(corrupt("in-flight QoS 0 message"))?;
            if !c.ids.insert(id) {
                return Err(bad_id());
            }
            c.inflight.push_back(Outgoing { stage, publish });
        }
        for _ in 0..r.count(4)? {
            let Packet::Publish(publish) = r.packet(Protocol::V5)? else {
                return Err(corrupt("session snapshot waiting entry is not a PUBLISH"));
            };
            check_restored(&publish, protocol)?;
            if let Some(id) = publish.packet_id {
                if !c.ids.insert(id) {
                    return Err(bad_id());
                }
            }
            c.waiting.push_back(publish);
        }
        for _ in 0..r.count(4)? {
            let p = r.packet(protocol)?;
            if !matches!(p, Packet::Subscribe(_) | Packet::Unsubscribe(_))
                || !c.ids.insert(super::control_id(&p))
            {
                return Err(corrupt("session snapshot control entry is bad"));
            }
            c.control.push_back(p);
        }
        for _ in 0..r.count(2)? {
            let id = r.u16()?;
            if id == 0 || !c.inbound_qos2.insert(id) {
                return Err(bad_id());
            }
        }
        for _ in 0..r.count(4)? {
            let id = r.u16()?;
            let kind = match r.u8()? {
                0 => AckKind::Puback,
                1 => AckKind::Pubrec,
                _ => return Err(corrupt("session snapshot has an unknown ack kind")),
            };
            let code = match r.u8()? {
                NOT_ACKED => None,
                code => Some(ReasonCode(code)),
            };
            if kind == AckKind::Puback {
                c.inbound_qos1_unacked += 1;
            }
            c.inbound_acks.push_back(InboundAck { id, kind, code });
        }
        if r.0.has_remaining() {
            return Err(corrupt("session snapshot has trailing bytes"));
        }
        c.has_session = true;
        c.next_clean_start = false;
        Ok(c)
    }
}
