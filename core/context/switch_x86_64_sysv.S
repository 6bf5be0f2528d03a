/* core/context/switch_x86_64_sysv.S — context switch for x86-64, System V ABI (Linux, BSDs, macOS).
 *
 * What a call must preserve (System V AMD64 ABI, 3.2.1 and 3.2.3), and so what a switch saves:
 * rbx, rbp, r12-r15, rsp, the control bits of MXCSR and the x87 control word. Everything else
 * is caller-saved: the C compiler has already spilled what it needs before calling us. No xmm
 * register is callee-saved on this ABI (unlike Win64).
 *
 * Frame saved on the stack being left (offsets from the saved stack pointer):
 *      0  MXCSR (4 bytes), x87 control word (2 bytes), 2 bytes unused
 *      8  r15     16  r14     24  r13     32  r12     40  rbx     48  rbp
 *     56  return address
 * A fresh context (tide__context_prepare) holds the same frame with r12 = self, r13 = start,
 * rbp = 0 and the return address pointing at the trampoline; above it, 16 zero bytes.
 *
 * Where the time goes, measured on this project's x86-64 machine (bench/micro/context_bench.cc),
 * and what the code does about it:
 *   - A switch "returns" somewhere other than where it was called from, which the CPU's return
 *     stack buffer always mispredicts (about 10 ns here: two thirds of a ret-based switch). The
 *     switch therefore ends with pop + jmp through a register: the indirect-branch predictor,
 *     which learns from history, gets it right in steady state. (A return after the switch, in
 *     the resumed code, still mispredicts: the return stack holds the other context's
 *     addresses. Keep the switch as few calls deep as possible.)
 *   - ldmxcsr and fldcw are slow (partly serialising) while the stores are cheap, and the modes
 *     almost never differ between contexts; they are reloaded only when they differ. Only
 *     MXCSR's control bits (rounding, masks, FTZ/DAZ: 0xffc0) are compared: its low six bits are
 *     sticky exception flags that the first inexact double operation sets, and comparing them
 *     made every later switch take the slow reload (7 ns became ~200 ns). The flags follow
 *     whichever context last reloaded; nothing in tide or its users' tasks reads them across
 *     a switch.
 *
 * Pitfalls:
 *   - CET: an indirect jmp to a return address would fault under IBT (no endbr64 there), and the
 *     shadow stack drifts because the call is never matched by a ret. This file carries no GNU
 *     property note, so the linker marks the program as neither IBT nor shadow-stack compatible
 *     and the kernel enables neither.
 *   - The trampoline's unwind info says the return address is undefined, so gdb and libgcc's
 *     unwinder stop there instead of walking into the zeros above it. */

/* Assembles to nothing for another architecture: a multi-architecture macOS build compiles every
 * switch file for every architecture. */
#if defined(__x86_64__) && !defined(_WIN32)

/* Mach-O prefixes C symbols with an underscore and has no .type/.size; ELF marks the entry points
 * hidden so that a shared library built from libtide.a calls them without going through the PLT. */
#if defined(__APPLE__)
#define SYM(name) _##name
#define HIDDEN(name) .private_extern _##name
#define TYPE_FUNCTION(name)
#define SIZE(name)
#else
#define SYM(name) name
#define HIDDEN(name) .hidden name
#define TYPE_FUNCTION(name) .type name, @function
#define SIZE(name) .size name, . - name
#endif

        .text

/* void *tide__context_swap(void **from_sp (rdi), void *to_sp (rsi), void *transfer (rdx)) */
        .globl  SYM(tide__context_swap)
        HIDDEN(tide__context_swap)
        TYPE_FUNCTION(tide__context_swap)
        .p2align 4
SYM(tide__context_swap):
        .cfi_startproc
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r15, 0
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %r9d                /* the running modes, to compare with the next ones */
        andl    $0xffc0, %r9d               /* MXCSR's control bits only: see below */
        movzwl  4(%rsp), %r10d

        /* The switch itself. Both stacks hold the same frame layout, so the unwind info above
         * stays true on either side of it. */
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp

        movl    (%rsp), %ecx
        andl    $0xffc0, %ecx
        cmpl    %ecx, %r9d
        jne     1f
        cmpw    4(%rsp), %r10w
        jne     1f
        .cfi_remember_state
2:      addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %r15
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r15
        popq    %r14
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r14
        popq    %r13
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r13
        popq    %r12
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r12
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbx
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbp
        popq    %r8
        .cfi_adjust_cfa_offset -8
        .cfi_register %rip, %r8
        /* The transfer value: the return value of the resumed swap, and the first argument of
         * start when the trampoline is where we jump. */
        movq    %rdx, %rax
        movq    %rdx, %rdi
        jmp     *%r8

        /* The resumed context runs with other FP modes: load them (out of line, rarely taken). */
        .cfi_restore_state
1:      ldmxcsr (%rsp)
        fldcw   4(%rsp)
        jmp     2b
        .cfi_endproc
SIZE(tide__context_swap)

/* Entered by tide__context_swap's jmp with rsp 16-byte aligned, rdi = transfer, r12 = self,
 * r13 = start. Calls start(transfer, self), which never returns. */
        TYPE_FUNCTION(context_trampoline)
        .p2align 4
context_trampoline:
        .cfi_startproc
        .cfi_undefined %rip
        movq    %r12, %rsi
        call    *%r13
        ud2
        .cfi_endproc
SIZE(context_trampoline)

/* void *tide__context_prepare(void *stack_base (rdi), void *stack_top (rsi),
 *                             void (*start)(void *, void *) (rdx), void *self (rcx)) */
        .globl  SYM(tide__context_prepare)
        HIDDEN(tide__context_prepare)
        TYPE_FUNCTION(tide__context_prepare)
        .p2align 4
SYM(tide__context_prepare):
        .cfi_startproc
        movq    %rsi, %rax
        andq    $-16, %rax
        /* 16 zero bytes at the top: a null return address and frame link for any unwinder that
         * ignores the trampoline's unwind info and walks frame pointers. */
        movq    $0, -8(%rax)
        movq    $0, -16(%rax)
        subq    $80, %rax                   /* 16 + the 64-byte frame; stays 16-byte aligned */
        stmxcsr (%rax)                      /* a new context starts with the creator's FP modes */
        fnstcw  4(%rax)
        movw    $0, 6(%rax)
        movq    $0, 8(%rax)                 /* r15 */
        movq    $0, 16(%rax)                /* r14 */
        movq    %rdx, 24(%rax)              /* r13 = start */
        movq    %rcx, 32(%rax)              /* r12 = self */
        movq    $0, 40(%rax)                /* rbx */
        movq    $0, 48(%rax)                /* rbp: ends frame-pointer walks */
        leaq    context_trampoline(%rip), %rdx
        movq    %rdx, 56(%rax)              /* return address */
        ret
        .cfi_endproc
SIZE(tide__context_prepare)

#endif /* x86-64 System V */

#if defined(__ELF__)
        .section .note.GNU-stack,"",@progbits
#endif
