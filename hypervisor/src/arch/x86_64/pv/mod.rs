//! x86_64 PV guests: per-vCPU CPU state, the x86 hypercalls, exception
//! delivery ("bouncing") to the guest kernel, privileged-instruction and
//! page-table-write emulation.
//!
//! - [`bounce`]: building Xen's bounce frame on the guest kernel stack;
//! - [`cpu`]: `set_trap_table`, callbacks, `stack_switch`,
//!   `set_segment_base`, `iret`, `fpu_taskswitch`, debug registers,
//!   `vm_assist`, `physdev_op` (iopl);
//! - [`mmu`]: `mmu_update`, `mmuext_op`, `update_va_mapping`, `memory_op`
//!   queries;
//! - [`descriptors`]: `set_gdt`, `update_descriptor`, descriptor checks;
//! - [`traps`]: what a guest exception turns into;
//! - [`emulate`]: `#GP`/`#UD`/`#PF` emulation (port I/O, MSRs, CRs, CPUID,
//!   writable page tables).

pub mod bounce;
pub mod cpu;
pub mod descriptors;
pub mod domain;
pub mod emulate;
pub mod grant;
pub mod mmu;
pub mod traps;

use crate::common::guest_mem::GuestMem;
use crate::common::hypercall::{Handler, NR_HYPERCALLS};
use alloc::boxed::Box;
use pv_abi::abi::arch_x86::TrapInfo;
use pv_abi::abi::xen::hypercall::{self as nr, iret, NR_SLOTS, STUB_SIZE};
use pv_abi::Mfn;

/// Arch-specific machine state.
#[derive(Default)]
pub struct ArchHv {
    /// The hypervisor's own L4: its slots 256..=271 go into every guest L4.
    pub idle_l4: Mfn,
    /// The L1 that maps the per-CPU GDT and LDT area.
    pub percpu_l1: Mfn,
    /// A zeroed frame mapped read-only where a vCPU has no GDT frame.
    pub zero_page: Mfn,
    /// The hypervisor's GDT page (selectors 0xe000..): holds the LDT descriptor.
    pub gdt_hv_page: Mfn,
    /// First frame of the (physically contiguous) M2P table.
    pub m2p_start: Mfn,
    /// Frames of the M2P table.
    pub m2p_frames: u64,
    /// The machine's memory map (`XENMEM_machine_memory_map`).
    pub e820: alloc::vec::Vec<pv_abi::abi::memory::E820Entry>,
    /// Local APIC timer ticks per second (0: no timer).
    pub apic_hz: u64,
    /// When the hardware timer is armed to fire (system time; 0: not armed).
    pub timer_armed: u64,
}

/// A registered guest callback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Callback {
    /// Entry point (0: none).
    pub address: u64,
    /// Mask events on entry (`CALLBACKF_mask_events`).
    pub mask_events: bool,
}

/// Arch part of a vCPU: what Xen keeps in `struct pv_vcpu`.
pub struct ArchVcpu {
    /// In guest kernel mode (else guest user mode).
    pub kernel_mode: bool,
    /// Kernel top-level table (`MMUEXT_NEW_BASEPTR`); holds an L4 reference.
    pub cr3_kernel: Mfn,
    /// User top-level table (`MMUEXT_NEW_USER_BASEPTR`; 0 = none).
    pub cr3_user: Mfn,
    /// The virtual IDT (`set_trap_table`).
    pub trap_ctxt: Box<[TrapInfo; 256]>,
    /// `CALLBACKTYPE_event`.
    pub event_callback: Callback,
    /// `CALLBACKTYPE_failsafe`.
    pub failsafe_callback: Callback,
    /// `CALLBACKTYPE_syscall` (64-bit user `syscall`).
    pub syscall_callback: Callback,
    /// `CALLBACKTYPE_syscall32` (stored; 32-bit user code is not run).
    pub syscall32_callback: Callback,
    /// `CALLBACKTYPE_sysenter` (stored).
    pub sysenter_callback: Callback,
    /// `CALLBACKTYPE_nmi`.
    pub nmi_callback: Callback,
    /// Kernel stack segment (`stack_switch`).
    pub kernel_ss: u16,
    /// Kernel stack pointer for user→kernel bounces (`stack_switch`).
    pub kernel_sp: u64,
    /// FS base while the vCPU is off the CPU.
    pub fs_base: u64,
    /// Kernel GS base while the vCPU is off the CPU.
    pub gs_base_kernel: u64,
    /// User GS base while the vCPU is off the CPU.
    pub gs_base_user: u64,
    /// GDT frames (`set_gdt`), each typed `SegDesc`.
    pub gdt_frames: [Mfn; 14],
    /// Number of GDT frames in use.
    pub gdt_nr_frames: usize,
    /// GDT entries (`set_gdt`).
    pub gdt_ents: u32,
    /// LDT linear address (`MMUEXT_SET_LDT`).
    pub ldt_base: u64,
    /// LDT entries.
    pub ldt_ents: u32,
    /// LDT frames (typed `SegDesc` while the LDT is set).
    pub ldt_frames: [Mfn; 16],
    /// Virtual debug registers.
    pub debugreg: [u64; 8],
    /// Virtual CR0.TS (`fpu_taskswitch`).
    pub fpu_ts: bool,
    /// Virtual IOPL (`PHYSDEVOP_set_iopl`).
    pub iopl: u8,
    /// Guest-controlled CR4 bits (TSD, DE) as last written.
    pub cr4_guest: u64,
}

impl Default for ArchVcpu {
    fn default() -> Self {
        ArchVcpu {
            kernel_mode: false,
            cr3_kernel: Mfn(0),
            cr3_user: Mfn(0),
            trap_ctxt: Box::new([TrapInfo::default(); 256]),
            event_callback: Callback::default(),
            failsafe_callback: Callback::default(),
            syscall_callback: Callback::default(),
            syscall32_callback: Callback::default(),
            sysenter_callback: Callback::default(),
            nmi_callback: Callback::default(),
            kernel_ss: 0,
            kernel_sp: 0,
            fs_base: 0,
            gs_base_kernel: 0,
            gs_base_user: 0,
            gdt_frames: [Mfn(0); 14],
            gdt_nr_frames: 0,
            gdt_ents: 0,
            ldt_base: 0,
            ldt_ents: 0,
            ldt_frames: [Mfn(0); 16],
            debugreg: [0, 0, 0, 0, 0, 0, 0xffff_0ff0, 0x400],
            fpu_ts: false,
            iopl: 0,
            cr4_guest: 0,
        }
    }
}

impl ArchVcpu {
    /// The top-level table for the current guest mode.
    pub fn cr3(&self) -> Mfn {
        if self.kernel_mode || self.cr3_user.0 == 0 {
            self.cr3_kernel
        } else {
            self.cr3_user
        }
    }
}

pub use crate::common::domain::{set_upcall_mask, upcall_mask, vcpu_info};

/// Adds the x86 hypercalls to the dispatch table.
pub const fn hypercall_table<M: GuestMem>(t: &mut [Option<Handler<M>>; NR_HYPERCALLS]) {
    t[nr::set_trap_table as usize] = Some(cpu::do_set_trap_table::<M>);
    t[nr::mmu_update as usize] = Some(mmu::do_mmu_update::<M>);
    t[nr::set_gdt as usize] = Some(descriptors::do_set_gdt::<M>);
    t[nr::stack_switch as usize] = Some(cpu::do_stack_switch::<M>);
    t[nr::set_callbacks as usize] = Some(cpu::do_set_callbacks::<M>);
    t[nr::fpu_taskswitch as usize] = Some(cpu::do_fpu_taskswitch::<M>);
    t[nr::set_debugreg as usize] = Some(cpu::do_set_debugreg::<M>);
    t[nr::get_debugreg as usize] = Some(cpu::do_get_debugreg::<M>);
    t[nr::update_descriptor as usize] = Some(descriptors::do_update_descriptor::<M>);
    t[nr::memory_op as usize] = Some(mmu::do_memory_op::<M>);
    t[nr::update_va_mapping as usize] = Some(mmu::do_update_va_mapping::<M>);
    t[nr::vm_assist as usize] = Some(cpu::do_vm_assist::<M>);
    t[nr::iret as usize] = Some(cpu::do_iret::<M>);
    t[nr::set_segment_base as usize] = Some(cpu::do_set_segment_base::<M>);
    t[nr::mmuext_op as usize] = Some(mmu::do_mmuext_op::<M>);
    t[nr::callback_op as usize] = Some(cpu::do_callback_op::<M>);
    t[nr::physdev_op as usize] = Some(cpu::do_physdev_op::<M>);
}

/// The hypercall page, as Xen fills it for a 64-bit PV kernel: slot `n`
/// (32 bytes) is `push %rcx; push %r11; mov $n, %eax; syscall; pop %r11;
/// pop %rcx; ret`. Slot `iret` keeps the guest's frame: `push %rcx; push
/// %r11; push %rax; mov $iret, %eax; syscall` (it does not return).
pub fn hypercall_page() -> [u8; 4096] {
    let mut p = [0xccu8; 4096]; // int3 padding
    for i in 0..NR_SLOTS {
        let s = &mut p[i * STUB_SIZE..(i + 1) * STUB_SIZE];
        let n = (i as u32).to_le_bytes();
        if i == iret as usize {
            s[..5].copy_from_slice(&[0x51, 0x41, 0x53, 0x50, 0xb8]);
            s[5..9].copy_from_slice(&n);
            s[9..11].copy_from_slice(&[0x0f, 0x05]);
        } else {
            s[..4].copy_from_slice(&[0x51, 0x41, 0x53, 0xb8]);
            s[4..8].copy_from_slice(&n);
            s[8..14].copy_from_slice(&[0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]);
        }
    }
    p
}

/// A small world for the PV unit tests: one domain with one vCPU in
/// kernel mode, its shared-info page, and a mock guest memory.
#[cfg(test)]
pub mod tests_support {
    use crate::common::domain::{Domain, DomainState, Vcpu, VcpuState};
    use crate::common::guest_mem::MockMem;
    use crate::common::hypercall::{dispatch, Ctx};
    use crate::common::testutil::{self, TestHw};
    use crate::common::Hv;
    use pv_abi::abi::arch_x86::CpuUserRegs;
    use pv_abi::{DomId, Mfn};

    /// The test domain.
    pub const DOM: DomId = DomId(1);
    /// Where the mock guest memory starts.
    pub const BUF: u64 = 0x10_0000;
    /// Frame used as the user L4 by `set_user_table`.
    pub const USER_L4: u64 = 9;

    /// The world.
    pub struct World {
        /// Hypervisor state.
        pub hv: Hv,
        /// The recording CPU.
        pub hw: &'static TestHw,
    }

    /// A world with 8 KiB of guest memory at `BUF`.
    pub fn world() -> (World, MockMem) {
        world_mem(8192)
    }

    /// A world with `len` bytes of guest memory at `BUF`.
    pub fn world_mem(len: usize) -> (World, MockMem) {
        let (mut hv, hw) = testutil::hv_hw(64);
        let si = hv.frames.alloc(crate::common::frame::Owner::Domain(DOM)).unwrap();
        let mut d = Domain::new(DOM, false, 1, si);
        d.state = DomainState::Running;
        let v: &mut Vcpu = &mut d.vcpus[0];
        v.state = VcpuState::Runnable;
        v.arch.kernel_mode = true;
        v.arch.cr3_kernel = Mfn(8);
        v.vcpu_info = (si, 0);
        hv.domains.insert(d);
        hv.current = Some((DOM, 0));
        (World { hv, hw }, MockMem::new(BUF, len))
    }

    impl World {
        /// Calls hypercall `nr`, letting `f` adjust the registers first;
        /// returns the registers afterwards.
        pub fn call_with(
            &mut self,
            mem: &mut MockMem,
            nr: u32,
            a: [u64; 5],
            f: impl FnOnce(&mut CpuUserRegs),
        ) -> CpuUserRegs {
            let mut regs = CpuUserRegs {
                rax: nr as u64,
                rdi: a[0],
                rsi: a[1],
                rdx: a[2],
                r10: a[3],
                r8: a[4],
                rip: 0x1000,
                cs: 0xe033,
                ss: 0xe02b,
                rflags: 0x202,
                ..Default::default()
            };
            f(&mut regs);
            let mut ctx = Ctx { hv: &mut self.hv, mem, regs: &mut regs, dom: DOM, vcpu: 0, preemptible: true };
            dispatch(&mut ctx);
            regs
        }
        /// Calls hypercall `nr`; returns the registers.
        pub fn call_regs(&mut self, mem: &mut MockMem, nr: u32, a: [u64; 5]) -> CpuUserRegs {
            self.call_with(mem, nr, a, |_| {})
        }
        /// Calls hypercall `nr`; returns `rax`.
        pub fn call(&mut self, mem: &mut MockMem, nr: u32, a: [u64; 5]) -> i64 {
            self.call_regs(mem, nr, a).rax as i64
        }
        /// The vCPU.
        pub fn vcpu(&self) -> &Vcpu {
            &self.hv.domains.get(DOM).unwrap().vcpus[0]
        }
        /// The vCPU, mutably.
        pub fn vcpu_mut(&mut self) -> &mut Vcpu {
            &mut self.hv.domains.get_mut(DOM).unwrap().vcpus[0]
        }
        /// Gives the vCPU a user page table.
        pub fn set_user_table(&mut self) {
            self.vcpu_mut().arch.cr3_user = Mfn(USER_L4);
        }
        /// The upcall mask.
        pub fn mask(&self) -> u8 {
            super::upcall_mask(&self.hv, DOM, 0)
        }
        /// Whether the domain crashed.
        pub fn crashed(&self) -> bool {
            self.hv.domains.get(DOM).unwrap().state
                == crate::common::domain::DomainState::Shutdown(pv_abi::abi::sched::SHUTDOWN_crash)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypercall_page_matches_xen() {
        let p = hypercall_page();
        // xen_version (17): 51 41 53 b8 11 00 00 00 0f 05 41 5b 59 c3
        assert_eq!(
            &p[17 * 32..17 * 32 + 14],
            &[0x51, 0x41, 0x53, 0xb8, 17, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]
        );
        // iret (23): 51 41 53 50 b8 17 00 00 00 0f 05
        assert_eq!(&p[23 * 32..23 * 32 + 11], &[0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05]);
        assert_eq!(p[23 * 32 + 11], 0xcc);
    }
}
