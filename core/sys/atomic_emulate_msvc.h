/* core/sys/atomic_emulate_msvc.h — MSVC's Interlocked intrinsics and barriers modelled with GNU
 * __atomic builtins, for testing atomic.h's MSVC stand-in on gcc or clang (test builds only: see
 * TIDE_ATOMIC_EMULATE_MSVC in atomic.h). Each model has the ordering MSVC documents for the
 * intrinsic: unsuffixed = full barrier (seq_cst), _acq = acquire, _rel = release, _nf = none.
 * The 32-bit intrinsics take `long` on Windows, where it is 32 bits; here they take int, the
 * 32-bit type of LP64 hosts. */
#ifndef TIDE_SYS_ATOMIC_EMULATE_MSVC_H
#define TIDE_SYS_ATOMIC_EMULATE_MSVC_H

#if !defined(__GNUC__)
#error "atomic_emulate_msvc.h models MSVC's intrinsics with GNU builtins: gcc or clang only"
#endif

typedef int tide__atomic_i32;

#define TIDE__EMULATE_RMW(name, type, builtin, order)                                              \
  static inline type name(volatile type *p, type v) {                                              \
    return builtin(p, v, order);                                                                   \
  }
#define TIDE__EMULATE_RMW_ALL(name, type, builtin)                                                 \
  TIDE__EMULATE_RMW(name, type, builtin, __ATOMIC_SEQ_CST)                                         \
  TIDE__EMULATE_RMW(name##_acq, type, builtin, __ATOMIC_ACQUIRE)                                   \
  TIDE__EMULATE_RMW(name##_rel, type, builtin, __ATOMIC_RELEASE)                                   \
  TIDE__EMULATE_RMW(name##_nf, type, builtin, __ATOMIC_RELAXED)

TIDE__EMULATE_RMW_ALL(_InterlockedExchange, int, __atomic_exchange_n)
TIDE__EMULATE_RMW_ALL(_InterlockedExchange64, long long, __atomic_exchange_n)
TIDE__EMULATE_RMW_ALL(_InterlockedExchangeAdd, int, __atomic_fetch_add)
TIDE__EMULATE_RMW_ALL(_InterlockedExchangeAdd64, long long, __atomic_fetch_add)
TIDE__EMULATE_RMW_ALL(_InterlockedOr, int, __atomic_fetch_or)
TIDE__EMULATE_RMW_ALL(_InterlockedOr64, long long, __atomic_fetch_or)

/* _InterlockedCompareExchange(dest, exchange, comparand) returns the value it found. */
#define TIDE__EMULATE_CAS(name, type, order, failure)                                              \
  static inline type name(volatile type *p, type exchange, type comparand) {                       \
    (void)__atomic_compare_exchange_n(p, &comparand, exchange, 0, order, failure);                 \
    return comparand;                                                                              \
  }
#define TIDE__EMULATE_CAS_ALL(name, type)                                                          \
  TIDE__EMULATE_CAS(name, type, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)                                \
  TIDE__EMULATE_CAS(name##_acq, type, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)                          \
  TIDE__EMULATE_CAS(name##_rel, type, __ATOMIC_RELEASE, __ATOMIC_RELAXED)                          \
  TIDE__EMULATE_CAS(name##_nf, type, __ATOMIC_RELAXED, __ATOMIC_RELAXED)

TIDE__EMULATE_CAS_ALL(_InterlockedCompareExchange, int)
TIDE__EMULATE_CAS_ALL(_InterlockedCompareExchange64, long long)

static inline void _ReadWriteBarrier(void) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void __faststorefence(void) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* DMB ISHLD orders earlier loads before later loads and stores: an acquire fence. DMB ISH is a
 * full fence. */
static inline void __dmb(unsigned option) {
  if (option == 0x9)
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
  else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif
