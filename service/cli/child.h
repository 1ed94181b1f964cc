/* child.h: a program the CLI starts, waits for and stops (onloan eval
 * --titles: zebraidx, zebrasrv, onloand).
 *
 * The child's standard output and error go to a log file of the caller's
 * choosing, so that when it fails the reason can be told: exec's own
 * error (passed back through a close-on-exec pipe), its exit status and
 * the last lines it wrote. It gets SIGTERM should the CLI die first
 * (PR_SET_PDEATHSIG), so that nothing is left serving. */
#ifndef ONLOAN_CLI_CHILD_H
#define ONLOAN_CLI_CHILD_H

#include <sys/types.h>

#include "core/strbuf.h"

#define CHILD_STOP_WAIT_MS 5000         /* after SIGTERM, before SIGKILL */
#define CHILD_TAIL_LINES 10

struct child {
    pid_t pid;                  /* 0: not running */
    char *name;                 /* owned: for messages */
    char *log;                  /* owned: where its output goes */
    int status;                 /* its wait status, once it ended */
};

/* Starts argv[0] (looked up in PATH like a shell) with argv (NULL-
 * terminated) in directory cwd (NULL: ours), its output appended to log.
 * Returns -1 with the reason in err (nothing left running). */
int child_start(struct child *c, const char *name, char *const argv[], const char *cwd,
                const char *log, struct strbuf *err);
/* Waits until something takes connections on 127.0.0.1:port, at most
 * wait_ms. Returns -1 with the reason in err when the child ended first
 * (how, and what it wrote last) or the time ran out (it is then stopped). */
int child_wait_port(struct child *c, int port, int wait_ms, struct strbuf *err);
/* Waits for it to end by itself, at most wait_ms (then it is stopped).
 * Returns 0 when it exited with status 0, else -1 with how it ended and
 * what it wrote last in err. */
int child_wait_exit(struct child *c, int wait_ms, struct strbuf *err);
/* 1 while it runs; 0 once it ended (c->status says how). */
int child_running(struct child *c);
/* Stops it if it runs (SIGTERM; SIGKILL CHILD_STOP_WAIT_MS later) and
 * frees what c holds. Returns its wait status, or -1 if it was not
 * running (or had been killed). */
int child_stop(struct child *c);

/* A free port on 127.0.0.1 now (another process may take it before the
 * child does: child_wait_port then sees the child end), or -1. */
int child_free_port(void);
/* "exited with status N", "was killed by signal N (Name)". */
void child_describe_status(int status, struct strbuf *out);
/* The last lines (at most CHILD_TAIL_LINES, from its last 4 KiB) of the
 * file at path, each indented by two blanks; "(it wrote nothing)" or
 * "(its output could not be read)" otherwise. */
void child_log_tail(const char *path, struct strbuf *out);

#endif
