//! The same bytes fed to a `Decoder` one byte at a time, in one piece and in
//! chunks split at points derived from the input give the same packets, the
//! same error and leave the same bytes buffered, whether the packets are
//! taken owned (`next_packet`) or borrowed (`next_view`).
//! Selector parameter n: bits 0..4 seed the chunk pattern, bits 5..6 pick the
//! decoder's maximum packet size (none, 16, 128, 1024).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_engine::codec::Decoder;
use mqtt_engine_fuzz::{check_split_run, next_view_owned, run_decoder, split_points, Selector};

fuzz_target!(|data: &[u8]| {
    let Some((sel, body)) = Selector::split(data) else {
        return;
    };
    let max = match sel.n >> 5 {
        0 => u32::MAX,
        1 => 16,
        2 => 128,
        _ => 1024,
    };
    let points = split_points(sel.n & 0x1F, body);
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for &p in &points {
        chunks.push(&body[start..p]);
        start = p;
    }
    chunks.push(&body[start..]);

    let owned = Decoder::next_packet;
    let bytewise = run_decoder(sel.protocol, max, body.chunks(1), owned);
    let whole = run_decoder(sel.protocol, max, [body], owned);
    check_split_run(&bytewise, &whole, "one chunk");
    let split = run_decoder(sel.protocol, max, chunks.iter().copied(), owned);
    check_split_run(&bytewise, &split, "chunks at split points");
    let viewed = run_decoder(sel.protocol, max, chunks.iter().copied(), next_view_owned);
    check_split_run(&bytewise, &viewed, "chunks at split points, next_view");
});
