/* answers.c: see answers.h. */
#include "answers.h"

#include <stdlib.h>

#include "clock.h"
#include "dict.h"

struct answers {
    struct dict *byquery;
    size_t max_entries;
};

struct answer *answer_ref(struct answer *ans)
{
    ans->refs++;
    return ans;
}

void answer_unref(struct answer *ans)
{
    if (!ans || --ans->refs > 0)
        return;
    for (size_t i = 0; i < ans->nalternatives; i++)
        free(ans->alternatives[i]);
    free(ans->alternatives);
    free(ans->status);
    free(ans->body);
    free(ans);
}

static void unref_value(void *v)
{
    answer_unref(v);
}

struct answers *answers_new(size_t max_entries)
{
    struct answers *a = calloc(1, sizeof *a);
    if (!a || !(a->byquery = dict_new())) {
        free(a);
        return NULL;
    }
    a->max_entries = max_entries;
    return a;
}

void answers_free(struct answers *a)
{
    if (!a)
        return;
    dict_free(a->byquery, unref_value);
    free(a);
}

struct answer *answers_get(struct answers *a, const char *key)
{
    struct answer *ans = dict_get(a->byquery, key);
    if (!ans)
        return NULL;
    if (ans->expires_ms <= monotonic_ms()) {
        dict_del(a->byquery, key);
        answer_unref(ans);
        return NULL;
    }
    return answer_ref(ans);
}

static int expired(const char *key, void *value, void *arg)
{
    (void)key;
    struct answer *ans = value;
    if (ans->expires_ms > *(uint64_t *)arg)
        return 0;
    answer_unref(ans);
    return 1;
}

void answers_put(struct answers *a, const char *key, struct answer *ans)
{
    if (dict_size(a->byquery) >= a->max_entries) {
        uint64_t now = monotonic_ms();
        dict_each(a->byquery, expired, &now);
        if (dict_size(a->byquery) >= a->max_entries)
            return;
    }
    void *old = NULL;
    if (dict_set(a->byquery, key, answer_ref(ans), &old) < 0)
        answer_unref(ans);
    else if (old)
        answer_unref(old);
}
