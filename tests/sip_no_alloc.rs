//! The SIP reader must not touch the heap per packet (a router has little
//! memory and the allocator is slow next to the parse): a counting global
//! allocator proves that classify plus every accessor allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sipwall::sip::{classify, Payload};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn read_all_fields(payload: &[u8]) -> usize {
    match classify(payload) {
        Payload::Sip(m) => {
            let mut n = m.method_bytes().map_or(0, |b| b.len());
            n += m.request_uri().map_or(0, |u| u.scheme.len());
            n += m.from().and_then(|f| f.display_name).map_or(0, |d| d.len());
            n += m.to().and_then(|t| t.tag).map_or(0, |t| t.len());
            n += m.user_agent().map_or(0, |u| u.len());
            n += m.contact_instance().map_or(0, |c| c.len());
            n += m.call_id().map_or(0, |c| c.len());
            n += m.cseq().map_or(0, |c| c.0 as usize);
            n += m.via_sent_by().map_or(0, |v| v.len());
            n += m.expires().unwrap_or(0) as usize + m.content_length().unwrap_or(0) as usize;
            n += m
                .authorization()
                .and_then(|a| a.username)
                .map_or(0, |u| u.len());
            n += m.headers("Allow").count() + m.header("Supported").map_or(0, |s| s.len());
            n
        }
        Payload::TlsClientHello { sni } => sni.map_or(0, |s| s.len()),
        _ => 0,
    }
}

#[test]
fn classify_and_every_accessor_allocate_nothing() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut inputs = Vec::new();
    for sub in ["sip", "tls"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "sip" || x == "bin") {
                inputs.push(std::fs::read(p).unwrap());
            }
        }
    }
    inputs.push(b"\r\n\r\n".to_vec());
    inputs.push(vec![0xa5; 300]);
    assert!(inputs.len() >= 10);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let mut sum = 0;
    for input in &inputs {
        sum += read_all_fields(input);
    }
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert!(sum > 0);
    assert_eq!(
        after - before,
        0,
        "the reader allocated {} times",
        after - before
    );
}
