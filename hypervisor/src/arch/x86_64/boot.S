/*
 * PVH entry. QEMU enters here in 32-bit protected mode, paging off,
 * interrupts off, %ebx = physical address of struct hvm_start_info.
 *
 * We build just enough page tables to reach Rust: the low 4 GiB mapped
 * both 1:1 and at the direct-map base (0xffff830000000000), and the image
 * at XEN_VIRT_START. Rust replaces them with the real tables at once.
 * SSE is enabled here, before any Rust (libcore uses it).
 */
        .section .boot.text, "ax", @progbits
        .code32
        .globl _start32
_start32:
        cld
        movl    %ebx, %esi              /* hvm_start_info (survives to 64-bit) */

        /* Page tables: pml4[0] and pml4[262] -> pdpt_low -> 4 PDs of 2 MiB pages. */
        movl    $boot_pd_low, %edi
        xorl    %ecx, %ecx
1:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $0x83, %eax             /* present | rw | 2 MiB */
        movl    %eax, (%edi,%ecx,8)
        movl    %ecx, %eax
        shrl    $11, %eax               /* bits 32+ of (ecx << 21) */
        movl    %eax, 4(%edi,%ecx,8)
        incl    %ecx
        cmpl    $2048, %ecx
        jb      1b

        movl    $boot_pdpt_low, %edi
        xorl    %ecx, %ecx
2:      movl    %ecx, %eax
        shll    $12, %eax
        addl    $boot_pd_low + 0x3, %eax
        movl    %eax, (%edi,%ecx,8)
        incl    %ecx
        cmpl    $4, %ecx
        jb      2b

        /* Image: pd_high[0..8] -> 0x200000 + i * 2 MiB. */
        movl    $boot_pd_high, %edi
        xorl    %ecx, %ecx
3:      movl    %ecx, %eax
        shll    $21, %eax
        addl    $0x200000 + 0x83, %eax
        movl    %eax, (%edi,%ecx,8)
        incl    %ecx
        cmpl    $8, %ecx
        jb      3b

        movl    $boot_pdpt_low + 0x3, boot_pml4
        movl    $boot_pdpt_low + 0x3, boot_pml4 + 262 * 8
        movl    $boot_pdpt_high + 0x3, boot_pml4 + 261 * 8
        /* 0xffff82d040000000: pml4 261, pdpt 321, pd 0 */
        movl    $boot_pd_high + 0x3, boot_pdpt_high + 321 * 8

        /* CR4: PAE | OSFXSR | OSXMMEXCPT. */
        movl    %cr4, %eax
        orl     $(1 << 5) | (1 << 9) | (1 << 10), %eax
        movl    %eax, %cr4
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        /* EFER: LME | NXE | SCE. */
        movl    $0xc0000080, %ecx
        rdmsr
        orl     $(1 << 8) | (1 << 11) | (1 << 0), %eax
        wrmsr
        /* CR0: PG | WP | NE | MP | PE, EM and TS clear. */
        movl    %cr0, %eax
        andl    $~((1 << 2) | (1 << 3)), %eax
        orl     $(1 << 31) | (1 << 16) | (1 << 5) | (1 << 1) | (1 << 0), %eax
        movl    %eax, %cr0

        lgdt    boot_gdtr
        ljmp    $0x08, $boot64

        .code64
boot64:
        movl    $0x10, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        xorl    %eax, %eax
        movl    %eax, %fs
        movl    %eax, %gs
        movabsq $hv_entry64, %rax
        jmp     *%rax

        .section .boot.data, "aw", @progbits
        .balign 8
boot_gdt:
        .quad   0
        .quad   0x00af9a000000ffff      /* 0x08: ring 0 code, 64-bit */
        .quad   0x00cf92000000ffff      /* 0x10: ring 0 data */
boot_gdt_end:
boot_gdtr:
        .word   boot_gdt_end - boot_gdt - 1
        .long   boot_gdt

        .section .boot.bss, "aw", @nobits
        .balign 4096
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd_high:   .skip 4096
boot_pd_low:    .skip 4 * 4096

/* The 64-bit high-half entry: zero .bss, take the boot stack, call Rust. */
        .section .text.entry, "ax", @progbits
        .globl hv_entry64
hv_entry64:
        lea     __bss_start(%rip), %rdi
        lea     __bss_end(%rip), %rcx
        subq    %rdi, %rcx
        xorl    %eax, %eax
        rep stosb
        lea     hv_stack_top - 256(%rip), %rsp   /* the guest frame sits above */
        movl    %esi, %edi              /* hvm_start_info physical address */
        call    hv_start
        ud2
