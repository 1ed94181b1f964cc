/* redis_child.c: see redis_child.h. */
#include "cli/redis_child.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli/child.h"
#include "core/clock.h"

#define LOG_NAME "redis.log"
#define INFO_BYTES 65536        /* INFO server is under 2 KiB */
#define INFO_WAIT_MS 1000       /* for its answer, should a non-Redis hold the port */

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

/* Stops what runs and removes its directory: -1, for the caller to return. */
static int give_up(struct redis_child *rc)
{
    child_stop(&rc->child);
    remove_dir(rc);
    return -1;
}

int redis_child_start(struct redis_child *rc, const char *program, int wait_ms,
                      struct strbuf *err)
{
    memset(rc, 0, sizeof *rc);
    const char *tmp = getenv("TMPDIR");
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
    char *log = NULL;
    if (asprintf(&log, "%s/%s", rc->dir, LOG_NAME) < 0 || (rc->port = child_free_port()) < 0) {
        if (log)
            free(log);
        strbuf_printf(err, "%s: cannot prepare to start it: %s\n", program, strerror(errno));
        return give_up(rc);
    }
    char port[16];
    snprintf(port, sizeof port, "%d", rc->port);
    char *const argv[] = {(char *)program, "--port", port, "--bind", "127.0.0.1",
                          "--dir", rc->dir, "--save", "", "--appendonly", "no",
                          "--loglevel", "warning", NULL};
    int started = child_start(&rc->child, program, argv, NULL, log, err);
    free(log);
    if (started < 0) {
        strbuf_puts(err, "  (onloan eval starts a Redis of its own from PATH: install "
                    "redis-server, or give --redis IP:PORT)\n");
        return give_up(rc);
    }
    uint64_t until = monotonic_ms() + (uint64_t)wait_ms;
    int foreign = 0;            /* something else answered on the port */
    for (;;) {
        if (!child_running(&rc->child)) {
            strbuf_printf(err, "%s ", program);
            child_describe_status(rc->child.status, err);
            strbuf_printf(err, " before it took connections on 127.0.0.1:%d; "
                          "the last it wrote:\n", rc->port);
            child_log_tail(rc->child.log, err);
            return give_up(rc);
        }
        int ours = takes_connections(rc->port, rc->child.pid);
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
    child_log_tail(rc->child.log, err);
    return give_up(rc);
}

void redis_child_stop(struct redis_child *rc)
{
    child_stop(&rc->child);
    remove_dir(rc);
}
