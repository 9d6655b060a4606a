//! `decode` never panics, whatever the bytes, protocol and maximum packet size;
//! a packet it accepts encodes and decodes back to itself, every proper prefix
//! of it is incomplete, and the packet alone decodes the same. `decode_view`
//! agrees with `decode` on every input.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mqtt_engine::codec::decode;
use mqtt_engine_fuzz::{check_reencode, check_view, Selector};

fuzz_target!(|data: &[u8]| {
    let Some((sel, body)) = Selector::split(data) else {
        return;
    };
    let max = sel.max_packet_size();
    let buf = Bytes::copy_from_slice(body);
    let owned = decode(sel.protocol, &buf, max);
    check_view(sel.protocol, body, max, &owned);
    match owned {
        Ok(Some((packet, used))) => {
            assert!(used > 0 && used <= body.len(), "used {used} of {}", body.len());
            assert!(used as u64 <= u64::from(max), "accepted {used} bytes above max {max}");
            let exact = buf.slice(..used);
            match decode(sel.protocol, &exact, max) {
                Ok(Some((p, n))) => {
                    assert_eq!(n, used);
                    assert_eq!(p, packet, "packet depends on the bytes after it");
                }
                other => panic!("the packet alone decodes as {other:?}"),
            }
            for cut in 0..used {
                let r = decode(sel.protocol, &exact.slice(..cut), max);
                assert_eq!(r, Ok(None), "proper prefix of {cut} bytes is not incomplete");
            }
            check_reencode(sel.protocol, &packet);
        }
        Ok(None) => {}
        Err(e) => assert!(e.reason_code.0 >= 0x80, "decode error with a success code: {e}"),
    }
});
