/* core/context/switch_x86_64_win64.S — context switch for x86-64 Windows (Win64 ABI), GNU as
 * syntax as mingw-w64 gcc and clang assemble it.
 *
 * What a call must preserve (Microsoft x64 calling convention), and so what a switch saves: rbx,
 * rbp, rdi, rsi, r12-r15, rsp, xmm6-xmm15 (all 128 bits), the control bits of MXCSR and the x87
 * control word.
 *
 * Windows also keeps the running thread's stack bounds in the TIB, and acts on them: stack probes
 * and guard-page growth, SEH's check that every frame lies inside the stack, and stack overflow
 * handling all read them. A switch therefore swaps three TIB fields along with the registers:
 *     gs:0x08  StackBase          one past the highest address of the stack
 *     gs:0x10  StackLimit         the lowest committed address
 *     gs:0x1478 DeallocationStack the lowest reserved address
 * Without this, an exception raised on a task stack is judged to have a corrupt stack and the
 * process is terminated.
 *
 * Frame saved on the stack being left (offsets from the saved stack pointer; 272 bytes, and the
 * saved stack pointer is 16-byte aligned, which movaps needs):
 *      0  xmm6 ... 144 xmm15 (16 bytes each)
 *    160  MXCSR (4 bytes), x87 control word (2 bytes), 2 bytes unused
 *    168  DeallocationStack   176  StackLimit   184  StackBase   192  unused
 *    200  r15   208  r14   216  r13   224  r12   232  rsi   240  rdi   248  rbx   256  rbp
 *    264  return address
 * A fresh context (tide__context_prepare) holds the same frame with r12 = self, r13 = start, the
 * TIB fields describing the new stack and the return address pointing at the trampoline; above
 * it, 48 zero bytes.
 *
 * Where the time goes (see switch_x86_64_sysv.S, which shares this design): a ret to another
 * context always misses the return stack buffer, so the switch ends with pop + jmp through a
 * register, which the indirect-branch predictor learns; ldmxcsr and fldcw are slow, so the modes
 * are reloaded only when they differ.
 *
 * Pitfalls:
 *   - The unwind info (.seh_*) describes the prologue, which is what Windows' unwinder needs to
 *     walk through a suspended context's frame; the trampoline has none, so the unwinder takes it
 *     for a leaf function, reads its "return address" from the zeros above it, and stops.
 *   - The epilogue ends in jmp through a register rather than ret. No exception can be raised in
 *     it, so the unwinder never has to recognise it as an epilogue. */

/* Assembles to nothing for another architecture: a multi-architecture macOS build compiles every
 * switch file for every architecture. */
#if defined(__x86_64__) && defined(_WIN32)

        .text

/* void *tide__context_swap(void **from_sp (rcx), void *to_sp (rdx), void *transfer (r8)) */
        .globl  tide__context_swap
        .def    tide__context_swap; .scl 2; .type 32; .endef
        .p2align 4
tide__context_swap:
        .seh_proc tide__context_swap
        pushq   %rbp
        .seh_pushreg %rbp
        pushq   %rbx
        .seh_pushreg %rbx
        pushq   %rdi
        .seh_pushreg %rdi
        pushq   %rsi
        .seh_pushreg %rsi
        pushq   %r12
        .seh_pushreg %r12
        pushq   %r13
        .seh_pushreg %r13
        pushq   %r14
        .seh_pushreg %r14
        pushq   %r15
        .seh_pushreg %r15
        subq    $200, %rsp
        .seh_stackalloc 200
        movaps  %xmm6, 0(%rsp)
        .seh_savexmm %xmm6, 0
        movaps  %xmm7, 16(%rsp)
        .seh_savexmm %xmm7, 16
        movaps  %xmm8, 32(%rsp)
        .seh_savexmm %xmm8, 32
        movaps  %xmm9, 48(%rsp)
        .seh_savexmm %xmm9, 48
        movaps  %xmm10, 64(%rsp)
        .seh_savexmm %xmm10, 64
        movaps  %xmm11, 80(%rsp)
        .seh_savexmm %xmm11, 80
        movaps  %xmm12, 96(%rsp)
        .seh_savexmm %xmm12, 96
        movaps  %xmm13, 112(%rsp)
        .seh_savexmm %xmm13, 112
        movaps  %xmm14, 128(%rsp)
        .seh_savexmm %xmm14, 128
        movaps  %xmm15, 144(%rsp)
        .seh_savexmm %xmm15, 144
        .seh_endprologue
        stmxcsr 160(%rsp)
        fnstcw  164(%rsp)
        movl    160(%rsp), %r9d             /* the running modes, to compare with the next ones */
        andl    $0xffc0, %r9d               /* MXCSR's control bits only (see the SysV file) */
        movzwl  164(%rsp), %r11d
        movq    %gs:0x1478, %r10
        movq    %r10, 168(%rsp)
        movq    %gs:0x10, %r10
        movq    %r10, 176(%rsp)
        movq    %gs:0x08, %r10
        movq    %r10, 184(%rsp)

        /* The switch itself. */
        movq    %rsp, (%rcx)
        movq    %rdx, %rsp

        movq    184(%rsp), %r10
        movq    %r10, %gs:0x08
        movq    176(%rsp), %r10
        movq    %r10, %gs:0x10
        movq    168(%rsp), %r10
        movq    %r10, %gs:0x1478
        movl    160(%rsp), %r10d
        andl    $0xffc0, %r10d
        cmpl    %r10d, %r9d
        jne     1f
        cmpw    164(%rsp), %r11w
        jne     1f
2:      movaps  0(%rsp), %xmm6
        movaps  16(%rsp), %xmm7
        movaps  32(%rsp), %xmm8
        movaps  48(%rsp), %xmm9
        movaps  64(%rsp), %xmm10
        movaps  80(%rsp), %xmm11
        movaps  96(%rsp), %xmm12
        movaps  112(%rsp), %xmm13
        movaps  128(%rsp), %xmm14
        movaps  144(%rsp), %xmm15
        addq    $200, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rsi
        popq    %rdi
        popq    %rbx
        popq    %rbp
        popq    %r9
        /* The transfer value: the return value of the resumed swap, and the first argument of
         * start when the trampoline is where we jump. */
        movq    %r8, %rax
        movq    %r8, %rcx
        jmp     *%r9

        /* The resumed context runs with other FP modes: load them (out of line, rarely taken). */
1:      ldmxcsr 160(%rsp)
        fldcw   164(%rsp)
        jmp     2b
        .seh_endproc

/* Entered by tide__context_swap's jmp with rsp 16-byte aligned, rcx = transfer, r12 = self,
 * r13 = start. Calls start(transfer, self) with the 32 bytes of home space the Win64 ABI gives
 * every callee; start never returns. */
        .def    context_trampoline; .scl 3; .type 32; .endef
        .p2align 4
context_trampoline:
        movq    %r12, %rdx
        subq    $32, %rsp
        call    *%r13
        ud2

/* void *tide__context_prepare(void *stack_base (rcx), void *stack_top (rdx),
 *                             void (*start)(void *, void *) (r8), void *self (r9)) */
        .globl  tide__context_prepare
        .def    tide__context_prepare; .scl 2; .type 32; .endef
        .p2align 4
tide__context_prepare:
        movq    %rdx, %rax
        andq    $-16, %rax
        movq    %rax, %r10                  /* StackBase: the aligned top */
        /* 48 zero bytes at the top: the trampoline's home space and a null return address. */
        movq    $0, -8(%rax)
        movq    $0, -16(%rax)
        movq    $0, -24(%rax)
        movq    $0, -32(%rax)
        movq    $0, -40(%rax)
        movq    $0, -48(%rax)
        subq    $320, %rax                  /* 48 + the 272-byte frame; stays 16-byte aligned */
        xorps   %xmm0, %xmm0
        movaps  %xmm0, 0(%rax)              /* xmm6-xmm15 */
        movaps  %xmm0, 16(%rax)
        movaps  %xmm0, 32(%rax)
        movaps  %xmm0, 48(%rax)
        movaps  %xmm0, 64(%rax)
        movaps  %xmm0, 80(%rax)
        movaps  %xmm0, 96(%rax)
        movaps  %xmm0, 112(%rax)
        movaps  %xmm0, 128(%rax)
        movaps  %xmm0, 144(%rax)
        stmxcsr 160(%rax)                   /* a new context starts with the creator's FP modes */
        fnstcw  164(%rax)
        movw    $0, 166(%rax)
        movq    %rcx, 168(%rax)             /* DeallocationStack: the stack's lowest address */
        movq    %rcx, 176(%rax)             /* StackLimit: all of it is committed */
        movq    %r10, 184(%rax)             /* StackBase */
        movq    $0, 192(%rax)
        movq    $0, 200(%rax)               /* r15 */
        movq    $0, 208(%rax)               /* r14 */
        movq    %r8, 216(%rax)              /* r13 = start */
        movq    %r9, 224(%rax)              /* r12 = self */
        movq    $0, 232(%rax)               /* rsi */
        movq    $0, 240(%rax)               /* rdi */
        movq    $0, 248(%rax)               /* rbx */
        movq    $0, 256(%rax)               /* rbp */
        leaq    context_trampoline(%rip), %r10
        movq    %r10, 264(%rax)             /* return address */
        ret

#endif /* x86-64 Windows */
