//! Time: the hypervisor's system time, the guest's `vcpu_time_info` and
//! wallclock, and per-vCPU timers (Xen's `arch/x86/time.c` and the timer
//! parts of `common/schedule.c`).
//!
//! System time is nanoseconds since boot, derived from the TSC with Xen's
//! 32.32 fixed-point scale: `ns = ((tsc_delta << shift) * mul) >> 32`
//! (a negative shift shifts right). A guest's pvclock reads exactly this:
//! `vcpu_time_info` carries `(tsc_timestamp, system_time, mul, shift)`,
//! written under the version protocol (odd while changing) whenever the
//! vCPU is scheduled in. With one TSC, constant rate and one scale, every
//! snapshot extrapolates to the same line, so the guest's clock is
//! monotonic and `XEN_PVCLOCK_TSC_STABLE_BIT` is honest.
//!
//! The wallclock in `shared_info` is the UTC time at system time zero (read
//! from the CMOS RTC at boot), under `wc_version`.

use crate::common::domain::vcpu_info;
use crate::common::Hv;
use core::sync::atomic::Ordering;
use pv_abi::abi::xen::XEN_PVCLOCK_TSC_STABLE_BIT;
use pv_abi::{DomId, Mfn};

/// One second in nanoseconds.
pub const SECOND: u64 = 1_000_000_000;
/// One millisecond in nanoseconds.
pub const MILLISECOND: u64 = 1_000_000;

/// A TSC-to-nanoseconds scale (Xen's `struct time_scale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Multiplier, 32.32 fixed point.
    pub mul: u32,
    /// Shift applied before multiplying.
    pub shift: i8,
}

impl Scale {
    /// The scale for a counter of `hz` ticks per second (Xen's
    /// `set_time_scale`): normalise `hz` into (1e9, 2e9] by shifting, then
    /// `mul = 1e9 * 2^32 / hz'`, which is below 2^32.
    pub fn for_hz(hz: u64) -> Scale {
        let mut hz = hz.max(1);
        let mut shift: i8 = 0;
        while hz > 2 * SECOND {
            hz >>= 1;
            shift -= 1;
        }
        while hz <= SECOND {
            hz <<= 1;
            shift += 1;
        }
        let mul = ((SECOND as u128) << 32) / hz as u128;
        Scale { mul: mul as u32, shift }
    }

    /// Scales a tick delta to nanoseconds, as Linux's `pvclock` does.
    pub fn apply(self, delta: u64) -> u64 {
        let d = if self.shift < 0 { delta >> (-self.shift) as u32 } else { delta << self.shift as u32 };
        ((d as u128 * self.mul as u128) >> 32) as u64
    }
}

/// The machine clock.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// TSC to nanoseconds.
    pub scale: Scale,
    /// The TSC at system time zero.
    pub tsc0: u64,
    /// UTC seconds at system time zero.
    pub wc_sec: u64,
    /// And nanoseconds.
    pub wc_nsec: u32,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new(SECOND, 0, 0)
    }
}

impl Clock {
    /// A clock whose system time is zero at `tsc0`.
    pub fn new(tsc_hz: u64, tsc0: u64, wc_sec: u64) -> Self {
        Clock { tsc_hz, scale: Scale::for_hz(tsc_hz), tsc0, wc_sec, wc_nsec: 0 }
    }
    /// System time (ns since boot) at `tsc`.
    pub fn ns(&self, tsc: u64) -> u64 {
        self.scale.apply(tsc.saturating_sub(self.tsc0))
    }
}

/// System time now.
pub fn now(hv: &Hv) -> u64 {
    hv.clock.ns(hv.hw.rdtsc())
}

/// Writes the vCPU's `vcpu_time_info` (Xen's `update_vcpu_system_time`):
/// version made odd, fields, version made even.
pub fn update_vcpu_time(hv: &Hv, d: DomId, v: u32) {
    let Some(vc) = hv.domains.get(d).and_then(|dom| dom.vcpus.get(v as usize)) else { return };
    let (m, off) = vc.vcpu_info;
    if m == Mfn(0) {
        return;
    }
    let tsc = hv.hw.rdtsc();
    let base = off + vcpu_info::TIME;
    let ver = hv.phys.atomic_u32(m, base);
    let v0 = ver.load(Ordering::Relaxed);
    ver.store(v0 | 1, Ordering::SeqCst);
    hv.phys.atomic_u64(m, base + 8).store(tsc, Ordering::Relaxed);
    hv.phys.atomic_u64(m, base + 16).store(hv.clock.ns(tsc), Ordering::Relaxed);
    hv.phys.atomic_u32(m, base + 24).store(hv.clock.scale.mul, Ordering::Relaxed);
    // tsc_shift (i8) and flags (u8) at +28, +29; the two padding bytes stay 0.
    let word = (hv.clock.scale.shift as u8 as u32) | ((XEN_PVCLOCK_TSC_STABLE_BIT as u32) << 8);
    hv.phys.atomic_u32(m, base + 28).store(word, Ordering::Relaxed);
    ver.store((v0 | 1).wrapping_add(1), Ordering::SeqCst);
}

/// Byte offsets of the wallclock in `shared_info`.
mod wc {
    pub const VERSION: usize = 3072;
    pub const SEC: usize = 3076;
    pub const NSEC: usize = 3080;
    pub const SEC_HI: usize = 3084;
}

/// Writes the wallclock into a domain's `shared_info`.
pub fn update_wallclock(hv: &Hv, si: Mfn) {
    let ver = hv.phys.atomic_u32(si, wc::VERSION);
    let v0 = ver.load(Ordering::Relaxed);
    ver.store(v0 | 1, Ordering::SeqCst);
    hv.phys.atomic_u32(si, wc::SEC).store(hv.clock.wc_sec as u32, Ordering::Relaxed);
    hv.phys.atomic_u32(si, wc::NSEC).store(hv.clock.wc_nsec, Ordering::Relaxed);
    hv.phys.atomic_u32(si, wc::SEC_HI).store((hv.clock.wc_sec >> 32) as u32, Ordering::Relaxed);
    ver.store((v0 | 1).wrapping_add(1), Ordering::SeqCst);
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Seconds since the epoch for an RTC reading.
pub fn unix_time(year: i64, month: u32, day: u32, h: u32, min: u32, s: u32) -> u64 {
    let days = days_from_civil(year, month, day);
    (days * 86400 + h as i64 * 3600 + min as i64 * 60 + s as i64).max(0) as u64
}

// ---- per-vCPU timers ----------------------------------------------------------

/// A vCPU's timers (Xen's `singleshot_timer`, `periodic_timer`, and the
/// `SCHEDOP_poll` timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuTimers {
    /// Absolute deadline of the one-shot timer (`set_timer_op`,
    /// `VCPUOP_set_singleshot_timer`).
    pub singleshot: Option<u64>,
    /// Period of the periodic timer (0: stopped). Xen starts every vCPU
    /// with a 10 ms period; Linux stops it.
    pub period: u64,
    /// Next periodic expiry.
    pub periodic_next: u64,
    /// `SCHEDOP_poll` timeout.
    pub poll_timeout: Option<u64>,
}

impl Default for VcpuTimers {
    fn default() -> Self {
        VcpuTimers { singleshot: None, period: 10 * MILLISECOND, periodic_next: 10 * MILLISECOND, poll_timeout: None }
    }
}

impl VcpuTimers {
    /// The earliest deadline of timers that have an effect (the periodic
    /// timer only matters while `VIRQ_TIMER` is bound).
    pub fn next_deadline(&self, virq_bound: bool) -> Option<u64> {
        let p = (virq_bound && self.period != 0).then_some(self.periodic_next);
        [self.singleshot, p, self.poll_timeout].into_iter().flatten().min()
    }

    /// Fires what expired by `now`: returns (timer event due, poll timed
    /// out). The periodic timer re-arms on its grid, skipping missed ticks.
    pub fn expire(&mut self, now: u64, virq_bound: bool) -> (bool, bool) {
        let mut tick = false;
        if self.singleshot.is_some_and(|t| t <= now) {
            self.singleshot = None;
            tick = true;
        }
        if self.period != 0 && self.periodic_next <= now {
            let missed = (now - self.periodic_next) / self.period + 1;
            self.periodic_next += missed * self.period;
            tick |= virq_bound;
        }
        let poll = self.poll_timeout.is_some_and(|t| t <= now);
        if poll {
            self.poll_timeout = None;
        }
        (tick, poll)
    }
}

/// Fires every vCPU timer that expired by `now`: `VIRQ_TIMER` for the
/// timers, a wake-up for timed-out polls.
pub fn run_timers(hv: &mut Hv, now: u64) {
    let mut fired: alloc::vec::Vec<(DomId, u32, bool, bool)> = alloc::vec::Vec::new();
    for d in hv.domains.iter_mut() {
        let id = d.id;
        for vc in d.vcpus.iter_mut() {
            let bound = vc.virq_ports[pv_abi::abi::xen::VIRQ_TIMER as usize] != 0;
            if vc.timers.next_deadline(bound).is_some_and(|t| t <= now) {
                let (tick, poll) = vc.timers.expire(now, bound);
                fired.push((id, vc.id, tick, poll));
            }
        }
    }
    for (d, v, tick, poll) in fired {
        if tick {
            hv.sched.stats[1] += 1;
            crate::common::event::send_virq(hv, d, v, pv_abi::abi::xen::VIRQ_TIMER);
        }
        if poll {
            crate::common::event::kick(hv, d, v);
        }
    }
}

/// The earliest timer deadline of any vCPU that can run.
pub fn next_timer(hv: &Hv) -> Option<u64> {
    use crate::common::domain::{DomainState, VcpuState};
    // A domain that shut down, or a vCPU that is down, waits for nothing.
    hv.domains
        .iter()
        .filter(|d| matches!(d.state, DomainState::Running | DomainState::Paused))
        .flat_map(|d| d.vcpus.iter())
        .filter(|vc| vc.state != VcpuState::Down)
        .filter_map(|vc| vc.timers.next_deadline(vc.virq_ports[pv_abi::abi::xen::VIRQ_TIMER as usize] != 0))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_matches_xen_for_common_rates() {
        // 1 GHz: normalised to 2 GHz with shift 1 -> mul 2^31.
        assert_eq!(Scale::for_hz(1_000_000_000), Scale { mul: 1 << 31, shift: 1 });
        // 2.5 GHz -> 1.25 GHz, shift -1, mul = 0.8 * 2^32.
        let s = Scale::for_hz(2_500_000_000);
        assert_eq!(s.shift, -1);
        assert_eq!(s.mul, ((SECOND as u128) << 32).div_euclid(1_250_000_000) as u32);
        for hz in [1_000_000u64, 3_000_000_000, 1_193_182, 999_999_999, 4_000_000_001, 123_456_789_000] {
            let s = Scale::for_hz(hz);
            // One second of ticks is one second, within the fixed-point error
            // (a few ns).
            let ns = s.apply(hz);
            assert!(ns.abs_diff(SECOND) <= 4, "hz {hz}: {ns} ns");
            // And ten minutes.
            let ns = s.apply(hz * 600);
            assert!(ns.abs_diff(600 * SECOND) <= 600 * 4, "hz {hz}: {ns} ns");
        }
    }

    #[test]
    fn scaling_is_monotonic_and_has_no_overflow_at_large_deltas() {
        let s = Scale::for_hz(3_000_000_000);
        let mut last = 0;
        for d in (0..100_000u64).map(|i| i * 7919) {
            let ns = s.apply(d);
            assert!(ns >= last);
            last = ns;
        }
        // A year of 3 GHz ticks.
        let year = 3_000_000_000u64 * 86400 * 365;
        assert!(s.apply(year).abs_diff(86400 * 365 * SECOND) < 86400 * 365 * 4);
    }

    #[test]
    fn pvclock_reader_agrees_with_the_clock() {
        // What Linux computes from a snapshot taken at tsc_timestamp.
        let c = Clock::new(2_100_000_000, 5_000, 0);
        let stamp_tsc = 9_876_543_210u64;
        let system_time = c.ns(stamp_tsc);
        for later in [stamp_tsc, stamp_tsc + 1, stamp_tsc + 2_100_000_000, stamp_tsc + 77_777_777_777] {
            let guest = system_time + c.scale.apply(later - stamp_tsc);
            assert!(guest.abs_diff(c.ns(later)) <= 1, "at {later}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(unix_time(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix_time(2024, 1, 1, 0, 0, 0), 1_704_067_200);
        assert_eq!(unix_time(2000, 2, 29, 12, 30, 15), 951_827_415);
        assert_eq!(unix_time(2026, 11, 26, 9, 0, 0), 1_795_683_600);
    }

    #[test]
    fn timers_fire_and_rearm() {
        let mut t = VcpuTimers { period: 0, periodic_next: 0, ..Default::default() };
        assert_eq!(t.next_deadline(true), None);
        t.singleshot = Some(100);
        assert_eq!(t.next_deadline(false), Some(100));
        assert_eq!(t.expire(99, true), (false, false));
        assert_eq!(t.expire(100, true), (true, false));
        assert_eq!(t.singleshot, None);
        // Periodic: fires only when bound, re-arms on its grid.
        t.period = 10;
        t.periodic_next = 10;
        assert_eq!(t.next_deadline(false), None);
        assert_eq!(t.next_deadline(true), Some(10));
        assert_eq!(t.expire(35, true), (true, false));
        assert_eq!(t.periodic_next, 40);
        assert_eq!(t.expire(45, false), (false, false), "unbound: no event");
        assert_eq!(t.periodic_next, 50);
        t.poll_timeout = Some(47);
        assert_eq!(t.next_deadline(false), Some(47));
        assert_eq!(t.expire(47, false), (false, true));
    }
}
