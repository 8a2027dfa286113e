//! Arch-neutral core: the hypervisor's state, domains, the frame table,
//! hypercall dispatch and the handlers that do not depend on x86 details.
//! Everything here is reachable by host `cargo test`.

pub mod cmdline;
pub mod console;
pub mod dom0;
pub mod domain;
pub mod domctl;
pub mod event;
pub mod frame;
pub mod grant;
pub mod guest_mem;
pub mod hypercall;
pub mod m2p;
pub mod memory;
pub mod phys;
pub mod sched;
pub mod time;
pub mod vcpu;

use domain::{Domain, Domains};
use frame::FrameTable;
use m2p::M2p;
use phys::PhysMem;
use pv_abi::{DomId, Mfn};

/// How the machine should end (dom0 shut down, or the hypervisor failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineExit {
    /// dom0 powered off.
    Poweroff,
    /// dom0 asked for a reboot.
    Reboot,
    /// dom0 crashed.
    Crash,
}

/// The CPU's side effects, as the logic asks for them. The bare-metal
/// implementation executes instructions (`arch::x86_64::hw`); host tests
/// record the calls.
pub trait Hw: Sync {
    /// Flushes every non-global TLB entry.
    fn flush_tlb(&self);
    /// Flushes one translation.
    fn invlpg(&self, va: u64);
    /// Loads a top-level page table.
    fn load_cr3(&self, l4: Mfn);
    /// The last page-fault address.
    fn cr2(&self) -> u64;
    /// FS base (the guest's, live in the CPU).
    fn fs_base(&self) -> u64;
    /// Sets the FS base.
    fn set_fs_base(&self, v: u64);
    /// Active GS base.
    fn gs_base(&self) -> u64;
    /// Sets the active GS base.
    fn set_gs_base(&self, v: u64);
    /// Inactive (shadow) GS base.
    fn gs_shadow(&self) -> u64;
    /// Sets the inactive GS base.
    fn set_gs_shadow(&self, v: u64);
    /// Swaps active and inactive GS bases.
    fn swapgs(&self);
    /// Loads a selector into GS for the inactive (user) side; `false` if
    /// the selector faulted (then a null selector is loaded).
    fn load_user_gs_selector(&self, sel: u16) -> bool;
    /// Sets or clears CR0.TS while the guest runs.
    fn set_guest_ts(&self, on: bool);
    /// Loads DR0..DR3, DR6, DR7.
    fn load_debugregs(&self, dr: &[u64; 8]);
    /// Reads DR6.
    fn dr6(&self) -> u64;
    /// Executes CPUID.
    fn cpuid(&self, leaf: u32, sub: u32) -> [u32; 4];
    /// Reads an MSR if it exists.
    fn rdmsr_safe(&self, msr: u32) -> Option<u64>;
    /// Reads an I/O port (`size` 1, 2 or 4 bytes).
    fn port_in(&self, port: u16, size: u8) -> u32;
    /// Writes an I/O port.
    fn port_out(&self, port: u16, size: u8, v: u32);
    /// The time-stamp counter.
    fn rdtsc(&self) -> u64;
    /// Loads LDTR (0: no LDT).
    fn load_ldt(&self, sel: u16);
}

/// The whole hypervisor state. One instance, owned by the arch layer and
/// lent to handlers; host tests build their own.
pub struct Hv {
    /// Machine memory by frame number.
    pub phys: PhysMem,
    /// Frame ownership and types.
    pub frames: FrameTable,
    /// The machine-to-phys table.
    pub m2p: M2p,
    /// All domains.
    pub domains: Domains,
    /// The vCPU on the CPU: (domain, vcpu index).
    pub current: Option<(DomId, u32)>,
    /// Set when the machine must stop.
    pub exit: Option<MachineExit>,
    /// The hypervisor command line (for `XENVER_commandline`).
    pub cmdline: alloc::string::String,
    /// The CPU.
    pub hw: &'static dyn Hw,
    /// Arch-specific machine state (idle page table, per-CPU tables).
    pub arch: crate::arch::ArchHv,
    /// The clock (TSC scale, wallclock).
    pub clock: time::Clock,
    /// The scheduler.
    pub sched: sched::Sched,
}

impl Hv {
    /// The current domain.
    pub fn current_domain(&mut self) -> Option<&mut Domain> {
        let (d, _) = self.current?;
        self.domains.get_mut(d)
    }
}

#[cfg(test)]
pub mod testutil {
    //! A small machine for host tests.
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;
    use core::cell::RefCell;
    use frame::PageInfo;
    use std::vec::Vec;

    extern crate std;

    /// Records what the logic asked the CPU to do.
    #[derive(Default)]
    pub struct TestHw {
        /// Calls in order, as text.
        pub log: std::sync::Mutex<Vec<std::string::String>>,
        /// Emulated segment bases: fs, gs, shadow.
        pub bases: std::sync::Mutex<[u64; 3]>,
        /// Bytes last written to a port.
        pub ports: std::sync::Mutex<Vec<(u16, u32)>>,
    }
    thread_local! {
        /// Per-test CR2 value.
        pub static CR2: RefCell<u64> = const { RefCell::new(0) };
    }
    impl TestHw {
        fn rec(&self, s: std::string::String) {
            self.log.lock().unwrap().push(s);
        }
        /// Whether `what` was recorded.
        pub fn saw(&self, what: &str) -> bool {
            self.log.lock().unwrap().iter().any(|s| s == what)
        }
    }
    impl Hw for TestHw {
        fn flush_tlb(&self) {
            self.rec("flush".into());
        }
        fn invlpg(&self, va: u64) {
            self.rec(std::format!("invlpg {va:#x}"));
        }
        fn load_cr3(&self, l4: Mfn) {
            self.rec(std::format!("cr3 {:#x}", l4.0));
        }
        fn cr2(&self) -> u64 {
            CR2.with(|c| *c.borrow())
        }
        fn fs_base(&self) -> u64 {
            self.bases.lock().unwrap()[0]
        }
        fn set_fs_base(&self, v: u64) {
            self.bases.lock().unwrap()[0] = v;
        }
        fn gs_base(&self) -> u64 {
            self.bases.lock().unwrap()[1]
        }
        fn set_gs_base(&self, v: u64) {
            self.bases.lock().unwrap()[1] = v;
        }
        fn gs_shadow(&self) -> u64 {
            self.bases.lock().unwrap()[2]
        }
        fn set_gs_shadow(&self, v: u64) {
            self.bases.lock().unwrap()[2] = v;
        }
        fn swapgs(&self) {
            let mut b = self.bases.lock().unwrap();
            b.swap(1, 2);
        }
        fn load_user_gs_selector(&self, sel: u16) -> bool {
            self.rec(std::format!("gs sel {sel:#x}"));
            true
        }
        fn set_guest_ts(&self, on: bool) {
            self.rec(std::format!("ts {on}"));
        }
        fn load_debugregs(&self, dr: &[u64; 8]) {
            self.rec(std::format!("dr7 {:#x}", dr[7]));
        }
        fn dr6(&self) -> u64 {
            0xffff_0ff0
        }
        fn cpuid(&self, leaf: u32, _sub: u32) -> [u32; 4] {
            match leaf {
                0 => [0xd, 0x756e_6547, 0x6c65_746e, 0x4965_6e69],
                1 => [0x306c3, 0, u32::MAX, u32::MAX],
                _ => [0; 4],
            }
        }
        fn rdmsr_safe(&self, msr: u32) -> Option<u64> {
            (msr == 0x277).then_some(0x0007_0406_0007_0406)
        }
        fn port_in(&self, port: u16, _size: u8) -> u32 {
            port as u32
        }
        fn port_out(&self, port: u16, _size: u8, v: u32) {
            self.ports.lock().unwrap().push((port, v));
        }
        fn rdtsc(&self) -> u64 {
            12345
        }
        fn load_ldt(&self, sel: u16) {
            self.rec(std::format!("lldt {sel:#x}"));
        }
    }

    /// A machine of `n` frames, all free, no domains.
    pub fn hv(n: u64) -> Hv {
        hv_hw(n).0
    }

    /// As [`hv`], also returning the recording CPU.
    pub fn hv_hw(n: u64) -> (Hv, &'static TestHw) {
        let hw: &'static TestHw = std::boxed::Box::leak(std::boxed::Box::new(TestHw::default()));
        let pages = Box::leak(vec![PageInfo::RESERVED; n as usize].into_boxed_slice());
        let mut frames = FrameTable::new(pages);
        for m in (0..n).rev() {
            frames.release_reserved(Mfn(m)).unwrap();
        }
        let hv = Hv {
            phys: phys::test_phys(n),
            frames,
            m2p: M2p::new(Box::leak(vec![0u64; n as usize].into_boxed_slice())),
            domains: Domains::default(),
            current: None,
            exit: None,
            cmdline: "loglvl=all".into(),
            hw,
            arch: crate::arch::ArchHv::default(),
            clock: time::Clock::default(),
            sched: sched::Sched::default(),
        };
        (hv, hw)
    }
}
