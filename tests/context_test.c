/* tests/context_test.c — stack switching (core/context/context.h): the contract the task layer
 * builds on. Each test runs with whichever implementation the build chose (TIDE_CONTEXT), so the
 * same tests pin the assembly switches, the ucontext fallback, and both under the sanitizers,
 * valgrind and qemu. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "child_signal.h"
#include "core/context/context.h"
#include "core/sys/stack.h"
#include "harness.h"

#define STACK_SIZE (64 * 1024)

/* ---- ping-pong: one fiber and the loop's stack, values through shared memory ---------------- */

struct ping_pong {
  tide__context main_ctx, fiber_ctx;
  long rounds;
  long value;   /* written by main, read by the fiber */
  long reply;   /* written by the fiber, read by main */
  long replies; /* how many times the fiber answered */
};

static void ping_pong_fiber(void *arg) {
  struct ping_pong *pp = arg;
  for (long i = 0; i < pp->rounds; i++) {
    pp->reply = pp->value * 2 + 1;
    pp->replies++;
    tide__context_switch(&pp->fiber_ctx, &pp->main_ctx);
  }
  tide__context_switch_final(&pp->fiber_ctx, &pp->main_ctx);
}

TIDE_TEST(context, ping_pong_passes_values_both_ways_many_times) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  struct ping_pong pp;
  memset(&pp, 0, sizeof pp);
  pp.rounds = 100000;
  tide__context_init_current(&pp.main_ctx);
  tide__context_make(&pp.fiber_ctx, stack.base, stack.size, ping_pong_fiber, &pp);
  for (long i = 0; i < pp.rounds; i++) {
    pp.value = i;
    tide__context_switch(&pp.main_ctx, &pp.fiber_ctx);
    CHECK_EQ(i * 2 + 1, pp.reply);
    CHECK_EQ(i + 1, pp.replies);
  }
  /* One more switch lets the fiber leave its loop and finish. */
  tide__context_switch(&pp.main_ctx, &pp.fiber_ctx);
  CHECK_EQ(pp.rounds, pp.replies);
  CHECK_EQ(1, pp.fiber_ctx.finished);
  tide__stack_free(&stack);
}

/* ---- many fibers, scheduled round-robin from the loop's stack -------------------------------- */

#define RR_FIBERS 64
#define RR_ROUNDS 100

struct rr_fiber {
  tide__context ctx;
  tide__stack stack;
  struct rr_state *state;
  int id;
  int runs;
};

struct rr_state {
  tide__context main_ctx;
  struct rr_fiber fibers[RR_FIBERS];
  int next_expected; /* the id that must run next: proves the order */
  int out_of_order;
};

static void rr_fiber_entry(void *arg) {
  struct rr_fiber *f = arg;
  for (int r = 0; r < RR_ROUNDS; r++) {
    if (f->state->next_expected != f->id)
      f->state->out_of_order++;
    f->state->next_expected = (f->id + 1) % RR_FIBERS;
    f->runs++;
    tide__context_switch(&f->ctx, &f->state->main_ctx);
  }
  tide__context_switch_final(&f->ctx, &f->state->main_ctx);
}

TIDE_TEST(context, many_fibers_round_robin_each_resumes_where_it_left_off) {
  static struct rr_state st;
  memset(&st, 0, sizeof st);
  tide__context_init_current(&st.main_ctx);
  for (int i = 0; i < RR_FIBERS; i++) {
    struct rr_fiber *f = &st.fibers[i];
    f->state = &st;
    f->id = i;
    CHECK_OK(tide__stack_alloc(&f->stack, STACK_SIZE));
    tide__context_make(&f->ctx, f->stack.base, f->stack.size, rr_fiber_entry, f);
  }
  for (int r = 0; r <= RR_ROUNDS; r++) /* the last round lets every fiber finish */
    for (int i = 0; i < RR_FIBERS; i++)
      tide__context_switch(&st.main_ctx, &st.fibers[i].ctx);
  CHECK_EQ(0, st.out_of_order);
  for (int i = 0; i < RR_FIBERS; i++) {
    CHECK_EQ(RR_ROUNDS, st.fibers[i].runs);
    CHECK_EQ(1, st.fibers[i].ctx.finished);
    tide__stack_free(&st.fibers[i].stack);
  }
}

/* ---- fibers switching to each other directly, never through the loop's stack ----------------- */

#define RING_FIBERS 8
#define RING_LAPS 1000

struct ring {
  tide__context main_ctx;
  tide__context ctx[RING_FIBERS];
  tide__stack stack[RING_FIBERS];
  int visits[RING_FIBERS];
  int hops;
};

static struct ring ring;

static void ring_entry(void *arg) {
  int id = (int)(intptr_t)arg;
  int next = (id + 1) % RING_FIBERS;
  for (int lap = 0; lap < RING_LAPS; lap++) {
    ring.visits[id]++;
    ring.hops++;
    /* The last fiber on the last lap hands back to the loop's stack instead. */
    if (id == RING_FIBERS - 1 && lap == RING_LAPS - 1)
      break;
    tide__context_switch(&ring.ctx[id], &ring.ctx[next]);
  }
  tide__context_switch_final(&ring.ctx[id], &ring.main_ctx);
}

TIDE_TEST(context, fibers_switch_directly_to_each_other_in_a_ring) {
  memset(&ring, 0, sizeof ring);
  tide__context_init_current(&ring.main_ctx);
  for (int i = 0; i < RING_FIBERS; i++) {
    CHECK_OK(tide__stack_alloc(&ring.stack[i], STACK_SIZE));
    tide__context_make(&ring.ctx[i], ring.stack[i].base, ring.stack[i].size, ring_entry,
                       (void *)(intptr_t)i);
  }
  /* Main starts fiber 0; the ring goes round RING_LAPS times and the last fiber finishes into
   * main. The others are suspended in their last hop; resuming each lets it finish. */
  tide__context_switch(&ring.main_ctx, &ring.ctx[0]);
  CHECK_EQ(RING_FIBERS * RING_LAPS, ring.hops);
  for (int i = 0; i < RING_FIBERS; i++)
    CHECK_EQ(RING_LAPS, ring.visits[i]);
  CHECK_EQ(1, ring.ctx[RING_FIBERS - 1].finished);
  for (int i = 0; i < RING_FIBERS - 1; i++) {
    CHECK_EQ(0, ring.ctx[i].finished);
    tide__context_switch(&ring.main_ctx, &ring.ctx[i]);
    CHECK_EQ(1, ring.ctx[i].finished);
  }
  CHECK_EQ(RING_FIBERS * RING_LAPS, ring.hops);
  for (int i = 0; i < RING_FIBERS; i++)
    tide__stack_free(&ring.stack[i]);
}

/* ---- deep recursion: most of a 64 KiB stack is usable, and a switch works deep down ---------- */

struct deep {
  tide__context main_ctx, fiber_ctx;
  char *stack_top;
  size_t target;  /* bytes of stack to use before turning back */
  size_t deepest; /* bytes in use at the deepest frame */
  long depth;     /* frames at the deepest point */
  long corrupt;   /* frames whose buffer changed while deeper frames ran */
  int switched_deep;
};

static size_t stack_used(const struct deep *d) {
  return (size_t)(d->stack_top - (char *)__builtin_frame_address(0));
}

/* Each frame fills a buffer, recurses, and checks the buffer afterwards: a deeper frame or the
 * switch at the bottom overwriting it shows up as corruption. noinline keeps one frame per call. */
__attribute__((noinline)) static long deep_recurse(struct deep *d, long depth) {
  volatile unsigned char buf[384];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (unsigned char)(depth * 31 + (long)i);
  long frames;
  size_t used = stack_used(d);
  if (used >= d->target) {
    d->deepest = used;
    d->depth = depth;
    /* Leave and come back at the bottom of the stack. */
    tide__context_switch(&d->fiber_ctx, &d->main_ctx);
    frames = depth;
  } else {
    frames = deep_recurse(d, depth + 1);
  }
  for (size_t i = 0; i < sizeof buf; i++) {
    if (buf[i] != (unsigned char)(depth * 31 + (long)i)) {
      d->corrupt++;
      break;
    }
  }
  return frames;
}

static void deep_entry(void *arg) {
  struct deep *d = arg;
  (void)deep_recurse(d, 1);
  tide__context_switch_final(&d->fiber_ctx, &d->main_ctx);
}

TIDE_TEST(context, deep_recursion_uses_three_quarters_of_a_64k_stack) {
#if defined(TIDE_CONTEXT_FIBER)
  /* The depth is measured against the tide__stack, which a fiber does not run on. */
  TIDE_SKIP("a Win32 fiber runs on the stack CreateFiberEx allocates for it (no API runs a "
            "fiber on caller-provided memory), not on the tide__stack this test measures");
#endif
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  struct deep d;
  memset(&d, 0, sizeof d);
  d.stack_top = (char *)stack.base + stack.size;
  d.target = STACK_SIZE * 3 / 4;
  tide__context_init_current(&d.main_ctx);
  tide__context_make(&d.fiber_ctx, stack.base, stack.size, deep_entry, &d);
  tide__context_switch(&d.main_ctx, &d.fiber_ctx); /* returns from the bottom */
  CHECK(d.deepest >= d.target);
  CHECK(d.deepest < stack.size);
  CHECK(d.depth > 10);
  tide__context_switch(&d.main_ctx, &d.fiber_ctx); /* unwinds and finishes */
  CHECK_EQ(1, d.fiber_ctx.finished);
  CHECK_EQ(0, d.corrupt);
  tide__stack_free(&stack);
}

/* ---- callee-saved registers survive a switch ----------------------------------------------------
 * Both sides run the same computation with many live integer and floating-point locals across a
 * call that switches to the other side; each must get exactly what it gets with no switching. The
 * compiler keeps such locals in callee-saved registers (rbx, r12-r15 / x19-x28, d8-d15 /
 * xmm6-xmm15 on Win64) precisely because the call promises to preserve them, so any register a
 * switch forgot would be clobbered by the other side's identical use of it. */

static tide__context reg_main, reg_fiber;
static uint64_t reg_fiber_result;

static void reg_yield_to_fiber(void) {
  tide__context_switch(&reg_main, &reg_fiber);
}
static void reg_yield_to_main(void) {
  tide__context_switch(&reg_fiber, &reg_main);
}
static void reg_no_yield(void) {}

static uint64_t double_bits(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

__attribute__((noinline)) static uint64_t reg_compute(uint64_t seed, int steps,
                                                      void (*volatile yield)(void)) {
  uint64_t a = seed, b = seed ^ 0x9e3779b97f4a7c15u, c = seed * 3, d = seed + 7, e = ~seed,
           f = seed << 3, g = seed >> 2, h = seed ^ 0xdeadbeefu, i = seed * 5 + 1, j = seed + 99,
           k = seed ^ 0x0123456789abcdefu, l = seed * 11;
  double x = (double)(seed & 0xff), y = 1.5, z = 2.25, w = -3.0, u = 0.125, v = 4.0, p = -0.5,
         q = 8.0;
  for (int s = 0; s < steps; s++) {
    a += b * 3 + 1;
    b ^= c >> 3;
    c += d * 5;
    d ^= e << 7;
    e += f;
    f ^= g >> 11;
    g += h * 7;
    h ^= i;
    i += j * 9;
    j ^= k >> 5;
    k += l;
    l ^= a << 1;
    /* Contracting maps: the values stay finite and every step is exact IEEE arithmetic. */
    x = x * 0.5 + y * 0.25 + 1.0;
    y = y * 0.5 + z * 0.125 - 0.5;
    z = z * 0.25 + w * 0.5 + 0.75;
    w = w * 0.5 - u * 0.25 + 2.0;
    u = u * 0.5 + v * 0.125 - 1.0;
    v = v * 0.25 + p * 0.5 + 0.25;
    p = p * 0.5 - q * 0.25 + 3.0;
    q = q * 0.5 + x * 0.125 - 2.0;
    yield();
  }
  return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i ^ j ^ k ^ l ^ double_bits(x) ^ (double_bits(y) << 1) ^
         (double_bits(z) << 2) ^ (double_bits(w) << 3) ^ (double_bits(u) << 4) ^
         (double_bits(v) << 5) ^ (double_bits(p) << 6) ^ (double_bits(q) << 7);
}

/* The frame pointer (rbp, x29) is callee-saved too, but optimised code may never read it after a
 * call, so read it directly: a switch that lost it breaks debuggers and profilers that walk frame
 * pointers. Returns 1 if it is the same after yield() as before. */
__attribute__((noinline)) static int frame_pointer_survives(void (*volatile yield)(void)) {
  uintptr_t before = 0, after = 0;
#if defined(__x86_64__)
  __asm__ volatile("movq %%rbp, %0" : "=r"(before));
  yield();
  __asm__ volatile("movq %%rbp, %0" : "=r"(after));
#elif defined(__aarch64__)
  __asm__ volatile("mov %0, x29" : "=r"(before));
  yield();
  __asm__ volatile("mov %0, x29" : "=r"(after));
#else
  yield();
#endif
  (void)__builtin_frame_address(0); /* makes the function keep a frame pointer */
  return before == after;
}

static int reg_fiber_fp_ok;

#define REG_STEPS 1000
#define REG_SEED_MAIN 0x1234567u
#define REG_SEED_FIBER 0x7654321u

static void reg_fiber_entry(void *arg) {
  (void)arg;
  reg_fiber_result = reg_compute(REG_SEED_FIBER, REG_STEPS, reg_yield_to_main);
  reg_fiber_fp_ok = frame_pointer_survives(reg_yield_to_main);
  tide__context_switch_final(&reg_fiber, &reg_main);
}

TIDE_TEST(context, callee_saved_integer_and_float_registers_survive_switches) {
  uint64_t want_main = reg_compute(REG_SEED_MAIN, REG_STEPS, reg_no_yield);
  uint64_t want_fiber = reg_compute(REG_SEED_FIBER, REG_STEPS, reg_no_yield);
  CHECK(want_main != want_fiber);

  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  tide__context_init_current(&reg_main);
  tide__context_make(&reg_fiber, stack.base, stack.size, reg_fiber_entry, NULL);
  /* Main's first yield starts the fiber; after main's last, the fiber still has one to return
   * from, so one more switch lets it finish. */
  uint64_t got_main = reg_compute(REG_SEED_MAIN, REG_STEPS, reg_yield_to_fiber);
  /* The fiber now checks its frame pointer across one more round trip, and finishes. */
  int main_fp_ok = frame_pointer_survives(reg_yield_to_fiber);
  tide__context_switch(&reg_main, &reg_fiber);
  CHECK_EQ(1, reg_fiber.finished);
  CHECK_EQ(1, main_fp_ok);
  CHECK_EQ(1, reg_fiber_fp_ok);
  CHECK(got_main == want_main);
  CHECK(reg_fiber_result == want_fiber);
  tide__stack_free(&stack);
}

/* ---- floating-point control modes are preserved across a switch (x86-64) ---------------------
 * MXCSR's control bits and the x87 control word are callee-saved on both x86-64 ABIs, so a switch
 * must hand each context back the rounding modes it had. The fiber goes through every combination
 * (only MXCSR differs from main's, only the x87 word, both, neither) since the switch reloads the
 * modes only when they differ. AArch64's switch does not switch FPCR (AAPCS64 treats it as thread
 * state), so this test is x86-64 only. */

#if defined(__x86_64__)
#include "fp_modes.h"

static const struct fp_modes fpm_steps[] = {
    {MXCSR_ROUND_UP, FPUCW_ROUND_UP},     /* both differ from main's */
    {MXCSR_ROUND_ZERO, FPUCW_ROUND_UP},   /* only the x87 control word */
    {MXCSR_ROUND_UP, FPUCW_ROUND_ZERO},   /* only MXCSR */
    {MXCSR_ROUND_ZERO, FPUCW_ROUND_ZERO}, /* the same as main's */
};
#define FPM_STEPS (sizeof fpm_steps / sizeof fpm_steps[0])

static tide__context fpm_main, fpm_fiber;
static struct fp_modes fpm_fiber_started_with;
static struct fp_modes fpm_fiber_saw[FPM_STEPS], fpm_main_saw[FPM_STEPS];

static void fpm_entry(void *arg) {
  (void)arg;
  fpm_fiber_started_with = get_modes();
  for (size_t i = 0; i < FPM_STEPS; i++) {
    set_modes(fpm_steps[i]);
    tide__context_switch(&fpm_fiber, &fpm_main);
    fpm_fiber_saw[i] = get_modes();
  }
  tide__context_switch_final(&fpm_fiber, &fpm_main);
}
#endif

TIDE_TEST(context, fp_control_modes_survive_a_switch_and_new_contexts_inherit_them) {
#if defined(__x86_64__)
  unsigned mxcsr0 = get_mxcsr();
  unsigned short fpucw0 = get_fpucw();
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  /* Main runs with round-toward-zero in both units throughout; a new context starts with its
   * creator's modes. */
  struct fp_modes main_modes = {MXCSR_ROUND_ZERO, FPUCW_ROUND_ZERO};
  set_modes(main_modes);
  tide__context_init_current(&fpm_main);
  tide__context_make(&fpm_fiber, stack.base, stack.size, fpm_entry, NULL);
  for (size_t i = 0; i < FPM_STEPS; i++) {
    tide__context_switch(&fpm_main, &fpm_fiber);
    fpm_main_saw[i] = get_modes();
  }
  tide__context_switch(&fpm_main, &fpm_fiber); /* lets the fiber check the last step and finish */
  set_mxcsr(mxcsr0);
  set_fpucw(fpucw0);

  CHECK_EQ(1, fpm_fiber.finished);
  CHECK_EQ(MXCSR_ROUND_ZERO, fpm_fiber_started_with.mxcsr_round);
  CHECK_EQ(FPUCW_ROUND_ZERO, fpm_fiber_started_with.fpucw_round);
  for (size_t i = 0; i < FPM_STEPS; i++) {
    CHECK_EQ(main_modes.mxcsr_round, fpm_main_saw[i].mxcsr_round);
    CHECK_EQ(main_modes.fpucw_round, fpm_main_saw[i].fpucw_round);
    CHECK_EQ(fpm_steps[i].mxcsr_round, fpm_fiber_saw[i].mxcsr_round);
    CHECK_EQ(fpm_steps[i].fpucw_round, fpm_fiber_saw[i].fpucw_round);
  }
  tide__stack_free(&stack);
#else
  TIDE_SKIP("FP control modes are switched only on x86-64");
#endif
}

/* ---- the entry function sees the stack aligned as the ABI requires --------------------------- */

struct align_probe {
  tide__context main_ctx, fiber_ctx;
  uintptr_t local_addr, frame_addr, nested_local_addr;
  char printed[32];
};

__attribute__((noinline)) static void nested_aligned_local(uintptr_t *addr) {
  alignas(16) volatile unsigned char local[16];
  local[0] = 1;
  *addr = (uintptr_t)&local[0];
}

static void align_entry(void *arg) {
  struct align_probe *p = arg;
  alignas(16) volatile unsigned char local[16];
  local[0] = 1;
  p->local_addr = (uintptr_t)&local[0];
  p->frame_addr = (uintptr_t)__builtin_frame_address(0);
  nested_aligned_local(&p->nested_local_addr);
  /* printf's floating-point path stores SSE/NEON registers to aligned stack slots and faults on
   * a misaligned stack on x86-64. */
  snprintf(p->printed, sizeof p->printed, "%.3f", 2.5);
  tide__context_switch_final(&p->fiber_ctx, &p->main_ctx);
}

TIDE_TEST(context, entry_runs_on_a_16_byte_aligned_stack) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  struct align_probe p;
  memset(&p, 0, sizeof p);
  tide__context_init_current(&p.main_ctx);
  /* An odd size makes the top unaligned: the switch must align it itself. */
  tide__context_make(&p.fiber_ctx, stack.base, stack.size - 8, align_entry, &p);
  tide__context_switch(&p.main_ctx, &p.fiber_ctx);
  CHECK_EQ(0, p.local_addr % 16);
  CHECK_EQ(0, p.frame_addr % 16);
  CHECK_EQ(0, p.nested_local_addr % 16);
  CHECK_STR("2.500", p.printed);
#if !defined(TIDE_CONTEXT_FIBER)
  /* The frames are on the fiber's stack, not the loop's. (A Win32 fiber runs on the stack
   * CreateFiberEx allocates for it, not on the tide__stack, so this part does not apply.) */
  CHECK(p.frame_addr > (uintptr_t)stack.base);
  CHECK(p.frame_addr < (uintptr_t)stack.base + stack.size);
#endif
  tide__stack_free(&stack);
}

/* ---- a stack overflow hits the guard page ---------------------------------------------------- */

static tide__context ovf_main, ovf_fiber;

__attribute__((noinline)) static long overflow_recurse(long depth, long limit) {
  volatile char buf[512];
  buf[0] = (char)depth;
  buf[sizeof buf - 1] = (char)depth;
  if (depth == limit)
    return 0;
  return overflow_recurse(depth + 1, limit) + buf[0] + buf[sizeof buf - 1];
}

static void overflow_entry(void *arg) {
  volatile long limit = *(long *)arg; /* far more frames than fit; never reached */
  (void)overflow_recurse(0, limit);
  tide__context_switch_final(&ovf_fiber, &ovf_main);
}

static void overflow_in_child(void *arg) {
  tide__stack *stack = arg;
  long limit = 1L << 30;
  tide__context_init_current(&ovf_main);
  tide__context_make(&ovf_fiber, stack->base, stack->size, overflow_entry, &limit);
  tide__context_switch(&ovf_main, &ovf_fiber);
  _exit(4); /* the overflow went unnoticed */
}

TIDE_TEST(context, stack_overflow_faults_on_the_guard_page) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  int status;
  /* The guard is the part of the mapping below base. */
  int sig = tide_test_run_in_child(overflow_in_child, &stack, stack.mapping, stack.base, &status);
  if (sig < 0) {
    tide__stack_free(&stack);
    TIDE_SKIP("no fork() on this system: the overflow is checked in a child process, which "
              "only fork can start on the same stack mapping");
  }
  if (sig == 0)
    TIDE_TEST_FAIL("the child exited with status %d (%d: it faulted outside the guard page) "
                   "instead of being killed by the guard page's fault",
                   status, TIDE_TEST_FAULT_ELSEWHERE);
  if (!tide_test_is_guard_fault(sig))
    TIDE_TEST_FAIL("the child was killed by signal %d, not by the guard page's fault", sig);
  tide__stack_free(&stack);
}

/* ---- a stack is reusable once its context finished; a fiber can start another ---------------- */

struct reuse {
  tide__context main_ctx, outer, inner;
  tide__stack inner_stack;
  int outer_runs, inner_runs;
};

static void reuse_inner_entry(void *arg) {
  struct reuse *r = arg;
  r->inner_runs++;
  tide__context_switch_final(&r->inner, &r->outer);
}

static void reuse_outer_entry(void *arg) {
  struct reuse *r = arg;
  r->outer_runs++;
  /* A fiber makes and runs another, on a stack it owns, then finishes. */
  tide__context_make(&r->inner, r->inner_stack.base, r->inner_stack.size, reuse_inner_entry, r);
  tide__context_switch(&r->outer, &r->inner);
  tide__context_switch_final(&r->outer, &r->main_ctx);
}

TIDE_TEST(context, finished_context_stack_is_reusable_and_fibers_can_start_fibers) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  struct reuse r;
  memset(&r, 0, sizeof r);
  CHECK_OK(tide__stack_alloc(&r.inner_stack, STACK_SIZE));
  tide__context_init_current(&r.main_ctx);
  for (int round = 1; round <= 3; round++) {
    tide__context_make(&r.outer, stack.base, stack.size, reuse_outer_entry, &r);
    tide__context_switch(&r.main_ctx, &r.outer);
    CHECK_EQ(round, r.outer_runs);
    CHECK_EQ(round, r.inner_runs);
    CHECK_EQ(1, r.outer.finished);
    CHECK_EQ(1, r.inner.finished);
  }
  tide__stack_free(&r.inner_stack);
  tide__stack_free(&stack);
}

/* ---- longjmp inside a fiber; on Windows, the TIB's stack bounds follow the running context -----
 * mingw's longjmp unwinds through SEH (RtlUnwindEx), which rejects any frame outside the TIB's
 * StackBase/StackLimit: with a switch that forgot the TIB, this longjmp fails on Windows. Under
 * ASan, longjmp asks the runtime to unpoison the current stack, which it can do only if it was
 * told about the switch. */

struct jump {
  tide__context main_ctx, fiber_ctx;
  jmp_buf env;
  int jumped;
  int tib_ok;
};

static volatile int jump_frames; /* work after the recursive call keeps each frame on the stack */

__attribute__((noinline)) static void jump_from_depth(struct jump *j, int depth) {
  if (depth == 0)
    longjmp(j->env, 1);
  if (depth > 0)
    jump_from_depth(j, depth - 1);
  jump_frames++;
}

#if defined(_WIN32) && defined(__x86_64__)
static int tib_encloses(const void *p) {
  uintptr_t base, limit;
  __asm__ volatile("movq %%gs:0x08, %0" : "=r"(base));
  __asm__ volatile("movq %%gs:0x10, %0" : "=r"(limit));
  return limit <= (uintptr_t)p && (uintptr_t)p < base;
}
#else
static int tib_encloses(const void *p) {
  (void)p;
  return 1;
}
#endif

static void jump_entry(void *arg) {
  struct jump *j = arg;
  volatile char local = 0;
  j->tib_ok = tib_encloses((const void *)&local);
  if (setjmp(j->env) == 0)
    jump_from_depth(j, 16);
  else
    j->jumped = 1;
  tide__context_switch_final(&j->fiber_ctx, &j->main_ctx);
}

TIDE_TEST(context, longjmp_within_a_fiber_unwinds_on_the_fibers_stack) {
  tide__stack stack;
  CHECK_OK(tide__stack_alloc(&stack, STACK_SIZE));
  static struct jump j;
  memset(&j, 0, sizeof j);
  volatile char local = 0;
  tide__context_init_current(&j.main_ctx);
  tide__context_make(&j.fiber_ctx, stack.base, stack.size, jump_entry, &j);
  tide__context_switch(&j.main_ctx, &j.fiber_ctx);
  CHECK_EQ(1, j.jumped);
  CHECK_EQ(1, j.tib_ok);
  /* And the loop's own bounds are back. */
  CHECK(tib_encloses((const void *)&local));
  tide__stack_free(&stack);
}
