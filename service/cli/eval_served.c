/* eval_served.c: see eval_served.h. */
#include "cli/eval_served.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <libgen.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/eval_catalogue.h"
#include "core/clock.h"

#define HEALTH_POLL_MS 50
#define SHOWN_BODY_BYTES 300            /* of a failed answer, in the error */

/* ---- the daemon's config ------------------------------------------------------ */

/* root[key], made an empty object if it is not there. */
static json_t *section(json_t *root, const char *key)
{
    json_t *o = json_object_get(root, key);
    if (json_is_object(o))
        return o;
    o = json_object();
    return o && json_object_set_new(root, key, o) == 0 ? o : NULL;
}

json_t *eval_daemon_config(const struct config *cfg, const char *plugin_dir, const char *key, int port,
                           int zebra_port, struct strbuf *err)
{
    json_error_t je;
    json_t *root = json_load_file(cfg->path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        strbuf_printf(err, "%s:%d:%d: %s\n", cfg->path, je.line, je.column, je.text);
        return NULL;
    }
    json_t *redis = section(root, "redis"), *privacy = section(root, "privacy");
    json_t *model = section(root, "model");
    json_t *cats = json_object_get(root, "catalogues");
    json_t *cat = json_is_array(cats) ? json_deep_copy(json_array_get(cats, 0)) : NULL;
    json_t *one = json_array(), *order = json_array();
    int bad = !redis || !privacy || !model || !json_is_object(cat) || !one || !order;
    for (size_t i = 0; !bad && i < cfg->catalogues[0].norder; i++)    /* --order's, or as is */
        bad = json_array_append_new(order, json_string(reason_names[cfg->catalogues[0].order[i]]));
    bad = bad || json_object_set_new(root, "listen", json_sprintf("127.0.0.1:%d", port)) ||
          json_object_set_new(root, "log_level", json_string("warn")) ||
          (plugin_dir && json_object_set_new(root, "plugin_dir", json_string(plugin_dir))) ||
          json_object_set_new(redis, "address",
                              json_sprintf("%s:%d", cfg->redis_host, cfg->redis_port)) ||
          json_object_set_new(redis, "prefix", json_string(cfg->redis_prefix)) ||
          json_object_set_new(privacy, "min_patrons", json_integer(cfg->min_patrons)) ||
          json_object_set_new(privacy, "history_max", json_integer(cfg->history_max)) ||
          json_object_set_new(privacy, "history_ttl_days", json_integer(cfg->history_ttl_days)) ||
          json_object_set_new(model, "pairs_per_loan", json_integer(cfg->pairs_per_loan)) ||
          json_object_set_new(model, "window_days", json_integer(cfg->window_days)) ||
          json_object_set_new(model, "history_titles", json_integer(cfg->history_titles)) ||
          json_object_set_new(cat, "target", json_sprintf("127.0.0.1:%d/%s", zebra_port,
                                                          EVAL_CATALOGUE_DB)) ||
          json_object_set_new(cat, "protocol", json_string("z3950")) ||
          json_object_set_new(cat, "holdings", json_string("koha952")) ||
          json_object_set_new(cat, "id_field", json_string("001")) ||
          json_object_set(cat, "order", order) ||
          json_array_append(one, cat) || json_object_set(root, "catalogues", one);
    if (!cfg->redis_password) {                 /* eval's own Redis: no users */
        json_object_del(redis, "username");
        json_object_del(redis, "password");
        json_object_del(redis, "password_file");
    }
    json_object_del(root, "experiments");
    /* one key of eval's own: patron= needs the role personalise */
    json_t *keys = json_pack("[{s:s, s:s, s:[s]}]", "name", "eval", "key", key, "roles",
                             "personalise");
    if (!keys || json_object_set_new(root, "api_keys", keys) < 0)
        bad = 1;
    json_object_del(json_object_get(root, "limits"), "per_client_rps");   /* all asks are ours */
    json_decref(cat);
    json_decref(one);
    json_decref(order);
    if (bad) {
        strbuf_printf(err, "%s: no catalogue to take the settings of, or out of memory\n",
                      cfg->path);
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- HTTP --------------------------------------------------------------------- */

struct http_get {
    int done, status;
    struct strbuf body;
};

static void got_one(struct evhttp_request *req, void *arg)
{
    struct http_get *g = arg;
    g->done = 1;
    g->status = req ? evhttp_request_get_response_code(req) : 0;
    struct evbuffer *in = req ? evhttp_request_get_input_buffer(req) : NULL;
    size_t n = in ? evbuffer_get_length(in) : 0;
    if (n && strbuf_append(&g->body, (const char *)evbuffer_pullup(in, -1), n) < 0)
        g->status = 0;
}

/* A GET to the daemon; with key, its Authorization. */
static struct evhttp_request *new_get(void (*cb)(struct evhttp_request *, void *), void *arg,
                                      const char *key)
{
    struct evhttp_request *req = evhttp_request_new(cb, arg);
    struct evkeyvalq *h = req ? evhttp_request_get_output_headers(req) : NULL;
    char auth[sizeof "Bearer " + EVAL_KEY_HEX];
    if (key)
        snprintf(auth, sizeof auth, "Bearer %s", key);
    if (req && (evhttp_add_header(h, "Host", "127.0.0.1") < 0 ||
                (key && evhttp_add_header(h, "Authorization", auth) < 0))) {
        evhttp_request_free(req);
        return NULL;
    }
    return req;
}

/* 1 when GET /healthz answers 200 saying Redis is connected. */
static int healthy(struct evhttp_connection *conn, struct event_base *base)
{
    struct http_get g = {0};
    struct evhttp_request *req = new_get(got_one, &g, NULL);
    if (!req || evhttp_make_request(conn, req, EVHTTP_REQ_GET, "/healthz") < 0)
        return 0;
    while (!g.done)
        event_base_loop(base, EVLOOP_ONCE);
    json_t *j = g.status == 200 ? json_loadb(strbuf_cstr(&g.body), g.body.len, 0, NULL) : NULL;
    const char *redis = json_string_value(json_object_get(j, "redis"));
    int ok = redis && strcmp(redis, "connected") == 0;
    json_decref(j);
    strbuf_free(&g.body);
    return ok;
}

int eval_daemon_start(struct eval_daemon *d, const struct config *cfg, const char *onloand,
                      const char *dir, int zebra_port, struct event_base *base,
                      struct strbuf *err)
{
    memset(d, 0, sizeof *d);
    char *copy = realpath(onloand, NULL), *plugins = NULL;
    json_t *conf = NULL;
    int rc = -1;
    struct stat st;
    if (!copy) {
        strbuf_printf(err, "%s: %s\n", onloand, strerror(errno));
        goto out;
    }
    if (asprintf(&plugins, "%s/plugins", dirname(copy)) < 0) {
        plugins = NULL;
        strbuf_puts(err, "out of memory\n");
        goto out;
    }
    if (stat(plugins, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(plugins);              /* an installed onloand: the config's plugin_dir */
        plugins = NULL;
    }
    if (asprintf(&d->config_path, "%s/onloand.json", dir) < 0 ||
        asprintf(&d->log, "%s/onloand.log", dir) < 0) {
        strbuf_puts(err, "out of memory\n");
        goto out;
    }
    if ((d->port = child_free_port()) < 0) {
        strbuf_printf(err, "no free port for onloand: %s\n", strerror(errno));
        goto out;
    }
    unsigned char raw[EVAL_KEY_HEX / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(d->key, sizeof d->key, raw, sizeof raw);
    if (!(conf = eval_daemon_config(cfg, plugins, d->key, d->port, zebra_port, err)))
        goto out;
    /* it holds the patron key: for us alone, as onloand requires */
    int fd = open(d->config_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || json_dumpfd(conf, fd, JSON_INDENT(2)) < 0) {
        strbuf_printf(err, "%s: cannot write it: %s\n", d->config_path,
                      fd < 0 ? strerror(errno) : "write failed");
        if (fd >= 0)
            close(fd);
        goto out;
    }
    if (close(fd) < 0) {
        strbuf_printf(err, "%s: cannot write it: %s\n", d->config_path, strerror(errno));
        goto out;
    }
    char *argv[] = {(char *)onloand, "-c", d->config_path, NULL};
    if (child_start(&d->onloand, "onloand", argv, NULL, d->log, err) < 0 ||
        child_wait_port(&d->onloand, d->port, EVAL_ONLOAND_WAIT_MS, err) < 0)
        goto out;
    struct evhttp_connection *conn = evhttp_connection_base_new(base, NULL, "127.0.0.1",
                                                                (unsigned short)d->port);
    uint64_t until = monotonic_ms() + EVAL_ONLOAND_WAIT_MS;
    int ok = 0;
    while (conn && !(ok = healthy(conn, base)) && child_running(&d->onloand) &&
           monotonic_ms() < until) {
        struct timespec ts = {0, HEALTH_POLL_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (ok) {
        rc = 0;
    } else {
        strbuf_printf(err, "onloand (%s) did not say its Redis was connected within %d ms; the "
                      "last it wrote (%s):\n", onloand, EVAL_ONLOAND_WAIT_MS, d->log);
        child_log_tail(d->log, err);
    }
    if (conn)
        evhttp_connection_free(conn);
out:
    if (rc < 0)
        child_stop(&d->onloand);
    json_decref(conf);
    free(plugins);
    free(copy);
    return rc;
}

int eval_daemon_stop(struct eval_daemon *d, struct strbuf *err)
{
    int running = d->onloand.pid > 0;
    int status = child_stop(&d->onloand);
    int rc = 0;
    if (running && (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        strbuf_puts(err, "onloand ");
        if (status < 0)
            strbuf_puts(err, "did not stop when told");
        else
            child_describe_status(status, err);
        strbuf_printf(err, " at the end of the run; the last it wrote (%s):\n", d->log);
        child_log_tail(d->log, err);
        rc = -1;
    }
    free(d->config_path);
    free(d->log);
    d->config_path = d->log = NULL;
    return rc;
}

/* ---- asking ------------------------------------------------------------------- */

static int reason_index(const char *name)
{
    for (int r = 0; r < EVAL_REASONS; r++)
        if (strcmp(reason_name((enum reason)r), name) == 0)
            return r;
    return -1;
}

int eval_served_score(const char *body, size_t len, const char *hidden,
                      struct eval_served_row *row, const char **why)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *alts = json_object_get(j, "alternatives"), *degraded = json_object_get(j, "degraded");
    *why = !j ? "not JSON" : !json_is_array(alts) ? "no alternatives" : NULL;
    for (size_t i = 0; !*why && i < json_array_size(alts); i++) {
        json_t *a = json_array_get(alts, i);
        const char *record = json_string_value(json_object_get(a, "record"));
        const char *reason = json_string_value(json_object_get(a, "reason"));
        int r = reason ? reason_index(reason) : -1;
        if (!record || r < 0) {
            *why = "an alternative without a record or a known reason";
        } else if (dict_set(row->shown, record, (void *)1, NULL) < 0) {
            *why = "out of memory";
        } else if (strcmp(record, hidden) == 0) {
            row->hits += 1;
            row->rr += 1.0 / (double)(i + 1);
            row->hit_reason[r]++;
        }
    }
    if (!*why) {
        row->answered++;
        row->degraded += json_array_size(degraded) > 0;
    }
    json_decref(j);
    return *why ? -1 : 0;
}

struct asking;

struct lane {
    struct asking *all;
    struct evhttp_connection *conn;
    size_t test;                        /* the one in flight */
    struct strbuf uri;
};

struct asking {
    struct event_base *base;
    const char *key;                    /* the daemon's */
    const struct eval_split *split;
    const struct dict *raw_patrons;
    struct eval_served_row *row;
    struct lane lanes[EVAL_HTTP_CONNECTIONS];
    size_t next, in_flight;
    struct strbuf *err;
    int failed;
};

static void ask_next(struct lane *l);

static void fail(struct asking *a, const char *uri, const char *fmt, const char *what)
{
    if (a->failed++)
        return;
    strbuf_printf(a->err, "GET %s: ", uri);
    strbuf_printf(a->err, fmt, what);
    strbuf_puts(a->err, "\n");
}

static void answered(struct evhttp_request *req, void *arg)
{
    struct lane *l = arg;
    struct asking *a = l->all;
    const struct eval_test *t = &a->split->tests[l->test];
    int status = req ? evhttp_request_get_response_code(req) : 0;
    struct evbuffer *in = req ? evhttp_request_get_input_buffer(req) : NULL;
    size_t n = in ? evbuffer_get_length(in) : 0;
    const char *body = n ? (const char *)evbuffer_pullup(in, -1) : "";
    const char *why;
    a->in_flight--;
    if (status == 200) {
        if (eval_served_score(body, n, t->hidden, a->row, &why) < 0)
            fail(a, strbuf_cstr(&l->uri), "the answer: %s", why);
    } else if (status == 404) {
        a->row->not_found++;
    } else if (status == 0) {
        fail(a, strbuf_cstr(&l->uri), "%s", "no answer (the connection failed or timed out)");
    } else {
        char what[SHOWN_BODY_BYTES + 32];
        snprintf(what, sizeof what, "%d %.*s", status, (int)(n < SHOWN_BODY_BYTES ? n
                                                             : SHOWN_BODY_BYTES), body);
        fail(a, strbuf_cstr(&l->uri), "HTTP %s", what);
    }
    ask_next(l);
}

static void ask_next(struct lane *l)
{
    struct asking *a = l->all;
    if (a->failed || a->next >= a->split->ntests)
        return;
    l->test = a->next++;
    const struct eval_test *t = &a->split->tests[l->test];
    strbuf_reset(&l->uri);
    int bad = strbuf_puts(&l->uri, "/v1/alternatives?record=") < 0 ||
              strbuf_urlencode(&l->uri, t->query, strlen(t->query)) < 0 ||
              strbuf_printf(&l->uri, "&limit=%d", EVAL_SERVED_LIMIT) < 0;
    if (!bad && a->row->with_patron) {
        const char *raw = dict_get(a->raw_patrons, t->patron);
        if (!raw) {
            fail(a, strbuf_cstr(&l->uri), "%s", "the test patron's own id is not known");
            return;
        }
        bad = strbuf_puts(&l->uri, "&patron=") < 0 ||
              strbuf_urlencode(&l->uri, raw, strlen(raw)) < 0;
    }
    struct evhttp_request *req = bad ? NULL : new_get(answered, l, a->key);
    if (!req || evhttp_make_request(l->conn, req, EVHTTP_REQ_GET, strbuf_cstr(&l->uri)) < 0) {
        fail(a, strbuf_cstr(&l->uri), "%s", "cannot send it (out of memory)");
        return;
    }
    a->in_flight++;
}

int eval_daemon_ask(struct eval_daemon *d, struct event_base *base, const struct eval_split *split,
                    const struct dict *raw_patrons, struct eval_served_row *row,
                    struct strbuf *err)
{
    struct asking a = {.base = base, .key = d->key, .split = split, .raw_patrons = raw_patrons, .row = row,
                       .err = err};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < EVAL_HTTP_CONNECTIONS; i++) {
        struct lane *l = &a.lanes[i];
        l->all = &a;
        if (!(l->conn = evhttp_connection_base_new(base, NULL, "127.0.0.1",
                                                   (unsigned short)d->port))) {
            fail(&a, "/v1/alternatives", "%s", "no connection (out of memory)");
            break;
        }
        evhttp_connection_set_timeout(l->conn, EVAL_HTTP_TIMEOUT_S);
    }
    for (int i = 0; i < EVAL_HTTP_CONNECTIONS && !a.failed; i++)
        ask_next(&a.lanes[i]);
    while (a.in_flight)
        event_base_loop(base, EVLOOP_ONCE);
    for (int i = 0; i < EVAL_HTTP_CONNECTIONS; i++) {
        if (a.lanes[i].conn)
            evhttp_connection_free(a.lanes[i].conn);
        strbuf_free(&a.lanes[i].uri);
    }
    row->seconds = seconds_since(&t0);
    return a.failed ? -1 : 0;
}
