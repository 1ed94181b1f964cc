/* onloand.c: onloand, the daemon: options, signals, start and stop.
 *
 *   onloand [-c FILE]      run in the foreground (log to stderr)
 *   onloand -t [-c FILE]   check the configuration and exit
 *   onloand -V             where it looks for its config and plugins
 *
 * Both refuse a config whose secrets others can read (config.h); the man
 * page is docs/man/onloand.8. */
#include <event2/event.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "catalogue/link.h"
#include "core/config.h"
#include "core/log.h"
#include "core/pseudonym.h"
#include "ingest/loan_event.h"
#include "server.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    log_msg(LOG_INFO, "signal %d: stopping", (int)sig);
    event_base_loopbreak(arg);
}

static void usage(void)
{
    fprintf(stderr, "usage: onloand [-t] [-c config.json]\n"
                    "       onloand -V\n");
}

/* With epoll, the changes a pass of the loop makes to one socket's events
 * (an answer sent from a Redis callback: write on, then read back on) go
 * to the kernel as one epoll_ctl at the end of the pass, not one each.
 * (libevent's caveat for this flag, sockets dup()'d and closed behind its
 * back, does not arise here.) */
static struct event_base *new_event_base(void)
{
    struct event_config *ec = event_config_new();
    if (!ec)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}

/* Freed memory stays in the process, up to this much at the heap's top,
 * and blocks below MALLOC_MMAP_BYTES come from the heap, not from mmap:
 * glibc's defaults hand a large report's body (8 MB) back to the kernel
 * when it is sent, and the next report faults every page of it in again,
 * 11 us a page on a virtual machine (a year's report: 105 ms, 77-88 ms
 * with these; docs/benchmarks.md). */
#define MALLOC_MMAP_BYTES (32 << 20)
#define MALLOC_KEEP_BYTES (64 << 20)

int main(int argc, char **argv)
{
    const char *path = ONLOAN_CONFIG_PATH;
    int check_only = 0, show_paths = 0, opt;
#ifndef __SANITIZE_ADDRESS__       /* ASan's allocator has no such thresholds */
    if (!mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_BYTES) || !mallopt(M_TRIM_THRESHOLD, MALLOC_KEEP_BYTES))
        fprintf(stderr, "onloand: malloc's thresholds not set: freed memory goes back at once\n");
#endif
    loan_json_init();           /* before jansson allocates anything */
    while ((opt = getopt(argc, argv, "c:tVh")) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 't': check_only = 1; break;
        case 'V': show_paths = 1; break;
        default: usage(); return 2;
        }
    }
    if (optind != argc || (show_paths && check_only)) {
        usage();
        return 2;
    }
    if (show_paths) {
        printf("config: %s\nplugin_dir: %s\n", ONLOAN_CONFIG_PATH, ONLOAN_PLUGIN_DIR);
        return 0;
    }
    struct config *cfg = config_load_or_report(path);
    if (!cfg)
        return 1;
    if (config_exposures(cfg)) {
        /* A secret others can read is as good as theirs: not run with it,
         * and not passed by a check. */
        fputs(config_exposures(cfg), stderr);
        fprintf(stderr, "%s: %s: secrets that others can read (above)\n", path,
                check_only ? "check failed" : "not started");
        config_free(cfg);
        return 1;
    }
    struct strbuf err = {0};
    if (check_only) {
        if (cfg->demo)
            fprintf(stderr, "%s: demo mode: example keys accepted\n", path);
        /* Like nginx -t: also load every link plugin with its settings. */
        int bad = 0;
        for (size_t i = 0; i < cfg->ncatalogues; i++) {
            struct link *l = link_open(cfg->plugin_dir, cfg->catalogues[i].link, &err);
            if (!l) {
                fprintf(stderr, "%s: catalogues[%zu].link: %s\n", path, i, strbuf_cstr(&err));
                strbuf_reset(&err);
                bad = 1;
            }
            link_close(l);
        }
        if (!bad)
            printf("%s: configuration is fine (plugins from %s)\n", path, cfg->plugin_dir);
        config_free(cfg);
        strbuf_free(&err);
        return bad;
    }
    enum log_level level;
    log_level_parse(cfg->log_level, &level);
    log_set_level(level);
    if (cfg->demo)
        log_msg(LOG_WARN, "demo mode: example keys accepted (\"demo\": true in %s)", path);
    if (pseudonym_init() < 0) {
        log_msg(LOG_ERROR, "cannot initialise libsodium");
        config_free(cfg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    struct event_base *base = new_event_base();
    struct server srv;
    int rc = 0;
    if (!base || server_start(&srv, base, cfg, &err) < 0) {
        log_msg(LOG_ERROR, "cannot start: %s", base ? strbuf_cstr(&err) : "no event base");
        rc = 1;
    } else {
        struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
        struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
        evsignal_add(sigterm, NULL);
        evsignal_add(sigint, NULL);
        event_base_dispatch(base);
        server_drain(&srv);
        event_free(sigterm);
        event_free(sigint);
    }
    if (base)
        server_stop(&srv);
    if (base)
        event_base_free(base);
    config_free(cfg);
    strbuf_free(&err);
    log_msg(LOG_INFO, "stopped");
    return rc;
}
