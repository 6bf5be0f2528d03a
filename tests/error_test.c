#include "harness.h"
TIDE_TEST(error, placeholder) {}
