/* tests/error_test.c — the error codes' names and descriptions. */
#include "harness.h"

TIDE_TEST(error, every_code_has_a_name_and_a_description) {
  for (int err = TIDE_OK; err >= TIDE_EUNKNOWN; err--) {
    const char *name = tide_err_name(err);
    CHECK(strncmp(name, "TIDE_", 5) == 0);
    CHECK(strcmp(name, "TIDE_E?") != 0);
    CHECK(tide_strerror(err)[0] != '\0');
  }
  CHECK_STR("TIDE_ECONNRESET", tide_err_name(TIDE_ECONNRESET));
  CHECK_STR("connection reset by peer", tide_strerror(TIDE_ECONNRESET));
  CHECK_STR("TIDE_EUNKNOWN", tide_err_name(TIDE_EUNKNOWN));
}

TIDE_TEST(error, names_are_distinct) {
  for (int a = TIDE_OK; a >= TIDE_EUNKNOWN; a--)
    for (int b = a - 1; b >= TIDE_EUNKNOWN; b--)
      CHECK(strcmp(tide_err_name(a), tide_err_name(b)) != 0);
}

TIDE_TEST(error, values_outside_the_table_are_unknown_not_a_crash) {
  CHECK_STR("TIDE_E?", tide_err_name(1));
  CHECK_STR("TIDE_E?", tide_err_name(TIDE_EUNKNOWN - 1));
  CHECK_STR("TIDE_E?", tide_err_name(-2147483647 - 1));
  CHECK_STR("unknown error", tide_strerror(12345));
  CHECK_STR("unknown error", tide_strerror(-2147483647 - 1));
}
