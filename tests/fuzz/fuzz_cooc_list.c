/* fuzz_cooc_list.c: libFuzzer harness for a record's co-occurrence list
 * as read from Redis (cooc_list.h), all of the input.
 *
 * What cooc_parse takes is a list of distinct records with counts; kept
 * to its top K (K from the input's length) and written back with
 * cooc_encode, it reads back as the same list (records, counts, order,
 * generation); cooc_top_counts keeps the same ones as cooc_top.
 *
 * Built and run by `make fuzz` (clang); seeds from tests/fuzz/seeds.py. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/cooc_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cooc_list list;
    if (cooc_parse(&list, (const char *)data, size) < 0)
        return 0;
    for (size_t i = 0; i < list.n; i++)
        for (size_t j = i + 1; j < list.n && j < i + 64; j++)
            if (strcmp(list.e[i].record, list.e[j].record) == 0)
                abort();            /* repeated records are summed */
    size_t keep = size % 17;
    uint32_t *count = malloc((list.n + 1) * sizeof *count), *order = malloc((list.n + 1) * sizeof *order);
    long kept = -1;
    if (count && order) {
        for (size_t i = 0; i < list.n; i++)     /* cooc_top_counts takes them oldest first */
            count[i] = list.e[i].count;
        kept = cooc_top_counts(count, list.n, keep, order);
    }
    size_t before = list.n;
    cooc_top(&list, keep);
    if (list.n != (before < keep ? before : keep) || (kept >= 0 && (size_t)kept != list.n))
        abort();
    for (size_t i = 1; i < list.n; i++)
        if (list.e[i].count > list.e[i - 1].count)
            abort();                /* highest first */
    struct strbuf text = {0};
    unsigned long long gen = cooc_next_gen(list.gen);     /* as compaction writes it */
    if (cooc_encode(&list, gen, &text) == 0) {
        struct cooc_list again;
        if (cooc_parse(&again, text.buf ? text.buf : "", text.len) < 0 || again.n != list.n ||
            again.gen != gen)
            abort();
        for (size_t i = 0; i < list.n; i++)
            if (strcmp(again.e[i].record, list.e[i].record) != 0 || again.e[i].count != list.e[i].count)
                abort();
        cooc_free(&again);
    }
    strbuf_free(&text);
    free(count);
    free(order);
    cooc_free(&list);
    return 0;
}
