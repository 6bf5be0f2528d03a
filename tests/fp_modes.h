/* tests/fp_modes.h — the rounding modes of x86-64's two floating-point units (MXCSR for SSE, the
 * x87 control word), read and set directly, for the tests that check a context switch hands each
 * context its own modes (tests/context_test.c, tests/fiber_pool_test.c). x86-64 only: include it
 * under `#if defined(__x86_64__)`. */
#ifndef TIDE_TESTS_FP_MODES_H
#define TIDE_TESTS_FP_MODES_H

/* MXCSR's rounding control (bits 13-14) and the x87 control word's (bits 10-11); 0 is to
 * nearest in both. */
#define MXCSR_ROUND_MASK 0x6000u
#define MXCSR_ROUND_UP 0x4000u
#define MXCSR_ROUND_ZERO 0x6000u
#define FPUCW_ROUND_MASK 0x0c00u
#define FPUCW_ROUND_UP 0x0800u
#define FPUCW_ROUND_ZERO 0x0c00u

struct fp_modes {
  unsigned mxcsr_round;
  unsigned fpucw_round;
};

static inline unsigned get_mxcsr(void) {
  unsigned v;
  __asm__ volatile("stmxcsr %0" : "=m"(v));
  return v;
}
static inline void set_mxcsr(unsigned v) {
  __asm__ volatile("ldmxcsr %0" : : "m"(v));
}
static inline unsigned short get_fpucw(void) {
  unsigned short v;
  __asm__ volatile("fnstcw %0" : "=m"(v));
  return v;
}
static inline void set_fpucw(unsigned short v) {
  __asm__ volatile("fldcw %0" : : "m"(v));
}

/* The rounding modes now in force. */
static inline struct fp_modes get_modes(void) {
  struct fp_modes m = {get_mxcsr() & MXCSR_ROUND_MASK, get_fpucw() & FPUCW_ROUND_MASK};
  return m;
}

/* Sets both units' rounding, leaving their other control bits alone. */
static inline void set_modes(struct fp_modes m) {
  set_mxcsr((get_mxcsr() & ~MXCSR_ROUND_MASK) | m.mxcsr_round);
  set_fpucw((unsigned short)((get_fpucw() & ~FPUCW_ROUND_MASK) | m.fpucw_round));
}

#endif
