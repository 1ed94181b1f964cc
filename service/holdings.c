/* holdings.c: MARC-in-JSON record -> struct bib; see holdings.h.
 *
 * MARC-in-JSON (as yaz_marc_write_json writes it):
 *   {"leader": "...", "fields": [ {"001": "b1"},
 *     {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "Title"}]}} ]} */
#include "holdings.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static const struct holdings_map holdings_maps[] = {
    /* Koha: $a home branch, $b holding branch, $o call number, $c shelving
     * location, $q date due, $7 not for loan, $1 lost, $0 withdrawn. */
    {"koha952", "952", 'b', 'a', 'o', 'c', 'q', '7', '1', '0', 0},
    /* SirsiDynix item export: $m library, $a call number, $l home location,
     * $k current location (CHECKEDOUT, LOST, MISSING, ...). No due date. */
    {"sirsi949", "949", 'm', 0, 'a', 'l', 0, 0, 0, 0, 'k'},
};

const struct holdings_map *holdings_map_find(const char *name)
{
    for (size_t i = 0; i < sizeof holdings_maps / sizeof holdings_maps[0]; i++)
        if (strcmp(holdings_maps[i].name, name) == 0)
            return &holdings_maps[i];
    return NULL;
}

const char *holdings_map_names(void)
{
    return "koha952, sirsi949";
}

int holdings_id_field_valid(const char *f)
{
    if (strlen(f) < 3 || !isdigit((unsigned char)f[0]) || !isdigit((unsigned char)f[1]) ||
        !isdigit((unsigned char)f[2]))
        return 0;
    if (f[3] == '\0')
        return strncmp(f, "010", 3) < 0;     /* control fields 001-009 */
    return f[3] == '$' && isalnum((unsigned char)f[4]) && f[5] == '\0';
}

const char *copy_status_name(enum copy_status s)
{
    switch (s) {
    case COPY_AVAILABLE: return "available";
    case COPY_ON_LOAN: return "on_loan";
    case COPY_NOT_FOR_LOAN: return "not_for_loan";
    case COPY_UNAVAILABLE: return "unavailable";
    }
    return "unknown";
}

/* The tag and value of one element of "fields". */
static const char *field_tag(json_t *field, json_t **value)
{
    const char *tag;
    json_t *v;
    json_object_foreach(field, tag, v) {
        *value = v;
        return tag;
    }
    return NULL;
}

/* First subfield `code` of a data field, or NULL. */
static const char *subfield(json_t *datafield, char code)
{
    json_t *subs = json_object_get(datafield, "subfields");
    size_t i;
    json_t *sf;
    if (!code)
        return NULL;
    json_array_foreach(subs, i, sf) {
        const char *c;
        json_t *v;
        json_object_foreach(sf, c, v) {
            if (c[0] == code && c[1] == '\0' && json_is_string(v))
                return json_string_value(v);
        }
    }
    return NULL;
}

/* ISBD punctuation that ends a title or name element ("Title /",
 * "Heylin, Clinton."), but not the full stop of an initial ("J.K."). */
static int isbd_end(const char *s, size_t n)
{
    char c = s[n - 1];
    if (c == '/' || c == ':' || c == ';' || c == ',' || c == '=')
        return 1;
    return c == '.' && !(n >= 2 && isupper((unsigned char)s[n - 2]) &&
                         (n == 2 || s[n - 3] == ' ' || s[n - 3] == '.'));
}

/* Copies s without blanks at either end and, with isbd, without ISBD
 * punctuation at its end (caller frees). NULL for NULL or nothing left. */
static char *copy_trimmed(const char *s, int isbd)
{
    if (!s)
        return NULL;
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || (isbd && isbd_end(s, n))))
        n--;
    return n ? strndup(s, n) : NULL;
}

/* Titles and names lose ISBD punctuation; call numbers and locations stay
 * exactly as catalogued. */
static char *trimmed(const char *s)
{
    return copy_trimmed(s, 1);
}

static char *stripped(const char *s)
{
    return copy_trimmed(s, 0);
}

static int truthy(const char *v)
{
    if (!v)
        return 0;
    while (*v == ' ')
        v++;
    return *v && strcmp(v, "0") != 0;
}

/* A date due as Koha writes it ("2026-12-03" or "2026-12-03 23:59:00"). */
static void copy_due(struct copy *c, const char *v)
{
    if (v && strlen(v) >= 10 && isdigit((unsigned char)v[0]) && v[4] == '-' && v[7] == '-') {
        memcpy(c->due, v, 10);
        c->due[10] = '\0';
    }
}

static enum copy_status sirsi_status(const char *current)
{
    if (!current || !*current)
        return COPY_AVAILABLE;
    if (strcmp(current, "CHECKEDOUT") == 0)
        return COPY_ON_LOAN;
    if (strcmp(current, "LOST") == 0 || strcmp(current, "MISSING") == 0 ||
        strcmp(current, "DISCARD") == 0 || strcmp(current, "WITHDRAWN") == 0)
        return COPY_UNAVAILABLE;
    if (strcmp(current, "ON-ORDER") == 0 || strcmp(current, "INPROCESS") == 0 ||
        strcmp(current, "REFERENCE") == 0)
        return COPY_NOT_FOR_LOAN;
    return COPY_AVAILABLE;     /* a shelf or temporary location */
}

static int add_copy(struct bib *b, json_t *df, const struct holdings_map *map)
{
    const char *branch = subfield(df, map->branch);
    if (!branch || !*branch)
        branch = subfield(df, map->branch_fallback);
    if (!branch || !*branch)
        return 0;           /* an item nobody can fetch: not a copy */
    struct copy *copies = realloc(b->copies, (b->ncopies + 1) * sizeof *copies);
    if (!copies)
        return -1;
    b->copies = copies;
    struct copy *c = &copies[b->ncopies++];
    memset(c, 0, sizeof *c);
    c->branch = strdup(branch);
    c->call_number = stripped(subfield(df, map->call_number));
    c->location = stripped(subfield(df, map->location));
    c->status = COPY_AVAILABLE;
    if (truthy(subfield(df, map->lost)) || truthy(subfield(df, map->withdrawn)))
        c->status = COPY_UNAVAILABLE;
    else if (truthy(subfield(df, map->not_for_loan)))
        c->status = COPY_NOT_FOR_LOAN;
    else if (map->due && subfield(df, map->due) && *subfield(df, map->due)) {
        c->status = COPY_ON_LOAN;
        copy_due(c, subfield(df, map->due));
    } else if (map->status)
        c->status = sirsi_status(subfield(df, map->status));
    return c->branch ? 0 : -1;
}

struct bib *bib_from_marc_json(const json_t *marc, const struct holdings_map *map,
                               const char *id_field, const char **why)
{
    struct bib *b = calloc(1, sizeof *b);
    if (!b) {
        *why = "out of memory";
        return NULL;
    }
    b->refs = 1;
    const char *title_a = NULL, *title_b = NULL, *author = NULL, *added = NULL;
    const char *isbn = NULL, *year = NULL, *topic = NULL, *genre = NULL;
    char id_code = id_field[3] == '$' ? id_field[4] : 0;
    size_t i;
    json_t *field;
    json_array_foreach(json_object_get(marc, "fields"), i, field) {
        json_t *v = NULL;
        const char *tag = field_tag(field, &v);
        if (!tag)
            continue;
        if (strncmp(tag, id_field, 3) == 0 && !b->id) {
            const char *id = id_code ? subfield(v, id_code) : json_string_value(v);
            if (id) {
                while (*id == ' ')
                    id++;
                b->id = trimmed(id);
            }
        }
        if (strcmp(tag, "245") == 0 && !title_a) {
            title_a = subfield(v, 'a');
            title_b = subfield(v, 'b');
        } else if ((strcmp(tag, "100") == 0 || strcmp(tag, "110") == 0) && !author)
            author = subfield(v, 'a');
        else if (strcmp(tag, "700") == 0 && !added)
            added = subfield(v, 'a');
        else if (strcmp(tag, "020") == 0 && !isbn)
            isbn = subfield(v, 'a');
        else if ((strcmp(tag, "264") == 0 || strcmp(tag, "260") == 0) && !year)
            year = subfield(v, 'c');
        else if (strcmp(tag, "650") == 0 && !topic)
            topic = subfield(v, 'a');
        else if (strcmp(tag, "655") == 0 && !genre)
            genre = subfield(v, 'a');
        else if (strcmp(tag, map->tag) == 0 && add_copy(b, v, map) < 0) {
            *why = "out of memory";
            bib_unref(b);
            return NULL;
        }
    }
    if (!b->id || !title_a) {
        *why = b->id ? "record has no title (245 $a)" : "record has no local id";
        bib_unref(b);
        return NULL;
    }
    struct strbuf t = {0};
    char *a = trimmed(title_a), *bpart = trimmed(title_b);
    strbuf_puts(&t, a ? a : "");
    if (bpart) {
        strbuf_puts(&t, ": ");
        strbuf_puts(&t, bpart);
    }
    free(a);
    free(bpart);
    b->title = strbuf_steal(&t);
    b->author = trimmed(author ? author : added);
    b->subject = trimmed(topic ? topic : genre);
    if (isbn) {
        size_t n = strcspn(isbn, " (:;");
        b->isbn = n ? strndup(isbn, n) : NULL;
    }
    if (year) {
        while (*year && !isdigit((unsigned char)*year))
            year++;
        size_t n = 0;
        while (isdigit((unsigned char)year[n]) && n < 4)
            n++;
        b->year = n == 4 ? strndup(year, 4) : NULL;
    }
    return b;
}

struct bib *bib_ref(struct bib *b)
{
    b->refs++;
    return b;
}

void bib_unref(struct bib *b)
{
    if (!b || --b->refs > 0)
        return;
    for (size_t i = 0; i < b->ncopies; i++) {
        free(b->copies[i].branch);
        free(b->copies[i].call_number);
        free(b->copies[i].location);
    }
    free(b->copies);
    free(b->id);
    free(b->title);
    free(b->author);
    free(b->isbn);
    free(b->year);
    free(b->subject);
    free(b);
}

int bib_available(const struct bib *b, const char *branch)
{
    for (size_t i = 0; i < b->ncopies; i++)
        if (b->copies[i].status == COPY_AVAILABLE &&
            (!branch || strcmp(b->copies[i].branch, branch) == 0))
            return 1;
    return 0;
}

const char *bib_expected_back(const struct bib *b)
{
    const char *best = NULL;
    for (size_t i = 0; i < b->ncopies; i++) {
        const struct copy *c = &b->copies[i];
        if (c->status == COPY_ON_LOAN && c->due[0] && (!best || strcmp(c->due, best) < 0))
            best = c->due;
    }
    return best;
}
