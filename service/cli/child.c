/* child.c: see child.h. */
#include "cli/child.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

#define TAIL_BYTES 4096
#define POLL_MS 20

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int child_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

void child_describe_status(int status, struct strbuf *out)
{
    if (WIFEXITED(status))
        strbuf_printf(out, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        strbuf_printf(out, "was killed by signal %d (%s)", WTERMSIG(status),
                      strsignal(WTERMSIG(status)));
    else
        strbuf_printf(out, "stopped (status %#x)", status);
}

void child_log_tail(const char *path, struct strbuf *out)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        strbuf_puts(out, "  (its output could not be read)\n");
        return;
    }
    char buf[TAIL_BYTES + 1];
    size_t n = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > TAIL_BYTES)
            fseek(f, size - TAIL_BYTES, SEEK_SET);
        else
            rewind(f);
        n = fread(buf, 1, TAIL_BYTES, f);
    }
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (!n) {
        strbuf_puts(out, "  (it wrote nothing)\n");
        return;
    }
    const char *start = buf;
    int lines = 0;
    for (const char *p = buf + n; p > buf; p--) {
        if (p[-1] == '\n' && ++lines == CHILD_TAIL_LINES) {
            start = p;
            break;
        }
    }
    while (*start) {
        size_t len = strcspn(start, "\n"), shown = len;
        while (shown && (start[shown - 1] == '\r' || start[shown - 1] == ' '))
            shown--;
        if (shown)                  /* blank lines say nothing */
            strbuf_printf(out, "  %.*s\n", (int)shown, start);
        start += len + (start[len] == '\n');
    }
}

static void forget(struct child *c)
{
    free(c->name);
    free(c->log);
    c->name = c->log = NULL;
    c->pid = 0;
}

int child_start(struct child *c, const char *name, char *const argv[], const char *cwd,
                const char *log, struct strbuf *err)
{
    memset(c, 0, sizeof *c);
    if (!(c->name = strdup(name)) || !(c->log = strdup(log))) {
        strbuf_printf(err, "%s: out of memory\n", name);
        forget(c);
        return -1;
    }
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int execerr[2] = {-1, -1};
    if (out < 0 || pipe2(execerr, O_CLOEXEC) < 0) {
        strbuf_printf(err, "%s: cannot prepare to start it (%s): %s\n", name, log,
                      strerror(errno));
        if (out >= 0)
            close(out);
        forget(c);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* the child: ends with us; its output to the log; exec's failure
         * (or chdir's) to the parent */
        int e = 0;
        close(execerr[0]);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
            _exit(127);
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        if (cwd && chdir(cwd) < 0)
            e = errno;
        else
            execvp(argv[0], argv);
        e = e ? e : errno;
        ssize_t w = write(execerr[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(out);
    close(execerr[1]);
    if (pid < 0) {
        strbuf_printf(err, "%s: cannot start it: fork: %s\n", name, strerror(errno));
        close(execerr[0]);
        forget(c);
        return -1;
    }
    int e = 0;
    ssize_t got;
    do
        got = read(execerr[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(execerr[0]);
    if (got == (ssize_t)sizeof e) {         /* the pipe closed on exec, or this came */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        strbuf_printf(err, "%s: cannot run %s: %s\n", name, argv[0], strerror(e));
        forget(c);
        return -1;
    }
    c->pid = pid;
    return 0;
}

int child_running(struct child *c)
{
    if (c->pid <= 0)
        return 0;
    pid_t got;
    while ((got = waitpid(c->pid, &c->status, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (got == c->pid || got < 0) {
        c->pid = 0;
        return 0;
    }
    return 1;
}

/* "NAME STATUS ...; the last it wrote:" and its tail. */
static void ended(struct child *c, const char *when, struct strbuf *err)
{
    strbuf_printf(err, "%s ", c->name);
    child_describe_status(c->status, err);
    strbuf_printf(err, "%s%s; the last it wrote (%s):\n", *when ? " " : "", when, c->log);
    child_log_tail(c->log, err);
}

static int connects(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0)
        return 0;
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

int child_wait_port(struct child *c, int port, int wait_ms, struct strbuf *err)
{
    uint64_t until = monotonic_ms() + (uint64_t)wait_ms;
    for (;;) {
        if (!child_running(c)) {
            char when[64];
            snprintf(when, sizeof when, "before it took connections on 127.0.0.1:%d", port);
            ended(c, when, err);
            return -1;
        }
        if (connects(port))
            return 0;
        if (monotonic_ms() >= until)
            break;
        pause_ms(POLL_MS);
    }
    strbuf_printf(err, "%s took no connection on 127.0.0.1:%d within %d ms (stopped); the last "
                  "it wrote (%s):\n", c->name, port, wait_ms, c->log);
    child_log_tail(c->log, err);
    child_stop(c);
    return -1;
}

int child_wait_exit(struct child *c, int wait_ms, struct strbuf *err)
{
    uint64_t until = monotonic_ms() + (uint64_t)wait_ms;
    while (child_running(c)) {
        if (monotonic_ms() >= until) {
            strbuf_printf(err, "%s did not finish within %d ms (stopped); the last it wrote "
                          "(%s):\n", c->name, wait_ms, c->log);
            child_log_tail(c->log, err);
            child_stop(c);
            return -1;
        }
        pause_ms(POLL_MS);
    }
    if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
        return 0;
    ended(c, "", err);
    return -1;
}

int child_stop(struct child *c)
{
    int status = -1;
    if (c->pid > 0 && child_running(c)) {
        kill(c->pid, SIGTERM);
        uint64_t until = monotonic_ms() + CHILD_STOP_WAIT_MS;
        while (child_running(c) && monotonic_ms() < until)
            pause_ms(POLL_MS);
        if (c->pid > 0) {
            /* hung, or stopped (SIGTERM waits for a SIGCONT): SIGKILL ends both */
            fprintf(stderr, "%s (pid %ld) did not stop within %d ms of SIGTERM: killed\n",
                    c->name, (long)c->pid, CHILD_STOP_WAIT_MS);
            kill(c->pid, SIGKILL);
            while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
                ;
            c->pid = 0;
        } else {
            status = c->status;
        }
    } else if (c->name) {
        status = c->status;
    }
    forget(c);
    return status;
}
