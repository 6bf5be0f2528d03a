/* tests/harness.h — tide's test harness: one header, no dependencies.
 *
 * A test is a function declared with TIDE_TEST(area, name). tests/CMakeLists.txt scans each test
 * source for those lines, generates the table the runner uses, and registers every test as its
 * own CTest test named "area.name" (own process, own timeout). Run one by hand with
 * `./tide_tests_<suite> area.name`, or list them with `--list`.
 *
 * The CHECK macros stop the test at the first failure and print both sides.
 *
 * TIDE_SKIP("reason") ends a test as skipped: it prints "SKIPPED: reason" and exits with
 * TIDE_SKIP_EXIT_CODE, which CTest is told means "skipped" (SKIP_RETURN_CODE), so a skip is never
 * counted as a pass. The reason must name the platform limitation that makes the behaviour
 * untestable there ("Windows has no SIGPIPE"), and the decision belongs to the test's own code,
 * never to a blanket exclusion; tests/skip_report.sh lists every skip with its reason. */
#ifndef TIDE_TESTS_HARNESS_H
#define TIDE_TESTS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

#define TIDE_TEST(area, name)                                                                      \
  void tide_test__##area##__##name(void);                                                          \
  void tide_test__##area##__##name(void)

#define TIDE_TEST_FAIL(...)                                                                        \
  do {                                                                                             \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                                \
    fprintf(stderr, __VA_ARGS__);                                                                  \
    fputc('\n', stderr);                                                                           \
    exit(1);                                                                                       \
  } while (0)

#define TIDE_SKIP_EXIT_CODE 77

#define TIDE_SKIP(...)                                                                             \
  do {                                                                                             \
    fputs("SKIPPED: ", stdout);                                                                    \
    printf(__VA_ARGS__);                                                                           \
    fputc('\n', stdout);                                                                           \
    fflush(stdout);                                                                                \
    exit(TIDE_SKIP_EXIT_CODE);                                                                     \
  } while (0)

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      TIDE_TEST_FAIL("CHECK(%s) failed", #cond);                                                   \
  } while (0)

/* Integer equality; prints both values. */
#define CHECK_EQ(expected, got)                                                                    \
  do {                                                                                             \
    long long tide_e_ = (long long)(expected), tide_g_ = (long long)(got);                         \
    if (tide_e_ != tide_g_)                                                                        \
      TIDE_TEST_FAIL("%s == %s: expected %lld, got %lld", #expected, #got, tide_e_, tide_g_);      \
  } while (0)

/* A tide call's return code; prints both as error names. */
#define CHECK_RC(expected, expr)                                                                   \
  do {                                                                                             \
    int tide_e_ = (expected), tide_g_ = (int)(expr);                                               \
    if (tide_e_ != tide_g_)                                                                        \
      TIDE_TEST_FAIL("%s: expected %d (%s), got %d (%s)", #expr, tide_e_, tide_err_name(tide_e_),  \
                     tide_g_, tide_err_name(tide_g_));                                             \
  } while (0)

#define CHECK_OK(expr) CHECK_RC(0, expr)

#define CHECK_STR(expected, got)                                                                   \
  do {                                                                                             \
    const char *tide_e_ = (expected), *tide_g_ = (got);                                            \
    if (tide_g_ == NULL || strcmp(tide_e_, tide_g_) != 0)                                          \
      TIDE_TEST_FAIL("%s: expected \"%s\", got \"%s\"", #got, tide_e_,                             \
                     tide_g_ ? tide_g_ : "(null)");                                                \
  } while (0)

#endif
