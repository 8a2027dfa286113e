//! Emulating what a PV kernel executes at CPL 3 and expects to work:
//! privileged instructions (port I/O, MSRs, control registers, `cli`/`sti`,
//! `wbinvd`, `hlt`), `cpuid` behind Xen's forced-emulation prefix, and
//! writes to its own (read-only, pinned) L1 page tables.

use super::vcpu_info;
use crate::arch::x86_64::emul::{self, flags, DecodeError, Op, Port, Src, WriteOp};
use crate::arch::x86_64::mm::Mm;
use crate::arch::x86_64::paging::pte;
use crate::common::frame::{Owner, PageType};
use crate::common::guest_mem::GuestMem;
use crate::common::hypercall::{XEN_MAJOR, XEN_MINOR};
use crate::common::Hv;
use pv_abi::abi::arch_x86::CpuUserRegs;
use pv_abi::{DomId, Mfn};

/// Fetches up to 15 instruction bytes at the guest's `rip` (fewer at the
/// end of a mapped page).
pub fn fetch<M: GuestMem>(mem: &mut M, rip: u64) -> ([u8; 15], usize) {
    let mut b = [0u8; 15];
    let to_page_end = (0x1000 - (rip & 0xfff)) as usize;
    for n in [15, to_page_end.min(15)] {
        if mem.copy_from(rip, &mut b[..n]).is_ok() {
            return (b, n);
        }
    }
    (b, 0)
}

/// If the instruction at `rip` is `int n` (`CD nn`), its vector. (Under
/// QEMU TCG the #GP error code for `int n` through a DPL-0 gate is
/// `n*16+2` rather than the hardware's `n*8+2`, so the bytes decide.)
pub fn soft_int<M: GuestMem>(mem: &mut M, regs: &CpuUserRegs) -> Option<u8> {
    if regs.error_code & 3 != 2 {
        return None;
    }
    let mut b = [0u8; 2];
    mem.copy_from(regs.rip, &mut b).ok()?;
    (b[0] == 0xcd).then_some(b[1])
}

/// Ports the hypervisor keeps for itself even from dom0: the PICs, the
/// PIT, COM1 and PCI configuration space.
fn port_reserved(port: u16) -> bool {
    matches!(port, 0x20..=0x21 | 0xa0..=0xa1 | 0x40..=0x43 | 0x3f8..=0x3ff | 0xcf8..=0xcff)
}

/// The guest's virtual CR0: the host's, with TS as the guest set it.
fn guest_cr0(ts: bool) -> u64 {
    // PE | MP | ET | NE | WP | AM | PG
    let cr0 = 1 | 2 | (1 << 4) | (1 << 5) | (1 << 16) | (1 << 18) | (1 << 31);
    if ts {
        cr0 | (1 << 3)
    } else {
        cr0
    }
}

/// CR4 bits the guest sees as set by the hypervisor: PAE, OSFXSR, OSXMMEXCPT.
const CR4_HOST: u64 = (1 << 5) | (1 << 9) | (1 << 10);
/// CR4 bits the guest may change: TSD, DE.
const CR4_GUEST: u64 = (1 << 2) | (1 << 3);

/// MSRs.
mod msr {
    pub const TSC: u32 = 0x10;
    pub const APIC_BASE: u32 = 0x1b;
    pub const UCODE_REV: u32 = 0x8b;
    pub const SYSENTER_CS: u32 = 0x174;
    pub const SYSENTER_ESP: u32 = 0x175;
    pub const SYSENTER_EIP: u32 = 0x176;
    pub const MISC_ENABLE: u32 = 0x1a0;
    pub const PAT: u32 = 0x277;
    pub const EFER: u32 = 0xc000_0080;
    pub const STAR: u32 = 0xc000_0081;
    pub const LSTAR: u32 = 0xc000_0082;
    pub const CSTAR: u32 = 0xc000_0083;
    pub const SFMASK: u32 = 0xc000_0084;
    pub const FS_BASE: u32 = 0xc000_0100;
    pub const GS_BASE: u32 = 0xc000_0101;
    pub const SHADOW_GS_BASE: u32 = 0xc000_0102;
}

fn canonical(a: u64) -> bool {
    !(0x0000_8000_0000_0000..0xffff_8000_0000_0000).contains(&a)
}

fn rdmsr(hv: &Hv, kernel: bool, m: u32) -> Option<u64> {
    let hw = hv.hw;
    Some(match m {
        msr::FS_BASE => hw.fs_base(),
        msr::GS_BASE => hw.gs_base(),
        msr::SHADOW_GS_BASE => hw.gs_shadow(),
        msr::TSC => hw.rdtsc(),
        msr::EFER => hw.rdmsr_safe(msr::EFER).unwrap_or(0) & ((1 << 0) | (1 << 8) | (1 << 10) | (1 << 11)),
        msr::PAT => hw.rdmsr_safe(msr::PAT).unwrap_or(0x0007_0406_0007_0406),
        msr::UCODE_REV => 0,
        msr::MISC_ENABLE => hw.rdmsr_safe(msr::MISC_ENABLE).unwrap_or(0) & ((1 << 0) | (1 << 11) | (1 << 12)),
        msr::STAR | msr::LSTAR | msr::CSTAR | msr::SFMASK => 0,
        msr::SYSENTER_CS | msr::SYSENTER_ESP | msr::SYSENTER_EIP => 0,
        msr::APIC_BASE if kernel => 0,
        _ => return None,
    })
}

/// Writes a guest may do natively; `false` means `#GP`.
fn wrmsr(hv: &Hv, m: u32, v: u64) -> bool {
    let hw = hv.hw;
    match m {
        msr::FS_BASE if canonical(v) => hw.set_fs_base(v),
        msr::GS_BASE if canonical(v) => hw.set_gs_base(v),
        msr::SHADOW_GS_BASE if canonical(v) => hw.set_gs_shadow(v),
        // Accepted and ignored, as Xen does for a PV guest.
        msr::UCODE_REV | msr::PAT | msr::MISC_ENABLE | msr::EFER => {}
        msr::STAR | msr::LSTAR | msr::CSTAR | msr::SFMASK => {}
        msr::SYSENTER_CS | msr::SYSENTER_ESP | msr::SYSENTER_EIP => {}
        _ => return false,
    }
    true
}

/// Emulates a privileged instruction that raised `#GP(0)`. `false`: not
/// ours to emulate (the caller delivers `#GP`).
pub fn priv_op<M: GuestMem>(hv: &mut Hv, mem: &mut M, regs: &mut CpuUserRegs, d: DomId, v: u32) -> bool {
    let (bytes, n) = fetch(mem, regs.rip);
    let insn = match emul::decode(&bytes[..n]) {
        Ok(i) => i,
        Err(DecodeError::Truncated | DecodeError::Unsupported) => return false,
    };
    let privileged = hv.domains.get(d).is_some_and(|x| x.privileged);
    let vc = &mut hv.domains.get_mut(d).expect("domain").vcpus[v as usize];
    let kernel = vc.arch.kernel_mode;
    let iopl_ok = vc.arch.iopl >= if kernel { 1 } else { 3 };
    let hw = hv.hw;
    match insn.op {
        Op::In(port) | Op::Out(port) if iopl_ok => {
            let port = match port {
                Port::Imm(p) => p as u16,
                Port::Dx => regs.rdx as u16,
            };
            let size = insn.size;
            let passthrough = privileged && !port_reserved(port);
            if matches!(insn.op, Op::In(_)) {
                let val = if passthrough { hw.port_in(port, size) as u64 } else { emul::mask(size) };
                emul::set_reg(regs, 0, false, size.min(4), val);
            } else if passthrough {
                hw.port_out(port, size, (regs.rax & emul::mask(size)) as u32);
            }
        }
        Op::Ins | Op::Outs if iopl_ok => {
            // String I/O: domUs see no devices (reads all ones, writes
            // dropped); the registers advance as the hardware would.
            let count = if insn.rep { regs.rcx } else { 1 };
            let step = insn.size as u64;
            let back = regs.rflags & flags::DF != 0;
            let ones = [0xffu8; 4];
            for _ in 0..count.min(1 << 20) {
                if insn.op == Op::Ins {
                    if mem.copy_to(regs.rdi, &ones[..insn.size as usize]).is_err() {
                        return false;
                    }
                    regs.rdi = if back { regs.rdi.wrapping_sub(step) } else { regs.rdi.wrapping_add(step) };
                } else {
                    regs.rsi = if back { regs.rsi.wrapping_sub(step) } else { regs.rsi.wrapping_add(step) };
                }
            }
            if insn.rep {
                regs.rcx = 0;
            }
        }
        Op::Rdmsr if kernel => match rdmsr(hv, kernel, regs.rcx as u32) {
            Some(val) => {
                regs.rax = val & 0xffff_ffff;
                regs.rdx = val >> 32;
            }
            None => return false,
        },
        Op::Wrmsr if kernel => {
            let val = (regs.rdx << 32) | (regs.rax & 0xffff_ffff);
            if !wrmsr(hv, regs.rcx as u32, val) {
                return false;
            }
        }
        Op::MovFromCr { cr, reg } if kernel => {
            let val = match cr {
                0 => guest_cr0(vc.arch.fpu_ts),
                2 => {
                    let (m, off) = vc.vcpu_info;
                    let mut b = [0u8; 8];
                    hv.phys.read(m, off + vcpu_info::CR2, &mut b);
                    u64::from_le_bytes(b)
                }
                3 => vc.arch.cr3().addr(),
                4 => CR4_HOST | vc.arch.cr4_guest,
                _ => return false,
            };
            *emul::gpr_mut(regs, reg) = val;
        }
        Op::MovToCr { cr, reg } if kernel => {
            let val = emul::gpr(regs, reg);
            match cr {
                0 => {
                    // Only TS may change (Xen ignores the rest).
                    vc.arch.fpu_ts = val & (1 << 3) != 0;
                    hw.set_guest_ts(vc.arch.fpu_ts);
                }
                4 => vc.arch.cr4_guest = val & CR4_GUEST,
                _ => return false,
            }
        }
        Op::Clts if kernel => {
            vc.arch.fpu_ts = false;
            hw.set_guest_ts(false);
        }
        Op::Wbinvd | Op::Invd if kernel => {}
        Op::Cli | Op::Sti if iopl_ok => {
            let (m, off) = vc.vcpu_info;
            let mask = (insn.op == Op::Cli) as u8;
            hv.phys.atomic_u8(m, off + vcpu_info::MASK).store(mask, core::sync::atomic::Ordering::Relaxed);
        }
        Op::Hlt if kernel => {} // an idle guest: nothing pending to wait for yet
        _ => return false,
    }
    regs.rip = regs.rip.wrapping_add(insn.len as u64);
    true
}

/// CPUID as a PV guest sees it (Xen's PV policy, abridged): the
/// hypervisor leaves at 0x40000000, and native leaves with the features a
/// ring-3 kernel under a PV MMU cannot use hidden.
pub fn cpuid(hv: &Hv, leaf: u32, sub: u32) -> [u32; 4] {
    const XEN_SIG: [u32; 3] = [0x566e_6558, 0x6558_4d4d, 0x4d4d_566e]; // "XenVMMXenVMM"
    match leaf {
        0x4000_0000 => [0x4000_0005, XEN_SIG[0], XEN_SIG[1], XEN_SIG[2]],
        0x4000_0001 => [(XEN_MAJOR << 16) | XEN_MINOR, 0, 0, 0],
        // One hypercall page, set up through MSR 0x40000000;
        // ECX bit 0: MMU_PT_UPDATE_PRESERVE_AD.
        0x4000_0002 => [1, 0x4000_0000, 1, 0],
        0x4000_0003..=0x4000_0005 => [0; 4],
        0x4000_0006..=0x4fff_ffff => [0; 4],
        _ => {
            let mut r = hv.hw.cpuid(leaf, sub);
            match leaf {
                1 => {
                    // ECX: drop DTES64, MONITOR, DS-CPL, VMX, SMX, EIST, TM2,
                    // XTPR, PDCM, PCID, DCA, x2APIC, TSC-deadline, XSAVE,
                    // OSXSAVE, AVX, F16C; set HYPERVISOR.
                    let ecx_drop = (1 << 2)
                        | (1 << 3)
                        | (1 << 4)
                        | (1 << 5)
                        | (1 << 6)
                        | (1 << 7)
                        | (1 << 8)
                        | (1 << 14)
                        | (1 << 15)
                        | (1 << 17)
                        | (1 << 18)
                        | (1 << 21)
                        | (1 << 24)
                        | (1 << 26)
                        | (1 << 27)
                        | (1 << 28)
                        | (1 << 29);
                    r[2] = (r[2] & !ecx_drop) | (1 << 31);
                    // EDX: drop VME, PSE, MCE, MTRR, PGE, MCA, PSE36, DS, ACPI, TM, PBE.
                    let edx_drop = (1 << 1)
                        | (1 << 3)
                        | (1 << 7)
                        | (1 << 12)
                        | (1 << 13)
                        | (1 << 14)
                        | (1 << 17)
                        | (1 << 21)
                        | (1 << 22)
                        | (1 << 29)
                        | (1u32 << 31);
                    r[3] &= !edx_drop;
                }
                5 | 6 | 0xa | 0xd => r = [0; 4],
                7 if sub == 0 => {
                    // EBX: keep BMI1, BMI2, ERMS, RDSEED, ADX, CLFLUSHOPT, SHA.
                    r[1] &= (1 << 3) | (1 << 8) | (1 << 9) | (1 << 18) | (1 << 19) | (1 << 23) | (1 << 29);
                    r[2] = 0;
                    r[3] = 0;
                }
                7 => r = [0; 4],
                0x8000_0001 => {
                    // EDX: drop 1 GiB pages and RDTSCP; ECX: drop SVM.
                    r[3] &= !((1 << 26) | (1 << 27));
                    r[2] &= !(1 << 2);
                }
                _ => {}
            }
            r
        }
    }
}

/// `#UD`: is it Xen's forced-emulation prefix in front of `cpuid`? Then
/// run the guest's CPUID and step over the 7 bytes.
pub fn forced_cpuid<M: GuestMem>(hv: &mut Hv, mem: &mut M, regs: &mut CpuUserRegs, _d: DomId, _v: u32) -> bool {
    let (bytes, n) = fetch(mem, regs.rip);
    if !emul::is_forced_cpuid(&bytes[..n]) {
        return false;
    }
    let r = cpuid(hv, regs.rax as u32, regs.rcx as u32);
    regs.rax = r[0] as u64;
    regs.rbx = r[1] as u64;
    regs.rcx = r[2] as u64;
    regs.rdx = r[3] as u64;
    regs.rip = regs.rip.wrapping_add(emul::FORCED_CPUID_LEN as u64);
    true
}

/// Writable page tables: a write fault in guest kernel mode on a
/// read-only mapping of one of the guest's own validated L1 tables is
/// emulated as an update of that entry, checked exactly as `mmu_update`
/// would check it. `false`: not such a write, or the new entry was refused
/// (the caller delivers the `#PF`).
pub fn ptwr<M: GuestMem>(
    hv: &mut Hv,
    mem: &mut M,
    regs: &mut CpuUserRegs,
    d: DomId,
    v: u32,
    cr2: u64,
    err: u32,
) -> bool {
    use super::traps::pf;
    if err & (pf::PRESENT | pf::WRITE | pf::RSVD | pf::FETCH) != pf::PRESENT | pf::WRITE {
        return false;
    }
    let l4 = hv.domains.get(d).expect("domain").vcpus[v as usize].arch.cr3();
    let Some((l1, idx)) = super::mmu::guest_l1_for(hv, l4, cr2) else { return false };
    let e = hv.phys.read_u64(l1, idx);
    if e & pte::PRESENT == 0 || e & pte::RW != 0 {
        return false;
    }
    let target: Mfn = pte::mfn(e);
    match hv.frames.get(target) {
        Some(p) if p.owner() == Owner::Domain(d) && p.ty() == PageType::L1 && p.type_count > 0 => {}
        _ => return false,
    }
    let (bytes, n) = fetch(mem, regs.rip);
    let Ok(insn) = emul::decode(&bytes[..n]) else { return false };
    let Op::MemWrite { op, mem: operand, src } = insn.op else { return false };
    let next = regs.rip.wrapping_add(insn.len as u64);
    let ea = emul::effective_address(regs, &operand, next, hv.hw.fs_base(), hv.hw.gs_base());
    let size = insn.size;
    let off = (ea & 7) as usize;
    if ea >> 12 != cr2 >> 12 || off + size as usize > 8 || ea & (size as u64 - 1) != 0 {
        return false;
    }
    let old_word = hv.phys.read_u64(target, ((ea & 0xfff) >> 3) as usize);
    let old = (old_word >> (off * 8)) & emul::mask(size);
    let src_reg = match src {
        Src::Reg(r, h) => Some((r, h)),
        Src::Imm(_) => None,
    };
    let srcv = emul::src_value(regs, src, size);
    let res = emul::apply(
        op,
        size,
        old,
        srcv,
        if matches!(op, WriteOp::Xchg | WriteOp::Cmpxchg) { src_reg } else { None },
        regs,
    );
    if let Some(newv) = res.mem {
        let new_word = emul::merge(old_word, off, size, newv);
        let mut m = Mm::of(hv, d);
        let r = m.mod_entry(target, ((ea & 0xfff) >> 3) as usize, new_word, false);
        m.finish();
        if r.is_err() {
            return false;
        }
    }
    if let Some((r, h, val)) = res.reg_out {
        emul::set_reg(regs, r, h, size, val);
    }
    if let Some(f) = res.flags {
        regs.rflags = (regs.rflags & !flags::ARITH) | f;
    }
    regs.rip = next;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::x86_64::mm::tests::l1e;
    use crate::arch::x86_64::pv::tests_support::*;
    use crate::common::frame::Owner;
    use crate::common::guest_mem::MockMem;

    #[test]
    fn cpuid_policy() {
        let (t, _) = world();
        let r = cpuid(&t.hv, 0x4000_0000, 0);
        assert_eq!(r[0], 0x4000_0005);
        let sig: std::vec::Vec<u8> = r[1..].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(&sig, b"XenVMMXenVMM");
        assert_eq!(cpuid(&t.hv, 0x4000_0001, 0)[0], (4 << 16) | 17);
        let l1 = cpuid(&t.hv, 1, 0);
        assert_ne!(l1[2] & (1 << 31), 0, "hypervisor bit");
        assert_eq!(l1[3] & ((1 << 3) | (1 << 13)), 0, "no PSE, no PGE");
        assert_eq!(l1[2] & ((1 << 26) | (1 << 27) | (1 << 5)), 0, "no XSAVE, OSXSAVE, VMX");
    }

    #[test]
    fn forced_cpuid_and_plain_ud() {
        let (mut t, mut mem) = world();
        mem.copy_to(BUF, &[0x0f, 0x0b, b'x', b'e', b'n', 0x0f, 0xa2]).unwrap();
        let mut r = CpuUserRegs { rip: BUF, rax: 0x4000_0000, ..Default::default() };
        assert!(forced_cpuid(&mut t.hv, &mut mem, &mut r, DOM, 0));
        assert_eq!((r.rax, r.rbx, r.rip), (0x4000_0005, 0x566e_6558, BUF + 7));
        mem.copy_to(BUF, &[0x0f, 0x0b, 0x90]).unwrap();
        let mut r = CpuUserRegs { rip: BUF, ..Default::default() };
        assert!(!forced_cpuid(&mut t.hv, &mut mem, &mut r, DOM, 0));
    }

    fn run(t: &mut World, mem: &mut MockMem, code: &[u8], f: impl FnOnce(&mut CpuUserRegs)) -> (bool, CpuUserRegs) {
        mem.copy_to(BUF, code).unwrap();
        let mut r = CpuUserRegs { rip: BUF, ..Default::default() };
        f(&mut r);
        let ok = priv_op(&mut t.hv, mem, &mut r, DOM, 0);
        (ok, r)
    }

    #[test]
    fn port_io_needs_iopl_and_reads_ones_in_a_domu() {
        let (mut t, mut mem) = world();
        let (ok, _) = run(&mut t, &mut mem, &[0xe4, 0x60], |_| {});
        assert!(!ok, "IOPL 0: #GP");
        t.vcpu_mut().arch.iopl = 1;
        let (ok, r) = run(&mut t, &mut mem, &[0xe4, 0x60], |r| r.rax = 0x1234);
        assert!(ok);
        assert_eq!((r.rax, r.rip), (0x12ff, BUF + 2));
        let (ok, r) = run(&mut t, &mut mem, &[0xed], |r| r.rax = u64::MAX);
        assert!(ok);
        assert_eq!(r.rax, 0xffff_ffff);
        let (ok, _) = run(&mut t, &mut mem, &[0xee], |r| r.rdx = 0xf4);
        assert!(ok);
        assert!(t.hw.ports.lock().unwrap().is_empty(), "a domU's writes are dropped");
        // dom0 reaches real ports, except the hypervisor's.
        t.hv.domains.get_mut(DOM).unwrap().privileged = true;
        run(&mut t, &mut mem, &[0xee], |r| {
            r.rdx = 0xf4;
            r.rax = 0x10
        });
        run(&mut t, &mut mem, &[0xee], |r| r.rdx = 0x3f8);
        assert_eq!(*t.hw.ports.lock().unwrap(), [(0xf4, 0x10)]);
        // User mode needs IOPL 3.
        t.vcpu_mut().arch.kernel_mode = false;
        let (ok, _) = run(&mut t, &mut mem, &[0xee], |_| {});
        assert!(!ok);
    }

    #[test]
    fn msrs_and_control_registers() {
        let (mut t, mut mem) = world();
        // startup_xen's native wrmsr of GS_BASE.
        let (ok, _) = run(&mut t, &mut mem, &[0x0f, 0x30], |r| {
            r.rcx = 0xc000_0101;
            r.rax = 0x8000_1000;
            r.rdx = 0xffff_ffff
        });
        assert!(ok);
        assert_eq!(t.hw.bases.lock().unwrap()[1], 0xffff_ffff_8000_1000);
        let (ok, r) = run(&mut t, &mut mem, &[0x0f, 0x32], |r| r.rcx = 0x277);
        assert!(ok);
        assert_eq!((r.rax, r.rdx), (0x0007_0406, 0x0007_0406));
        let (ok, _) = run(&mut t, &mut mem, &[0x0f, 0x32], |r| r.rcx = 0x48);
        assert!(!ok, "unknown MSR: #GP");
        let (ok, r) = run(&mut t, &mut mem, &[0x0f, 0x20, 0xe0], |_| {});
        assert!(ok);
        assert_eq!(r.rax, CR4_HOST);
        let (ok, r) = run(&mut t, &mut mem, &[0x0f, 0x20, 0xc0], |_| {});
        assert!(ok && r.rax & 8 == 0);
        let (ok, _) = run(&mut t, &mut mem, &[0x0f, 0x22, 0xc0], |r| r.rax = 8);
        assert!(ok && t.vcpu().arch.fpu_ts);
        let (ok, _) = run(&mut t, &mut mem, &[0x0f, 0x06], |_| {});
        assert!(ok && !t.vcpu().arch.fpu_ts);
        let (ok, _) = run(&mut t, &mut mem, &[0x0f, 0x22, 0xd8], |_| {});
        assert!(!ok, "mov to cr3: #GP");
        t.vcpu_mut().arch.kernel_mode = false;
        let (ok, _) = run(&mut t, &mut mem, &[0x0f, 0x32], |r| r.rcx = 0x277);
        assert!(!ok, "user mode: #GP");
    }

    /// Builds L4(20) -> L3(21) -> L2(22) -> L1(23) mapping va 0 .. : page
    /// 0 -> data frame 30 (RW), page 1 -> the L1 itself (RO), all validated.
    fn tables(t: &mut World) {
        let p = &mut t.hv.phys;
        p.write_u64(Mfn(23), 0, l1e(30, 3));
        p.write_u64(Mfn(23), 1, l1e(23, 1));
        p.write_u64(Mfn(22), 0, l1e(23, 3));
        p.write_u64(Mfn(21), 0, l1e(22, 3));
        p.write_u64(Mfn(20), 0, l1e(21, 3));
        let mut m = Mm::of(&mut t.hv, DOM);
        m.get_page_and_type(Mfn(20), DOM, PageType::L4).unwrap();
        t.vcpu_mut().arch.cr3_kernel = Mfn(20);
    }

    #[test]
    fn writable_page_table_writes_are_validated_and_applied() {
        let (mut t, mut mem) = world();
        // Give the domain frames up to 31.
        while let Some(m) = t.hv.frames.alloc(Owner::Domain(DOM)) {
            if m.0 >= 31 {
                break;
            }
        }
        tables(&mut t);
        // `mov %rax,0x10(%rdi)`: write L1 entry 2 through the L1's own
        // read-only mapping at va 0x1000.
        mem.copy_to(BUF, &[0x48, 0x89, 0x47, 0x10]).unwrap();
        let mut r = CpuUserRegs { rip: BUF, rdi: 0x1000, rax: l1e(24, 3), ..Default::default() };
        assert!(ptwr(&mut t.hv, &mut mem, &mut r, DOM, 0, 0x1010, 3));
        assert_eq!(r.rip, BUF + 4);
        assert_eq!(t.hv.phys.read_u64(Mfn(23), 2) & !0xfff, 24 << 12);
        assert_eq!(t.hv.frames.get(Mfn(24)).unwrap().ty(), PageType::Writable);
        // Mapping the L1 itself writable is refused: the #PF goes to the guest.
        let mut r = CpuUserRegs { rip: BUF, rdi: 0x1000, rax: l1e(23, 3), ..Default::default() };
        assert!(!ptwr(&mut t.hv, &mut mem, &mut r, DOM, 0, 0x1010, 3));
        // lock btr $1,(%rdi): clear RW of entry 0 (frame 30), CF = old bit.
        mem.copy_to(BUF, &[0xf0, 0x48, 0x0f, 0xba, 0x37, 0x01]).unwrap();
        let mut r = CpuUserRegs { rip: BUF, rdi: 0x1000, ..Default::default() };
        // Entry 0 sits at va 0x1000 (page 1 maps the L1).
        assert!(ptwr(&mut t.hv, &mut mem, &mut r, DOM, 0, 0x1000, 3));
        assert_eq!(r.rflags & flags::CF, flags::CF);
        assert_eq!(t.hv.phys.read_u64(Mfn(23), 0) & 2, 0);
        assert_eq!(t.hv.frames.get(Mfn(30)).unwrap().type_count, 0, "the writable reference went away");
        // A read fault or a user-mode-style error code is not ours.
        let mut r = CpuUserRegs { rip: BUF, rdi: 0x1000, ..Default::default() };
        assert!(!ptwr(&mut t.hv, &mut mem, &mut r, DOM, 0, 0x1000, 1));
        // A write fault on a read-only page that is not an L1 is not ours.
        t.hv.phys.write_u64(Mfn(23), 3, l1e(31, 1));
        assert!(!ptwr(&mut t.hv, &mut mem, &mut r, DOM, 0, 0x3000, 3));
    }
}
