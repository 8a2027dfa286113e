/*
 * Entry and exit paths.
 *
 * Every entry builds a struct cpu_user_regs (pv-abi CpuUserRegs) and calls
 * Rust with a pointer to it; every exit pops it and irets. Entries from a
 * guest (ring 3) land on the single hypervisor stack with the frame at a
 * fixed place: TSS.RSP0 = hv_stack_top - 32, so the frame spans
 * [hv_stack_top - 200, hv_stack_top) and es/ds/fs/gs sit above the CPU's
 * push (as in Xen). Guest FPU/SSE state is saved to the current vCPU's
 * area (hv_cur_fpu) before any Rust runs, and restored on the way out, so
 * the hypervisor's own SSE use (libcore) never leaks into a guest.
 *
 * Entries from ring 0 (a fault in the hypervisor, e.g. a bad guest pointer
 * in the copy routine) save the FPU state on the stack instead.
 */

.equ GUEST_SS, 0xe02b
.equ GUEST_CS, 0xe033
.equ VEC_SYSCALL, 0x100
.equ VEC_SYSCALL32, 0x101

        .text

.macro PUSH_GPRS
        pushq   %rdi
        pushq   %rsi
        pushq   %rdx
        pushq   %rcx
        pushq   %rax
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
.endm

/* Saves the guest's FPU/SSE state into the current vCPU's area; clears
 * CR0.TS first if the guest had it set (fxsave would fault). */
.macro SAVE_GUEST_FPU
        cmpb    $0, hv_guest_ts(%rip)
        je      6f
        clts
6:
        movq    hv_cur_fpu(%rip), %rax
        fxsave64 (%rax)
.endm

.macro POP_GPRS
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rax
        popq    %rcx
        popq    %rdx
        popq    %rsi
        popq    %rdi
.endm

/* Exception/interrupt stubs, one per vector, 16 bytes apart: generated
 * by build.rs into stubs.S (vectors with a CPU error code skip the push). */

hv_common_entry:
        PUSH_GPRS
        cld
        testb   $3, 136(%rsp)           /* cs: from a guest? */
        jz      1f
        SAVE_GUEST_FPU
        movq    %rsp, %rbx
        andq    $-16, %rsp
        movq    %rbx, %rdi
        call    hv_trap
        jmp     hv_exit_to_guest
1:      /* From the hypervisor itself. */
        movq    %rsp, %rbx
        andq    $-16, %rsp
        subq    $512, %rsp
        fxsave64 (%rsp)
        movq    %rbx, %rdi
        call    hv_trap
        fxrstor64 (%rsp)
        movq    %rbx, %rsp
        POP_GPRS
        addq    $8, %rsp
        iretq

/*
 * SYSCALL from a guest (kernel: a hypercall; user: the guest's own system
 * call). %rcx = guest rip, %r11 = guest rflags, %rsp = guest stack; IF,
 * TF, DF, AC, NT are cleared by SFMASK.
 */
        .globl hv_syscall_entry
hv_syscall_entry:
        movq    %rsp, hv_guest_rsp_scratch(%rip)
        leaq    hv_stack_top - 32(%rip), %rsp
        pushq   $GUEST_SS
        pushq   hv_guest_rsp_scratch(%rip)
        pushq   %r11
        pushq   $GUEST_CS
        pushq   %rcx
        pushq   $0
        movl    $VEC_SYSCALL, 4(%rsp)
        jmp     hv_syscall_common

/* SYSCALL from 32-bit compatibility mode: not supported for PV guests;
 * Rust sees entry_vector VEC_SYSCALL32 and deals with the domain. */
        .globl hv_cstar_entry
hv_cstar_entry:
        movq    %rsp, hv_guest_rsp_scratch(%rip)
        leaq    hv_stack_top - 32(%rip), %rsp
        pushq   $GUEST_SS
        pushq   hv_guest_rsp_scratch(%rip)
        pushq   %r11
        pushq   $GUEST_CS
        pushq   %rcx
        pushq   $0
        movl    $VEC_SYSCALL32, 4(%rsp)

hv_syscall_common:
        PUSH_GPRS
        SAVE_GUEST_FPU
        movq    %rsp, %rbx
        andq    $-16, %rsp
        movq    %rbx, %rdi
        call    hv_syscall
        /* fall through */

/*
 * Return to the current guest vCPU from the frame at the top of the
 * stack. Rust has already validated the frame (ring-3 selectors,
 * canonical rip, sane rflags) and may have switched vCPUs, which changes
 * hv_cur_fpu.
 */
        .globl hv_exit_to_guest
hv_exit_to_guest:
        leaq    hv_stack_top - 200(%rip), %rsp
        movq    hv_cur_fpu(%rip), %rax
        fxrstor64 (%rax)
        /* The guest asked for CR0.TS (fpu_taskswitch): set it last, after
         * the restore, so its next FPU instruction raises #NM. */
        cmpb    $0, hv_guest_ts(%rip)
        je      5f
        movq    %cr0, %rax
        orq     $8, %rax
        movq    %rax, %cr0
5:
        POP_GPRS
        addq    $8, %rsp
hv_exit_iretq:
        iretq

/* The iretq above faulted (a guest frame the CPU refused: bad selector).
 * The fault handler resumed here on the frame; the guest's FPU state is
 * still in its save area, so Rust may use SSE once TS is clear. */
hv_iret_fault:
        clts
        leaq    hv_stack_top - 256(%rip), %rsp
        call    hv_bad_iret
        jmp     hv_exit_to_guest

        .pushsection .ex_table, "a"
        .quad   hv_exit_iretq, hv_iret_fault
        .popsection

/*
 * Copies between hypervisor and guest memory. A fault on the rep movsb
 * is fixed up through .ex_table to the instruction after it, with %rcx =
 * bytes not copied. Returns that count (0 = success).
 *   u64 hv_copy_guest(void *dst, const void *src, u64 len)
 */
        .globl hv_copy_guest
hv_copy_guest:
        /* Whole quadwords move 8 bytes per iteration (a REP iteration is
         * one step for the CPU, and one instruction under QEMU's icount). */
        testq   $7, %rdx
        jnz     1f
        movq    %rdx, %rcx
        shrq    $3, %rcx
hv_copy_guest_q:
        rep movsq
hv_copy_guest_q_done:
        leaq    (,%rcx,8), %rax
        ret
1:
        movq    %rdx, %rcx
hv_copy_guest_insn:
        rep movsb
hv_copy_guest_done:
        movq    %rcx, %rax
        ret

        .pushsection .ex_table, "a"
        .quad   hv_copy_guest_insn, hv_copy_guest_done
        .quad   hv_copy_guest_q, hv_copy_guest_q_done
        .popsection

        .bss
        .balign 16
        .globl hv_guest_rsp_scratch
hv_guest_rsp_scratch:
        .quad   0
        .globl hv_cur_fpu
hv_cur_fpu:
        .quad   0
        .balign 4096
        .globl hv_stack
hv_stack:
        .skip   64 * 1024
        .globl hv_stack_top
hv_stack_top:
        .globl hv_ist_stacks
hv_ist_stacks:
        .skip   3 * 8192
