//! Whatever decodes encodes back to the same packet; `encode_within` never
//! panics and never writes more than its maximum, for maxima around the
//! packet's own length (n bytes below it) and for tiny absolute ones (n).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mqtt_engine::codec::decode;
use mqtt_engine_fuzz::{check_encode_within, check_reencode, Selector};

fuzz_target!(|data: &[u8]| {
    let Some((sel, body)) = Selector::split(data) else {
        return;
    };
    let buf = Bytes::copy_from_slice(body);
    let Ok(Some((packet, _))) = decode(sel.protocol, &buf, u32::MAX) else {
        return;
    };
    let full = check_reencode(sel.protocol, &packet);
    let len = full.len() as u32;
    let n = u32::from(sel.n);
    check_encode_within(sel.protocol, &packet, &full, len.saturating_sub(n));
    check_encode_within(sel.protocol, &packet, &full, n);
    check_encode_within(sel.protocol, &packet, &full, len + n);
    check_encode_within(sel.protocol, &packet, &full, 0);
    check_encode_within(sel.protocol, &packet, &full, u32::MAX);
});
