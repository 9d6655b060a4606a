//! Test support for mqtt-engine.
//!
//! - [`pair`]: a client and a scripted broker over an in-memory link that
//!   splits writes, on simulated time (the session and request/response tests).
//! - [`hub`]: several clients and a small in-memory broker on simulated time
//!   (clients talking to each other: requesters and responders).
//! - helpers shared by codec tests.

pub mod hub;
pub mod mosquitto;
pub mod net;
pub mod pair;

/// Decodes a hex string, ignoring ASCII whitespace. Returns `None` on bad hex.
pub fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}
