/* kept_answers.c: see kept_answers.h. */
#include "http/kept_answers.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/ttl_cache.h"

static void unref_value(void *v)
{
    answer_unref(v);
}

struct ttl_cache *kept_answers_new(size_t max_entries)
{
    return ttl_cache_new(max_entries, unref_value);
}

struct answer *kept_answers_get(struct ttl_cache *kept, const char *key)
{
    struct answer *ans = ttl_cache_get(kept, key, monotonic_ms());
    return ans ? answer_ref(ans) : NULL;
}

void kept_answers_put(struct ttl_cache *kept, const char *key, struct answer *ans)
{
    ttl_cache_put(kept, key, answer_ref(ans), ans->expires_ms, monotonic_ms());
}

/* Made for this pseudonym (NULL: any key: a cache of patron answers
 * holds nothing else). */
static int made_for(const char *key, void *pseudonym)
{
    const char *last = strrchr(key, '|');
    return !pseudonym || (last && strcmp(last + 1, pseudonym) == 0);
}

void kept_answers_forget_patron(struct ttl_cache *kept, const char *pseudonym)
{
    ttl_cache_drop_if(kept, made_for, (void *)pseudonym);
}

static int any_answer(const char *key, void *arg)
{
    (void)key;
    (void)arg;
    return 1;
}

void kept_answers_drop_all(struct ttl_cache *kept)
{
    ttl_cache_drop_if(kept, any_answer, NULL);
}
