/* redis_child.h: a redis-server of onloan's own (onloan eval without
 * --redis).
 *
 * Started from PATH on a free loopback port, saving nothing, in a
 * temporary directory ($TMPDIR or /tmp) that also holds its output, so that when it does
 * not start the reason can be told: the program not found (exec's own
 * error, passed back through a close-on-exec pipe), its exit status and
 * the last lines it wrote, or that it took no connection in time. It is
 * taken to be up once a Redis on its port gives its pid as process_id
 * (INFO server), not a server that took the port first. */
#ifndef ONLOAN_CLI_REDIS_CHILD_H
#define ONLOAN_CLI_REDIS_CHILD_H

#include "cli/child.h"
#include "core/strbuf.h"

struct redis_child {
    struct child child;         /* child.pid 0: not running */
    int port;
    char *dir;                  /* owned: the temporary directory, or NULL */
};

/* Starts program (looked up in PATH like a shell) and waits up to wait_ms
 * for it to take a connection on 127.0.0.1:rc->port. Returns -1 with the
 * reason in err (nothing left running or on disk). */
int redis_child_start(struct redis_child *rc, const char *program, int wait_ms,
                      struct strbuf *err);
/* Stops it (SIGTERM; SIGKILL if it has not exited CHILD_STOP_WAIT_MS
 * later) and removes
 * its directory with everything in it. */
void redis_child_stop(struct redis_child *rc);

#endif
