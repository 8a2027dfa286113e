//! GDT, TSS and IDT.
//!
//! The GDT lives in the per-CPU area at [`GDT_VIRT_START`]: pages 0..13
//! belong to the guest (`set_gdt` maps its frames there; until then a zero
//! page), page 14 holds the hypervisor's descriptors at Xen's selectors
//! (0xe008 ring-0 code, 0xe023/0xe02b/0xe033 the guest's flat ring-3
//! segments, 0xe040 the TSS, 0xe050 the guest LDT), so guests see exactly
//! Xen's selector values. Every IDT vector has a stub; all gates are DPL 0
//! except `#BP` and `#OF` (DPL 3, so a guest's `int3`/`into` arrive as
//! those exceptions); NMI, `#DF` and `#MC` run on IST stacks.

use super::cpu::{self, wrmsr};
use super::entry;
use super::layout::{sel, GDT_VIRT_START};
use core::arch::asm;

/// Hypervisor descriptors in GDT page 14, indexed from 0xe000.
const HV_DESCRIPTORS: [u64; 8] = [
    0,                     // 0xe000
    0x00af_9a00_0000_ffff, // 0xe008 ring 0 code, 64-bit
    0x00cf_9200_0000_ffff, // 0xe010 ring 0 data
    0,                     // 0xe018 reserved
    0x00cf_fa00_0000_ffff, // 0xe020 ring 3 code, compatibility
    0x00cf_f200_0000_ffff, // 0xe028 ring 3 data
    0x00af_fa00_0000_ffff, // 0xe030 ring 3 code, 64-bit
    0x00cf_9a00_0000_ffff, // 0xe038 ring 0 code, compatibility
];

/// The 64-bit TSS.
#[repr(C, packed(4))]
pub struct Tss {
    _r0: u32,
    /// Stack for entries from ring 3.
    pub rsp: [u64; 3],
    _r1: u64,
    /// Interrupt stacks.
    pub ist: [u64; 7],
    _r2: u64,
    _r3: u16,
    /// Offset of the I/O bitmap (past the end: no bitmap).
    pub iomap_base: u16,
}

const _: () = assert!(core::mem::size_of::<Tss>() == 104);

static mut TSS: Tss = Tss { _r0: 0, rsp: [0; 3], _r1: 0, ist: [0; 7], _r2: 0, _r3: 0, iomap_base: 104 };

#[repr(C, align(4096))]
struct Idt([u64; 512]);
static mut IDT: Idt = Idt([0; 512]);

fn system_descriptor(base: u64, limit: u32, ty: u64) -> [u64; 2] {
    let low = (limit as u64 & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | ((0x80 | ty) << 40)
        | (((limit as u64 >> 16) & 0xf) << 48)
        | (((base >> 24) & 0xff) << 56);
    [low, base >> 32]
}

/// Fills the hypervisor GDT page (reached at `page` through the direct
/// map), loads the GDT from its per-CPU mapping, the TSS and the IDT, and
/// programs the syscall MSRs.
///
/// # Safety
/// Once, at boot; `page` is the frame mapped as GDT page 14.
pub unsafe fn init(page: *mut u64) {
    // SAFETY: boot is single-threaded; TSS and IDT are only touched here.
    unsafe {
        let top = core::ptr::addr_of!(entry::hv_stack_top) as u64;
        let ist = core::ptr::addr_of!(entry::hv_ist_stacks) as u64;
        let tss = &mut *core::ptr::addr_of_mut!(TSS);
        tss.rsp[0] = top - 32; // es/ds/fs/gs slots of the guest frame sit above
        tss.ist[0] = ist + 8192;
        tss.ist[1] = ist + 2 * 8192;
        tss.ist[2] = ist + 3 * 8192;

        for (i, d) in HV_DESCRIPTORS.iter().enumerate() {
            page.add(i).write(*d);
        }
        let [lo, hi] = system_descriptor(tss as *const _ as u64, 103, 0x9);
        page.add(8).write(lo); // 0xe040
        page.add(9).write(hi);

        let idt = &mut *core::ptr::addr_of_mut!(IDT);
        let stubs = core::ptr::addr_of!(entry::hv_vector_stubs) as u64;
        for v in 0..256u64 {
            let h = stubs + v * 16;
            let dpl: u64 = if v == 3 || v == 4 { 3 } else { 0 };
            let ist: u64 = match v {
                2 => 1,
                8 => 2,
                18 => 3,
                _ => 0,
            };
            let attr = 0x8e | (dpl << 5); // present, 64-bit interrupt gate
            idt.0[v as usize * 2] =
                (h & 0xffff) | ((sel::HV_CS as u64) << 16) | (ist << 32) | (attr << 40) | (((h >> 16) & 0xffff) << 48);
            idt.0[v as usize * 2 + 1] = h >> 32;
        }

        load_gdt();
        let idtr: [u16; 5] = {
            let b = idt as *const _ as u64;
            [4095, b as u16, (b >> 16) as u16, (b >> 32) as u16, (b >> 48) as u16]
        };
        asm!("lidt [{}]", in(reg) idtr.as_ptr(), options(nostack, readonly));
        asm!("ltr {0:x}", in(reg) sel::TSS, options(nostack, nomem));

        wrmsr(cpu::MSR_STAR, ((sel::RING3_CS32 as u64) << 48) | ((sel::HV_CS as u64) << 32));
        wrmsr(cpu::MSR_LSTAR, entry::hv_syscall_entry as *const () as u64);
        wrmsr(cpu::MSR_CSTAR, entry::hv_cstar_entry as *const () as u64);
        // Clear TF, IF, DF, NT, AC on syscall.
        wrmsr(cpu::MSR_SFMASK, 0x100 | 0x200 | 0x400 | 0x4000 | 0x4_0000);
        wrmsr(cpu::MSR_SYSENTER_CS, 0); // sysenter from a guest faults
    }
}

/// Loads the GDT from its per-CPU virtual address and reloads segments.
///
/// # Safety
/// The GDT area must be mapped with the hypervisor page filled.
pub unsafe fn load_gdt() {
    let gdtr: [u16; 5] = {
        let b = GDT_VIRT_START;
        [15 * 4096 - 1, b as u16, (b >> 16) as u16, (b >> 32) as u16, (b >> 48) as u16]
    };
    // SAFETY: the new GDT has the same selectors the CPU is using.
    unsafe {
        asm!(
            "lgdt [{g}]",
            "push {cs}",
            "lea {t}, [rip + 2f]",
            "push {t}",
            "retfq",
            "2:",
            "mov ss, {ds:x}",
            "mov ds, {ds:x}",
            "mov es, {ds:x}",
            g = in(reg) gdtr.as_ptr(),
            cs = in(reg) sel::HV_CS as u64,
            ds = in(reg) sel::HV_DS as u64,
            t = out(reg) _,
        );
    }
}
