/* core/sys/atomic.h — the C11 atomics tide uses, or a stand-in for MSVC without them.
 *
 * Every tide source that needs atomics includes this header instead of <stdatomic.h>. Where the
 * compiler has C11 atomics (gcc, clang, clang-cl, mingw-w64, and MSVC from 17.5 with
 * /experimental:c11atomics, which then does not define __STDC_NO_ATOMICS__) this is <stdatomic.h>
 * and nothing else. MSVC in /std:c11 or /std:c17 mode without them defines __STDC_NO_ATOMICS__;
 * there the names below are provided over the Interlocked intrinsics, for exactly the subset tide
 * uses:
 *   types      atomic_int, atomic_uint, atomic_size_t, and TIDE__ATOMIC(T) for any other T of 4
 *              or 8 bytes (int64_t, uint64_t, uintptr_t, object pointers);
 *   operations atomic_init, atomic_load_explicit, atomic_store_explicit, atomic_exchange_explicit,
 *              atomic_compare_exchange_{weak,strong}_explicit, atomic_fetch_{add,sub,or}_explicit,
 *              atomic_thread_fence, and the memory_order_* constants.
 * Declarations say TIDE__ATOMIC(T) rather than _Atomic(T) or `_Atomic T`, so that the stand-in can
 * spell the type; the call sites are unchanged C11.
 *
 * The stand-in keeps an atomic object as a plain `T volatile` and does every access through the
 * macros below (a direct `x = 1` on an atomic object would be a plain store there; C11 builds
 * would accept it, so review catches it, and the TIDE_ATOMIC_EMULATE_MSVC test build exercises
 * every call site through this branch). Pitfalls of the intrinsics, handled here:
 *   - MSVC's meaning of `volatile` depends on /volatile:ms (acquire/release, the x86/x64 default)
 *     or /volatile:iso (a plain access, the ARM64 default). The code below never relies on it: it
 *     treats volatile as a plain access that the compiler may neither drop nor merge, and adds
 *     every ordering it needs explicitly (under /volatile:ms it is only stronger).
 *   - x64 is TSO: plain loads are acquire and plain stores release in hardware, so acquire and
 *     release need only a compiler barrier (_ReadWriteBarrier); a seq_cst store must not pass a
 *     later load, so it is an XCHG (_InterlockedExchange, an implicit LOCK); a seq_cst load is
 *     then a plain load. Every LOCK-prefixed Interlocked operation is a full barrier, for the CPU
 *     and for the compiler, whatever the order asked. A seq_cst fence is __faststorefence (a
 *     LOCK OR to the stack, cheaper than MFENCE and as strong for ordinary memory).
 *   - ARM64 (and ARM64EC, which defines _M_X64 too but runs ARM64 code, so it is tested first) is
 *     weakly ordered and needs real barriers. Read-modify-writes use the _nf (relaxed), _acq,
 *     _rel variants and the unsuffixed full-barrier form for acq_rel and seq_cst. Plain loads and
 *     stores use the fence mapping: an acquire load is LDR then DMB ISHLD (orders the load before
 *     every later load and store); a release store is DMB ISH then STR (ISHST would order only
 *     earlier stores); a seq_cst store is DMB ISH, STR, DMB ISH and a seq_cst load LDR, DMB ISH, so
 *     any two seq_cst accesses (and the full-barrier RMWs) are separated by a full DMB.
 *   - A compare-exchange chooses its intrinsic by the stronger of its two orders (C17 allows a
 *     release success with an acquire failure, which needs both), and is strong: Interlocked
 *     compare-exchange never fails spuriously, so the weak form is the same call.
 *   - The 32-bit intrinsics take `long`, which is 32 bits on Windows; int and unsigned objects are
 *     accessed through `long volatile *`. MSVC does no type-based alias analysis and the
 *     intrinsics are opaque, so this is the documented way to use them.
 *   - Only 64-bit targets are supported: 64-bit plain loads and stores are single instructions
 *     there (on 32-bit x86 they are not atomic), and pointers fit the 64-bit intrinsics.
 *
 * TIDE_ATOMIC_EMULATE_MSVC (test builds only, never set by tide's CMake) forces the stand-in on
 * gcc or clang, with the intrinsics modelled by GNU __atomic builtins in atomic_emulate_msvc.h:
 * it checks that every call site compiles and behaves through the stand-in's macros.
 * TIDE_ATOMIC_EMULATE_MSVC_ARM64 additionally takes the ARM64 path. */
#ifndef TIDE_SYS_ATOMIC_H
#define TIDE_SYS_ATOMIC_H

#if defined(TIDE_ATOMIC_EMULATE_MSVC) || (defined(_MSC_VER) && defined(__STDC_NO_ATOMICS__))
#define TIDE__ATOMIC_STANDIN 1
#endif

#if !defined(TIDE__ATOMIC_STANDIN)

#include <stdatomic.h>

#define TIDE__ATOMIC(T) _Atomic(T)

#else /* the stand-in */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(TIDE_ATOMIC_EMULATE_MSVC)
#include "core/sys/atomic_emulate_msvc.h"
#else
#include <intrin.h>
typedef long tide__atomic_i32; /* what the 32-bit Interlocked intrinsics take */
#endif

#if defined(_M_ARM64) || defined(_M_ARM64EC) || defined(TIDE_ATOMIC_EMULATE_MSVC_ARM64)
#define TIDE__ATOMIC_ARM64 1
#elif !defined(_M_X64) && !defined(TIDE_ATOMIC_EMULATE_MSVC)
#error "tide's atomics for MSVC without C11 atomics support x64 and ARM64 only"
#endif

typedef long long tide__atomic_i64; /* = __int64 */

typedef enum memory_order {
  memory_order_relaxed,
  memory_order_consume,
  memory_order_acquire,
  memory_order_release,
  memory_order_acq_rel,
  memory_order_seq_cst
} memory_order;

#define TIDE__ATOMIC(T) T volatile
typedef int volatile atomic_int;
typedef unsigned volatile atomic_uint;
typedef size_t volatile atomic_size_t;

/* ---- barriers ---------------------------------------------------------------------------- */

#if defined(TIDE__ATOMIC_ARM64)
enum { TIDE__DMB_ISHLD = 0x9, TIDE__DMB_ISH = 0xB }; /* the CRm encodings of DMB's option */
#endif

/* After a plain load with order mo. */
static inline void tide__atomic_after_load(memory_order mo) {
  if (mo == memory_order_relaxed)
    return;
#if defined(TIDE__ATOMIC_ARM64)
  __dmb(mo == memory_order_seq_cst ? TIDE__DMB_ISH : TIDE__DMB_ISHLD);
#endif
  _ReadWriteBarrier(); /* later accesses stay after the load in the compiler's output too */
}

/* Before a plain store with order mo (release; seq_cst stores are handled by the store). */
static inline void tide__atomic_before_store(memory_order mo) {
  if (mo == memory_order_relaxed)
    return;
  _ReadWriteBarrier();
#if defined(TIDE__ATOMIC_ARM64)
  __dmb(TIDE__DMB_ISH);
#endif
}

static inline void tide__atomic_thread_fence(memory_order mo) {
  if (mo == memory_order_relaxed)
    return;
  _ReadWriteBarrier();
#if defined(TIDE__ATOMIC_ARM64)
  __dmb(mo == memory_order_acquire || mo == memory_order_consume ? TIDE__DMB_ISHLD : TIDE__DMB_ISH);
#else
  if (mo == memory_order_seq_cst)
    __faststorefence(); /* TSO lets a store pass a later load; only a locked op stops it */
#endif
  _ReadWriteBarrier();
}

/* The strength an operation needs, as the Interlocked suffixes express it. */
enum { TIDE__ORDER_NF, TIDE__ORDER_ACQ, TIDE__ORDER_REL, TIDE__ORDER_FULL };

static inline int tide__atomic_rmw_order(memory_order mo) {
  switch (mo) {
    case memory_order_relaxed:
      return TIDE__ORDER_NF;
    case memory_order_consume:
    case memory_order_acquire:
      return TIDE__ORDER_ACQ;
    case memory_order_release:
      return TIDE__ORDER_REL;
    default:
      return TIDE__ORDER_FULL;
  }
}

static inline int tide__atomic_cas_order(memory_order success, memory_order failure) {
  int s = tide__atomic_rmw_order(success), f = tide__atomic_rmw_order(failure);
  if (s == f || f == TIDE__ORDER_NF)
    return s;
  if (s == TIDE__ORDER_NF)
    return f;
  return TIDE__ORDER_FULL; /* acquire with release, or either with full */
}

/* ---- loads and stores -------------------------------------------------------------------- */

/* The object's bits, sign-extended from 32 bits: every integer type converts back exactly. */
static inline tide__atomic_i64 tide__atomic_load_bits(const volatile void *p, size_t size,
                                                      memory_order mo) {
  tide__atomic_i64 v = size == 4 ? (tide__atomic_i64)(*(const volatile tide__atomic_i32 *)p)
                                 : *(const volatile tide__atomic_i64 *)p;
  tide__atomic_after_load(mo);
  return v;
}

static inline tide__atomic_i64 tide__atomic_exchange_bits(volatile void *p, size_t size,
                                                          tide__atomic_i64 v, memory_order mo);

static inline void tide__atomic_store_bits(volatile void *p, size_t size, tide__atomic_i64 v,
                                           memory_order mo) {
#if !defined(TIDE__ATOMIC_ARM64)
  if (mo == memory_order_seq_cst) {
    (void)tide__atomic_exchange_bits(p, size, v, mo); /* XCHG: the store cannot pass later loads */
    return;
  }
#endif
  tide__atomic_before_store(mo);
  if (size == 4)
    *(volatile tide__atomic_i32 *)p = (tide__atomic_i32)v;
  else
    *(volatile tide__atomic_i64 *)p = v;
#if defined(TIDE__ATOMIC_ARM64)
  if (mo == memory_order_seq_cst)
    __dmb(TIDE__DMB_ISH); /* keeps a later seq_cst load from being satisfied before the store */
#endif
}

/* ---- read-modify-writes ------------------------------------------------------------------ */

#if defined(TIDE__ATOMIC_ARM64) && !defined(_M_ARM64EC)
#define TIDE__ATOMIC_PICK(order, name, ...)                                                        \
  ((order) == TIDE__ORDER_NF    ? name##_nf(__VA_ARGS__)                                           \
   : (order) == TIDE__ORDER_ACQ ? name##_acq(__VA_ARGS__)                                          \
   : (order) == TIDE__ORDER_REL ? name##_rel(__VA_ARGS__)                                          \
                                : name(__VA_ARGS__))
#else
/* x64: every LOCK-prefixed instruction is a full barrier, so there is one form. ARM64EC compiles
 * against the x64 intrinsic set, where only the unsuffixed (full-barrier) forms are certain to
 * exist; they are correct for every order, merely stronger. */
#define TIDE__ATOMIC_PICK(order, name, ...) ((void)(order), name(__VA_ARGS__))
#endif

/* After a full-strength (acq_rel, seq_cst) RMW on ARM64. The unsuffixed intrinsics are documented
 * as full barriers, and MSVC ends them with DMB ISH; but a compiler may also build them as an
 * LDAXR/STLXR pair alone (clang does), after which a later plain LDR — a seq_cst load in the fence
 * mapping above — may be satisfied before the STLXR is visible, which breaks store-to-load order
 * between seq_cst operations. The explicit DMB makes that order independent of how the intrinsic
 * is built, for one extra barrier on that path. */
static inline void tide__atomic_after_rmw(int order) {
#if defined(TIDE__ATOMIC_ARM64)
  if (order == TIDE__ORDER_FULL)
    __dmb(TIDE__DMB_ISH);
#else
  (void)order;
#endif
}

static inline tide__atomic_i64 tide__atomic_exchange_bits(volatile void *p, size_t size,
                                                          tide__atomic_i64 v, memory_order mo) {
  int o = tide__atomic_rmw_order(mo);
  tide__atomic_i64 old =
      size == 4 ? TIDE__ATOMIC_PICK(o, _InterlockedExchange, (volatile tide__atomic_i32 *)p,
                                    (tide__atomic_i32)v)
                : TIDE__ATOMIC_PICK(o, _InterlockedExchange64, (volatile tide__atomic_i64 *)p, v);
  tide__atomic_after_rmw(o);
  return old;
}

static inline tide__atomic_i64 tide__atomic_fetch_add_bits(volatile void *p, size_t size,
                                                           tide__atomic_i64 v, memory_order mo) {
  int o = tide__atomic_rmw_order(mo);
  tide__atomic_i64 old =
      size == 4
          ? TIDE__ATOMIC_PICK(o, _InterlockedExchangeAdd, (volatile tide__atomic_i32 *)p,
                              (tide__atomic_i32)v)
          : TIDE__ATOMIC_PICK(o, _InterlockedExchangeAdd64, (volatile tide__atomic_i64 *)p, v);
  tide__atomic_after_rmw(o);
  return old;
}

static inline tide__atomic_i64 tide__atomic_fetch_or_bits(volatile void *p, size_t size,
                                                          tide__atomic_i64 v, memory_order mo) {
  int o = tide__atomic_rmw_order(mo);
  tide__atomic_i64 old =
      size == 4 ? TIDE__ATOMIC_PICK(o, _InterlockedOr, (volatile tide__atomic_i32 *)p,
                                    (tide__atomic_i32)v)
                : TIDE__ATOMIC_PICK(o, _InterlockedOr64, (volatile tide__atomic_i64 *)p, v);
  tide__atomic_after_rmw(o);
  return old;
}

/* *expected is an object of `size` bytes of the atomic's own type; memcpy reads and writes it
 * without caring which integer or pointer type that is. */
static inline bool tide__atomic_cas_bits(volatile void *p, size_t size, void *expected,
                                         tide__atomic_i64 desired, memory_order success,
                                         memory_order failure) {
  int o = tide__atomic_cas_order(success, failure);
  bool ok;
  if (size == 4) {
    tide__atomic_i32 want, seen;
    memcpy(&want, expected, sizeof want);
    seen = TIDE__ATOMIC_PICK(o, _InterlockedCompareExchange, (volatile tide__atomic_i32 *)p,
                             (tide__atomic_i32)desired, want);
    ok = seen == want;
    if (!ok)
      memcpy(expected, &seen, sizeof seen);
  } else {
    tide__atomic_i64 want, seen;
    memcpy(&want, expected, sizeof want);
    seen = TIDE__ATOMIC_PICK(o, _InterlockedCompareExchange64, (volatile tide__atomic_i64 *)p,
                             desired, want);
    ok = seen == want;
    if (!ok)
      memcpy(expected, &seen, sizeof seen);
  }
  tide__atomic_after_rmw(o);
  return ok;
}

/* ---- the C11 names ----------------------------------------------------------------------- */

/* Fails to compile (negative array size) for an atomic that is neither 4 nor 8 bytes. */
#define TIDE__ATOMIC_SIZE(obj)                                                                     \
  (sizeof(char[(sizeof *(obj) == 4 || sizeof *(obj) == 8) ? 1 : -1]) * 0 + sizeof *(obj))

/* Converts the bits back to the object's type: the result of a load or RMW has that type, as in
 * C11. Functions rather than casts, so that a discarded result (an RMW whose old value is not
 * wanted) is not an unused-value warning. */
static inline int tide__atomic_to_int(tide__atomic_i64 v) {
  return (int)v;
}
static inline unsigned tide__atomic_to_uint(tide__atomic_i64 v) {
  return (unsigned)v;
}
static inline long tide__atomic_to_long(tide__atomic_i64 v) {
  return (long)v;
}
static inline unsigned long tide__atomic_to_ulong(tide__atomic_i64 v) {
  return (unsigned long)v;
}
static inline long long tide__atomic_to_llong(tide__atomic_i64 v) {
  return v;
}
static inline unsigned long long tide__atomic_to_ullong(tide__atomic_i64 v) {
  return (unsigned long long)v;
}
static inline void *tide__atomic_to_ptr(tide__atomic_i64 v) {
  return (void *)(intptr_t)v;
}

/* The six standard integer types are listed by name (never through typedefs such as int64_t or
 * size_t, which alias one of them and would be duplicate associations); anything else is a
 * pointer. */
#define TIDE__ATOMIC_AS(obj, bits)                                                                 \
  _Generic((obj),                                                                                 \
      volatile int *: tide__atomic_to_int,                                                        \
      volatile unsigned *: tide__atomic_to_uint,                                                  \
      volatile long *: tide__atomic_to_long,                                                      \
      volatile unsigned long *: tide__atomic_to_ulong,                                            \
      volatile long long *: tide__atomic_to_llong,                                                \
      volatile unsigned long long *: tide__atomic_to_ullong,                                      \
      default: tide__atomic_to_ptr)(bits)

/* Integer RMWs (add, sub, or) are defined for integer atomics only; a pointer is a compile
 * error. */
#define TIDE__ATOMIC_AS_INT(obj, bits)                                                             \
  _Generic((obj),                                                                                 \
      volatile int *: tide__atomic_to_int,                                                        \
      volatile unsigned *: tide__atomic_to_uint,                                                  \
      volatile long *: tide__atomic_to_long,                                                      \
      volatile unsigned long *: tide__atomic_to_ulong,                                            \
      volatile long long *: tide__atomic_to_llong,                                                \
      volatile unsigned long long *: tide__atomic_to_ullong)(bits)

#define atomic_init(obj, value)                                                                    \
  tide__atomic_store_bits((obj), TIDE__ATOMIC_SIZE(obj), (tide__atomic_i64)(value),                \
                          memory_order_relaxed)
#define atomic_load_explicit(obj, mo)                                                              \
  TIDE__ATOMIC_AS((obj), tide__atomic_load_bits((obj), TIDE__ATOMIC_SIZE(obj), (mo)))
#define atomic_store_explicit(obj, value, mo)                                                      \
  tide__atomic_store_bits((obj), TIDE__ATOMIC_SIZE(obj), (tide__atomic_i64)(value), (mo))
#define atomic_exchange_explicit(obj, value, mo)                                                   \
  TIDE__ATOMIC_AS((obj), tide__atomic_exchange_bits((obj), TIDE__ATOMIC_SIZE(obj),                 \
                                                    (tide__atomic_i64)(value), (mo)))
#define atomic_compare_exchange_strong_explicit(obj, expected, desired, success, failure)          \
  tide__atomic_cas_bits((obj), TIDE__ATOMIC_SIZE(obj), (expected), (tide__atomic_i64)(desired),    \
                        (success), (failure))
#define atomic_compare_exchange_weak_explicit(obj, expected, desired, success, failure)            \
  atomic_compare_exchange_strong_explicit(obj, expected, desired, success, failure)
#define atomic_fetch_add_explicit(obj, value, mo)                                                  \
  TIDE__ATOMIC_AS_INT((obj), tide__atomic_fetch_add_bits((obj), TIDE__ATOMIC_SIZE(obj),            \
                                                         (tide__atomic_i64)(value), (mo)))
/* Subtracting is adding the two's complement; the unsigned negation cannot overflow. */
#define atomic_fetch_sub_explicit(obj, value, mo)                                                  \
  TIDE__ATOMIC_AS_INT((obj), tide__atomic_fetch_add_bits(                                          \
                                 (obj), TIDE__ATOMIC_SIZE(obj),                                    \
                                 (tide__atomic_i64)(0ull - (unsigned long long)(value)), (mo)))
#define atomic_fetch_or_explicit(obj, value, mo)                                                   \
  TIDE__ATOMIC_AS_INT((obj), tide__atomic_fetch_or_bits((obj), TIDE__ATOMIC_SIZE(obj),             \
                                                        (tide__atomic_i64)(value), (mo)))
#define atomic_thread_fence(mo) tide__atomic_thread_fence(mo)

#endif /* the stand-in */
#endif
