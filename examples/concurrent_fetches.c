/* examples/concurrent_fetches.c — the asyncio article's first scenario, in C with tide tasks.
 *
 * Two coroutines run concurrently on one thread: a 1.0 s "database fetch" and a 0.5 s "SMTP
 * handshake". gather starts both and waits for both, so the whole thing takes max(1.0, 0.5) s,
 * not their sum:
 *
 *   [0.000s] Starting fetch for user 42
 *   [0.000s] Sending email to user 42
 *   [0.501s] Email sent to user 42
 *   [1.001s] Finished fetch for user 42
 *
 *   All done in 1.001s — not 1.5s, because they ran concurrently.
 *   Profile retrieved: {id: 42, name: User_42}
 */
#include <stdio.h>

#include "timeline.h"

struct profile {
  int id;
  char name[32];
};

struct request {
  int64_t start;
  int user_id;
  struct profile profile;
};

static int fetch_user_profile(tide_loop *loop, void *arg, void **result) {
  struct request *r = arg;
  say(loop, r->start, "Starting fetch for user %d", r->user_id);
  int err = tide_sleep(loop, SECONDS(1.0)); /* a 1-second database round trip */
  if (err != 0)
    return err;
  say(loop, r->start, "Finished fetch for user %d", r->user_id);
  r->profile.id = r->user_id;
  snprintf(r->profile.name, sizeof r->profile.name, "User_%d", r->user_id);
  *result = &r->profile;
  return 0;
}

static int send_welcome_email(tide_loop *loop, void *arg, void **result) {
  (void)result;
  struct request *r = arg;
  say(loop, r->start, "Sending email to user %d", r->user_id);
  int err = tide_sleep(loop, SECONDS(0.5)); /* a 500 ms SMTP handshake */
  if (err != 0)
    return err;
  say(loop, r->start, "Email sent to user %d", r->user_id);
  return 0;
}

static int main_task(tide_loop *loop, void *arg, void **result) {
  (void)arg;
  (void)result;
  struct request r = {.start = tide_loop_update_time(loop), .user_id = 42};
  tide_future *tasks[2] = {NULL, NULL}, *both = NULL;
  /* gather schedules both tasks now; they run concurrently while main awaits. */
  int err =
      tide_spawn(loop, fetch_user_profile, &r, &(tide_task_options){.name = "fetch"}, &tasks[0]);
  if (err == 0)
    err =
        tide_spawn(loop, send_welcome_email, &r, &(tide_task_options){.name = "email"}, &tasks[1]);
  if (err == 0)
    err = tide_gather(loop, tasks, 2, 0, &both);
  if (err == 0)
    err = tide_await(both, NULL);
  struct profile *profile = NULL;
  if (err == 0)
    err = tide_future_result(tasks[0], (void **)&profile);
  if (err == 0) {
    printf("\nAll done in %.3fs — not 1.5s, because they ran concurrently.\n",
           seconds_since(loop, r.start));
    printf("Profile retrieved: {id: %d, name: %s}\n", profile->id, profile->name);
  }
  tide_future_release(both);
  tide_future_release(tasks[0]);
  tide_future_release(tasks[1]);
  return err;
}

int main(void) {
  int err = tide_run(main_task, NULL, NULL, NULL);
  if (err != 0)
    fprintf(stderr, "error: %s\n", tide_strerror(err));
  return err == 0 ? 0 : 1;
}
