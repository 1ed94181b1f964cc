/* test_redis_child.c: redis_child_stop against a real redis-server from
 * PATH: a plain stop, and one that has to end with SIGKILL (the server is
 * stopped with SIGSTOP, so SIGTERM waits, as it would for a hung one). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/redis_child.h"
#include "unit.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int gone(pid_t pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

static int dir_exists(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0;
}

/* Starts one, or says why not (the test then fails on rc->child.pid). */
static void start(struct redis_child *rc)
{
    struct strbuf err = {0};
    if (redis_child_start(rc, "redis-server", 10000, &err) < 0)
        printf("# redis_child_start: %s", strbuf_cstr(&err));
    strbuf_free(&err);
}

TEST(stop_ends_it_and_removes_its_directory)
{
    struct redis_child rc;
    start(&rc);
    CHECK(rc.child.pid > 0 && rc.dir && dir_exists(rc.dir));
    if (rc.child.pid <= 0 || !rc.dir)
        return;
    pid_t pid = rc.child.pid;
    char *dir = strdup(rc.dir);
    uint64_t t0 = now_ms();
    redis_child_stop(&rc);
    CHECK(now_ms() - t0 < 5000);            /* SIGTERM did it */
    CHECK(rc.child.pid == 0 && rc.dir == NULL);
    CHECK(gone(pid));                       /* reaped: not even a zombie */
    CHECK(!dir_exists(dir));
    free(dir);
}

TEST(stop_kills_one_that_does_not_end_on_sigterm)
{
    struct redis_child rc;
    start(&rc);
    CHECK(rc.child.pid > 0 && rc.dir);
    if (rc.child.pid <= 0 || !rc.dir)
        return;
    pid_t pid = rc.child.pid;
    char *dir = strdup(rc.dir);
    CHECK(kill(pid, SIGSTOP) == 0);
    uint64_t t0 = now_ms();
    redis_child_stop(&rc);
    uint64_t took = now_ms() - t0;
    CHECK(took >= 5000);                    /* it waited for SIGTERM first */
    CHECK(took < 30000);                    /* and did not hang */
    CHECK(rc.child.pid == 0 && rc.dir == NULL);
    CHECK(gone(pid));
    CHECK(!dir_exists(dir));
    free(dir);
}

int main(void)
{
    RUN(stop_ends_it_and_removes_its_directory);
    RUN(stop_kills_one_that_does_not_end_on_sigterm);
    printf("%d failed\n", unit_failures);
    return unit_failures != 0;
}
