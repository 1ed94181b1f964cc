/* answers.c: see answers.h. */
#include "answers.h"

#include <stdlib.h>

#include "clock.h"
#include "ttl_cache.h"

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

struct ttl_cache *answers_new(size_t max_entries)
{
    return ttl_cache_new(max_entries, unref_value);
}

struct answer *answers_get(struct ttl_cache *kept, const char *key)
{
    struct answer *ans = ttl_cache_get(kept, key, monotonic_ms());
    return ans ? answer_ref(ans) : NULL;
}

void answers_put(struct ttl_cache *kept, const char *key, struct answer *ans)
{
    ttl_cache_put(kept, key, answer_ref(ans), ans->expires_ms, monotonic_ms());
}
