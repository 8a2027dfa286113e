//! A small x86-64 instruction decoder and the data semantics of the
//! instructions the PV layer emulates:
//!
//! - writes to guest page tables (`mov`, `xchg`, `cmpxchg`, `and`, `or`,
//!   `bts`, `btr`, `btc` with a memory destination, optionally `lock`ed),
//!   for writable-page-table emulation;
//! - privileged instructions a PV kernel executes at CPL 3 and that fault
//!   with `#GP`: port I/O (`in`/`out`/`ins`/`outs`), `rdmsr`/`wrmsr`,
//!   `mov` to/from control registers, `clts`, `wbinvd`, `invd`, `hlt`,
//!   `cli`/`sti`, and `int n`;
//! - Xen's forced-emulation prefix (`ud2; "xen"`) in front of `cpuid`.
//!
//! Pure logic over a byte slice and a register frame; the PV layer fetches
//! the bytes from the guest and performs the side effects.

use pv_abi::abi::arch_x86::CpuUserRegs;

/// Xen's forced-emulation prefix: `ud2` followed by "xen".
pub const XEN_EMULATE_PREFIX: [u8; 5] = [0x0f, 0x0b, b'x', b'e', b'n'];

/// Why decoding failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Ran out of bytes.
    Truncated,
    /// An instruction or form we do not emulate.
    Unsupported,
}

/// A memory operand: `seg:[base + index*scale + disp]` or `[rip + disp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemOperand {
    /// Base register number, if any.
    pub base: Option<u8>,
    /// Index register number and scale.
    pub index: Option<(u8, u8)>,
    /// Displacement.
    pub disp: i64,
    /// RIP-relative (relative to the next instruction).
    pub rip_relative: bool,
    /// FS or GS override (their bases apply); others are flat in 64-bit mode.
    pub seg: Seg,
}

/// Segment override that matters in 64-bit mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    /// No base.
    Flat,
    /// FS base.
    Fs,
    /// GS base.
    Gs,
}

/// A source operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// A register (number; `true` = legacy high byte AH/CH/DH/BH).
    Reg(u8, bool),
    /// An immediate (already sign-extended to 64 bits).
    Imm(u64),
}

/// Read-modify-write operations on a memory destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// `mov`
    Mov,
    /// `xchg` (the register receives the old value)
    Xchg,
    /// `cmpxchg` (compare with the accumulator)
    Cmpxchg,
    /// `and`
    And,
    /// `or`
    Or,
    /// `bts` (bit test and set)
    Bts,
    /// `btr` (bit test and reset)
    Btr,
    /// `btc` (bit test and complement)
    Btc,
}

/// An I/O port operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// Immediate port number.
    Imm(u8),
    /// Port in DX.
    Dx,
}

/// A decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A write to memory.
    MemWrite {
        /// The operation.
        op: WriteOp,
        /// Destination.
        mem: MemOperand,
        /// Source.
        src: Src,
    },
    /// `in` into AL/AX/EAX.
    In(Port),
    /// `out` from AL/AX/EAX.
    Out(Port),
    /// `ins` (string input; `rep` possible).
    Ins,
    /// `outs` (string output; `rep` possible).
    Outs,
    /// `rdmsr`
    Rdmsr,
    /// `wrmsr`
    Wrmsr,
    /// `mov reg, crN`
    MovFromCr {
        /// Control register.
        cr: u8,
        /// Destination GPR.
        reg: u8,
    },
    /// `mov crN, reg`
    MovToCr {
        /// Control register.
        cr: u8,
        /// Source GPR.
        reg: u8,
    },
    /// `clts`
    Clts,
    /// `wbinvd`
    Wbinvd,
    /// `invd`
    Invd,
    /// `hlt`
    Hlt,
    /// `cli`
    Cli,
    /// `sti`
    Sti,
    /// `int imm8`
    IntN(u8),
    /// `cpuid` (after the forced-emulation prefix)
    Cpuid,
}

/// A decoded instruction with its length and prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// The operation.
    pub op: Op,
    /// Bytes consumed.
    pub len: usize,
    /// Operand size in bytes (1, 2, 4 or 8).
    pub size: u8,
    /// `lock` prefix.
    pub lock: bool,
    /// `rep`/`repe` prefix (string I/O).
    pub rep: bool,
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let v = *self.b.get(self.i).ok_or(DecodeError::Truncated)?;
        self.i += 1;
        Ok(v)
    }
    fn i8(&mut self) -> Result<i64, DecodeError> {
        Ok(self.u8()? as i8 as i64)
    }
    fn i32(&mut self) -> Result<i64, DecodeError> {
        let mut v = [0u8; 4];
        for x in &mut v {
            *x = self.u8()?;
        }
        Ok(i32::from_le_bytes(v) as i64)
    }
    fn i16(&mut self) -> Result<i64, DecodeError> {
        let lo = self.u8()?;
        let hi = self.u8()?;
        Ok(i16::from_le_bytes([lo, hi]) as i64)
    }
}

#[derive(Default, Clone, Copy)]
struct Prefixes {
    opsize: bool,
    lock: bool,
    rep: bool,
    seg: Option<Seg>,
    rex: u8,
}

impl Prefixes {
    fn w(&self) -> bool {
        self.rex & 8 != 0
    }
    fn size(&self) -> u8 {
        if self.w() {
            8
        } else if self.opsize {
            2
        } else {
            4
        }
    }
}

/// Decodes ModRM (+SIB, +disp). Returns (reg field with REX.R, memory
/// operand); register-direct forms are `Unsupported` (no memory to emulate).
fn modrm(c: &mut Cursor<'_>, p: &Prefixes) -> Result<(u8, u8, MemOperand), DecodeError> {
    let m = c.u8()?;
    let md = m >> 6;
    let reg = ((m >> 3) & 7) | if p.rex & 4 != 0 { 8 } else { 0 };
    let rm = m & 7;
    if md == 3 {
        return Err(DecodeError::Unsupported);
    }
    let seg = p.seg.unwrap_or(Seg::Flat);
    let mut op = MemOperand { base: None, index: None, disp: 0, rip_relative: false, seg };
    if rm == 4 {
        let sib = c.u8()?;
        let scale = 1u8 << (sib >> 6);
        let idx = ((sib >> 3) & 7) | if p.rex & 2 != 0 { 8 } else { 0 };
        let base = (sib & 7) | if p.rex & 1 != 0 { 8 } else { 0 };
        if idx != 4 {
            op.index = Some((idx, scale));
        }
        if sib & 7 == 5 && md == 0 {
            op.disp = c.i32()?;
        } else {
            op.base = Some(base);
        }
    } else if rm == 5 && md == 0 {
        op.rip_relative = true;
        op.disp = c.i32()?;
    } else {
        op.base = Some(rm | if p.rex & 1 != 0 { 8 } else { 0 });
    }
    match md {
        1 => op.disp = op.disp.wrapping_add(c.i8()?),
        2 => op.disp = op.disp.wrapping_add(c.i32()?),
        _ => {}
    }
    Ok(((m >> 3) & 7, reg, op))
}

fn reg_src(reg: u8, size: u8, p: &Prefixes) -> Src {
    // Without REX, 8-bit registers 4..7 are AH, CH, DH, BH.
    if size == 1 && p.rex == 0 && (4..8).contains(&reg) {
        Src::Reg(reg - 4, true)
    } else {
        Src::Reg(reg, false)
    }
}

/// Decodes one instruction from `bytes` (up to 15 bytes fetched at RIP).
pub fn decode(bytes: &[u8]) -> Result<Insn, DecodeError> {
    let bytes = &bytes[..bytes.len().min(15)];
    let mut c = Cursor { b: bytes, i: 0 };
    let mut p = Prefixes::default();
    let mut b = c.u8()?;
    loop {
        match b {
            0x66 => p.opsize = true,
            0xf0 => p.lock = true,
            0xf2 | 0xf3 => p.rep = true,
            0x2e | 0x36 | 0x3e | 0x26 => {}
            0x64 => p.seg = Some(Seg::Fs),
            0x65 => p.seg = Some(Seg::Gs),
            0x67 => return Err(DecodeError::Unsupported), // 32-bit addressing
            _ => break,
        }
        b = c.u8()?;
    }
    if (0x40..=0x4f).contains(&b) {
        p.rex = b;
        b = c.u8()?;
    }
    let mk = |op, size, c: &Cursor<'_>, p: &Prefixes| Insn { op, len: c.i, size, lock: p.lock, rep: p.rep };
    let sz = p.size();
    let sz_imm = |c: &mut Cursor<'_>, size: u8| -> Result<u64, DecodeError> {
        Ok(match size {
            1 => c.i8()? as u64,
            2 => c.i16()? as u64,
            _ => c.i32()? as u64,
        })
    };
    let insn = match b {
        0x88 | 0x89 | 0x86 | 0x87 | 0x08 | 0x09 | 0x20 | 0x21 => {
            let size = if b & 1 == 0 { 1 } else { sz };
            let (_, reg, mem) = modrm(&mut c, &p)?;
            let op = match b & !1 {
                0x88 => WriteOp::Mov,
                0x86 => WriteOp::Xchg,
                0x08 => WriteOp::Or,
                _ => WriteOp::And,
            };
            mk(Op::MemWrite { op, mem, src: reg_src(reg, size, &p) }, size, &c, &p)
        }
        0xc6 | 0xc7 => {
            let size = if b == 0xc6 { 1 } else { sz };
            let (sub, _, mem) = modrm(&mut c, &p)?;
            if sub != 0 {
                return Err(DecodeError::Unsupported);
            }
            let imm = sz_imm(&mut c, size)?;
            mk(Op::MemWrite { op: WriteOp::Mov, mem, src: Src::Imm(imm) }, size, &c, &p)
        }
        0x80 | 0x81 | 0x83 => {
            let size = if b == 0x80 { 1 } else { sz };
            let (sub, _, mem) = modrm(&mut c, &p)?;
            let op = match sub {
                1 => WriteOp::Or,
                4 => WriteOp::And,
                _ => return Err(DecodeError::Unsupported),
            };
            let imm = if b == 0x83 { c.i8()? as u64 } else { sz_imm(&mut c, size)? };
            mk(Op::MemWrite { op, mem, src: Src::Imm(imm) }, size, &c, &p)
        }
        0xe4 | 0xe5 => {
            let port = c.u8()?;
            mk(Op::In(Port::Imm(port)), if b == 0xe4 { 1 } else { io_size(&p) }, &c, &p)
        }
        0xe6 | 0xe7 => {
            let port = c.u8()?;
            mk(Op::Out(Port::Imm(port)), if b == 0xe6 { 1 } else { io_size(&p) }, &c, &p)
        }
        0xec | 0xed => mk(Op::In(Port::Dx), if b == 0xec { 1 } else { io_size(&p) }, &c, &p),
        0xee | 0xef => mk(Op::Out(Port::Dx), if b == 0xee { 1 } else { io_size(&p) }, &c, &p),
        0x6c | 0x6d => mk(Op::Ins, if b == 0x6c { 1 } else { io_size(&p) }, &c, &p),
        0x6e | 0x6f => mk(Op::Outs, if b == 0x6e { 1 } else { io_size(&p) }, &c, &p),
        0xf4 => mk(Op::Hlt, 0, &c, &p),
        0xfa => mk(Op::Cli, 0, &c, &p),
        0xfb => mk(Op::Sti, 0, &c, &p),
        0xcd => {
            let v = c.u8()?;
            mk(Op::IntN(v), 0, &c, &p)
        }
        0x0f => {
            let b2 = c.u8()?;
            match b2 {
                0x30 => mk(Op::Wrmsr, 0, &c, &p),
                0x32 => mk(Op::Rdmsr, 0, &c, &p),
                0x06 => mk(Op::Clts, 0, &c, &p),
                0x08 => mk(Op::Invd, 0, &c, &p),
                0x09 => mk(Op::Wbinvd, 0, &c, &p),
                0xa2 => mk(Op::Cpuid, 0, &c, &p),
                0x20 | 0x22 => {
                    // mov to/from CRn: mod is ignored (always register form).
                    let m = c.u8()?;
                    let cr = ((m >> 3) & 7) | if p.rex & 4 != 0 { 8 } else { 0 };
                    let reg = (m & 7) | if p.rex & 1 != 0 { 8 } else { 0 };
                    let op = if b2 == 0x20 { Op::MovFromCr { cr, reg } } else { Op::MovToCr { cr, reg } };
                    mk(op, 8, &c, &p)
                }
                0xb0 | 0xb1 => {
                    let size = if b2 == 0xb0 { 1 } else { sz };
                    let (_, reg, mem) = modrm(&mut c, &p)?;
                    mk(Op::MemWrite { op: WriteOp::Cmpxchg, mem, src: reg_src(reg, size, &p) }, size, &c, &p)
                }
                0xab | 0xb3 | 0xbb => {
                    let (_, reg, mem) = modrm(&mut c, &p)?;
                    let op = match b2 {
                        0xab => WriteOp::Bts,
                        0xb3 => WriteOp::Btr,
                        _ => WriteOp::Btc,
                    };
                    mk(Op::MemWrite { op, mem, src: Src::Reg(reg, false) }, sz, &c, &p)
                }
                0xba => {
                    let (sub, _, mem) = modrm(&mut c, &p)?;
                    let op = match sub {
                        5 => WriteOp::Bts,
                        6 => WriteOp::Btr,
                        7 => WriteOp::Btc,
                        _ => return Err(DecodeError::Unsupported),
                    };
                    let imm = c.u8()? as u64;
                    mk(Op::MemWrite { op, mem, src: Src::Imm(imm) }, sz, &c, &p)
                }
                _ => return Err(DecodeError::Unsupported),
            }
        }
        _ => return Err(DecodeError::Unsupported),
    };
    Ok(insn)
}

fn io_size(p: &Prefixes) -> u8 {
    if p.opsize {
        2
    } else {
        4
    }
}

/// Whether `bytes` start with Xen's forced-emulation prefix + `cpuid`.
pub fn is_forced_cpuid(bytes: &[u8]) -> bool {
    bytes.len() >= 7 && bytes[..5] == XEN_EMULATE_PREFIX && bytes[5..7] == [0x0f, 0xa2]
}

/// Length of the forced-emulation `cpuid` sequence.
pub const FORCED_CPUID_LEN: usize = 7;

// ---- registers --------------------------------------------------------------

/// General-purpose register `n` (x86 numbering: 0 rax, 1 rcx, 2 rdx, 3 rbx,
/// 4 rsp, 5 rbp, 6 rsi, 7 rdi, 8..15 r8..r15).
pub fn gpr(r: &CpuUserRegs, n: u8) -> u64 {
    match n {
        0 => r.rax,
        1 => r.rcx,
        2 => r.rdx,
        3 => r.rbx,
        4 => r.rsp,
        5 => r.rbp,
        6 => r.rsi,
        7 => r.rdi,
        8 => r.r8,
        9 => r.r9,
        10 => r.r10,
        11 => r.r11,
        12 => r.r12,
        13 => r.r13,
        14 => r.r14,
        _ => r.r15,
    }
}

/// Mutable access to general-purpose register `n`.
pub fn gpr_mut(r: &mut CpuUserRegs, n: u8) -> &mut u64 {
    match n {
        0 => &mut r.rax,
        1 => &mut r.rcx,
        2 => &mut r.rdx,
        3 => &mut r.rbx,
        4 => &mut r.rsp,
        5 => &mut r.rbp,
        6 => &mut r.rsi,
        7 => &mut r.rdi,
        8 => &mut r.r8,
        9 => &mut r.r9,
        10 => &mut r.r10,
        11 => &mut r.r11,
        12 => &mut r.r12,
        13 => &mut r.r13,
        14 => &mut r.r14,
        _ => &mut r.r15,
    }
}

/// Writes a result of `size` bytes into a register with x86 rules: 32-bit
/// writes zero-extend, 8/16-bit writes merge.
pub fn set_reg(r: &mut CpuUserRegs, n: u8, high8: bool, size: u8, v: u64) {
    let g = gpr_mut(r, n);
    *g = match (size, high8) {
        (1, true) => (*g & !0xff00) | ((v & 0xff) << 8),
        (1, false) => (*g & !0xff) | (v & 0xff),
        (2, _) => (*g & !0xffff) | (v & 0xffff),
        (4, _) => v & 0xffff_ffff,
        _ => v,
    };
}

/// The value of a source operand, truncated to `size` bytes.
pub fn src_value(r: &CpuUserRegs, s: Src, size: u8) -> u64 {
    let v = match s {
        Src::Reg(n, true) => gpr(r, n) >> 8,
        Src::Reg(n, false) => gpr(r, n),
        Src::Imm(i) => i,
    };
    v & mask(size)
}

/// All-ones in `size` bytes.
pub fn mask(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size as u32 * 8)) - 1
    }
}

/// The linear address of a memory operand (`next_rip` for RIP-relative,
/// `fs_base`/`gs_base` for overrides).
pub fn effective_address(r: &CpuUserRegs, m: &MemOperand, next_rip: u64, fs_base: u64, gs_base: u64) -> u64 {
    let mut a = m.disp as u64;
    if m.rip_relative {
        a = a.wrapping_add(next_rip);
    }
    if let Some(b) = m.base {
        a = a.wrapping_add(gpr(r, b));
    }
    if let Some((i, s)) = m.index {
        a = a.wrapping_add(gpr(r, i).wrapping_mul(s as u64));
    }
    match m.seg {
        Seg::Flat => a,
        Seg::Fs => a.wrapping_add(fs_base),
        Seg::Gs => a.wrapping_add(gs_base),
    }
}

// ---- arithmetic flags ----------------------------------------------------------

/// RFLAGS bits.
pub mod flags {
    /// Carry.
    pub const CF: u64 = 1 << 0;
    /// Parity.
    pub const PF: u64 = 1 << 2;
    /// Adjust.
    pub const AF: u64 = 1 << 4;
    /// Zero.
    pub const ZF: u64 = 1 << 6;
    /// Sign.
    pub const SF: u64 = 1 << 7;
    /// Trap.
    pub const TF: u64 = 1 << 8;
    /// Interrupt enable.
    pub const IF: u64 = 1 << 9;
    /// Direction.
    pub const DF: u64 = 1 << 10;
    /// Overflow.
    pub const OF: u64 = 1 << 11;
    /// I/O privilege level.
    pub const IOPL: u64 = 3 << 12;
    /// Nested task.
    pub const NT: u64 = 1 << 14;
    /// Resume.
    pub const RF: u64 = 1 << 16;
    /// Virtual-8086.
    pub const VM: u64 = 1 << 17;
    /// Alignment check.
    pub const AC: u64 = 1 << 18;
    /// The arithmetic flags.
    pub const ARITH: u64 = CF | PF | AF | ZF | SF | OF;
}

fn szp(res: u64, size: u8) -> u64 {
    let res = res & mask(size);
    let mut f = 0;
    if res == 0 {
        f |= flags::ZF;
    }
    if res >> (size as u32 * 8 - 1) & 1 != 0 {
        f |= flags::SF;
    }
    if (res as u8).count_ones().is_multiple_of(2) {
        f |= flags::PF;
    }
    f
}

/// The flags of `cmp a, b` (i.e. `a - b`) at `size` bytes.
pub fn cmp_flags(a: u64, b: u64, size: u8) -> u64 {
    let (a, b) = (a & mask(size), b & mask(size));
    let res = a.wrapping_sub(b) & mask(size);
    let sign = size as u32 * 8 - 1;
    let mut f = szp(res, size);
    if a < b {
        f |= flags::CF;
    }
    if ((a ^ b) & (a ^ res)) >> sign & 1 != 0 {
        f |= flags::OF;
    }
    if (a ^ b ^ res) & 0x10 != 0 {
        f |= flags::AF;
    }
    f
}

/// Result of applying a write to a memory value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteResult {
    /// The new memory value (`size` bytes), or `None` if memory is not
    /// written (a failed `cmpxchg`).
    pub mem: Option<u64>,
    /// A register that receives a value: (register, high8, value).
    pub reg_out: Option<(u8, bool, u64)>,
    /// Arithmetic flags to set (others cleared), if the instruction
    /// defines them; `None` leaves the flags unchanged.
    pub flags: Option<u64>,
}

/// Applies `op` with source `src` (already truncated to `size`) to the old
/// memory value `old` (`size` bytes). `regs` supplies the accumulator for
/// `cmpxchg`; `src_reg` names the register operand for `xchg`/`cmpxchg`.
pub fn apply(
    op: WriteOp,
    size: u8,
    old: u64,
    src: u64,
    src_reg: Option<(u8, bool)>,
    regs: &CpuUserRegs,
) -> WriteResult {
    let m = mask(size);
    let old = old & m;
    let bit = |src: u64| src & (size as u64 * 8 - 1);
    match op {
        WriteOp::Mov => WriteResult { mem: Some(src & m), reg_out: None, flags: None },
        WriteOp::Xchg => {
            let (n, h) = src_reg.expect("xchg has a register operand");
            WriteResult { mem: Some(src & m), reg_out: Some((n, h, old)), flags: None }
        }
        WriteOp::Cmpxchg => {
            let acc = regs.rax & m;
            let f = cmp_flags(acc, old, size);
            if acc == old {
                WriteResult { mem: Some(src & m), reg_out: None, flags: Some(f) }
            } else {
                WriteResult { mem: None, reg_out: Some((0, false, old)), flags: Some(f) }
            }
        }
        WriteOp::And | WriteOp::Or => {
            let r = if op == WriteOp::And { old & src } else { old | src } & m;
            WriteResult { mem: Some(r), reg_out: None, flags: Some(szp(r, size)) }
        }
        WriteOp::Bts | WriteOp::Btr | WriteOp::Btc => {
            let b = bit(src);
            let was = old >> b & 1;
            let r = match op {
                WriteOp::Bts => old | (1 << b),
                WriteOp::Btr => old & !(1 << b),
                _ => old ^ (1 << b),
            };
            WriteResult { mem: Some(r & m), reg_out: None, flags: Some(if was != 0 { flags::CF } else { 0 }) }
        }
    }
}

/// Merges a `size`-byte write at byte offset `off` (within the 8-byte
/// word) into `word`.
pub fn merge(word: u64, off: usize, size: u8, v: u64) -> u64 {
    let shift = off as u32 * 8;
    let m = mask(size) << shift;
    (word & !m) | ((v << shift) & m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(b: &[u8]) -> Insn {
        decode(b).unwrap()
    }

    #[test]
    fn linux_pte_writes_decode() {
        // mov %rax,(%rdi)
        let i = d(&[0x48, 0x89, 0x07]);
        assert_eq!(i.size, 8);
        assert_eq!(i.len, 3);
        assert!(matches!(i.op, Op::MemWrite { op: WriteOp::Mov, src: Src::Reg(0, false), mem } if mem.base == Some(7)));
        // xchg %rax,(%rdi)
        let i = d(&[0x48, 0x87, 0x07]);
        assert!(matches!(i.op, Op::MemWrite { op: WriteOp::Xchg, .. }));
        // lock andb $0xfd,(%rdi)
        let i = d(&[0xf0, 0x80, 0x27, 0xfd]);
        assert!(i.lock);
        assert_eq!((i.size, i.len), (1, 4));
        assert!(matches!(i.op, Op::MemWrite { op: WriteOp::And, src: Src::Imm(0xffff_ffff_ffff_fffd), .. }));
        // lock btr $5,(%rdi) (64-bit)
        let i = d(&[0xf0, 0x48, 0x0f, 0xba, 0x37, 0x05]);
        assert_eq!((i.size, i.len), (8, 6));
        assert!(matches!(i.op, Op::MemWrite { op: WriteOp::Btr, src: Src::Imm(5), .. }));
        // lock cmpxchg %rsi,(%rdi)
        let i = d(&[0xf0, 0x48, 0x0f, 0xb1, 0x37]);
        assert!(matches!(i.op, Op::MemWrite { op: WriteOp::Cmpxchg, src: Src::Reg(6, false), .. }));
        // mov %r8,0x10(%rax,%rcx,8)
        let i = d(&[0x4c, 0x89, 0x44, 0xc8, 0x10]);
        match i.op {
            Op::MemWrite { mem, src, .. } => {
                assert_eq!(src, Src::Reg(8, false));
                assert_eq!((mem.base, mem.index, mem.disp), (Some(0), Some((1, 8)), 0x10));
            }
            _ => panic!(),
        }
        // movq $0x63,(%rdx) : C7 /0 with sign-extended imm32
        let i = d(&[0x48, 0xc7, 0x02, 0x63, 0, 0, 0]);
        assert!(matches!(i.op, Op::MemWrite { op: WriteOp::Mov, src: Src::Imm(0x63), .. }));
        assert_eq!(i.len, 7);
        // rip-relative and a gs override
        let i = d(&[0x65, 0x48, 0x89, 0x05, 0x10, 0, 0, 0]);
        match i.op {
            Op::MemWrite { mem, .. } => assert!(mem.rip_relative && mem.seg == Seg::Gs && mem.disp == 0x10),
            _ => panic!(),
        }
        // mov %ah,(%rbx): high byte without REX
        let i = d(&[0x88, 0x23]);
        assert!(matches!(i.op, Op::MemWrite { src: Src::Reg(0, true), .. }));
        // with REX, register 4 is SPL
        let i = d(&[0x40, 0x88, 0x23]);
        assert!(matches!(i.op, Op::MemWrite { src: Src::Reg(4, false), .. }));
    }

    #[test]
    fn privileged_instructions_decode() {
        assert_eq!(d(&[0x0f, 0x32]).op, Op::Rdmsr);
        assert_eq!(d(&[0x0f, 0x30]).op, Op::Wrmsr);
        assert_eq!(d(&[0xe4, 0x60]).op, Op::In(Port::Imm(0x60)));
        assert_eq!(d(&[0xe4, 0x60]).size, 1);
        assert_eq!(d(&[0xed]).op, Op::In(Port::Dx));
        assert_eq!(d(&[0x66, 0xed]).size, 2);
        assert_eq!(d(&[0xef]).size, 4);
        assert_eq!(d(&[0xf3, 0x6e]).op, Op::Outs);
        assert!(d(&[0xf3, 0x6e]).rep);
        assert_eq!(d(&[0x0f, 0x20, 0xe0]).op, Op::MovFromCr { cr: 4, reg: 0 });
        assert_eq!(d(&[0x41, 0x0f, 0x22, 0xc3]).op, Op::MovToCr { cr: 0, reg: 11 });
        assert_eq!(d(&[0xcd, 0x80]), Insn { op: Op::IntN(0x80), len: 2, size: 0, lock: false, rep: false });
        assert_eq!(d(&[0xf4]).op, Op::Hlt);
        assert_eq!(d(&[0x0f, 0x09]).op, Op::Wbinvd);
        assert!(is_forced_cpuid(&[0x0f, 0x0b, b'x', b'e', b'n', 0x0f, 0xa2]));
        assert!(!is_forced_cpuid(&[0x0f, 0x0b, b'x', b'e', b'n', 0x0f]));
        assert!(!is_forced_cpuid(&[0x0f, 0x0b, 0x90]));
    }

    #[test]
    fn junk_is_refused_not_misread() {
        assert_eq!(decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(decode(&[0x48]), Err(DecodeError::Truncated));
        assert_eq!(decode(&[0x48, 0x89]), Err(DecodeError::Truncated));
        assert_eq!(decode(&[0x48, 0x89, 0x04]), Err(DecodeError::Truncated), "needs a SIB byte");
        assert_eq!(decode(&[0x48, 0x89, 0xc7]), Err(DecodeError::Unsupported), "register destination");
        assert_eq!(decode(&[0x67, 0x89, 0x07]), Err(DecodeError::Unsupported));
        assert_eq!(decode(&[0x90]), Err(DecodeError::Unsupported));
        assert_eq!(decode(&[0x80, 0x07, 0x01]), Err(DecodeError::Unsupported), "add is not emulated");
        // 15 prefixes and nothing else: truncated, no panic.
        assert_eq!(decode(&[0x66; 20]), Err(DecodeError::Truncated));
    }

    #[test]
    fn write_semantics() {
        let mut r = CpuUserRegs::default();
        // xchg returns the old value in the register.
        let w = apply(WriteOp::Xchg, 8, 0x1234, 0x5678, Some((3, false)), &r);
        assert_eq!(w.mem, Some(0x5678));
        assert_eq!(w.reg_out, Some((3, false, 0x1234)));
        // cmpxchg success and failure.
        r.rax = 0x1234;
        let w = apply(WriteOp::Cmpxchg, 8, 0x1234, 0x99, Some((6, false)), &r);
        assert_eq!(w.mem, Some(0x99));
        assert_ne!(w.flags.unwrap() & flags::ZF, 0);
        let w = apply(WriteOp::Cmpxchg, 8, 0x1235, 0x99, Some((6, false)), &r);
        assert_eq!(w.mem, None);
        assert_eq!(w.reg_out, Some((0, false, 0x1235)));
        assert_eq!(w.flags.unwrap() & flags::ZF, 0);
        // btr returns the old bit in CF.
        let w = apply(WriteOp::Btr, 8, 0x63, 5, None, &r);
        assert_eq!(w.mem, Some(0x43));
        assert_eq!(w.flags, Some(flags::CF));
        let w = apply(WriteOp::Bts, 8, 0x43, 69, None, &r); // bit index taken mod 64
        assert_eq!(w.mem, Some(0x63));
        assert_eq!(w.flags, Some(0));
        // and with a byte; flags
        let w = apply(WriteOp::And, 1, 0x67, 0xfd, None, &r);
        assert_eq!(w.mem, Some(0x65));
        assert_eq!(w.flags.unwrap() & (flags::ZF | flags::CF), 0);
        let w = apply(WriteOp::And, 1, 0x02, 0xfd, None, &r);
        assert_ne!(w.flags.unwrap() & flags::ZF, 0);
        // merges into the 8-byte PTE
        assert_eq!(merge(0x1111_2222_3333_4467, 0, 1, 0x65), 0x1111_2222_3333_4465);
        assert_eq!(merge(0x1111_2222_3333_4467, 4, 4, 0xaaaa_bbbb), 0xaaaa_bbbb_3333_4467);
    }

    #[test]
    fn cmp_flags_match_hardware_rules() {
        assert_eq!(cmp_flags(1, 1, 8) & (flags::ZF | flags::CF), flags::ZF);
        assert_eq!(cmp_flags(0, 1, 8) & (flags::CF | flags::SF), flags::CF | flags::SF);
        assert_ne!(cmp_flags(0x80, 1, 1) & flags::OF, 0, "-128 - 1 overflows a byte");
        assert_eq!(cmp_flags(0x80, 1, 2) & flags::OF, 0);
    }

    #[test]
    fn registers_and_addresses() {
        let mut r = CpuUserRegs { rax: 0xffff_ffff_ffff_ffff, rbx: 0x1000, rcx: 3, ..Default::default() };
        set_reg(&mut r, 0, false, 4, 0x1234);
        assert_eq!(r.rax, 0x1234, "32-bit writes zero-extend");
        set_reg(&mut r, 0, true, 1, 0xab);
        assert_eq!(r.rax, 0xab34);
        set_reg(&mut r, 0, false, 2, 0x5678_9999);
        assert_eq!(r.rax, 0x9999);
        let m = MemOperand { base: Some(3), index: Some((1, 8)), disp: -8, rip_relative: false, seg: Seg::Gs };
        assert_eq!(effective_address(&r, &m, 0, 0, 0x10_0000), 0x10_1010);
        assert_eq!(src_value(&r, Src::Reg(0, true), 1), 0x99);
    }
}
