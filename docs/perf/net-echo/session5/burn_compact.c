#include <stddef.h>
__attribute__((noinline)) void burn0(volatile long *x) {
  x[0] += 1;
  x[1] += 2;
  x[2] += 3;
  x[3] += 4;
  x[4] += 5;
  x[5] += 6;
  x[6] += 7;
  x[7] += 8;
  x[0] += 9;
  x[1] += 10;
  x[2] += 11;
  x[3] += 12;
  x[4] += 13;
  x[5] += 14;
  x[6] += 15;
  x[7] += 16;
  x[0] += 17;
  x[1] += 18;
  x[2] += 19;
  x[3] += 20;
}
void burn_all(volatile long *x) {
  for (int k = 0; k < 32; k++)
    burn0(x);
}
