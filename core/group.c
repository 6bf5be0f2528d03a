/* core/group.c — task groups (see tide/group.h).
 *
 * Members report to the group through their futures' done-callbacks, which may run after the
 * owner's wait began or before it; the wait itself is a plain future the group resolves when the
 * last member finishes. The waiter's canceller is how the owner's cancellation or deadline reaches
 * the members: it cancels them, and the waiter settles only when they have all finished. */
#include <stdlib.h>

#include "core/future_internal.h"
#include "core/loop_internal.h"
#include "tide/error.h"
#include "tide/group.h"

int tide_group_init(tide_group *group, tide_loop *loop) {
  if (group == NULL || loop == NULL)
    return TIDE_EINVAL;
  *group = (tide_group){.private_loop = loop};
  return 0;
}

static void cancel_members(tide_group *g) {
  g->private_cancelling = 1;
  for (size_t i = 0; i < g->private_count; i++) {
    if (!tide_future_done(g->private_members[i]))
      tide_future_cancel(g->private_members[i]);
  }
}

static void finish_wait(tide_group *g) {
  tide_future *waiter = g->private_waiter;
  if (waiter == NULL || g->private_running > 0)
    return;
  /* Cancelled waiters settle as cancelled so that the owner's await reports its own stop reason;
   * otherwise the waiter resolves and the wait returns the members' verdict. */
  if (waiter->cancel_requested)
    tide_future_fail(waiter, TIDE_ECANCELED);
  else
    tide_future_resolve(waiter, NULL);
}

static void member_done(tide_future *member, void *arg) {
  tide_group *g = arg;
  g->private_running--;
  int rc = tide_future_result(member, NULL); /* observed here: the group reports it */
  int caused_by_group = rc == TIDE_ECANCELED && g->private_cancelling;
  if (rc != 0 && !caused_by_group) {
    if (g->private_first_error == 0) {
      g->private_first_error = rc;
      cancel_members(g);
    } else {
      tide__loop_log(
          g->private_loop, TIDE_LOG_WARN,
          "task '%s' in a group also failed with %s (%s) after the group's first failure",
          tide_task_name(member), tide_err_name(rc), tide_strerror(rc));
    }
  }
  finish_wait(g);
}

static int add_member(tide_group *g, tide_future *member) {
  if (g->private_count == g->private_capacity) {
    size_t capacity = g->private_capacity ? g->private_capacity * 2 : 8;
    tide_future **members = realloc(g->private_members, capacity * sizeof *members);
    if (members == NULL)
      return TIDE_ENOMEM;
    g->private_members = members;
    g->private_capacity = capacity;
  }
  g->private_members[g->private_count++] = member;
  return 0;
}

int tide_group_spawn(tide_group *group, tide_task_fn fn, void *arg, const tide_task_options *opts,
                     tide_future **out) {
  if (group == NULL || group->private_loop == NULL || group->private_closed || fn == NULL)
    return TIDE_EINVAL;
  /* Reserve the slot first, so that a spawned task is always tracked. */
  if (group->private_count == group->private_capacity) {
    int err = add_member(group, NULL);
    if (err != 0)
      return err;
    group->private_count--;
  }
  tide_future *member;
  int err = tide_spawn(group->private_loop, fn, arg, opts, &member);
  if (err != 0)
    return err;
  group->private_members[group->private_count++] = member;
  group->private_running++;
  tide_future_on_done(member, member_done, group); /* the first callback: stored inline */
  if (group->private_cancelling)
    tide_future_cancel(member);
  if (out != NULL) {
    tide_future_retain(member);
    *out = member;
  }
  return 0;
}

static void waiter_cancelled(tide_future *f, void *arg) {
  (void)f;
  cancel_members(arg);
  finish_wait(arg);
}

int tide_group_cancel(tide_group *group) {
  if (group == NULL || group->private_loop == NULL)
    return TIDE_EINVAL;
  cancel_members(group);
  return 0;
}

static void free_members(tide_group *g) {
  for (size_t i = 0; i < g->private_count; i++)
    tide_future_release(g->private_members[i]);
  free(g->private_members);
  g->private_members = NULL;
  g->private_count = g->private_capacity = 0;
}

int tide_group_wait(tide_group *group) {
  if (group == NULL || group->private_loop == NULL || group->private_closed ||
      !tide_in_task(group->private_loop))
    return TIDE_EINVAL;
  int stop = 0;
  while (group->private_running > 0) {
    int err = tide_future_new(group->private_loop, &group->private_waiter);
    if (err != 0)
      return err; /* the group stays open: the owner may retry */
    tide_future_set_canceller(group->private_waiter, waiter_cancelled, group);
    err = tide_await(group->private_waiter, NULL);
    tide_future_release(group->private_waiter);
    group->private_waiter = NULL;
    if (err != 0 && stop == 0)
      stop = err; /* the owner's cancellation or deadline; members are being cancelled */
  }
  group->private_closed = 1;
  free_members(group);
  return stop != 0 ? stop : group->private_first_error;
}
