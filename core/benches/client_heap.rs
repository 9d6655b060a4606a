//! Heap held by an idle connected client, beside a peer's session state, in
//! one process (DESIGN §9, target: at most 4 KiB). `make bench` runs it.
//!
//! A counting global allocator records live heap bytes; each figure is the
//! growth across creating the value (and, for the engine, connecting it:
//! CONNECT out, CONNACK in, outputs drained), plus the value's own inline
//! size, which a host holds in a box or a struct.
//!
//! Peer: rumqttc 0.25.1 `MqttState::new(100, false)`, its session state with
//! its default in-flight limit of 100.

#![allow(clippy::unwrap_used)] // setup panics on failure, as tests do

use mqtt_engine::client::{Client, Event, Options};
use mqtt_engine::codec::Protocol;
use mqtt_engine::time::Instant;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter only observes sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn idle_client(protocol: Protocol) -> Client {
    let now = Instant::from_millis(0);
    let opts = Options { protocol, client_id: "sensor-0001".into(), ..Options::default() };
    let mut c = Client::new(opts, now);
    c.connect(now).unwrap();
    while c.poll_transmit().is_some() {}
    let connack: &[u8] = match protocol {
        Protocol::V5 => &[0x20, 0x03, 0x00, 0x00, 0x00],
        Protocol::V311 => &[0x20, 0x02, 0x00, 0x00],
    };
    c.handle_bytes(now, connack).unwrap();
    while c.poll_transmit().is_some() {}
    assert!(matches!(c.poll_event(), Some(Event::Connected(_))));
    c
}

fn main() {
    // Criterion-style arguments (`--bench`, filters) are accepted and ignored.
    let inline = std::mem::size_of::<Client>() as isize;
    println!("client_heap: bytes held (heap after setup + inline size)");
    let mut rows = Vec::new();
    for (name, protocol) in [("engine-v311", Protocol::V311), ("engine-v5", Protocol::V5)] {
        let before = live();
        let c = idle_client(protocol);
        let heap = live() - before;
        rows.push((name, heap, inline));
        drop(c);
    }
    let before = live();
    let state = rumqttc::MqttState::new(100, false);
    let heap = live() - before;
    rows.push(("rumqttc-state-v311", heap, std::mem::size_of_val(&state) as isize));
    drop(state);
    let peer_total = rows[2].1 + rows[2].2;
    for (name, heap, inline) in &rows {
        let total = heap + inline;
        println!(
            "  {name:<20} heap {heap:>6} B + inline {inline:>4} B = {total:>6} B  ({:.2}x the peer)",
            total as f64 / peer_total as f64
        );
    }
    let worst = rows[..2].iter().map(|r| r.1 + r.2).max().unwrap_or(0);
    println!(
        "  target: an idle connected client holds at most 4096 B: {}",
        if worst <= 4096 { "met" } else { "NOT met" }
    );
}
