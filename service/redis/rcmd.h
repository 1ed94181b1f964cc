/* rcmd.h: a Redis command's arguments, built before it is sent
 * (redis_client.h sends them).
 *
 * Binary safe. Copied arguments are packed into blocks that the command
 * owns (a touchpoint's XADD of 22 arguments is two allocations, not 22);
 * argv[i] stays where it is until rcmd_free. Every add returns 0, or -1
 * when out of memory (the command is then incomplete: free it). */
#ifndef ONLOAN_REDIS_RCMD_H
#define ONLOAN_REDIS_RCMD_H

#include <stddef.h>

struct rcmd_block;
struct rcmd {
    int argc, cap;
    char **argv;
    size_t *len;
    struct rcmd_block *blocks;  /* the copies, newest first */
    char **taken;               /* what rcmd_take handed over */
    int ntaken, captaken;
};
int rcmd_add(struct rcmd *c, const char *s, size_t n);
int rcmd_addstr(struct rcmd *c, const char *s);
/* a, b and d one after the other as one argument (a prefixed key). */
int rcmd_addjoin(struct rcmd *c, const char *a, const char *b, const char *d);
/* The n strings as one argument, each followed by sep. */
int rcmd_addparts(struct rcmd *c, const char *const *parts, size_t n, const char *sep);
/* v in decimal. */
int rcmd_addu(struct rcmd *c, unsigned long long v);
/* Adds s (n bytes, malloc'd) without copying it: c owns it from now on,
 * even when this fails. */
int rcmd_take(struct rcmd *c, char *s, size_t n);
int rcmd_addf(struct rcmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rcmd_free(struct rcmd *c);

/* Several commands, for one transaction: a growing array. A failed
 * add sets failed (and the list is to be freed, not sent). */
struct rcmd_list {
    struct rcmd *c;
    size_t n, cap;
    int failed;
};
/* A new empty command at the end, or NULL (failed set). It moves when
 * the next is added: keep its index (cs->n - 1) across that, not it. */
struct rcmd *rcmd_list_next(struct rcmd_list *cs);
/* A new command "<verb> <prefix><kind><name>"; add arguments with
 * rcmd_list_arg. NULL (failed set) when out of memory. */
struct rcmd *rcmd_list_key(struct rcmd_list *cs, const char *verb, const char *prefix,
                           const char *kind, const char *name);
/* Adds arg to c (which may be NULL after a failure: then nothing). */
void rcmd_list_arg(struct rcmd_list *cs, struct rcmd *c, const char *arg);
void rcmd_list_free(struct rcmd_list *cs);

#endif
