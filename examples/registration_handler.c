/* examples/registration_handler.c — the asyncio article's run_in_executor scenario, in C.
 *
 * A registration handler needs a blocking "legacy DB" call (a synchronous driver: 0.3 s in which
 * the calling thread just sleeps) and a CPU-heavy password hash (PBKDF2-HMAC-SHA256, 200,000
 * iterations). Either one, called on the loop, would freeze every other task for its whole
 * duration. Offloaded — the DB call to the executor's blocking lane with tide_run_blocking, the
 * hash to a CPU worker with tide_run_in_executor — they run on other threads while a ticker task
 * on the loop keeps printing on time, proof that the loop stays free:
 *
 *   [0.000s] Registering alice
 *   [0.000s] DB: looking up user 42 (blocking driver, on the blocking lane)
 *   [0.100s] tick 1: the loop is free
 *   [0.201s] tick 2: the loop is free
 *   [0.300s] tick 3: the loop is free
 *   [0.301s] DB: found user42@example.com
 *   [0.301s] Hash: PBKDF2-HMAC-SHA256, 200000 iterations (on a CPU worker)
 *   [0.401s] tick 4: the loop is free
 *   [0.490s] Hash: done
 *   Registration complete in 0.490s
 *   Result: {username: alice, email: user42@example.com, password_hash: f45ca5fb863d4a29..., ...}
 *   Ticker: 4 ticks while the work ran off the loop, worst lateness 0.9 ms
 *
 * (The hash equals Python's hashlib.pbkdf2_hmac("sha256", b"super_secret_passphrase_123",
 * b"static_salt_for_demo", 200000).)
 *
 * Usage: registration_handler [iterations]   (the tests pass fewer under valgrind)
 *
 * The SHA-256 below is a small, straightforward implementation of FIPS 180-4 written for this
 * example (no external crypto); PBKDF2 follows RFC 8018 for a single 32-byte block. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeline.h"

/* ---- SHA-256 and PBKDF2-HMAC-SHA256 ------------------------------------------------------- */

typedef struct sha256 {
  uint32_t h[8];
  uint8_t block[64];
  size_t used;     /* bytes in block */
  uint64_t length; /* bytes hashed so far */
} sha256;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const uint8_t block[64]) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 |
           (uint32_t)block[4 * i + 2] << 8 | block[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 =
        hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256_init(sha256 *s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof iv);
  s->used = 0;
  s->length = 0;
}

static void sha256_update(sha256 *s, const void *data, size_t len) {
  const uint8_t *p = data;
  s->length += len;
  while (len > 0) {
    size_t n = 64 - s->used < len ? 64 - s->used : len;
    memcpy(s->block + s->used, p, n);
    s->used += n;
    p += n;
    len -= n;
    if (s->used == 64) {
      compress(s->h, s->block);
      s->used = 0;
    }
  }
}

static void sha256_final(sha256 *s, uint8_t out[32]) {
  uint64_t bits = s->length * 8;
  uint8_t pad = 0x80;
  sha256_update(s, &pad, 1);
  pad = 0;
  while (s->used != 56)
    sha256_update(s, &pad, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_update(s, len, 8);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++)
      out[4 * i + j] = (uint8_t)(s->h[i] >> (24 - 8 * j));
}

/* HMAC-SHA256 with the key's inner and outer states prepared once (PBKDF2 reuses them). */
typedef struct hmac_key {
  sha256 inner, outer;
} hmac_key;

static void hmac_prepare(hmac_key *k, const uint8_t *key, size_t key_len) {
  uint8_t block[64] = {0}, pad[64];
  if (key_len > 64) {
    sha256 s;
    sha256_init(&s);
    sha256_update(&s, key, key_len);
    sha256_final(&s, block);
  } else {
    memcpy(block, key, key_len);
  }
  for (int i = 0; i < 64; i++)
    pad[i] = block[i] ^ 0x36;
  sha256_init(&k->inner);
  sha256_update(&k->inner, pad, 64);
  for (int i = 0; i < 64; i++)
    pad[i] = block[i] ^ 0x5c;
  sha256_init(&k->outer);
  sha256_update(&k->outer, pad, 64);
}

static void hmac(const hmac_key *k, const void *msg, size_t len, uint8_t out[32]) {
  sha256 s = k->inner;
  uint8_t inner[32];
  sha256_update(&s, msg, len);
  sha256_final(&s, inner);
  s = k->outer;
  sha256_update(&s, inner, 32);
  sha256_final(&s, out);
}

/* PBKDF2-HMAC-SHA256, first (and only) 32-byte block. */
static void pbkdf2_sha256(const char *password, const char *salt, long iterations,
                          uint8_t out[32]) {
  hmac_key k;
  hmac_prepare(&k, (const uint8_t *)password, strlen(password));
  uint8_t msg[128], u[32];
  size_t salt_len = strlen(salt);
  memcpy(msg, salt, salt_len);
  memcpy(msg + salt_len, "\0\0\0\1", 4); /* block index 1, big-endian */
  hmac(&k, msg, salt_len + 4, u);
  memcpy(out, u, 32);
  for (long i = 1; i < iterations; i++) {
    hmac(&k, u, 32, u);
    for (int j = 0; j < 32; j++)
      out[j] ^= u[j];
  }
}

/* ---- the jobs that run off the loop --------------------------------------------------------- */

struct user_record {
  int user_id;
  char email[64];
};

/* A synchronous driver: the calling thread sleeps for the whole round trip. */
static void *blocking_legacy_db_query(void *arg) {
  struct user_record *u = arg;
  struct timespec ts = {0, 300 * 1000000L}; /* time.sleep(0.3) */
  nanosleep(&ts, NULL);
  snprintf(u->email, sizeof u->email, "user%d@example.com", u->user_id);
  return u;
}

struct hash_job {
  const char *password;
  long iterations;
  char hex[65];
};

static void *compute_password_hash(void *arg) {
  struct hash_job *h = arg;
  uint8_t key[32];
  pbkdf2_sha256(h->password, "static_salt_for_demo", h->iterations, key);
  for (int i = 0; i < 32; i++)
    snprintf(h->hex + 2 * i, 3, "%02x", key[i]);
  return h->hex;
}

/* ---- the tasks ------------------------------------------------------------------------------ */

struct app {
  int64_t start;
  long iterations;
  int registering; /* the ticker runs while this is set */
  int ticks;
  double worst_late_ms;
};

static int ticker(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct app *app = arg;
  int64_t period = SECONDS(0.1), next = app->start + period;
  while (app->registering) {
    int err = tide_sleep(
        loop, next - tide_loop_update_time(loop) > 0 ? next - tide_loop_update_time(loop) : 0);
    if (err != 0)
      return err;
    if (!app->registering)
      break;
    double late_ms = (double)(tide_loop_update_time(loop) - next) / 1e6;
    if (late_ms > app->worst_late_ms)
      app->worst_late_ms = late_ms;
    say(loop, app->start, "tick %d: the loop is free", ++app->ticks);
    next += period;
  }
  return 0;
}

static int handle_user_registration(tide_loop *loop, struct app *app, const char *username,
                                    const char *raw_password) {
  /* Blocking I/O with a synchronous library: the blocking lane (asyncio's ThreadPoolExecutor). */
  struct user_record user = {.user_id = 42};
  say(loop, app->start, "DB: looking up user %d (blocking driver, on the blocking lane)",
      user.user_id);
  tide_future *f = NULL;
  int err = tide_run_blocking(loop, NULL, blocking_legacy_db_query, &user, &f);
  if (err == 0)
    err = tide_await(f, NULL);
  tide_future_release(f);
  if (err != 0)
    return err;
  say(loop, app->start, "DB: found %s", user.email);

  /* CPU-bound work: a CPU worker (asyncio's ProcessPoolExecutor; no GIL to escape in C). */
  struct hash_job hash = {.password = raw_password, .iterations = app->iterations};
  say(loop, app->start, "Hash: PBKDF2-HMAC-SHA256, %ld iterations (on a CPU worker)",
      hash.iterations);
  err = tide_run_in_executor(loop, NULL, compute_password_hash, &hash, &f);
  if (err == 0)
    err = tide_await(f, NULL);
  tide_future_release(f);
  if (err != 0)
    return err;
  say(loop, app->start, "Hash: done");

  printf("Registration complete in %.3fs\n", seconds_since(loop, app->start));
  printf("Result: {username: %s, email: %s, password_hash: %.16s..., status: registered}\n",
         username, user.email, hash.hex);
  return 0;
}

static int main_task(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct app *app = arg;
  app->start = tide_loop_update_time(loop);
  app->registering = 1;
  tide_future *tick = NULL;
  int err = tide_spawn(loop, ticker, app, &(tide_task_options){.name = "ticker"}, &tick);
  if (err != 0)
    return err;
  say(loop, app->start, "Registering alice");
  err = handle_user_registration(loop, app, "alice", "super_secret_passphrase_123");
  app->registering = 0;
  (void)tide_future_cancel(tick); /* wakes it from its sleep */
  (void)tide_await(tick, NULL);
  tide_future_release(tick);
  printf("Ticker: %d ticks while the work ran off the loop, worst lateness %.1f ms\n", app->ticks,
         app->worst_late_ms);
  return err;
}

int main(int argc, char **argv) {
  struct app app = {.iterations = 200000};
  if (argc > 1)
    app.iterations = strtol(argv[1], NULL, 10);
  if (app.iterations < 1) {
    fprintf(stderr, "usage: %s [iterations >= 1]\n", argv[0]);
    return 2;
  }
  int err = tide_run(main_task, &app, NULL, NULL);
  if (err != 0)
    fprintf(stderr, "registration failed: %s\n", tide_strerror(err));
  return err == 0 ? 0 : 1;
}
