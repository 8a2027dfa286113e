//! The scheduler: fair share by weight, with caps, in the spirit of Xen's
//! credit scheduler (`common/sched/credit.c`), for one physical CPU.
//!
//! - Every vCPU has a credit (nanoseconds it may still run this period)
//!   and a priority: `Boost` (just woken from blocking while under its
//!   share: runs promptly, for I/O latency), `Under` (credit left) or
//!   `Over` (credit exhausted).
//! - Running costs credit, nanosecond for nanosecond. Every [`PERIOD`]
//!   the period's time is shared out again among the domains that want to
//!   run, in proportion to their weights, and split among their vCPUs.
//! - A domain with a cap (percent of one CPU) that used its cap in the
//!   current period is parked until the next one.
//! - The choice: the highest priority wins; among equals, the vCPU that
//!   has waited longest (round robin). The running vCPU keeps the CPU
//!   until its time slice ends, it blocks or yields, or a vCPU of higher
//!   priority wakes.
//!
//! The arch layer calls [`schedule`] when [`Sched::need_resched`] is set
//! or the current vCPU cannot run, and arms the hardware timer for
//! [`next_deadline`].

use crate::common::domain::{DomainState, VcpuState};
use crate::common::time::MILLISECOND;
use crate::common::Hv;
use pv_abi::DomId;

/// Time slice.
pub const TSLICE: u64 = 30 * MILLISECOND;
/// Accounting period.
pub const PERIOD: u64 = 30 * MILLISECOND;
/// Default domain weight (Xen's default).
pub const DEFAULT_WEIGHT: u32 = 256;
/// Largest weight (Xen's limit).
pub const MAX_WEIGHT: u32 = 65535;

/// Scheduling priority.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prio {
    /// Used its share.
    Over,
    /// Has credit.
    #[default]
    Under,
    /// Woke from blocking with credit.
    Boost,
}

/// Per-vCPU scheduler state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuSched {
    /// Nanoseconds it may still run (may go negative).
    pub credit: i64,
    /// Priority.
    pub prio: Prio,
    /// When it last got the CPU (sequence number; lower waited longer).
    pub stamp: u64,
    /// Total time run, ns.
    pub runtime: u64,
}

/// Per-domain scheduler parameters and accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomSched {
    /// Relative share (1..=65535).
    pub weight: u32,
    /// Most it may use, percent of one CPU (0: no cap).
    pub cap: u32,
    /// Total CPU time used, ns (`getdomaininfo.cpu_time`).
    pub cpu_time: u64,
    /// CPU time used in the current period.
    pub period_used: u64,
}

impl Default for DomSched {
    fn default() -> Self {
        DomSched { weight: DEFAULT_WEIGHT, cap: 0, cpu_time: 0, period_used: 0 }
    }
}

impl DomSched {
    /// Whether the cap is used up for this period.
    pub fn parked(&self) -> bool {
        self.cap != 0 && self.period_used >= PERIOD * self.cap as u64 / 100
    }
}

/// The scheduler's own state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sched {
    /// Start of the current accounting period.
    pub period_start: u64,
    /// When the current vCPU's slice ends.
    pub slice_end: u64,
    /// Since when the current vCPU has been charged.
    pub ran_since: u64,
    /// Sequence for [`VcpuSched::stamp`].
    pub seq: u64,
    /// Something changed: decide again before returning to a guest.
    pub need_resched: bool,
    /// A timer changed: compute the next deadline and arm the hardware
    /// timer before returning to a guest.
    pub rearm: bool,
    /// Time spent idle, ns.
    pub idle_time: u64,
    /// Counters for the exit report: timer interrupts, timer events sent,
    /// event upcalls delivered, context switches.
    pub stats: [u64; 4],
}

/// Whether vCPU `v` of `d` may be given the CPU.
pub fn eligible(hv: &Hv, d: DomId, v: u32) -> bool {
    hv.domains.get(d).is_some_and(|dom| {
        dom.state == DomainState::Running
            && !dom.sched.parked()
            && dom.vcpus.get(v as usize).is_some_and(|vc| vc.state == VcpuState::Runnable)
    })
}

/// Charges the current vCPU for the time since it was last charged, and
/// starts a new accounting period if one is due.
pub fn account(hv: &mut Hv, now: u64) {
    let ran = now.saturating_sub(hv.sched.ran_since);
    hv.sched.ran_since = now;
    if let Some((d, v)) = hv.current {
        if let Some(dom) = hv.domains.get_mut(d) {
            dom.sched.cpu_time += ran;
            dom.sched.period_used += ran;
            if let Some(vc) = dom.vcpus.get_mut(v as usize) {
                vc.sched.runtime += ran;
                vc.sched.credit -= ran as i64;
                if ran > 0 || vc.sched.credit <= 0 {
                    vc.sched.prio = if vc.sched.credit > 0 { Prio::Under } else { Prio::Over };
                }
            }
        }
    } else {
        hv.sched.idle_time += ran;
    }
    if now >= hv.sched.period_start + PERIOD {
        refill(hv, now);
    }
}

/// Shares a new period's credit among the domains that want to run, by
/// weight (Xen's `csched_acct`).
pub fn refill(hv: &mut Hv, now: u64) {
    hv.sched.period_start = now;
    let active = |dom: &crate::common::domain::Domain| {
        dom.state == DomainState::Running
            && dom.vcpus.iter().any(|vc| matches!(vc.state, VcpuState::Runnable | VcpuState::Blocked))
    };
    let total: u64 = hv.domains.iter().filter(|d| active(d)).map(|d| d.sched.weight as u64).sum();
    for dom in hv.domains.iter_mut() {
        dom.sched.period_used = 0;
        if !active(dom) || total == 0 {
            continue;
        }
        let mut share = PERIOD * dom.sched.weight as u64 / total;
        if dom.sched.cap != 0 {
            share = share.min(PERIOD * dom.sched.cap as u64 / 100);
        }
        let n = dom.vcpus.iter().filter(|vc| vc.state != VcpuState::Down).count().max(1) as u64;
        for vc in dom.vcpus.iter_mut() {
            let c = (vc.sched.credit + (share / n) as i64).clamp(-(PERIOD as i64), PERIOD as i64);
            vc.sched.credit = c;
            if vc.sched.prio != Prio::Boost {
                vc.sched.prio = if c > 0 { Prio::Under } else { Prio::Over };
            }
        }
    }
}

/// A vCPU became runnable after blocking: boost it if it has credit, and
/// ask for a decision if it should preempt the current one.
pub fn woke(hv: &mut Hv, d: DomId, v: u32) {
    let cur_prio = hv
        .current
        .and_then(|(cd, cv)| hv.domains.get(cd).and_then(|dom| dom.vcpus.get(cv as usize)))
        .map(|vc| vc.sched.prio);
    let Some(vc) = hv.domains.get_mut(d).and_then(|dom| dom.vcpus.get_mut(v as usize)) else { return };
    if vc.sched.prio == Prio::Under {
        vc.sched.prio = Prio::Boost;
    }
    if cur_prio.is_none_or(|p| vc.sched.prio > p) || hv.current.is_none() {
        hv.sched.need_resched = true;
    }
}

/// Picks what runs next at `now` (after charging the current vCPU).
/// Returns `None` when nothing can run (idle).
pub fn schedule(hv: &mut Hv, now: u64) -> Option<(DomId, u32)> {
    account(hv, now);
    hv.sched.need_resched = false;
    let mut best: Option<((DomId, u32), Prio, u64)> = None;
    for dom in hv.domains.iter() {
        if dom.state != DomainState::Running || dom.sched.parked() {
            continue;
        }
        for vc in dom.vcpus.iter().filter(|vc| vc.state == VcpuState::Runnable) {
            let key = (vc.sched.prio, core::cmp::Reverse(vc.sched.stamp));
            if best.is_none_or(|(_, p, s)| key > (p, core::cmp::Reverse(s))) {
                best = Some(((dom.id, vc.id), vc.sched.prio, vc.sched.stamp));
            }
        }
    }
    let (cand, cand_prio, _) = best?;
    if let Some(cur) = hv.current {
        if eligible(hv, cur.0, cur.1) && now < hv.sched.slice_end {
            let cur_prio = hv.domains.get(cur.0).map(|d| d.vcpus[cur.1 as usize].sched.prio).unwrap_or_default();
            if cand_prio <= cur_prio {
                return Some(cur);
            }
        }
    }
    if Some(cand) != hv.current || now >= hv.sched.slice_end {
        hv.sched.seq += 1;
        let seq = hv.sched.seq;
        if let Some(vc) = hv.domains.get_mut(cand.0).map(|d| &mut d.vcpus[cand.1 as usize]) {
            vc.sched.stamp = seq;
        }
        hv.sched.slice_end = now + TSLICE;
    }
    Some(cand)
}

/// When the hardware timer must next fire: the earliest vCPU timer, the
/// end of the slice if another vCPU is waiting, and the end of the period
/// if a capped domain is parked or credits need sharing.
pub fn next_deadline(hv: &Hv) -> Option<u64> {
    let mut d = crate::common::time::next_timer(hv);
    let mut others = 0;
    let mut parked = false;
    for dom in hv.domains.iter().filter(|dom| dom.state == DomainState::Running) {
        parked |= dom.sched.parked();
        others += dom.vcpus.iter().filter(|vc| vc.state == VcpuState::Runnable).count();
    }
    let mut consider = |t: u64| d = Some(d.map_or(t, |x: u64| x.min(t)));
    if hv.current.is_some() && others > 1 {
        consider(hv.sched.slice_end);
    }
    if parked || others > 1 {
        consider(hv.sched.period_start + PERIOD);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::domain::Domain;
    use crate::common::frame::Owner;
    use crate::common::testutil;

    fn world(doms: &[(u16, u32, u32)]) -> Hv {
        let mut hv = testutil::hv(64);
        for &(id, weight, cap) in doms {
            let si = hv.frames.alloc(Owner::Domain(DomId(id))).unwrap();
            let mut d = Domain::new(DomId(id), id == 0, 1, si);
            d.state = DomainState::Running;
            d.sched.weight = weight;
            d.sched.cap = cap;
            d.vcpus[0].state = VcpuState::Runnable;
            hv.domains.insert(d);
        }
        hv
    }

    /// Runs the scheduler for `total` ns in steps of `tick`, as timer
    /// interrupts would, and returns each domain's CPU time.
    fn simulate(hv: &mut Hv, total: u64, tick: u64) -> std::vec::Vec<(u16, u64)> {
        let mut now = 0;
        while now < total {
            now += tick;
            let next = schedule(hv, now);
            hv.current = next;
        }
        hv.domains.iter().map(|d| (d.id.0, d.sched.cpu_time)).collect()
    }

    extern crate std;

    #[test]
    fn equal_weights_share_equally() {
        let mut hv = world(&[(1, 256, 0), (2, 256, 0), (3, 256, 0)]);
        let t = simulate(&mut hv, 3_000 * MILLISECOND, MILLISECOND);
        for (d, ns) in &t {
            let share = *ns as f64 / (3_000 * MILLISECOND) as f64;
            assert!((share - 1.0 / 3.0).abs() < 0.02, "dom {d}: {share}");
        }
    }

    #[test]
    fn weights_are_respected() {
        let mut hv = world(&[(1, 512, 0), (2, 256, 0)]);
        let t = simulate(&mut hv, 6_000 * MILLISECOND, MILLISECOND);
        let (a, b) = (t[0].1 as f64, t[1].1 as f64);
        assert!((a / (a + b) - 2.0 / 3.0).abs() < 0.03, "{a} vs {b}");
    }

    #[test]
    fn a_cap_limits_a_domain_even_when_the_cpu_is_otherwise_idle() {
        let mut hv = world(&[(1, 256, 25)]);
        let t = simulate(&mut hv, 3_000 * MILLISECOND, MILLISECOND);
        let share = t[0].1 as f64 / (3_000 * MILLISECOND) as f64;
        assert!((share - 0.25).abs() < 0.04, "{share}");
        assert!(hv.sched.idle_time > 2_000 * MILLISECOND);
    }

    #[test]
    fn a_woken_vcpu_preempts_and_blocked_ones_do_not_run() {
        let mut hv = world(&[(1, 256, 0), (2, 256, 0)]);
        refill(&mut hv, 0);
        hv.current = schedule(&mut hv, 1);
        let first = hv.current.unwrap();
        let other = if first.0 == DomId(1) { DomId(2) } else { DomId(1) };
        // Within the slice the current vCPU keeps the CPU.
        assert_eq!(schedule(&mut hv, 2 * MILLISECOND), Some(first));
        // The other blocks, then wakes: boosted, it preempts.
        hv.domains.get_mut(other).unwrap().vcpus[0].state = VcpuState::Blocked;
        assert_eq!(schedule(&mut hv, 3 * MILLISECOND), Some(first));
        hv.domains.get_mut(other).unwrap().vcpus[0].state = VcpuState::Runnable;
        woke(&mut hv, other, 0);
        assert!(hv.sched.need_resched);
        assert_eq!(schedule(&mut hv, 4 * MILLISECOND), Some((other, 0)));
        hv.current = Some((other, 0));
        // Nothing runnable: idle.
        for d in [DomId(1), DomId(2)] {
            hv.domains.get_mut(d).unwrap().vcpus[0].state = VcpuState::Blocked;
        }
        assert_eq!(schedule(&mut hv, 5 * MILLISECOND), None);
    }

    #[test]
    fn slice_end_rotates_equal_vcpus() {
        let mut hv = world(&[(1, 256, 0), (2, 256, 0)]);
        hv.current = schedule(&mut hv, 0);
        let a = hv.current.unwrap();
        hv.current = schedule(&mut hv, TSLICE + 1);
        assert_ne!(hv.current, Some(a), "slice over: the other vCPU runs");
        assert_eq!(next_deadline(&hv), Some(hv.sched.slice_end.min(hv.sched.period_start + PERIOD)));
    }
}
