/* test_front.c: a listener of the HTTP face and its connections
 * (http/front.h), on a real socket and event loop, with this process as
 * the client: a response followed by a close arrives whole; at
 * max_connections the listener stops accepting until one closes; a
 * request read too slowly is cut at read_timeout_ms; accept() failing
 * for want of descriptors (EMFILE) pauses accepting instead of retrying
 * in a tight loop, and accepting resumes once descriptors are free;
 * each answer written is told to the answered callback with its status,
 * and a request whose client left first is counted abandoned instead;
 * a watched request hears of its client closing or resetting the
 * connection at once, not of its next request, nor after its answer. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "http/front.h"
#include "unit.h"

#define BIG 200000      /* bytes of the answer: more than one write */

static struct event_base *base;
static int port;

static struct evhttp_request *held;    /* route keeps it unanswered while hold */
static int hold;
static int answered_calls, answered_code;
static double answered_seconds;

static void answered(struct evhttp_request *req, int code, double seconds, void *arg)
{
    (void)req;
    (void)arg;
    answered_calls++;
    answered_code = code;
    answered_seconds = seconds;
}

static void route(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (hold) {
        held = req;
        return;
    }
    struct evbuffer *out = evbuffer_new();
    char *p = malloc(BIG);
    memset(p, 'x', BIG);
    evbuffer_add(out, p, BIG);
    free(p);
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

/* Runs the loop for ms. */
static void pump(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static int free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    bind(s, (struct sockaddr *)&sin, sizeof sin);
    getsockname(s, (struct sockaddr *)&sin, &len);
    close(s);
    return ntohs(sin.sin_port);
}

/* A non-blocking client connected to the front (the handshake is the
 * kernel's: it completes whether or not the front accepts). */
static int client(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof sin) < 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    fcntl(s, F_SETFL, O_NONBLOCK);
    return s;
}

/* Reads what s has (running the loop between reads) until EOF or ms
 * have passed: the bytes read, or -1 when the connection is still open. */
static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ms of the clock, not of pumps: on a loaded machine a pump of 10 ms
 * takes longer, and the daemon's timers run on the clock. */
static long drain(int s, int ms)
{
    static char buf[65536];
    long total = 0;
    for (long long end = now_ms() + ms;;) {
        ssize_t n;
        while ((n = recv(s, buf, sizeof buf, 0)) > 0)
            total += n;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return total;
        if (now_ms() > end)
            return -1;
        pump(10);
    }
}

static struct front *front_up(size_t max_connections, int read_timeout_ms)
{
    struct front_config fc = {
        .name = "listen", .host = "127.0.0.1", .port = port = free_port(),
        .max_connections = max_connections, .backlog = 16, .max_body = 1024,
        .max_header_bytes = 8192, .idle_timeout_s = 30, .read_timeout_ms = read_timeout_ms,
        .answered = answered,
    };
    struct strbuf err = {0};
    struct front *f = front_new(base, &fc, route, NULL, &err);
    if (!f)
        printf("# front_new: %s\n", strbuf_cstr(&err));
    strbuf_free(&err);
    return f;
}

static const char CLOSE_REQ[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

TEST(front_close_after_answer_is_whole)
{
    struct front *f = front_up(10, 1000);
    int s = client();
    CHECK(f && s >= 0);
    CHECK(send(s, CLOSE_REQ, sizeof CLOSE_REQ - 1, 0) == (ssize_t)sizeof CLOSE_REQ - 1);
    long n = drain(s, 2000);
    CHECK(n > BIG);         /* the head and all BIG bytes, then the close */
    close(s);
    pump(20);
    struct front_stats st;
    front_get_stats(f, &st);
    CHECK(st.open == 0 && st.accepted == 1);
    front_free(f);
}

TEST(front_answered_or_abandoned)
{
    struct front *f = front_up(10, 5000);
    struct front_stats st;
    answered_calls = 0;
    int s = client();
    CHECK(f && s >= 0);
    CHECK(send(s, CLOSE_REQ, sizeof CLOSE_REQ - 1, 0) > 0);
    CHECK(drain(s, 2000) > BIG);
    close(s);
    CHECK(answered_calls == 1 && answered_code == 200);
    CHECK(answered_seconds >= 0 && answered_seconds < 3600);
    /* the client leaves (a reset) before the answer: evhttp 2.1 does not
     * read while a request is out, so it finds out writing the answer,
     * which fails: abandoned, and not answered */
    hold = 1;
    s = client();
    CHECK(s >= 0 && send(s, CLOSE_REQ, sizeof CLOSE_REQ - 1, 0) > 0);
    pump(50);
    CHECK(held != NULL);
    struct linger reset = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(s);
    pump(50);
    hold = 0;
    if (held)
        route(held, NULL);
    held = NULL;
    pump(100);
    front_get_stats(f, &st);
    CHECK(st.abandoned == 1 && st.open == 0);
    CHECK(answered_calls == 1);
    front_free(f);
}

static int gone_calls;

static void gone(void *arg)
{
    (void)arg;
    gone_calls++;
}

static const char KEEP_REQ[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/* A request held by route, its client connected on s, watched. */
static struct front_watch *held_and_watched(struct front *f, int *s, const char *req, size_t len)
{
    hold = 1;
    held = NULL;
    *s = client();
    CHECK(*s >= 0 && send(*s, req, len, 0) == (ssize_t)len);
    pump(50);
    CHECK(held != NULL);
    struct front_watch *w = held ? front_watch(f, held, gone, NULL) : NULL;
    CHECK(w != NULL);
    CHECK(held && front_watch(f, held, gone, NULL) == NULL);     /* watched once */
    return w;
}

/* route answers the held request (hold off for those after it). */
static void answer_held(void)
{
    hold = 0;
    if (held)
        route(held, NULL);
    held = NULL;
}

TEST(front_watch_sees_the_client_leave)
{
    struct front *f = front_up(10, 5000);
    struct front_stats st;
    int s;
    answered_calls = gone_calls = 0;
    /* closed (FIN), then reset (RST): heard at once, while the request is
     * held; its answer, which frees it, goes nowhere */
    for (int reset = 0; reset < 2; reset++) {
        struct front_watch *w = held_and_watched(f, &s, CLOSE_REQ, sizeof CLOSE_REQ - 1);
        pump(50);
        CHECK(gone_calls == reset);             /* still there: not a word */
        if (reset) {
            struct linger rst = {1, 0};
            setsockopt(s, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
        }
        close(s);
        pump(50);
        CHECK(gone_calls == reset + 1);
        answer_held();
        pump(50);
        front_unwatch(w);                       /* after its connection ended */
    }
    front_get_stats(f, &st);
    CHECK(st.gone == 2 && st.abandoned == 2 && st.open == 0 && answered_calls == 0);

    /* the client's next request (pipelined) is not leaving: the watch
     * ends unheard, and both are answered */
    struct front_watch *w = held_and_watched(f, &s, KEEP_REQ, sizeof KEEP_REQ - 1);
    CHECK(send(s, CLOSE_REQ, sizeof CLOSE_REQ - 1, 0) > 0);
    pump(50);
    answer_held();
    CHECK(drain(s, 2000) > 2 * BIG);
    close(s);
    front_unwatch(w);
    CHECK(gone_calls == 2 && answered_calls == 2);

    /* answered, then the client leaves: nothing to hear of any more */
    w = held_and_watched(f, &s, KEEP_REQ, sizeof KEEP_REQ - 1);
    answer_held();
    pump(100);
    CHECK(answered_calls == 3);
    close(s);
    pump(50);
    front_unwatch(w);
    CHECK(gone_calls == 2);

    /* the front freed with a request watched: the watch ends unheard
     * (the request is libevent's to drop, as front.h says) */
    w = held_and_watched(f, &s, KEEP_REQ, sizeof KEEP_REQ - 1);
    hold = 0;
    held = NULL;
    front_get_stats(f, &st);
    CHECK(st.gone == 2 && st.abandoned == 2);
    front_free(f);
    front_unwatch(w);
    close(s);
    pump(20);
    CHECK(gone_calls == 2);
}

TEST(front_cap_then_resume)
{
    struct front *f = front_up(2, 5000);
    int a = client(), b = client(), c = client();
    struct front_stats st;
    CHECK(a >= 0 && b >= 0 && c >= 0);
    pump(100);
    front_get_stats(f, &st);
    CHECK(st.open == 2 && st.accepted == 2 && !st.accepting && st.at_cap == 1);
    CHECK(send(c, CLOSE_REQ, sizeof CLOSE_REQ - 1, 0) > 0);
    CHECK(drain(c, 200) == -1);         /* waits in the backlog, unanswered */
    close(a);
    CHECK(drain(c, 2000) > BIG);        /* accepted once a closed, and answered */
    front_get_stats(f, &st);
    CHECK(st.accepted == 3);
    close(b);
    close(c);
    pump(50);
    front_get_stats(f, &st);
    CHECK(st.open == 0 && st.accepting);
    front_free(f);
}

TEST(front_read_deadline)
{
    struct front *f = front_up(10, 3000);
    int s = client();
    struct front_stats st;
    CHECK(s >= 0 && send(s, "GET / HTTP/1.1\r\nHo", 18, 0) == 18);
    CHECK(drain(s, 1000) == -1);
    CHECK(send(s, "s", 1, 0) == 1);     /* a byte does not restart it: shut down */
    CHECK(drain(s, 2500) == 0);         /* 2 s after it, not 3 (500 ms either way) */
    pump(20);
    front_get_stats(f, &st);
    CHECK(st.cut == 1 && st.open == 0);
    close(s);
    front_free(f);
}

TEST(front_emfile_pauses_accepting)
{
    struct front *f = front_up(10, 5000);
    struct rlimit old, low;
    int fds[64], nfds = 0;
    getrlimit(RLIMIT_NOFILE, &old);
    int s = client();                   /* connected; the front has not accepted yet */
    CHECK(f && s >= 0);
    /* no descriptor left for the front's accept() */
    int top = dup(0);
    low = old;
    low.rlim_cur = (rlim_t)top + 1;
    close(top);
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    while (nfds < 64 && (fds[nfds] = dup(0)) >= 0)
        nfds++;
    CHECK(nfds < 64 && errno == EMFILE);
    pump(350);
    struct front_stats st;
    front_get_stats(f, &st);
    /* once, then once a FRONT_ACCEPT_BACKOFF_MS (a tight loop: thousands) */
    CHECK(st.accept_errors >= 1 && st.accept_errors <= 5 && st.accepted == 0);
    while (nfds)
        close(fds[--nfds]);
    setrlimit(RLIMIT_NOFILE, &old);
    CHECK(send(s, CLOSE_REQ, sizeof CLOSE_REQ - 1, 0) > 0);
    CHECK(drain(s, 2000) > BIG);
    front_get_stats(f, &st);
    CHECK(st.accepted == 1);
    close(s);
    pump(20);
    front_free(f);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);           /* as onloand: a write to a reset socket fails */
    base = event_base_new();
    RUN(front_close_after_answer_is_whole);
    RUN(front_answered_or_abandoned);
    RUN(front_watch_sees_the_client_leave);
    RUN(front_cap_then_resume);
    RUN(front_read_deadline);
    RUN(front_emfile_pauses_accepting);
    event_base_free(base);
    return unit_failures != 0;
}
