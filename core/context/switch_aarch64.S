/* core/context/switch_aarch64.S — context switch for AArch64 (AAPCS64: Linux, BSDs, macOS).
 *
 * What a call must preserve (AAPCS64, 6.1.1 and 6.1.2), and so what a switch saves: x19-x28, the
 * frame pointer x29, the link register x30 (our return address), sp, and the low 64 bits of
 * v8-v15 (d8-d15). x18 is the platform register: some systems (macOS, Windows, Android with
 * shadow call stacks) reserve it for the OS or the thread, so it is neither saved nor touched.
 * FPCR is not switched: AAPCS64 makes its mode bits a thread-wide setting rather than a
 * callee-saved register, and writing it can be slow on some cores.
 *
 * Frame saved on the stack being left (offsets from the saved stack pointer; 160 bytes, which
 * keeps sp 16-byte aligned as AArch64 requires at every access through sp):
 *      0  d8  d9     16  d10 d11    32  d12 d13    48  d14 d15
 *     64  x19 x20    80  x21 x22    96  x23 x24   112  x25 x26   128  x27 x28   144  x29 x30
 * A fresh context (tide__context_prepare) holds the same frame, zeroed, with x19 = self,
 * x20 = start, x30 = the trampoline; above it, 16 zero bytes.
 *
 * Pitfalls:
 *   - The ret returns to a different place than the call came from, so the return predictor
 *     misses once per switch. The x86-64 switch ends with an indirect jmp instead, which measured
 *     three times faster there; here ret stays, because a br to a return address faults in a
 *     program built with BTI (return addresses are not landing pads), and there is no AArch64
 *     hardware in this project's CI to measure the trade-off on (qemu models no predictor).
 *   - Pointer authentication: the saved x30 is a plain address (this file signs nothing), which is
 *     fine for C code built with -mbranch-protection=pac-ret, because its functions sign and
 *     authenticate their own x30 within their own frames. The trampoline is entered by ret, not
 *     by an indirect branch, so it needs no BTI landing pad; start is called with blr and, if
 *     built with BTI, begins with its own `bti c`.
 *   - The trampoline's unwind info says x30 is undefined, so gdb and libgcc's unwinder stop
 *     there. */

/* Assembles to nothing for another architecture: a multi-architecture macOS build compiles every
 * switch file for every architecture. */
#if defined(__aarch64__) || defined(__arm64__)

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
#define TYPE_FUNCTION(name) .type name, %function
#define SIZE(name) .size name, . - name
#endif

        .text

/* void *tide__context_swap(void **from_sp (x0), void *to_sp (x1), void *transfer (x2)) */
        .globl  SYM(tide__context_swap)
        HIDDEN(tide__context_swap)
        TYPE_FUNCTION(tide__context_swap)
        .p2align 4
SYM(tide__context_swap):
        .cfi_startproc
        sub     sp, sp, #160
        .cfi_def_cfa_offset 160
        stp     d8, d9, [sp, #0]
        stp     d10, d11, [sp, #16]
        stp     d12, d13, [sp, #32]
        stp     d14, d15, [sp, #48]
        stp     x19, x20, [sp, #64]
        stp     x21, x22, [sp, #80]
        stp     x23, x24, [sp, #96]
        stp     x25, x26, [sp, #112]
        stp     x27, x28, [sp, #128]
        stp     x29, x30, [sp, #144]
        .cfi_offset d8, -160
        .cfi_offset d9, -152
        .cfi_offset d10, -144
        .cfi_offset d11, -136
        .cfi_offset d12, -128
        .cfi_offset d13, -120
        .cfi_offset d14, -112
        .cfi_offset d15, -104
        .cfi_offset x19, -96
        .cfi_offset x20, -88
        .cfi_offset x21, -80
        .cfi_offset x22, -72
        .cfi_offset x23, -64
        .cfi_offset x24, -56
        .cfi_offset x25, -48
        .cfi_offset x26, -40
        .cfi_offset x27, -32
        .cfi_offset x28, -24
        .cfi_offset x29, -16
        .cfi_offset x30, -8

        /* The switch itself. Both stacks hold the same frame layout, so the unwind info above
         * stays true on either side of it. */
        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1

        ldp     d8, d9, [sp, #0]
        ldp     d10, d11, [sp, #16]
        ldp     d12, d13, [sp, #32]
        ldp     d14, d15, [sp, #48]
        ldp     x19, x20, [sp, #64]
        ldp     x21, x22, [sp, #80]
        ldp     x23, x24, [sp, #96]
        ldp     x25, x26, [sp, #112]
        ldp     x27, x28, [sp, #128]
        ldp     x29, x30, [sp, #144]
        add     sp, sp, #160
        .cfi_def_cfa_offset 0
        .cfi_restore d8
        .cfi_restore d9
        .cfi_restore d10
        .cfi_restore d11
        .cfi_restore d12
        .cfi_restore d13
        .cfi_restore d14
        .cfi_restore d15
        .cfi_restore x19
        .cfi_restore x20
        .cfi_restore x21
        .cfi_restore x22
        .cfi_restore x23
        .cfi_restore x24
        .cfi_restore x25
        .cfi_restore x26
        .cfi_restore x27
        .cfi_restore x28
        .cfi_restore x29
        .cfi_restore x30
        /* The transfer value: the return value of the resumed swap, and the first argument of
         * start when the trampoline is what we return into. */
        mov     x0, x2
        ret
        .cfi_endproc
SIZE(tide__context_swap)

/* Entered by tide__context_swap's ret with sp 16-byte aligned, x0 = transfer, x19 = self,
 * x20 = start. Calls start(transfer, self), which never returns. */
        TYPE_FUNCTION(context_trampoline)
        .p2align 2
context_trampoline:
        .cfi_startproc
        .cfi_undefined x30
        mov     x1, x19
        blr     x20
        brk     #1
        .cfi_endproc
SIZE(context_trampoline)

/* void *tide__context_prepare(void *stack_base (x0), void *stack_top (x1),
 *                             void (*start)(void *, void *) (x2), void *self (x3)) */
        .globl  SYM(tide__context_prepare)
        HIDDEN(tide__context_prepare)
        TYPE_FUNCTION(tide__context_prepare)
        .p2align 4
SYM(tide__context_prepare):
        .cfi_startproc
        and     x9, x1, #-16
        /* 16 zero bytes at the top: a null frame record for any unwinder that walks x29. */
        stp     xzr, xzr, [x9, #-16]
        sub     x0, x9, #176                /* 16 + the 160-byte frame; stays 16-byte aligned */
        stp     xzr, xzr, [x0, #0]          /* d8-d15 */
        stp     xzr, xzr, [x0, #16]
        stp     xzr, xzr, [x0, #32]
        stp     xzr, xzr, [x0, #48]
        stp     x3, x2, [x0, #64]           /* x19 = self, x20 = start */
        stp     xzr, xzr, [x0, #80]         /* x21-x28 */
        stp     xzr, xzr, [x0, #96]
        stp     xzr, xzr, [x0, #112]
        stp     xzr, xzr, [x0, #128]
        adr     x10, context_trampoline
        stp     xzr, x10, [x0, #144]        /* x29 = 0 ends frame-pointer walks; x30 = trampoline */
        ret
        .cfi_endproc
SIZE(tide__context_prepare)

#endif /* AArch64 */

#if defined(__ELF__)
        .section .note.GNU-stack,"",%progbits
#endif
