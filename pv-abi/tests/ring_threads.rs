//! A front end and a back end on two threads, sharing one page the way two
//! domains share a granted page: each side has only a raw-pointer
//! [`SharedPage`] and its own private ring state.
//!
//! Event channels are modelled by a counting [`Event`] per direction. A
//! side sleeps only after `RING_FINAL_CHECK_*` found no work, and a sleep
//! ends only on a real notification: the timed wait exists solely to fail
//! the test at a generous deadline instead of hanging, and never lets a
//! sleeper go back to polling the ring. So a run that completes proves no
//! wakeup was lost; the counts prove notifications were not excessive.
//!
//! Every run starts the shared indices at `u32::MAX - 1000`, so it crosses
//! the 2^32 wrap.

use pv_abi::ring::{shared_ring_init_at, BackRing, FrontRing, RingIdx, SharedPage};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};
use zerocopy::{FromBytes, Immutable, IntoBytes};

const START: RingIdx = u32::MAX - 1000;
const DEADLINE: Duration = Duration::from_secs(30);

/// 40 bytes: with the 24-byte response, 4032 / 40 = 100 -> 64 slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
struct Req {
    seq: u64,
    payload: [u64; 3],
    checksum: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable)]
#[repr(C)]
struct Rsp {
    seq: u64,
    checksum: u64,
    status: u64,
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn checksum(seq: u64, payload: &[u64; 3]) -> u64 {
    payload.iter().fold(splitmix(seq), |acc, &w| splitmix(acc ^ w))
}

fn request(seq: u64) -> Req {
    let payload = [splitmix(seq), splitmix(seq ^ 1), splitmix(seq ^ 2)];
    Req { seq, payload, checksum: checksum(seq, &payload) }
}

/// What the back end computes from a request's checksum.
fn answer(checksum: u64) -> u64 {
    checksum.rotate_left(17) ^ 0x5a5a_5a5a_5a5a_5a5a
}

/// A page-aligned page, as a granted page would be.
#[repr(C, align(4096))]
struct Page([u8; 4096]);

/// A counting event: an event-channel port and how often it was signalled.
struct Event {
    count: Mutex<u64>,
    cv: Condvar,
    sent: AtomicU64,
}

impl Event {
    fn new() -> Self {
        Event { count: Mutex::new(0), cv: Condvar::new(), sent: AtomicU64::new(0) }
    }

    /// The count, even if a panicking thread poisoned the lock.
    fn lock(&self) -> MutexGuard<'_, u64> {
        self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn notify(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        *self.lock() += 1;
        self.cv.notify_all();
    }

    /// Sleeps until a notification arrives that `seen` has not consumed.
    /// Panics at the deadline (a lost wakeup) or if the other side failed.
    fn wait(&self, seen: &mut u64, ctl: &Control, who: &str) {
        let mut count = self.lock();
        loop {
            if *count != *seen {
                *seen = *count;
                return;
            }
            assert!(!ctl.abort.load(Ordering::SeqCst), "{who}: the other side failed");
            let now = Instant::now();
            assert!(now < ctl.deadline, "{who} slept past the deadline: a notification was lost (or a hang)");
            count = self.cv.wait_timeout(count, ctl.deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Wakes a sleeper without counting as a notification (to abort).
    fn poke(&self) {
        let _g = self.lock();
        self.cv.notify_all();
    }
}

struct Control {
    to_back: Event,
    to_front: Event,
    abort: AtomicBool,
    deadline: Instant,
}

/// If its thread panics, tells the other side to stop instead of letting it
/// sleep until the deadline.
struct AbortOnPanic<'a>(&'a Control);

impl Drop for AbortOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.abort.store(true, Ordering::SeqCst);
            self.0.to_back.poke();
            self.0.to_front.poke();
        }
    }
}

/// xorshift64*, deterministic per seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[derive(Clone, Copy)]
struct Config {
    name: &'static str,
    requests: u64,
    /// Push (and maybe notify) after this many requests.
    front_batch: u64,
    /// Push (and maybe notify) after this many responses.
    back_batch: u64,
    /// The back end yields and sleeps at random.
    slow_back: bool,
    /// Most requests the front end keeps outstanding (at most the ring
    /// size, 64).
    window: u32,
}

/// One side's counts.
#[derive(Debug, Default)]
struct SideStats {
    /// Notifications this side sent to its peer.
    sent: u64,
    /// Times this side slept (final check found nothing).
    sleeps: u64,
    /// Final checks that found work (the event index may have been armed
    /// without a sleep following).
    late_work: u64,
}

fn front_end(cfg: Config, page: SharedPage, ctl: &Control) -> SideStats {
    let _guard = AbortOnPanic(ctl);
    let mut front = FrontRing::<Req, Rsp>::attach(page, START).unwrap();
    assert_eq!(front.size(), 64);
    let mut stats = SideStats::default();
    let mut seen = 0;
    let (mut next_seq, mut received, mut unpushed) = (0u64, 0u64, 0u64);
    let push = |front: &mut FrontRing<Req, Rsp>, stats: &mut SideStats| {
        if front.push_requests_and_check_notify() {
            stats.sent += 1;
            ctl.to_back.notify();
        }
    };
    while received < cfg.requests {
        let mut progressed = false;
        while next_seq < cfg.requests && front.size() - front.free_requests() < cfg.window {
            front.produce_request(request(next_seq)).unwrap();
            next_seq += 1;
            unpushed += 1;
            progressed = true;
            if unpushed == cfg.front_batch {
                push(&mut front, &mut stats);
                unpushed = 0;
            }
        }
        // Everything produced is pushed before consuming or sleeping.
        if unpushed > 0 {
            push(&mut front, &mut stats);
            unpushed = 0;
        }
        while let Some(rsp) = front.next_response().unwrap() {
            let want = request(received);
            assert_eq!(rsp, Rsp { seq: received, checksum: answer(want.checksum), status: 0 });
            received += 1;
            progressed = true;
        }
        if progressed || received == cfg.requests {
            continue;
        }
        if front.final_check_for_responses().unwrap() {
            stats.late_work += 1;
            continue;
        }
        stats.sleeps += 1;
        ctl.to_front.wait(&mut seen, ctl, "front end");
    }
    // Exactly once: every request answered, nothing left over.
    assert_eq!(front.req_prod_pvt(), START.wrapping_add(cfg.requests as u32));
    assert_eq!(front.rsp_cons(), front.req_prod_pvt());
    assert_eq!(front.unconsumed_responses(), Ok(0));
    assert_eq!(front.free_requests(), front.size());
    stats
}

fn back_end(cfg: Config, page: SharedPage, ctl: &Control) -> SideStats {
    let _guard = AbortOnPanic(ctl);
    let mut back = BackRing::<Req, Rsp>::attach(page, START).unwrap();
    let mut stats = SideStats::default();
    let mut seen = 0;
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let (mut answered, mut unpushed) = (0u64, 0u64);
    let push = |back: &mut BackRing<Req, Rsp>, stats: &mut SideStats| {
        if back.push_responses_and_check_notify() {
            stats.sent += 1;
            ctl.to_front.notify();
        }
    };
    while answered < cfg.requests {
        let mut progressed = false;
        while let Some(req) = back.next_request().unwrap() {
            assert_eq!(req.seq, answered, "requests out of order");
            assert_eq!(req.checksum, checksum(req.seq, &req.payload), "corrupt request {}", req.seq);
            if cfg.slow_back {
                let r = rng.next();
                if r.is_multiple_of(8) {
                    thread::yield_now();
                }
                if r % 64 == 1 {
                    thread::sleep(Duration::from_micros(10 + (r >> 8) % 90));
                }
            }
            back.produce_response(Rsp { seq: req.seq, checksum: answer(req.checksum), status: 0 }).unwrap();
            answered += 1;
            unpushed += 1;
            progressed = true;
            if unpushed == cfg.back_batch {
                push(&mut back, &mut stats);
                unpushed = 0;
            }
        }
        if unpushed > 0 {
            push(&mut back, &mut stats);
            unpushed = 0;
        }
        if progressed || answered == cfg.requests {
            continue;
        }
        if back.final_check_for_requests().unwrap() {
            stats.late_work += 1;
            continue;
        }
        stats.sleeps += 1;
        ctl.to_back.wait(&mut seen, ctl, "back end");
    }
    assert_eq!(back.req_cons(), START.wrapping_add(cfg.requests as u32));
    assert_eq!(back.rsp_prod_pvt(), back.req_cons());
    assert_eq!(back.unconsumed_requests(), Ok(0));
    stats
}

fn run(cfg: Config) {
    let page: *mut Page = Box::into_raw(Box::new(Page([0; 4096])));
    // SAFETY: the page lives until `Box::from_raw` below, after both
    // threads have been joined; between, it is reached only through these
    // three handles: `init` here, then one front end and one back end,
    // whose slot accesses the ring protocol orders.
    let handle = || unsafe { SharedPage::new(page.cast::<u8>(), 4096) }.unwrap();
    let init = handle();
    shared_ring_init_at(&init, START).unwrap();
    let (front_page, back_page) = (handle(), handle());

    let ctl = Control {
        to_back: Event::new(),
        to_front: Event::new(),
        abort: AtomicBool::new(false),
        deadline: Instant::now() + DEADLINE,
    };
    let t0 = Instant::now();
    let (front, back) = thread::scope(|s| {
        let back = s.spawn(|| back_end(cfg, back_page, &ctl));
        let front = s.spawn(|| front_end(cfg, front_page, &ctl));
        (front.join().expect("front end failed"), back.join().expect("back end failed"))
    });
    let elapsed = t0.elapsed();
    let final_req_prod = init.atomic_u32(0).unwrap().load(Ordering::SeqCst);
    // SAFETY: allocated by `Box::new` above; no handle is used after this.
    drop(unsafe { Box::from_raw(page) });

    println!(
        "{}: {} requests in {:?}, indices {START:#x} -> {final_req_prod:#x}\n  \
         front->back notifications {} (back end slept {}, late work {})\n  \
         back->front notifications {} (front end slept {}, late work {})",
        cfg.name,
        cfg.requests,
        elapsed,
        front.sent,
        back.sleeps,
        back.late_work,
        back.sent,
        front.sleeps,
        front.late_work
    );
    assert_eq!(front.sent, ctl.to_back.sent.load(Ordering::Relaxed));
    assert_eq!(back.sent, ctl.to_front.sent.load(Ordering::Relaxed));
    assert!(final_req_prod < START, "the run must cross the 2^32 wrap");
    // Not lost: both sides finished, and every sleep ended on a
    // notification, so there were at least as many notifications.
    assert!(back.sleeps <= front.sent, "{back:?} {front:?}");
    assert!(front.sleeps <= back.sent, "{back:?} {front:?}");
    // Not excessive: a notification needs the event index inside the
    // pushed range, and the peer moves it only in a final check that
    // either sleeps or finds late work; +1 for the event index set by
    // SHARED_RING_INIT.
    assert!(front.sent <= back.sleeps + back.late_work + 1, "front->back: {front:?} vs {back:?}");
    assert!(back.sent <= front.sleeps + front.late_work + 1, "back->front: {back:?} vs {front:?}");
}

/// Push and check for notification after every request and response.
#[test]
fn unbatched() {
    run(Config { name: "unbatched", requests: 50_000, front_batch: 1, back_batch: 1, slow_back: false, window: 64 });
}

/// One request in flight at a time: every request and every response
/// finds its peer asleep or about to sleep, the most notification races.
#[test]
fn lockstep() {
    run(Config { name: "lockstep", requests: 20_000, front_batch: 1, back_batch: 1, slow_back: false, window: 1 });
}

/// The back end yields and sleeps at random, so the ring fills and the
/// front end waits for responses.
#[test]
fn slow_consumer() {
    run(Config { name: "slow consumer", requests: 20_000, front_batch: 1, back_batch: 1, slow_back: true, window: 64 });
}

/// Requests pushed 16 at a time, responses 8 at a time.
#[test]
fn both_batch() {
    run(Config { name: "both batch", requests: 60_000, front_batch: 16, back_batch: 8, slow_back: false, window: 64 });
}
