//! PV CPU hypercalls: the virtual IDT, callbacks, the kernel stack, segment
//! bases, `iret`, the virtual CR0.TS, debug registers, VM assists and the
//! I/O privilege level.

use super::bounce::toggle_guest_mode;
use super::traps::crash;
use super::Callback;
use crate::arch::x86_64::emul::flags;
use crate::arch::x86_64::layout::guest_range_ok;
use crate::common::guest_mem::{GuestMem, GuestPtr};
use crate::common::hypercall::{Ctx, HcResult};
use pv_abi::abi::arch_x86::*;
use pv_abi::abi::callback::*;
use pv_abi::abi::errno::*;
use pv_abi::abi::physdev::*;
use pv_abi::abi::xen::hypercall as nr;
use pv_abi::abi::xen::*;

fn canonical(a: u64) -> bool {
    !(0x0000_8000_0000_0000..0xffff_8000_0000_0000).contains(&a)
}

/// A guest-supplied selector with its RPL forced to 3 (the guest kernel
/// runs in ring 3; Xen's `fixup_guest_{code,stack}_selector`). Null stays null.
pub fn fixup_selector(sel: u16) -> u16 {
    if sel & !3 == 0 {
        0
    } else {
        sel | 3
    }
}

/// Entries processed per `set_trap_table` call before it continues itself.
const TRAP_TABLE_BATCH: u64 = 256;

/// `set_trap_table(traps)`: installs entries until one with address 0.
pub fn do_set_trap_table<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let traps = GuestPtr::<TrapInfo>::new(a[0]);
    let vc = &mut ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize];
    if traps.is_null() {
        vc.arch.trap_ctxt.fill(TrapInfo::default());
        return Ok(0);
    }
    let batch = if ctx.preemptible { TRAP_TABLE_BATCH } else { u64::MAX };
    for i in 0..batch {
        let mut t = traps.at(i)?.read(ctx.mem)?;
        if t.address == 0 {
            return Ok(0);
        }
        if !canonical(t.address) {
            return Err(Errno(EINVAL));
        }
        t.cs = fixup_selector(t.cs);
        let vc = &mut ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize];
        vc.arch.trap_ctxt[t.vector as usize] = t;
    }
    ctx.continuation(nr::set_trap_table, [traps.at(TRAP_TABLE_BATCH)?.addr(), 0, 0, 0, 0])
}

fn set_callback<M: GuestMem>(ctx: &mut Ctx<'_, M>, ty: u16, address: u64, mask: bool) -> HcResult {
    if !canonical(address) {
        return Err(Errno(EINVAL));
    }
    let cb = Callback { address, mask_events: mask };
    let a = &mut ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize].arch;
    match ty {
        CALLBACKTYPE_event => a.event_callback = cb,
        CALLBACKTYPE_failsafe => a.failsafe_callback = cb,
        CALLBACKTYPE_syscall => a.syscall_callback = cb,
        CALLBACKTYPE_syscall32 => a.syscall32_callback = cb,
        CALLBACKTYPE_sysenter => a.sysenter_callback = cb,
        CALLBACKTYPE_nmi => a.nmi_callback = cb,
        _ => return Err(Errno(ENOSYS)),
    }
    Ok(0)
}

/// `set_callbacks(event, failsafe, syscall)` (the pre-`callback_op` form).
pub fn do_set_callbacks<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    for (ty, addr, mask) in
        [(CALLBACKTYPE_event, a[0], false), (CALLBACKTYPE_failsafe, a[1], false), (CALLBACKTYPE_syscall, a[2], true)]
    {
        set_callback(ctx, ty, addr, mask)?;
    }
    Ok(0)
}

/// `callback_op(cmd, arg)`: register or unregister one callback.
pub fn do_callback_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    match a[0] {
        c if c == CALLBACKOP_register as u64 => {
            let r = GuestPtr::<CallbackRegister>::new(a[1]).read(ctx.mem)?;
            set_callback(ctx, r.ty, r.address, r.flags & CALLBACKF_mask_events != 0)
        }
        c if c == CALLBACKOP_unregister as u64 => {
            let r = GuestPtr::<CallbackUnregister>::new(a[1]).read(ctx.mem)?;
            match r.ty {
                CALLBACKTYPE_nmi => set_callback(ctx, CALLBACKTYPE_nmi, 0, false),
                // Xen does not let these be unregistered.
                CALLBACKTYPE_event | CALLBACKTYPE_failsafe | CALLBACKTYPE_syscall => Err(Errno(EINVAL)),
                _ => Err(Errno(ENOSYS)),
            }
        }
        _ => Err(Errno(ENOSYS)),
    }
}

/// `stack_switch(ss, sp)`: the stack used when bouncing from user mode.
pub fn do_stack_switch<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let vc = &mut ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize];
    vc.arch.kernel_ss = fixup_selector(a[0] as u16);
    vc.arch.kernel_sp = a[1];
    Ok(0)
}

/// `set_segment_base(which, base)`.
pub fn do_set_segment_base<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (which, base) = (a[0], a[1]);
    let hw = ctx.hv.hw;
    let kernel = ctx.hv.domains.get(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize].arch.kernel_mode;
    if which > u32::MAX as u64 {
        return Err(Errno(EINVAL));
    }
    match which as u32 {
        SEGBASE_GS_USER_SEL => {
            hw.load_user_gs_selector(fixup_selector(base as u16));
            return Ok(0);
        }
        SEGBASE_FS | SEGBASE_GS_USER | SEGBASE_GS_KERNEL if !canonical(base) => return Err(Errno(EINVAL)),
        SEGBASE_FS => hw.set_fs_base(base),
        SEGBASE_GS_USER if kernel => hw.set_gs_shadow(base),
        SEGBASE_GS_USER => hw.set_gs_base(base),
        SEGBASE_GS_KERNEL if kernel => hw.set_gs_base(base),
        SEGBASE_GS_KERNEL => hw.set_gs_shadow(base),
        _ => return Err(Errno(EINVAL)),
    }
    Ok(0)
}

/// `fpu_taskswitch(set)`: the virtual CR0.TS.
pub fn do_fpu_taskswitch<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let on = a[0] != 0;
    ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize].arch.fpu_ts = on;
    ctx.hv.hw.set_guest_ts(on);
    Ok(0)
}

/// DR6 bits that always read as one.
const DR6_ONES: u64 = 0xffff_0ff0;
/// DR7 `GD` (general detect) is the hypervisor's to use.
const DR7_GD: u64 = 1 << 13;

/// `set_debugreg(reg, value)`.
pub fn do_set_debugreg<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (reg, value) = (a[0], a[1]);
    let v = match reg {
        0..=3 => {
            if !guest_range_ok(value, 8) {
                return Err(Errno(EPERM));
            }
            value
        }
        6 => (value & 0xe00f) | DR6_ONES,
        7 => {
            if value >> 32 != 0 {
                return Err(Errno(EINVAL));
            }
            if value & DR7_GD != 0 {
                return Err(Errno(EPERM));
            }
            (value & !(3 << 14) & !(1 << 12) & !(1 << 11)) | (1 << 10)
        }
        _ => return Err(Errno(EINVAL)),
    };
    let vc = &mut ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize];
    vc.arch.debugreg[reg as usize] = v;
    ctx.hv.hw.load_debugregs(&vc.arch.debugreg);
    Ok(0)
}

/// `get_debugreg(reg)`.
pub fn do_get_debugreg<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    match a[0] {
        0..=3 | 6 | 7 => {
            let vc = &ctx.hv.domains.get(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize];
            Ok(vc.arch.debugreg[a[0] as usize] as i64)
        }
        _ => Err(Errno(EINVAL)),
    }
}

/// VM assists a 64-bit PV guest may enable (Xen's `VM_ASSIST_MASK` for PV64).
pub const VM_ASSIST_VALID: u64 = (1 << VMASST_TYPE_4gb_segments)
    | (1 << VMASST_TYPE_4gb_segments_notify)
    | (1 << VMASST_TYPE_writable_pagetables)
    | (1 << VMASST_TYPE_pae_extended_cr3)
    | (1 << VMASST_TYPE_architectural_iopl)
    | (1 << VMASST_TYPE_runstate_update_flag)
    | (1 << VMASST_TYPE_m2p_strict);

/// `vm_assist(cmd, type)`.
pub fn do_vm_assist<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    let (cmd, ty) = (a[0], a[1]);
    if ty >= 64 || VM_ASSIST_VALID & (1 << ty) == 0 {
        return Err(Errno(EINVAL));
    }
    let d = ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?;
    match cmd {
        c if c == VMASST_CMD_enable as u64 => d.vm_assist |= 1 << ty,
        c if c == VMASST_CMD_disable as u64 => d.vm_assist &= !(1 << ty),
        _ => return Err(Errno(ENOSYS)),
    }
    Ok(0)
}

/// `iret()`: returns from a bounce frame. The guest pushed an
/// `iret_context` (rax, r11, rcx, flags, rip, cs, rflags, rsp, ss) and
/// jumped to the hypercall page's `iret` slot. Returning to RPL 3 switches
/// the vCPU to guest user mode. A frame that cannot be returned to
/// crashes the domain (Xen: `domain_crash`).
pub fn do_iret<M: GuestMem>(ctx: &mut Ctx<'_, M>, _a: [u64; 5]) -> HcResult {
    let (d, v) = (ctx.dom, ctx.vcpu);
    let f = match GuestPtr::<IretContext>::new(ctx.regs.rsp).read(ctx.mem) {
        Ok(f) => f,
        Err(_) => {
            crash(ctx.hv, d, "iret: cannot read the iret frame");
            return Ok(ctx.regs.rax as i64);
        }
    };
    let to_user = f.cs & 3 == 3;
    let vc = &ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?.vcpus[v as usize];
    if !canonical(f.rip) || !canonical(f.rsp) {
        crash(ctx.hv, d, "iret: non-canonical rip or rsp");
        return Ok(ctx.regs.rax as i64);
    }
    // A null code or stack selector can never be returned to in 64-bit
    // ring 3; other bad selectors fault in the exit path (failsafe).
    if f.cs as u16 & !3 == 0 || f.ss as u16 & !3 == 0 {
        crash(ctx.hv, d, "iret: null cs or ss");
        return Ok(ctx.regs.rax as i64);
    }
    if to_user && vc.arch.kernel_mode {
        if vc.arch.cr3_user.0 == 0 {
            crash(ctx.hv, d, "iret to user mode without a user page table");
            return Ok(ctx.regs.rax as i64);
        }
        toggle_guest_mode(ctx.hv, d, v);
    }
    let r = &mut *ctx.regs;
    if f.flags & VGCF_in_syscall == 0 {
        r.r11 = f.r11;
        r.rcx = f.rcx;
    }
    r.rip = f.rip;
    r.cs = fixup_selector(f.cs as u16);
    r.rflags = (f.rflags & !(flags::IOPL | flags::VM | flags::NT)) | flags::IF;
    r.rsp = f.rsp;
    r.ss = fixup_selector(f.ss as u16);
    let (m, off) = ctx.hv.domains.get(d).ok_or(Errno(ESRCH))?.vcpus[v as usize].vcpu_info;
    let mask = (f.rflags & flags::IF == 0) as u8;
    ctx.hv.phys.atomic_u8(m, off + super::vcpu_info::MASK).store(mask, core::sync::atomic::Ordering::Relaxed);
    Ok(f.rax as i64)
}

/// `physdev_op(cmd, arg)`: the operations a PV domain without devices
/// uses: `set_iopl` and `set_iobitmap`. Interrupt routing is refused.
pub fn do_physdev_op<M: GuestMem>(ctx: &mut Ctx<'_, M>, a: [u64; 5]) -> HcResult {
    match a[0] {
        c if c == PHYSDEVOP_set_iopl as u64 => {
            let s = GuestPtr::<PhysdevSetIopl>::new(a[1]).read(ctx.mem)?;
            if s.iopl > 3 {
                return Err(Errno(EINVAL));
            }
            ctx.hv.domains.get_mut(ctx.dom).ok_or(Errno(ESRCH))?.vcpus[ctx.vcpu as usize].arch.iopl = s.iopl as u8;
            Ok(0)
        }
        c if c == PHYSDEVOP_set_iobitmap as u64 => {
            // Accepted; port access is governed by the virtual IOPL.
            GuestPtr::<PhysdevSetIobitmap>::new(a[1]).read(ctx.mem)?;
            Ok(0)
        }
        _ => Err(Errno(ENOSYS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::x86_64::pv::tests_support::*;
    use crate::common::guest_mem::MockMem;
    use zerocopy::IntoBytes;

    #[test]
    fn trap_table_is_installed_until_the_terminator() {
        let (mut t, mut mem) = world();
        let table = [
            TrapInfo { vector: 14, flags: 4, cs: 0xe030, _pad: 0, address: 0xffff_ffff_8000_1000 },
            TrapInfo { vector: 0x80, flags: 3, cs: 0, _pad: 0, address: 0xffff_ffff_8000_2000 },
            TrapInfo::default(),
        ];
        mem.copy_to(BUF, table.as_bytes()).unwrap();
        assert_eq!(t.call(&mut mem, nr::set_trap_table, [BUF, 0, 0, 0, 0]), 0);
        let tc = &t.vcpu().arch.trap_ctxt;
        assert_eq!(tc[14].address, 0xffff_ffff_8000_1000);
        assert_eq!(tc[14].cs, 0xe033, "RPL forced to 3");
        assert_eq!(tc[0x80].dpl(), 3);
        // Non-canonical handler and bad pointer.
        let bad = [TrapInfo { vector: 3, flags: 0, cs: 0, _pad: 0, address: 0x8000_0000_0000_0000 }];
        mem.copy_to(BUF, bad.as_bytes()).unwrap();
        assert_eq!(t.call(&mut mem, nr::set_trap_table, [BUF, 0, 0, 0, 0]), -(EINVAL as i64));
        assert_eq!(t.call(&mut mem, nr::set_trap_table, [0xdead_0000, 0, 0, 0, 0]), -(EFAULT as i64));
        // NULL clears.
        assert_eq!(t.call(&mut mem, nr::set_trap_table, [0, 0, 0, 0, 0]), 0);
        assert_eq!(t.vcpu().arch.trap_ctxt[14].address, 0);
    }

    #[test]
    fn long_trap_tables_continue_themselves() {
        let (mut t, mut mem) = world_mem(4096 * 4);
        let mut table = std::vec![];
        for i in 0..300u32 {
            table.push(TrapInfo {
                vector: (i % 256) as u8,
                flags: 0,
                cs: 0xe033,
                _pad: 0,
                address: 0xffff_ffff_8000_0000 + i as u64,
            });
        }
        table.push(TrapInfo::default());
        mem.copy_to(BUF, table.as_bytes()).unwrap();
        let r = t.call_regs(&mut mem, nr::set_trap_table, [BUF, 0, 0, 0, 0]);
        assert_eq!(r.rax, nr::set_trap_table as u64, "continuation: rax holds the hypercall again");
        assert_eq!(r.rip, 0x1000 - 2, "rip rewound onto the syscall");
        assert_eq!(r.rdi, BUF + 256 * 16);
        let r2 = t.call_regs(&mut mem, nr::set_trap_table, [r.rdi, 0, 0, 0, 0]);
        assert_eq!(r2.rax, 0);
        assert_eq!(t.vcpu().arch.trap_ctxt[299 % 256].address, 0xffff_ffff_8000_0000 + 299);
    }

    #[test]
    fn callbacks_stack_and_segments() {
        let (mut t, mut mem) = world();
        let reg = CallbackRegister {
            ty: CALLBACKTYPE_syscall,
            flags: CALLBACKF_mask_events,
            _pad: 0,
            address: 0xffff_ffff_8000_3000,
        };
        mem.copy_to(BUF, reg.as_bytes()).unwrap();
        assert_eq!(t.call(&mut mem, nr::callback_op, [CALLBACKOP_register as u64, BUF, 0, 0, 0]), 0);
        assert_eq!(t.vcpu().arch.syscall_callback, Callback { address: 0xffff_ffff_8000_3000, mask_events: true });
        let reg = CallbackRegister { ty: 99, flags: 0, _pad: 0, address: 0x1000 };
        mem.copy_to(BUF, reg.as_bytes()).unwrap();
        assert_eq!(t.call(&mut mem, nr::callback_op, [CALLBACKOP_register as u64, BUF, 0, 0, 0]), -(ENOSYS as i64));
        let un = CallbackUnregister { ty: CALLBACKTYPE_event, _unused: 0 };
        mem.copy_to(BUF, un.as_bytes()).unwrap();
        assert_eq!(t.call(&mut mem, nr::callback_op, [CALLBACKOP_unregister as u64, BUF, 0, 0, 0]), -(EINVAL as i64));
        assert_eq!(t.call(&mut mem, nr::stack_switch, [0xe02b, 0xffff_ffff_8000_8000, 0, 0, 0]), 0);
        assert_eq!((t.vcpu().arch.kernel_ss, t.vcpu().arch.kernel_sp), (0xe02b, 0xffff_ffff_8000_8000));
        assert_eq!(t.call(&mut mem, nr::set_segment_base, [SEGBASE_GS_KERNEL as u64, 0x1234_0000, 0, 0, 0]), 0);
        assert_eq!(t.call(&mut mem, nr::set_segment_base, [SEGBASE_GS_USER as u64, 0x5678_0000, 0, 0, 0]), 0);
        assert_eq!(t.call(&mut mem, nr::set_segment_base, [SEGBASE_FS as u64, 0x9000, 0, 0, 0]), 0);
        assert_eq!(*t.hw.bases.lock().unwrap(), [0x9000, 0x1234_0000, 0x5678_0000]);
        assert_eq!(
            t.call(&mut mem, nr::set_segment_base, [SEGBASE_FS as u64, 0x8000_0000_0000_0000, 0, 0, 0]),
            -(EINVAL as i64)
        );
        assert_eq!(t.call(&mut mem, nr::set_segment_base, [9, 0, 0, 0, 0]), -(EINVAL as i64));
    }

    #[test]
    fn debug_registers_and_vm_assist() {
        let (mut t, mut mem) = world();
        assert_eq!(t.call(&mut mem, nr::set_debugreg, [0, 0x40_1000, 0, 0, 0]), 0);
        assert_eq!(t.call(&mut mem, nr::get_debugreg, [0, 0, 0, 0, 0]), 0x40_1000);
        assert_eq!(t.call(&mut mem, nr::set_debugreg, [1, 0xffff_8000_0000_0000, 0, 0, 0]), -(EPERM as i64));
        assert_eq!(t.call(&mut mem, nr::set_debugreg, [7, 1 << 13, 0, 0, 0]), -(EPERM as i64));
        assert_eq!(t.call(&mut mem, nr::set_debugreg, [7, 1, 0, 0, 0]), 0);
        assert_eq!(t.call(&mut mem, nr::get_debugreg, [7, 0, 0, 0, 0]), 0x401);
        assert_eq!(t.call(&mut mem, nr::set_debugreg, [4, 0, 0, 0, 0]), -(EINVAL as i64));
        assert_eq!(t.call(&mut mem, nr::get_debugreg, [8, 0, 0, 0, 0]), -(EINVAL as i64));
        assert_eq!(t.call(&mut mem, nr::vm_assist, [VMASST_CMD_enable as u64, 2, 0, 0, 0]), 0);
        assert_eq!(t.hv.domains.get(DOM).unwrap().vm_assist, 1 << 2);
        assert_eq!(t.call(&mut mem, nr::vm_assist, [VMASST_CMD_enable as u64, 7, 0, 0, 0]), -(EINVAL as i64));
        assert_eq!(t.call(&mut mem, nr::vm_assist, [5, 2, 0, 0, 0]), -(ENOSYS as i64));
        assert_eq!(t.call(&mut mem, nr::fpu_taskswitch, [1, 0, 0, 0, 0]), 0);
        assert!(t.vcpu().arch.fpu_ts && t.hw.saw("ts true"));
    }

    #[test]
    fn iret_restores_the_frame_and_switches_to_user() {
        let (mut t, mut mem) = world();
        t.set_user_table();
        let f = IretContext {
            rax: 0x77,
            r11: 0x11,
            rcx: 0x22,
            flags: 0,
            rip: 0x40_1000,
            cs: FLAT_USER_CS as u64,
            rflags: 0x3202, // IOPL 3 requested: dropped
            rsp: 0x7fff_f000,
            ss: 0x2b,
        };
        mem.copy_to(BUF, f.as_bytes()).unwrap();
        let r = t.call_with(&mut mem, nr::iret, [0; 5], |r| r.rsp = BUF);
        assert_eq!((r.rax, r.r11, r.rcx, r.rip, r.rsp), (0x77, 0x11, 0x22, 0x40_1000, 0x7fff_f000));
        assert_eq!((r.cs, r.ss), (0xe033, 0x2b));
        assert_eq!(r.rflags, 0x202);
        assert!(!t.vcpu().arch.kernel_mode, "RPL 3 CS: now in guest user mode");
        assert_eq!(t.mask(), 0, "IF set in the frame unmasks events");
        assert!(t.hw.saw(&std::format!("cr3 {:#x}", USER_L4)));
    }

    #[test]
    fn iret_with_a_bad_frame_crashes_only_the_guest() {
        let (mut t, mut mem) = world();
        let f = IretContext { rip: 0x8000_0000_0000_0000, cs: 0xe033, rflags: 0x200, ..Default::default() };
        mem.copy_to(BUF, f.as_bytes()).unwrap();
        t.call_with(&mut mem, nr::iret, [0; 5], |r| r.rsp = BUF);
        assert!(t.crashed());
        let (mut t, mut mem) = world();
        let f = IretContext { rip: 0x1000, cs: 0xe033, rflags: 0x200, ..Default::default() };
        mem.copy_to(BUF, f.as_bytes()).unwrap();
        t.call_with(&mut mem, nr::iret, [0; 5], |r| r.rsp = BUF);
        assert!(t.crashed(), "no user page table");
        let (mut t, mut mem) = world();
        t.call_with(&mut mem, nr::iret, [0; 5], |r| r.rsp = 0xdead_0000);
        assert!(t.crashed());
    }

    #[test]
    fn physdev_iopl() {
        let (mut t, mut mem) = world();
        mem.copy_to(BUF, &1u32.to_le_bytes()).unwrap();
        assert_eq!(t.call(&mut mem, nr::physdev_op, [PHYSDEVOP_set_iopl as u64, BUF, 0, 0, 0]), 0);
        assert_eq!(t.vcpu().arch.iopl, 1);
        mem.copy_to(BUF, &4u32.to_le_bytes()).unwrap();
        assert_eq!(t.call(&mut mem, nr::physdev_op, [PHYSDEVOP_set_iopl as u64, BUF, 0, 0, 0]), -(EINVAL as i64));
        assert_eq!(t.call(&mut mem, nr::physdev_op, [PHYSDEVOP_map_pirq as u64, BUF, 0, 0, 0]), -(ENOSYS as i64));
    }

    #[allow(dead_code)]
    fn unused(_m: MockMem) {}
}
