/* receipt.c: see receipt.h. The layout, top to bottom:
 *
 *   ----------------------------------------   a rule, width cells
 *   <title>                                    wrapped
 *   <author>, <year>
 *
 *   <status: on loan, expected back ...>
 *
 *   <Take this instead, here at CEN:>
 *   * <title>, <year>
 *     <call number>, <location>
 *   <At another branch:>
 *   * <title>, <year>
 *     <branch>: <call number>, <location>
 *
 *   <To reserve ...>
 *   <the reservation link>                     cut only if wider than a line
 *   ----------------------------------------
 */
#include "http/receipt.h"

#include <string.h>

#include "core/text_wrap.h"
#include "http/messages.h"

/* The receipt's words, per language. */
struct receipt_words {
    const char *on_loan, *no_copy, *expected, *available, *unknown, *record;
    const char *here, *here_no_branch, *elsewhere, *reserve, *reserve_desk;
};

static const struct receipt_words words_nl = {
    .on_loan = "Alle exemplaren zijn uitgeleend.",
    .no_copy = "Er is nu geen exemplaar te leen.",
    .expected = "Verwacht terug rond",
    .available = "Deze titel staat nu in de kast.",
    .unknown = "We kunnen de beschikbaarheid nu niet controleren. Vraag het aan de balie; "
               "wij helpen u graag.",
    .record = "Titelnummer",
    .here = "Neem in plaats daarvan mee, hier in de kast in",
    .here_no_branch = "Neem in plaats daarvan mee, nu in de kast:",
    .elsewhere = "In een andere vestiging:",
    .reserve = "Reserveren? Scan de QR-code op het scherm of ga naar:",
    .reserve_desk = "Reserveren kan aan de balie.",
};

static const struct receipt_words words_en = {
    .on_loan = "All copies are on loan.",
    .no_copy = "No copy can be borrowed right now.",
    .expected = "Expected back around",
    .available = "This title is on the shelf now.",
    .unknown = "We cannot check availability right now. Please ask at the desk; we are "
               "glad to help.",
    .record = "Record",
    .here = "Take this instead, on the shelf here at",
    .here_no_branch = "Take this instead, on the shelf now:",
    .elsewhere = "At another branch:",
    .reserve = "To reserve, scan the QR code on the screen or go to:",
    .reserve_desk = "Ask at the desk to reserve it.",
};

struct receipt {
    struct strbuf *out;
    int width;
    int bad;
};

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void wrap(struct receipt *r, const char *text, const char *first, const char *rest)
{
    if (text && text_wrap(r->out, text, strlen(text), r->width, first, rest) != TEXT_WRAP_OK)
        r->bad = 1;
}

/* Parts joined by sep, those that are there, wrapped as one paragraph. */
static void wrap_joined(struct receipt *r, const char *const *parts, size_t n, const char *sep,
                        const char *first, const char *rest)
{
    struct strbuf sb = {0};
    int bad = strbuf_puts(&sb, "");
    for (size_t i = 0; i < n; i++)
        if (parts[i] && *parts[i])
            bad |= (sb.len ? strbuf_puts(&sb, sep) : 0) | strbuf_puts(&sb, parts[i]);
    if (bad)
        r->bad = 1;
    else if (sb.len)
        wrap(r, sb.buf, first, rest);
    strbuf_free(&sb);
}

static void rule(struct receipt *r)
{
    for (int i = 0; i < r->width; i++)
        r->bad |= strbuf_append(r->out, "-", 1);
    r->bad |= strbuf_append(r->out, "\n", 1);
}

static void blank(struct receipt *r)
{
    r->bad |= strbuf_append(r->out, "\n", 1);
}

static void status_lines(struct receipt *r, const json_t *answer, const char *lang,
                         const struct receipt_words *w)
{
    const char *status = str(answer, "status");
    if (!status || strcmp(status, "unknown") == 0) {
        wrap(r, w->unknown, "", "");
        return;
    }
    if (strcmp(status, "available") == 0) {
        wrap(r, w->available, "", "");
        return;
    }
    int copies_out = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(answer, "copies"), i, c) {
        const char *s = str(c, "status");
        copies_out |= s && strcmp(s, "on_loan") == 0;
    }
    struct strbuf sb = {0};
    const char *expected = str(answer, "expected_back");
    int bad = strbuf_puts(&sb, copies_out ? w->on_loan : w->no_copy);
    if (expected) {
        bad |= strbuf_puts(&sb, " ") | strbuf_puts(&sb, w->expected) | strbuf_puts(&sb, " ");
        if (message_date(&sb, lang, expected) < 0)
            bad |= strbuf_puts(&sb, expected);
        bad |= strbuf_puts(&sb, ".");
    }
    if (bad)
        r->bad = 1;
    else
        wrap(r, sb.buf, "", "");
    strbuf_free(&sb);
}

/* One alternative: its title and year, then where it stands: at the
 * patron's branch its call number and location, else the branch too. */
static void alternative_lines(struct receipt *r, const json_t *alt, int here)
{
    const char *head[] = {str(alt, "title"), str(alt, "year")};
    if (!head[0])
        head[0] = str(alt, "record");
    wrap_joined(r, head, 2, ", ", "* ", "  ");
    const json_t *where = json_array_get(json_object_get(alt, "available_at"), 0);
    if (!where)
        return;
    struct strbuf sb = {0};
    const char *place[] = {str(where, "call_number"), str(where, "location")};
    int bad = strbuf_puts(&sb, "");
    if (!here && str(where, "branch"))
        bad |= strbuf_puts(&sb, str(where, "branch")) | strbuf_puts(&sb, ":");
    for (size_t i = 0; i < 2; i++)
        if (place[i] && *place[i])
            bad |= strbuf_puts(&sb, sb.len ? (i == 0 ? " " : ", ") : "") |
                   strbuf_puts(&sb, place[i]);
    if (bad)
        r->bad = 1;
    else if (sb.len)
        wrap(r, sb.buf, "  ", "  ");
    strbuf_free(&sb);
}

/* The alternatives at the patron's branch first, then the others, each
 * group under its heading, in the answer's order. */
static void alternatives_lines(struct receipt *r, const json_t *answer,
                               const struct receipt_words *w)
{
    const json_t *alts = json_object_get(answer, "alternatives");
    const char *branch = NULL;
    size_t i;
    json_t *a;
    for (int here = 1; here >= 0; here--) {
        int heading = 0;
        json_array_foreach(alts, i, a) {
            if (json_is_true(json_object_get(a, "at_branch")) != here)
                continue;
            if (!heading) {
                const json_t *at = json_array_get(json_object_get(a, "available_at"), 0);
                branch = here ? str(at, "branch") : NULL;
                if (here && branch) {
                    const char *parts[] = {w->here, branch};
                    struct strbuf sb = {0};
                    r->bad |= strbuf_puts(&sb, parts[0]) | strbuf_puts(&sb, " ") |
                              strbuf_puts(&sb, parts[1]) | strbuf_puts(&sb, ":");
                    if (!r->bad)
                        wrap(r, sb.buf, "", "");
                    strbuf_free(&sb);
                } else {
                    /* without branch= nothing is "here": the others' heading
                     * says only that they are on a shelf */
                    int any_here = 0;
                    size_t j;
                    json_t *b;
                    json_array_foreach(alts, j, b)
                        any_here |= json_is_true(json_object_get(b, "at_branch"));
                    wrap(r, any_here ? w->elsewhere : w->here_no_branch, "", "");
                }
                heading = 1;
            }
            alternative_lines(r, a, here);
        }
        if (heading)
            blank(r);
    }
}

int receipt_render(const json_t *answer, const char *lang, int width, struct strbuf *out)
{
    const struct receipt_words *w = strcmp(lang, "nl") == 0 ? &words_nl : &words_en;
    struct receipt r = {out, width, 0};
    size_t before = out->len;
    rule(&r);
    if (str(answer, "title")) {
        wrap(&r, str(answer, "title"), "", "");
        const char *by[] = {str(answer, "author"), str(answer, "year")};
        wrap_joined(&r, by, 2, ", ", "", "");
    } else {
        const char *rec[] = {w->record, str(answer, "record")};
        wrap_joined(&r, rec, 2, " ", "", "");
    }
    blank(&r);
    status_lines(&r, answer, lang, w);
    blank(&r);
    alternatives_lines(&r, answer, w);
    const char *status = str(answer, "status");
    if (status && strcmp(status, "on_loan") == 0) {
        const char *url = str(answer, "reserve_url");
        wrap(&r, url ? w->reserve : w->reserve_desk, "", "");
        wrap(&r, url, "", "");      /* one long word: cut only where it must be */
    }
    rule(&r);
    if (r.bad) {
        out->len = before;
        if (out->buf)
            out->buf[before] = '\0';
        return -1;
    }
    return 0;
}
