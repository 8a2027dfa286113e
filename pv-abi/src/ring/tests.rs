//! Unit tests of the ring: size computation (checked against the C
//! macros), the notify and overflow arithmetic, and single-threaded
//! front/back behaviour, including a hostile peer.

extern crate std;

use super::*;
use std::boxed::Box;
use std::format;
use std::string::String;
use std::vec::Vec;

// ---------------------------------------------------------------- fixtures

/// One 4 KiB page, page-aligned, freed on drop. Handles made from it are
/// only used while it lives.
struct TestPage(*mut [u8; 4096]);

#[repr(C, align(4096))]
struct Aligned([u8; 4096]);

impl TestPage {
    fn new() -> Self {
        TestPage(Box::into_raw(Box::new(Aligned([0xAA; 4096]))).cast())
    }
    fn handle(&self) -> SharedPage {
        // SAFETY: the page is live until `self` drops, after every handle in
        // these tests; it is only reached through `SharedPage`s, and each test
        // is single-threaded.
        unsafe { SharedPage::new(self.0.cast(), 4096) }.unwrap()
    }
}

impl Drop for TestPage {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box::new` in `new` and freed only here.
        drop(unsafe { Box::from_raw(self.0.cast::<Aligned>()) });
    }
}

/// A test request/response: 16 bytes, so 4032 / 16 = 252 → 128 slots.
type Req = [u64; 2];
type Rsp = [u32; 3];

/// A ring of 128 slots with front, back and a "peer" handle that writes the
/// header as a misbehaving other side would, all indices starting at `idx`.
fn rings(page: &TestPage, idx: RingIdx) -> (FrontRing<Req, Rsp>, BackRing<Req, Rsp>, SharedPage) {
    let peer = page.handle();
    shared_ring_init_at(&peer, idx).unwrap();
    let front = FrontRing::attach(page.handle(), idx).unwrap();
    let back = BackRing::attach(page.handle(), idx).unwrap();
    assert_eq!(front.size(), 128);
    (front, back, peer)
}

fn set(peer: &SharedPage, off: usize, v: RingIdx) {
    peer.atomic_u32(off).unwrap().store(v, core::sync::atomic::Ordering::SeqCst);
}

fn get(peer: &SharedPage, off: usize) -> RingIdx {
    peer.atomic_u32(off).unwrap().load(core::sync::atomic::Ordering::SeqCst)
}

const REQ_PROD: usize = 0;
const REQ_EVENT: usize = 4;
const RSP_PROD: usize = 8;
const RSP_EVENT: usize = 12;

// ------------------------------------------------------------------ sizes

#[test]
fn slot_size_is_the_c_union_size() {
    assert_eq!(slot_size::<[u64; 14], [u64; 2]>(), 112);
    assert_eq!(slot_size::<u8, u8>(), 1);
    // Larger size from one type, larger alignment from the other: C rounds
    // the union up to 16.
    assert_eq!(slot_size::<[u32; 3], u64>(), 16);
    assert_eq!(slot_size::<[u16; 6], u32>(), 12);
    assert_eq!(slot_size::<[u8; 20], u128>(), 32);
}

#[test]
fn ring_size_formula() {
    // blkif: 112-byte slots, (4096 - 64) / 112 = 36 -> 32.
    assert_eq!(ring_size_for::<[u64; 14], [u64; 2]>(4096), 32);
    // 8-byte slots (netif rx): 504 -> 256.
    assert_eq!(ring_size_for::<u64, u64>(4096), 256);
    // netif tx: 12-byte slots, 336 -> 256.
    assert_eq!(ring_size_for::<[u16; 6], u32>(4096), 256);
    assert_eq!(ring_size_for::<u8, u8>(4096), 2048);
    assert_eq!(ring_size_for::<[u32; 3], u64>(4096), 128);
    assert_eq!(ring_size_for::<[u8; 2016], u8>(4096), 2);
    assert_eq!(ring_size_for::<[u8; 2017], u8>(4096), 1);
    assert_eq!(ring_size_for::<[u8; 4032], u8>(4096), 1);
    assert_eq!(ring_size_for::<[u8; 4033], u8>(4096), 0);
    // Multi-page rings and odd lengths.
    assert_eq!(ring_size_for::<[u64; 14], [u64; 2]>(8192), 64);
    assert_eq!(ring_size(64, 8), 0);
    assert_eq!(ring_size(63, 8), 0);
    assert_eq!(ring_size(0, 8), 0);
    assert_eq!(ring_size(4096, 0), 0);
    assert_eq!(ring_size(usize::MAX, 1), 1 << 31);
    for n in 1..5000usize {
        let s = ring_size(64 + n, 1) as usize;
        assert!(s.is_power_of_two() && s <= n && 2 * s > n, "n={n} s={s}");
    }
}

/// Compiles a C program against `/usr/include/xen/io/ring.h` and compares
/// `sizeof` of the slot union, `offsetof(ring)`, `__CONST_RING_SIZE` and
/// `__RING_SIZE` with this module for a set of slot types and lengths.
#[test]
fn ring_size_matches_c_macros() {
    let header = "/usr/include/xen/io/ring.h";
    assert!(
        std::path::Path::new(header).exists(),
        "{header} is missing: install libxen-dev (apt-get install -y libxen-dev) to run this test"
    );
    // (tag, C request type, C response type, Rust slot size, Rust ring size for a length)
    type Case = (&'static str, &'static str, &'static str, usize, fn(usize) -> u32);
    macro_rules! case {
        ($tag:literal, $creq:literal, $crsp:literal, $req:ty, $rsp:ty) => {
            ($tag, $creq, $crsp, slot_size::<$req, $rsp>(), ring_size_for::<$req, $rsp> as fn(usize) -> u32)
        };
    }
    let cases: &[Case] = &[
        case!("blk", "struct { uint64_t x[14]; }", "struct { uint64_t x[2]; }", [u64; 14], [u64; 2]),
        case!("rx", "uint64_t", "uint64_t", u64, u64),
        case!("tx", "struct { uint16_t x[6]; }", "uint32_t", [u16; 6], u32),
        case!("byte", "uint8_t", "uint8_t", u8, u8),
        case!("mixed", "struct { uint32_t x[3]; }", "uint64_t", [u32; 3], u64),
        case!("odd", "struct { uint8_t x[7]; }", "struct { uint8_t x[3]; }", [u8; 7], [u8; 3]),
        case!("wide", "struct { uint8_t x[20]; }", "unsigned __int128", [u8; 20], u128),
        case!("half", "struct { uint8_t x[2016]; }", "uint8_t", [u8; 2016], u8),
        case!("big", "struct { uint8_t x[2017]; }", "uint8_t", [u8; 2017], u8),
        case!("full", "struct { uint8_t x[4032]; }", "uint8_t", [u8; 4032], u8),
        case!("over", "struct { uint8_t x[4033]; }", "uint8_t", [u8; 4033], u8),
    ];
    const LENS: [usize; 5] = [100, 4000, 4096, 8192, 65536];

    let mut c = String::from(
        "#include <stdint.h>\n#include <stddef.h>\n#include <stdio.h>\n#include <xen/io/ring.h>\n\
         static unsigned char buf[65536] __attribute__((aligned(4096)));\n",
    );
    for (tag, req, rsp, _, _) in cases {
        c += &format!("typedef {req} {tag}_req_t;\ntypedef {rsp} {tag}_rsp_t;\n");
        c += &format!("DEFINE_RING_TYPES({tag}, {tag}_req_t, {tag}_rsp_t);\n");
    }
    c += "int main(void) {\n";
    for (tag, ..) in cases {
        c += &format!(
            "  {{ struct {tag}_sring *s = (void *)buf; (void)s;\n    printf(\"{tag} %zu %zu\", \
             sizeof(union {tag}_sring_entry), offsetof(struct {tag}_sring, ring));\n"
        );
        for len in LENS {
            c += &format!(
                "    printf(\" %lu %lu\", (unsigned long)__CONST_RING_SIZE({tag}, {len}), \
                 (unsigned long)__RING_SIZE(s, {len}));\n"
            );
        }
        c += "    printf(\"\\n\"); }\n";
    }
    c += "  return 0;\n}\n";

    let dir = std::env::temp_dir().join(format!("pv-abi-ring-size-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("ring_size.c");
    let exe = dir.join("ring_size");
    std::fs::write(&src, &c).unwrap();
    let cc = std::process::Command::new("cc")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `cc` ({e}): install a C compiler (apt-get install -y gcc) to run this test")
        });
    assert!(cc.status.success(), "cc failed on {}:\n{}", src.display(), String::from_utf8_lossy(&cc.stderr));
    let out = std::process::Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    let out = String::from_utf8(out.stdout).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    std::println!("C: tag sizeof(entry) offsetof(ring) then (__CONST_RING_SIZE, __RING_SIZE) for {LENS:?}\n{out}");

    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), cases.len(), "{out}");
    for ((tag, _, _, slot, size_for), line) in cases.iter().zip(lines) {
        let f: Vec<u64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
        assert_eq!(f[0] as usize, *slot, "{tag}: sizeof(union entry)");
        assert_eq!(f[1] as usize, SRING_RING_OFFSET, "{tag}: offsetof(ring)");
        for (i, len) in LENS.iter().enumerate() {
            let rust = size_for(*len) as u64;
            assert_eq!(f[2 + 2 * i], rust, "{tag}: __CONST_RING_SIZE(.., {len})");
            assert_eq!(f[3 + 2 * i], rust, "{tag}: __RING_SIZE(.., {len})");
        }
    }
}

#[test]
fn construction_checks_layout() {
    let page = TestPage::new();
    // SAFETY: null is rejected before anything is accessed.
    assert_eq!(unsafe { SharedPage::new(core::ptr::null_mut(), 4096) }.unwrap_err(), LayoutError::Null);
    // SAFETY: rejected (misaligned) before anything is accessed.
    let e = unsafe { SharedPage::new(page.0.cast::<u8>().wrapping_add(2), 4000) }.unwrap_err();
    assert!(matches!(e, LayoutError::Misaligned { align: 4, .. }), "{e:?}");
    // 4-byte aligned but not 8: fine for the page, not for u64 slots.
    // SAFETY: 4000 bytes from offset 4 lie inside the page.
    let p4 = unsafe { SharedPage::new(page.0.cast::<u8>().wrapping_add(4), 4000) }.unwrap();
    let e = FrontRing::<u64, u64>::new(p4).unwrap_err();
    assert!(matches!(e, LayoutError::Misaligned { align: 8, .. }), "{e:?}");
    // Too small for the header plus one slot.
    // SAFETY: a prefix of the page.
    let small = unsafe { SharedPage::new(page.0.cast(), 64 + 15) }.unwrap();
    assert_eq!(BackRing::<Req, Rsp>::new(small).unwrap_err(), LayoutError::TooSmall { len: 79, need: 80 });
    // SAFETY: a prefix of the page.
    let one = unsafe { SharedPage::new(page.0.cast(), 64 + 16) }.unwrap();
    assert_eq!(BackRing::<Req, Rsp>::new(one).unwrap().size(), 1);
    // Generic accessors are bounds- and alignment-checked.
    let h = page.handle();
    assert!(matches!(h.read::<u64>(4090), Err(LayoutError::OutOfBounds { .. })));
    assert!(matches!(h.read::<u64>(usize::MAX), Err(LayoutError::OutOfBounds { .. })));
    assert!(matches!(h.write::<u32>(2, 0), Err(LayoutError::Misaligned { .. })));
    assert!(h.atomic_u32(4096).is_err());
    h.write::<u64>(4088, 7).unwrap();
    assert_eq!(h.read::<u64>(4088).unwrap(), 7);
}

#[test]
fn shared_ring_init_matches_c() {
    let page = TestPage::new();
    let h = page.handle();
    FrontRing::<Req, Rsp>::init_shared(page.handle()).unwrap();
    let hdr: SringHeader = h.read(0).unwrap();
    assert_eq!((hdr.req_prod, hdr.req_event, hdr.rsp_prod, hdr.rsp_event), (0, 1, 0, 1));
    assert_eq!(hdr.pvt, [0; 4]);
    assert_eq!(hdr.pad, [0; 44]);
    // The slots are not touched.
    assert_eq!(h.read::<u8>(64).unwrap(), 0xAA);
}

// ------------------------------------------------------------ arithmetic

#[test]
fn notify_arithmetic() {
    // Event inside (old, new]: notify; at old or beyond new: not.
    assert!(need_notify(0, 1, 1));
    assert!(!need_notify(0, 1, 2));
    assert!(!need_notify(1, 1, 1)); // nothing pushed
    assert!(need_notify(10, 20, 11));
    assert!(need_notify(10, 20, 20));
    assert!(!need_notify(10, 20, 10));
    assert!(!need_notify(10, 20, 21));
    assert!(!need_notify(10, 20, 5)); // event already passed: peer is awake
                                      // Across the 2^32 wrap.
    assert!(need_notify(u32::MAX - 1, 2, u32::MAX));
    assert!(need_notify(u32::MAX - 1, 2, 0));
    assert!(need_notify(u32::MAX - 1, 2, 2));
    assert!(!need_notify(u32::MAX - 1, 2, 3));
    assert!(!need_notify(u32::MAX - 1, 2, u32::MAX - 1));
    assert!(need_notify(u32::MAX, 0, 0));
    assert!(!need_notify(u32::MAX, 0, 1));
    // Exhaustive agreement with the interval definition on a small window.
    for base in [0u32, 1000, u32::MAX - 20] {
        for d_new in 0u32..16 {
            for d_ev in 0u32..24 {
                let (old, new, ev) = (base, base.wrapping_add(d_new), base.wrapping_add(d_ev));
                assert_eq!(need_notify(old, new, ev), d_ev > 0 && d_ev <= d_new, "{old} {new} {ev}");
            }
        }
    }
}

#[test]
fn overflow_arithmetic() {
    let size = 32;
    for base in [0u32, 77, u32::MAX - 5, u32::MAX] {
        let at = |d: u32| base.wrapping_add(d);
        // RING_REQUEST_CONS_OVERFLOW: cons - rsp_prod_pvt >= size.
        assert!(!request_cons_overflow(at(0), base, size));
        assert!(!request_cons_overflow(at(31), base, size));
        assert!(request_cons_overflow(at(32), base, size));
        // RING_REQUEST_PROD_OVERFLOW: prod - rsp_prod_pvt > size.
        assert!(!request_prod_overflow(at(32), base, size));
        assert!(request_prod_overflow(at(33), base, size));
        assert!(request_prod_overflow(base.wrapping_sub(1), base, size)); // behind
        assert!(request_prod_overflow(base.wrapping_add(1 << 31), base, size));
        // RING_RESPONSE_PROD_OVERFLOW: prod - rsp_cons > size.
        assert!(!response_prod_overflow(at(32), base, size));
        assert!(response_prod_overflow(at(33), base, size));
        assert!(response_prod_overflow(base.wrapping_sub(1), base, size));
    }
}

// ------------------------------------------------------- front/back logic

#[test]
fn free_and_full_counts() {
    for start in [0, u32::MAX - 60] {
        let page = TestPage::new();
        let (mut front, mut back, _peer) = rings(&page, start);
        assert_eq!(front.free_requests(), 128);
        for i in 0..128u64 {
            assert!(!front.is_full());
            front.produce_request([i, !i]).unwrap();
            assert_eq!(front.free_requests(), 127 - i as u32);
        }
        assert!(front.is_full());
        assert_eq!(front.produce_request([0, 0]), Err(NoFreeSlot));
        // Unpushed requests are invisible to the back end.
        assert_eq!(back.unconsumed_requests(), Ok(0));
        front.push_requests();
        assert_eq!(back.unconsumed_requests(), Ok(128));
        for i in 0..128u64 {
            assert_eq!(back.next_request(), Ok(Some([i, !i])));
        }
        assert_eq!(back.next_request(), Ok(None));
        // Consuming does not free slots: responses do.
        assert!(front.is_full());
        for i in 0..100u32 {
            back.produce_response([i, 0, 0]).unwrap();
        }
        back.push_responses();
        assert!(front.is_full());
        for i in 0..100u32 {
            assert_eq!(front.next_response(), Ok(Some([i, 0, 0])));
            assert_eq!(front.free_requests(), i + 1);
        }
        assert_eq!(front.next_response(), Ok(None));
        assert_eq!(front.req_prod_pvt(), start.wrapping_add(128));
        assert_eq!(front.rsp_cons(), start.wrapping_add(100));
    }
}

#[test]
fn back_cannot_respond_without_a_request() {
    let page = TestPage::new();
    let (mut front, mut back, _peer) = rings(&page, 5);
    assert_eq!(back.produce_response([1, 2, 3]), Err(NoFreeSlot));
    front.produce_request([1, 1]).unwrap();
    front.push_requests();
    assert!(back.next_request().unwrap().is_some());
    assert_eq!(back.produce_response([1, 2, 3]), Ok(5));
    assert_eq!(back.produce_response([1, 2, 3]), Err(NoFreeSlot));
}

#[test]
fn request_is_copied_once() {
    // XSA-155: what the back end validated cannot change under it.
    let page = TestPage::new();
    let (mut front, mut back, peer) = rings(&page, 0);
    front.produce_request([7, 7]).unwrap();
    front.push_requests();
    let req = back.next_request().unwrap().unwrap();
    peer.write::<Req>(SRING_RING_OFFSET, [666, 666]).unwrap();
    assert_eq!(req, [7, 7]);
    assert_eq!(back.get_request(0), [666, 666]);
    // Any index is masked into the ring.
    assert_eq!(back.get_request(128), [666, 666]);
    assert_eq!(back.get_request(u32::MAX), back.get_request(127));
}

#[test]
fn hostile_req_prod_is_refused() {
    for start in [0u32, 1000, u32::MAX - 1000, u32::MAX - 64, u32::MAX] {
        let page = TestPage::new();
        let (_front, mut back, peer) = rings(&page, start);
        let size = back.size();
        // More than `size` claimed: refused, nothing consumed.
        set(&peer, REQ_PROD, start.wrapping_add(size + 1));
        let e = back.next_request().unwrap_err();
        assert_eq!(
            e,
            PeerError::RequestProdOverflow { req_prod: start.wrapping_add(size + 1), rsp_prod_pvt: start, size }
        );
        assert_eq!(back.req_cons(), start);
        assert_eq!(back.final_check_for_requests(), Err(e));
        assert_eq!(back.unconsumed_requests(), Err(e));
        // Far ahead, and every value near the u32 edge.
        for bad in [start.wrapping_add(1 << 31), start.wrapping_sub(1), start.wrapping_add(u32::MAX), u32::MAX, 0] {
            if bad.wrapping_sub(start) <= size {
                continue; // a legal value for this start
            }
            set(&peer, REQ_PROD, bad);
            assert!(back.request_prod_overflow(bad));
            assert!(matches!(back.next_request(), Err(PeerError::RequestProdOverflow { .. })), "{start} {bad}");
        }
        // Exactly `size`: legal, and the back end stops after `size`
        // requests because it has no room for more responses.
        set(&peer, REQ_PROD, start.wrapping_add(size));
        let mut n = 0;
        while back.next_request().unwrap().is_some() {
            n += 1;
            assert!(n <= size, "back end consumed more than the ring holds");
        }
        assert_eq!(n, size);
        assert!(back.request_cons_overflow(back.req_cons()));
        // A front end now claiming one more than it could: refused.
        set(&peer, REQ_PROD, start.wrapping_add(size + 1));
        assert!(matches!(back.next_request(), Err(PeerError::RequestProdOverflow { .. })));
        // Answer 10: the window moves by 10.
        for _ in 0..10 {
            back.produce_response([0; 3]).unwrap();
        }
        back.push_responses();
        set(&peer, REQ_PROD, start.wrapping_add(size + 10));
        assert_eq!(back.unconsumed_requests(), Ok(10));
        set(&peer, REQ_PROD, start.wrapping_add(size + 11));
        assert!(matches!(back.unconsumed_requests(), Err(PeerError::RequestProdOverflow { .. })));
        // req_prod moved back behind what we consumed, but within the
        // response window: ring.h's check passes, ours does not.
        let behind = start.wrapping_add(size - 1);
        set(&peer, REQ_PROD, behind);
        assert!(!back.request_prod_overflow(behind));
        assert_eq!(
            back.next_request(),
            Err(PeerError::RequestProdBehind { req_prod: behind, req_cons: start.wrapping_add(size) })
        );
        // Far behind: ring.h's check catches it.
        set(&peer, REQ_PROD, start.wrapping_sub(1000));
        assert!(matches!(back.next_request(), Err(PeerError::RequestProdOverflow { .. })));
        assert_eq!(back.req_cons(), start.wrapping_add(size));
    }
}

#[test]
fn hostile_rsp_prod_is_refused() {
    for start in [0u32, u32::MAX - 3, u32::MAX] {
        let page = TestPage::new();
        let (mut front, _back, peer) = rings(&page, start);
        let size = front.size();
        for i in 0..10 {
            front.produce_request([i, i]).unwrap();
        }
        front.push_requests();
        // More than the ring holds.
        let bad = start.wrapping_add(size + 1);
        set(&peer, RSP_PROD, bad);
        assert!(front.response_prod_overflow(bad));
        assert_eq!(
            front.next_response(),
            Err(PeerError::ResponseProdOverflow { rsp_prod: bad, rsp_cons: start, size })
        );
        // Behind rsp_cons.
        set(&peer, RSP_PROD, start.wrapping_sub(1));
        assert!(matches!(front.final_check_for_responses(), Err(PeerError::ResponseProdOverflow { .. })));
        // Within the ring but beyond the 10 requests made.
        set(&peer, RSP_PROD, start.wrapping_add(11));
        assert_eq!(
            front.unconsumed_responses(),
            Err(PeerError::UnrequestedResponses {
                rsp_prod: start.wrapping_add(11),
                rsp_cons: start,
                req_prod_pvt: start.wrapping_add(10)
            })
        );
        assert_eq!(front.rsp_cons(), start);
        // Exactly the 10: fine.
        set(&peer, RSP_PROD, start.wrapping_add(10));
        assert_eq!(front.unconsumed_responses(), Ok(10));
        for _ in 0..10 {
            assert!(front.next_response().unwrap().is_some());
        }
        assert_eq!(front.next_response(), Ok(None));
        assert_eq!(front.free_requests(), size);
    }
}

#[test]
fn request_notification_protocol() {
    let page = TestPage::new();
    let start = u32::MAX - 2;
    let (mut front, mut back, peer) = rings(&page, start);
    // Fresh ring: req_event = start + 1, so the first push notifies.
    front.produce_request([0, 0]).unwrap();
    assert!(front.push_requests_and_check_notify());
    // Back end awake (event not re-armed): no more notifications.
    front.produce_request([1, 1]).unwrap();
    assert!(!front.push_requests_and_check_notify());
    // Pushing nothing never notifies.
    assert!(!front.push_requests_and_check_notify());
    // Final check with work pending: true, event untouched.
    let ev = get(&peer, REQ_EVENT);
    assert_eq!(back.final_check_for_requests(), Ok(true));
    assert_eq!(get(&peer, REQ_EVENT), ev);
    assert!(back.next_request().unwrap().is_some());
    assert!(back.next_request().unwrap().is_some());
    // Drained: final check arms req_event = req_cons + 1 and says sleep.
    assert_eq!(back.final_check_for_requests(), Ok(false));
    assert_eq!(get(&peer, REQ_EVENT), start.wrapping_add(3));
    assert_eq!(back.req_cons(), start.wrapping_add(2));
    // A batch of 5 pushed at once: exactly one notification.
    for i in 0..5 {
        front.produce_request([i, i]).unwrap();
    }
    assert!(front.push_requests_and_check_notify());
    front.produce_request([9, 9]).unwrap();
    assert!(!front.push_requests_and_check_notify());
    // Re-checking after the push finds work without sleeping.
    assert_eq!(back.final_check_for_requests(), Ok(true));
    // A plain push does not check: a later checked push with nothing new
    // sees old == new and does not notify, so a producer that wants
    // notifications must use the checked push.
    while back.next_request().unwrap().is_some() {}
    assert_eq!(back.final_check_for_requests(), Ok(false));
    front.produce_request([1, 2]).unwrap();
    front.push_requests();
    assert!(!front.push_requests_and_check_notify());
    assert_eq!(back.final_check_for_requests(), Ok(true));
}

#[test]
fn response_notification_protocol() {
    let page = TestPage::new();
    let start = u32::MAX;
    let (mut front, mut back, peer) = rings(&page, start);
    for i in 0..4 {
        front.produce_request([i, i]).unwrap();
    }
    front.push_requests();
    while back.next_request().unwrap().is_some() {}
    // rsp_event = start + 1 from init: first response push notifies.
    back.produce_response([0; 3]).unwrap();
    assert!(back.push_responses_and_check_notify());
    back.produce_response([1; 3]).unwrap();
    assert!(!back.push_responses_and_check_notify());
    assert_eq!(front.final_check_for_responses(), Ok(true));
    assert_eq!(get(&peer, RSP_EVENT), start.wrapping_add(1));
    front.next_response().unwrap().unwrap();
    front.next_response().unwrap().unwrap();
    assert_eq!(front.final_check_for_responses(), Ok(false));
    assert_eq!(get(&peer, RSP_EVENT), start.wrapping_add(3));
    back.produce_response([2; 3]).unwrap();
    back.produce_response([3; 3]).unwrap();
    assert!(back.push_responses_and_check_notify());
    assert_eq!(get(&peer, RSP_PROD), start.wrapping_add(4));
    assert_eq!(front.unconsumed_responses(), Ok(2));
}

#[test]
fn full_cycles_across_the_wrap() {
    let page = TestPage::new();
    let start = u32::MAX - 300;
    let (mut front, mut back, _peer) = rings(&page, start);
    let mut sent = 0u64;
    let mut got = 0u64;
    // Uneven batches so every slot and both index wraps are exercised.
    for round in 0..40u64 {
        for _ in 0..(round * 7 % 129) {
            if front.produce_request([sent, sent ^ 0xdead]).is_err() {
                break;
            }
            sent += 1;
        }
        front.push_requests();
        while let Some([s, c]) = back.next_request().unwrap() {
            assert_eq!(c, s ^ 0xdead);
            back.produce_response([s as u32, (s >> 32) as u32, 1]).unwrap();
        }
        back.push_responses();
        while let Some([lo, hi, ok]) = front.next_response().unwrap() {
            assert_eq!((u64::from(hi) << 32 | u64::from(lo), ok), (got, 1));
            got += 1;
        }
    }
    assert_eq!(got, sent);
    assert!(u64::from(front.req_prod_pvt().wrapping_sub(start)) == sent % (1 << 32));
    assert!(front.req_prod_pvt() < start, "the run should have crossed the wrap");
}
