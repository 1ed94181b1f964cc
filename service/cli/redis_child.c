/* redis_child.c: see redis_child.h. */
#include "cli/redis_child.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/child.h"
#include "core/clock.h"

#define LOG_NAME "redis.log"
#define INFO_BYTES 65536        /* INFO server is under 2 KiB */
#define INFO_WAIT_MS 1000       /* for its answer, should a non-Redis hold the port */
#define STOP_WAIT_MS 5000       /* after SIGTERM, before SIGKILL */

/* The process_id in the INFO server reply read from fd; -2 for an error
 * reply (a Redis not ready yet); -1 for anything else (not Redis, or no
 * answer within INFO_WAIT_MS). */
static long info_process_id(int fd)
{
    static const char cmd[] = "INFO server\r\n";
    struct timeval tv = {INFO_WAIT_MS / 1000, (INFO_WAIT_MS % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        send(fd, cmd, sizeof cmd - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof cmd - 1))
        return -1;
    char *buf = malloc(INFO_BYTES + 1);
    size_t n = 0;
    long pid = -1, want = -1;   /* want: the whole reply's length, once known */
    while (buf && n < INFO_BYTES && (want < 0 || n < (size_t)want)) {
        ssize_t got = read(fd, buf + n, INFO_BYTES - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
        buf[n] = '\0';
        char *eol = strstr(buf, "\r\n");
        if (want < 0 && eol) {
            if (buf[0] == '-')
                pid = -2;       /* -LOADING ... */
            if (buf[0] != '$')
                break;
            long len = strtol(buf + 1, NULL, 10);
            if (len < 0 || len > INFO_BYTES)
                break;
            want = (eol - buf) + 2 + len;
        }
    }
    if (buf && want >= 0 && n >= (size_t)want) {
        const char *p = strstr(buf, "\nprocess_id:");
        if (p)
            pid = strtol(p + strlen("\nprocess_id:"), NULL, 10);
    }
    free(buf);
    return pid;
}

/* 1 if the Redis on 127.0.0.1:port is ours (its process_id is pid), 0 if
 * nothing (ready) listens there yet, -1 if something else does: another
 * process took the port first, and ours will exit for want of it. */
static int takes_connections(int port, pid_t pid)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0)
        return 0;
    int ours = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        long id = info_process_id(fd);
        ours = id == (long)pid ? 1 : id == -2 ? 0 : -1;
    }
    close(fd);
    return ours;
}

static char *log_path(const struct redis_child *rc)
{
    char *path = NULL;
    return asprintf(&path, "%s/%s", rc->dir, LOG_NAME) < 0 ? NULL : path;
}

/* Appends the last lines of what it wrote, indented. */
static void add_tail(const struct redis_child *rc, struct strbuf *err)
{
    char *path = log_path(rc);
    child_log_tail(path, err);
    free(path);
}

/* Removes the directory and every regular file in it (it is ours alone:
 * its log, and whatever Redis wrote there: dump.rdb, temp-*.rdb, ...).
 * What cannot be removed is told on stderr. */
static void remove_dir(struct redis_child *rc)
{
    if (!rc->dir)
        return;
    DIR *d = opendir(rc->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            struct stat st;
            if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(st.st_mode) && unlinkat(dirfd(d), e->d_name, 0) < 0)
                fprintf(stderr, "eval: cannot remove %s/%s: %s\n", rc->dir, e->d_name,
                        strerror(errno));
        }
        closedir(d);
    }
    if (rmdir(rc->dir) < 0)
        fprintf(stderr, "eval: cannot remove the directory of its Redis, %s: %s\n", rc->dir,
                strerror(errno));
    free(rc->dir);
    rc->dir = NULL;
}

int redis_child_start(struct redis_child *rc, const char *program, int wait_ms,
                      struct strbuf *err)
{
    memset(rc, 0, sizeof *rc);
    const char *tmp = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&rc->dir, "%s/onloan-redis-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) {
        rc->dir = NULL;
        strbuf_printf(err, "%s: out of memory\n", program);
        return -1;
    }
    if (!mkdtemp(rc->dir)) {
        strbuf_printf(err, "%s: cannot make a directory for it (%s): %s\n", program, rc->dir,
                      strerror(errno));
        free(rc->dir);
        rc->dir = NULL;
        return -1;
    }
    if (!(path = log_path(rc))) {
        strbuf_printf(err, "%s: out of memory\n", program);
        remove_dir(rc);
        return -1;
    }
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    free(path);
    int execerr[2] = {-1, -1};
    if (out < 0 || (rc->port = child_free_port()) < 0 || pipe2(execerr, O_CLOEXEC) < 0) {
        strbuf_printf(err, "%s: cannot prepare to start it: %s\n", program, strerror(errno));
        if (out >= 0)
            close(out);
        remove_dir(rc);
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", rc->port);
    pid_t pid = fork();
    if (pid == 0) {
        /* the child: its output to the log; exec's failure to the parent */
        close(execerr[0]);
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        execlp(program, program, "--port", port, "--bind", "127.0.0.1", "--dir", rc->dir,
               "--save", "", "--appendonly", "no", "--loglevel", "warning", (char *)NULL);
        int e = errno;
        ssize_t w = write(execerr[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(out);
    close(execerr[1]);
    if (pid < 0) {
        strbuf_printf(err, "%s: cannot start it: fork: %s\n", program, strerror(errno));
        close(execerr[0]);
        remove_dir(rc);
        return -1;
    }
    int e = 0;
    ssize_t got;
    do
        got = read(execerr[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(execerr[0]);
    if (got == (ssize_t)sizeof e) {         /* the pipe closed on exec, or this came */
        waitpid(pid, NULL, 0);
        strbuf_printf(err, "%s: cannot run it: %s (onloan eval starts a Redis of its own "
                      "from PATH: install redis-server, or give --redis IP:PORT)\n",
                      program, strerror(e));
        remove_dir(rc);
        return -1;
    }
    rc->pid = pid;
    uint64_t until = monotonic_ms() + (uint64_t)wait_ms;
    int foreign = 0;            /* something else answered on the port */
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            rc->pid = 0;
            strbuf_printf(err, "%s ", program);
            child_describe_status(status, err);
            strbuf_printf(err, " before it took connections on 127.0.0.1:%d; "
                          "the last it wrote:\n", rc->port);
            add_tail(rc, err);
            remove_dir(rc);
            return -1;
        }
        int ours = takes_connections(rc->port, pid);
        if (ours > 0)
            return 0;
        foreign |= ours < 0;
        if (monotonic_ms() >= until)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    strbuf_printf(err, "%s took no connection on 127.0.0.1:%d within %d ms (stopped%s); "
                  "the last it wrote:\n", program, rc->port, wait_ms,
                  foreign ? "; another process answered on that port" : "");
    add_tail(rc, err);
    redis_child_stop(rc);
    return -1;
}

void redis_child_stop(struct redis_child *rc)
{
    if (rc->pid > 0) {
        kill(rc->pid, SIGTERM);
        uint64_t until = monotonic_ms() + STOP_WAIT_MS;
        pid_t got;
        while (((got = waitpid(rc->pid, NULL, WNOHANG)) == 0 || (got < 0 && errno == EINTR)) &&
               monotonic_ms() < until) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        /* hung, or stopped (SIGTERM waits for a SIGCONT): SIGKILL ends both */
        if (got == 0 || (got < 0 && errno == EINTR)) {
            fprintf(stderr, "eval: its Redis (pid %ld) did not stop within %d ms of SIGTERM: "
                    "killed\n", (long)rc->pid, STOP_WAIT_MS);
            kill(rc->pid, SIGKILL);
            while (waitpid(rc->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        rc->pid = 0;
    }
    remove_dir(rc);
}
