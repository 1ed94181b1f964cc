/* fuzz_marc.c: libFuzzer harness for the MARC path (holdings.h) up to the
 * answer: whatever a catalogue sends, marc_reader_iso2709 and
 * marc_reader_marcxml give a bib or a reason, and neither they nor YAZ
 * behind them read or write outside what they were given (ASan, UBSan);
 * a bib they give makes an answer (answer.h: as the wanted title and as
 * an alternative) whose text is JSON that names it: answer_build fails
 * only when memory does.
 *
 * The first byte chooses the reader, the rest is the record:
 *   bit 0  0: ISO 2709 (Z39.50)     1: MARCXML (SRU)
 *   bit 1  0: koha952 holdings      1: sirsi949
 *   bit 2  0: records in UTF-8      1: in MARC-8 ("marc8s", as the jazz
 *                                      catalogue; UTF-8 per leader/09)
 *   bit 3  0: id in 001             1: id in 999 $c (as the koha catalogue)
 *   bit 4  0: no branch asked       1: the branch of the first copy
 *   bit 5  0: nl                    1: en
 * One reader per choice lives for the whole run, as a catalogue's does;
 * the links are the koha plugin's, built in (FUZZ_EXTRA_marc).
 * libFuzzer hands over a buffer of the input's exact size, so a read past
 * the record is a read past the buffer.
 *
 * Built and run by `make fuzz` (clang); seeds from tests/fuzz/seeds.py. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalogue/holdings.h"
#include "catalogue/link.h"
#include "http/answer.h"
#include "model/recommend.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct marc_reader *readers[2][2][2];   /* [charset][mapping][id field] */
extern const struct onloan_link_plugin onloan_link_plugin;     /* plugins/koha.c */
static struct link koha;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const charsets[] = {"utf-8", "marc8s"};
    static const enum holdings_mapping maps[] = {HOLDINGS_KOHA952, HOLDINGS_SIRSI949};
    static const char *const id_fields[] = {"001", "999$c"};
    for (int c = 0; c < 2; c++)
        for (int m = 0; m < 2; m++)
            for (int i = 0; i < 2; i++) {
                struct strbuf err = {0};
                struct marc_reader **r = &readers[c][m][i];
                *r = marc_reader_new(charsets[c], holdings_map(maps[m]), id_fields[i], &err);
                if (!*r) {
                    fprintf(stderr, "fuzz_marc: marc_reader_new: %s\n", strbuf_cstr(&err));
                    abort();
                }
            }
    json_t *conf = json_pack("{s:s, s:s}", "plugin", "koha", "base_url", "https://opac.example.org");
    char why[256];
    koha.plugin = &onloan_link_plugin;
    if (!conf || koha.plugin->init(conf, &koha.state, why, sizeof why) < 0)
        abort();
    json_decref(conf);
    return 0;
}

static int names(const json_t *obj, const char *id)
{
    const char *record = json_string_value(json_object_get(obj, "record"));
    return record && strcmp(record, id) == 0;
}

/* The bib as the wanted title and as its one alternative: the answer's
 * text must be a JSON object that names it. */
static void answer(const struct bib *b, uint8_t sel)
{
    struct alternative alt = {.bib = (struct bib *)b, .score = 1.5,
                              .reason = REASON_ALSO_BORROWED, .at_branch = (sel >> 4) & 1,
                              .both = sel & 0x40 ? 12 : 0};
    struct answer_facts f = {
        .record = b->id, .catalogue = "demo", .lang = (sel >> 5) & 1 ? "en" : "nl", .bib = b,
        .branch = (sel >> 4) & 1 ? (b->ncopies ? b->copies[0].branch : "CEN") : NULL,
        .chosen = &alt, .nchosen = 1, .link = &koha};
    struct answer *ans = answer_build(&f);
    if (!ans)
        abort();                /* "out of memory" for a record it could not write */
    struct strbuf text = {0};
    if (answer_text(ans, "1795437192039-0", 15, "1796041992.abc", 0, &text) < 0)
        abort();
    json_error_t jerr;
    json_t *doc = json_loadb(text.buf, text.len, 0, &jerr);
    json_t *alts = json_object_get(doc, "alternatives");
    if (!doc || !json_is_object(doc) ||
        !names(doc, b->id) || json_array_size(alts) != 1 || !names(json_array_get(alts, 0), b->id))
        abort();
    json_decref(doc);
    strbuf_free(&text);
    answer_unref(ans);
}

/* Reads every byte of what the reader made: ASan checks the strings. */
static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int xml = data[0] & 1, map = (data[0] >> 1) & 1, charset = (data[0] >> 2) & 1;
    int id_field = (data[0] >> 3) & 1;
    struct marc_reader *r = readers[charset][map][id_field];
    const char *rec = (const char *)data + 1, *why = NULL;
    struct bib *b = xml ? marc_reader_marcxml(r, rec, size - 1, &why)
                        : marc_reader_iso2709(r, rec, size - 1, &why);
    if (!b) {
        if (!why)
            abort();            /* a refusal always says why */
        return 0;
    }
    if (!b->id || !b->title || marc_reader_malformed(r))
        abort();
    size_t n = touch(b->id) + touch(b->title) + touch(b->author) + touch(b->isbn) +
               touch(b->year);
    if (b->nsubjects > BIB_MAX_SUBJECTS)
        abort();
    for (size_t i = 0; i < b->nsubjects; i++)
        n += touch(b->subjects[i]);
    for (size_t i = 0; i < b->ncopies; i++)
        n += touch(b->copies[i].branch) + touch(b->copies[i].call_number) +
             touch(b->copies[i].location) + strlen(copy_status_name(b->copies[i].status)) +
             touch(b->copies[i].due);
    n += bib_available(b, NULL) + touch(bib_expected_back(b));
    answer(b, data[0]);
    bib_unref(b);
    return n == 0;              /* always 0: a bib has an id */
}
