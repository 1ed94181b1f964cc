/* burst: the bench's cold client. Sends one GET per path, all at once, each
 * on its own connection, from one thread with poll(): the requests reach
 * the server together, and the client costs the shared cores little (the
 * Python loop it replaces took about 18 ms of CPU for 100 requests, on a
 * machine whose two cores also run onloand and zebrasrv).
 *
 * usage: burst PORT TIMEOUT_SECS < paths      (one path per line, at most
 *                                              MAX_REQUESTS)
 * prints "wall SECONDS cpu SECONDS" (the client's own CPU time over the
 * same span), then for each path in input order
 * "STATUS SECONDS LENGTH\n" and the LENGTH bytes of the body and "\n";
 * STATUS 0 means no complete answer before the timeout. Exits 1 on a bad
 * argument or a failure to set up, not on a bad answer. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_REQUESTS = 4096, MAX_PATH = 8192 };

struct request {
    int fd;
    char *out;          /* the request, sent from out + sent */
    size_t out_len, sent;
    char *in;           /* the whole answer, headers and body */
    size_t in_len, in_cap;
    double seconds;     /* from the start until the server closed */
    int done;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this process so far (the client shares the cores it measures). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* Reads what the socket has; returns 1 when the server has closed. */
static int read_some(struct request *r)
{
    for (;;) {
        if (r->in_cap - r->in_len < 1024) {
            size_t cap = r->in_cap ? r->in_cap * 2 : 4096;   /* most answers fit: few pages touched */
            char *in = realloc(r->in, cap);
            if (!in)
                die("realloc");
            r->in = in;
            r->in_cap = cap;
        }
        ssize_t n = read(r->fd, r->in + r->in_len, r->in_cap - r->in_len);
        if (n > 0) {
            r->in_len += (size_t)n;
            continue;
        }
        if (n == 0)
            return 1;
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        return 1;       /* reset: the answer is what came before */
    }
}

static void print_answer(const struct request *r)
{
    int status = 0;
    const char *body = NULL;
    if (r->done && r->in_len > 12 && memcmp(r->in, "HTTP/1.", 7) == 0)
        status = atoi(r->in + 9);
    if (status)
        body = memmem(r->in, r->in_len, "\r\n\r\n", 4);
    size_t len = body ? r->in_len - (size_t)(body + 4 - r->in) : 0;
    printf("%d %.6f %zu\n", body ? status : 0, r->seconds, len);
    if (len)
        fwrite(body + 4, 1, len, stdout);
    putchar('\n');
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: burst PORT TIMEOUT_SECS < paths\n");
        return 1;
    }
    int port = atoi(argv[1]);
    double timeout = atof(argv[2]);
    if (port <= 0 || port > 65535 || timeout <= 0) {
        fprintf(stderr, "burst: bad port or timeout\n");
        return 1;
    }
    static struct request reqs[MAX_REQUESTS];
    static struct pollfd pfds[MAX_REQUESTS];
    char line[MAX_PATH];
    size_t n = 0;
    while (fgets(line, sizeof line, stdin)) {
        size_t len = strcspn(line, "\r\n");
        if (line[len] == '\0' && !feof(stdin)) {
            fprintf(stderr, "burst: a path longer than %d bytes\n", MAX_PATH - 2);
            return 1;
        }
        line[len] = '\0';
        if (!len)
            continue;
        if (n == MAX_REQUESTS) {
            fprintf(stderr, "burst: more than %d paths\n", MAX_REQUESTS);
            return 1;
        }
        struct request *r = &reqs[n++];
        int w = asprintf(&r->out, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                         line);
        if (w < 0)
            die("asprintf");
        r->out_len = (size_t)w;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    double t0 = now(), cpu0 = cpu_now();
    for (size_t i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0)
            die("socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
            die("connect");
        reqs[i].fd = fd;
        pfds[i] = (struct pollfd){.fd = fd, .events = POLLOUT};
        /* On loopback the handshake is usually over already: send now,
         * without a poll round per connection. */
        ssize_t w = write(fd, reqs[i].out, reqs[i].out_len);
        if (w > 0 && (size_t)w == reqs[i].out_len) {
            reqs[i].sent = (size_t)w;
            pfds[i].events = POLLIN;
        } else if (w > 0) {
            reqs[i].sent = (size_t)w;
        }
    }
    size_t open = n;
    double deadline = t0 + timeout;
    while (open) {
        double left = deadline - now();
        if (left <= 0)
            break;
        int ready = poll(pfds, n, (int)(left * 1000) + 1);
        if (ready < 0 && errno != EINTR)
            die("poll");
        for (size_t i = 0; i < n && ready > 0; i++) {
            struct request *r = &reqs[i];
            if (!pfds[i].revents || r->done)
                continue;
            ready--;
            if (pfds[i].events & POLLOUT) {
                ssize_t w = write(r->fd, r->out + r->sent, r->out_len - r->sent);
                if (w > 0)
                    r->sent += (size_t)w;
                else if (w < 0 && errno != EAGAIN && errno != EINTR)
                    r->sent = r->out_len;   /* refused: read what there is */
                if (r->sent == r->out_len)
                    pfds[i].events = POLLIN;
                continue;
            }
            if (read_some(r)) {
                r->done = 1;
                r->seconds = now() - t0;
                pfds[i].fd = -1;    /* closed after the clock stops: the close's
                                     * FIN exchange is no part of the answer */
                open--;
            }
        }
    }
    double wall = now() - t0, cpu = cpu_now() - cpu0;
    for (size_t i = 0; i < n; i++)
        close(reqs[i].fd);
    printf("wall %.6f cpu %.6f\n", wall, cpu);
    for (size_t i = 0; i < n; i++)
        print_answer(&reqs[i]);
    return 0;
}
