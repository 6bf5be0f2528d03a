/* tide/group.h — task groups (asyncio.TaskGroup, Trio's nursery): structured concurrency.
 *
 * A group is owned by one task. Tasks spawned into it run concurrently; the owner calls
 * tide_group_wait, which returns only when every member has finished. The first member to fail
 * cancels its siblings; tide_group_wait returns that first failure, and every other failure is
 * reported through the loop's log hook with the member's name, so none is silent. If the owner is
 * cancelled (or its deadline passes) while waiting, the members are cancelled and the wait still
 * returns only after all of them finished: no member outlives the group.
 *
 * The struct is caller-owned (typically a local in the owning task) and must not go out of scope
 * before tide_group_wait has returned. Loop thread only. */
#ifndef TIDE_GROUP_H
#define TIDE_GROUP_H

#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tide_group {
  tide_loop *private_loop;
  tide_future **private_members; /* every member's future, in spawn order */
  size_t private_count;
  size_t private_capacity;
  size_t private_running;
  int private_first_error;
  int private_cancelling;      /* the group is cancelling its members */
  int private_closed;          /* tide_group_wait has returned: no more spawns */
  tide_future *private_waiter; /* what tide_group_wait awaits */
} tide_group;

/* Prepares an empty group on `loop`. Returns 0 or TIDE_EINVAL. */
int tide_group_init(tide_group *group, tide_loop *loop);

/* Spawns a task into the group (as tide_spawn; `out`, if not NULL, receives a reference to the
 * member's future). A group whose first failure has happened still accepts spawns, which are
 * cancelled before they start. Returns 0, TIDE_EINVAL (NULL, or after tide_group_wait returned),
 * TIDE_ENOMEM or TIDE_ECLOSED. */
int tide_group_spawn(tide_group *group, tide_task_fn fn, void *arg, const tide_task_options *opts,
                     tide_future **out);

/* Inside the owning task: waits until every member has finished, then frees the group's
 * bookkeeping. Returns 0 if all succeeded; the first member failure (TIDE_ECANCELED if a member
 * was cancelled from outside); TIDE_ECANCELED / TIDE_ETIMEDOUT if the owner was cancelled or
 * timed out while waiting (after the members finished); TIDE_EINVAL outside a task or when called
 * twice. */
int tide_group_wait(tide_group *group);

/* Asks every running member to cancel, as a first failure would. Returns 0 or TIDE_EINVAL. */
int tide_group_cancel(tide_group *group);

#ifdef __cplusplus
}
#endif
#endif
