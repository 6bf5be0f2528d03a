/* tests/stack_test.c — task stacks (core/sys/stack.h): sizes, errors, the guard page. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <string.h>

#include "child_signal.h"
#include "core/sys/stack.h"
#include "harness.h"

static size_t test_page_size(void) {
  return tide_test_page_size();
}

TIDE_TEST(stack, alloc_of_zero_bytes_is_einval_and_leaves_it_zeroed) {
  tide__stack s;
  memset(&s, 0xab, sizeof s);
  CHECK_RC(TIDE_EINVAL, tide__stack_alloc(&s, 0));
  CHECK(s.base == NULL && s.mapping == NULL);
  CHECK_EQ(0, s.size);
  tide__stack_free(&s); /* a failed alloc may be freed */
}

TIDE_TEST(stack, alloc_too_large_is_enomem) {
  tide__stack s;
  CHECK_RC(TIDE_ENOMEM, tide__stack_alloc(&s, SIZE_MAX));
  CHECK(s.mapping == NULL);
  CHECK_RC(TIDE_ENOMEM, tide__stack_alloc(&s, SIZE_MAX - test_page_size()));
  /* More address space than a 64-bit process has (x86-64 and AArch64 user space is 2^47-2^52). */
  CHECK_RC(TIDE_ENOMEM, tide__stack_alloc(&s, (SIZE_MAX >> 1) + 1));
  CHECK(s.mapping == NULL);
}

TIDE_TEST(stack, size_is_rounded_up_to_whole_pages_and_all_of_it_is_writable) {
  size_t page = test_page_size();
  size_t sizes[] = {1, page - 1, page, page + 1, 64 * 1024, 64 * 1024 + 1};
  for (size_t n = 0; n < sizeof sizes / sizeof sizes[0]; n++) {
    tide__stack s;
    CHECK_OK(tide__stack_alloc(&s, sizes[n]));
    size_t want = (sizes[n] + page - 1) / page * page;
    CHECK_EQ(want, s.size);
    CHECK(s.size >= sizes[n]);
    CHECK_EQ(0, (uintptr_t)s.base % page);
    /* The guard is below base, inside the mapping. */
    CHECK(s.mapping_size >= s.size + page);
    CHECK((char *)s.base >= (char *)s.mapping + page);
    CHECK((char *)s.base + s.size <= (char *)s.mapping + s.mapping_size);
    memset(s.base, 0x5a, s.size);
    CHECK_EQ(0x5a, ((unsigned char *)s.base)[0]);
    CHECK_EQ(0x5a, ((unsigned char *)s.base)[s.size - 1]);
    tide__stack_free(&s);
    CHECK(s.mapping == NULL && s.base == NULL);
    tide__stack_free(&s); /* freeing a freed (zeroed) stack is a no-op */
  }
}

TIDE_TEST(stack, many_stacks_are_distinct_and_do_not_overlap) {
  enum { N = 256 };
  static tide__stack s[N];
  for (int i = 0; i < N; i++) {
    CHECK_OK(tide__stack_alloc(&s[i], 16 * 1024));
    memset(s[i].base, i & 0xff, s[i].size);
  }
  for (int i = 0; i < N; i++) {
    const unsigned char *p = s[i].base;
    CHECK_EQ(i & 0xff, p[0]);
    CHECK_EQ(i & 0xff, p[s[i].size - 1]);
    for (int j = i + 1; j < N; j++) {
      uintptr_t a0 = (uintptr_t)s[i].mapping, a1 = a0 + s[i].mapping_size;
      uintptr_t b0 = (uintptr_t)s[j].mapping, b1 = b0 + s[j].mapping_size;
      CHECK(a1 <= b0 || b1 <= a0);
    }
  }
  for (int i = 0; i < N; i++)
    tide__stack_free(&s[i]);
}

static void touch_below_base(void *arg) {
  tide__stack *s = arg;
  volatile char *below = (volatile char *)s->base - 1;
  *below = 1; /* the top byte of the guard page */
}

/* A write, not a read: valgrind lets reads of PROT_NONE memory through (and an overflowing stack
 * faults on a write: a push, a call, a store to a new frame). */
static void touch_guard_bottom(void *arg) {
  tide__stack *s = arg;
  volatile char *bottom = (volatile char *)s->mapping;
  *bottom = 1;
}

TIDE_TEST(stack, guard_page_below_the_stack_faults) {
  tide__stack s;
  CHECK_OK(tide__stack_alloc(&s, 64 * 1024));
  int status;
  int sig = tide_test_run_in_child(touch_below_base, &s, s.mapping, s.base, &status);
  if (sig < 0) {
    tide__stack_free(&s);
    TIDE_SKIP("no fork() on this system: the guard page's fault is checked in a child process, "
              "which only fork can start on the same stack mapping");
  }
  CHECK(tide_test_is_guard_fault(sig));
  CHECK(tide_test_is_guard_fault(
      tide_test_run_in_child(touch_guard_bottom, &s, s.mapping, s.base, &status)));
  /* The children's faults left the stack itself usable here. */
  ((volatile char *)s.base)[0] = 1;
  tide__stack_free(&s);
}

/* Where the kernel has guard regions (Linux 6.13+), a guard costs no kernel mapping, so more
 * stacks fit than vm.max_map_count (65530 by default) would allow with PROT_NONE guards (~32,700).
 * That is what lets 100,000 tasks sleep at once. Elsewhere the limit stands; the test skips. */
TIDE_TEST(stack, guard_regions_let_more_stacks_live_than_the_kernel_mapping_limit) {
  enum { N = 40000 };
  static tide__stack s[N];
  CHECK_OK(tide__stack_alloc(&s[0], 16 * 1024));
  if (!s[0].guard_region) {
    tide__stack_free(&s[0]);
    TIDE_SKIP("no guard regions here (MADV_GUARD_INSTALL, Linux 6.13+); the guards are "
              "PROT_NONE pages, one kernel mapping each, so the mapping limit stands");
  }
  int n = 1;
  for (; n < N; n++) {
    int rc = tide__stack_alloc(&s[n], 16 * 1024);
    if (rc != 0)
      TIDE_TEST_FAIL("stack %d of %d: expected 0, got %d (%s)", n, N, rc, tide_err_name(rc));
    CHECK_EQ(1, s[n].guard_region);
  }
  /* Each is usable at both ends. */
  for (int i = 0; i < N; i += 997) {
    ((volatile char *)s[i].base)[0] = 1;
    ((volatile char *)s[i].base)[s[i].size - 1] = 1;
  }
  for (int i = 0; i < n; i++)
    tide__stack_free(&s[i]);
}
