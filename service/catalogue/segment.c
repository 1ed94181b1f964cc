/* segment.c: format, audience and language from fixed fields; see
 * segment.h. MARC 21 Bibliographic: Leader/06-07, 007/00, 008/22-23 and
 * 008/35-37. */
#include "catalogue/segment.h"

#include <string.h>

/* 008/22 and 008/23 mean audience and form of item for these types of
 * record (leader/06), not for maps (e, f), which have neither. */
static int has_audience(char type)
{
    return type && strchr("acdgijkmort", type) != NULL;
}

static enum bib_format format_of(char type, char level, char f007, char form)
{
    if (level == 's')
        return BIB_FORMAT_PERIODICAL;
    switch (type) {
    case 'a':
    case 't':
        if (form == 'd')
            return BIB_FORMAT_LARGE_PRINT;
        if (form == 'o' || form == 'q' || form == 's' || f007 == 'c')
            return BIB_FORMAT_EBOOK;
        return BIB_FORMAT_BOOK;
    case 'i':
        return BIB_FORMAT_AUDIOBOOK;
    case 'j':
        return BIB_FORMAT_MUSIC;
    case 'g':
        return f007 == 'v' || !f007 ? BIB_FORMAT_DVD : BIB_FORMAT_UNKNOWN;
    default:
        return BIB_FORMAT_UNKNOWN;
    }
}

/* a preschool, b primary, c pre-adolescent, d adolescent, j juvenile;
 * e adult, f specialised, g general. */
static enum bib_audience audience_of(char code)
{
    if (code && strchr("abcdj", code))
        return AUDIENCE_JUVENILE;
    if (code && strchr("efg", code))
        return AUDIENCE_ADULT;
    return AUDIENCE_UNKNOWN;
}

void segment_read(struct segment *out, const char *leader, size_t leader_len,
                  const char *f007, size_t f007_len, const char *f008, size_t f008_len)
{
    char type = leader && leader_len > 6 ? leader[6] : 0;
    char level = leader && leader_len > 7 ? leader[7] : 0;
    char kind = f007 && f007_len > 0 ? f007[0] : 0;
    int fixed = f008 && f008_len >= 38;
    char form = fixed && has_audience(type) ? f008[23] : 0;
    memset(out, 0, sizeof *out);
    out->format = format_of(type, level, kind, form);
    /* a serial's 008/22 is the form of the original, not an audience */
    out->audience = fixed && has_audience(type) && level != 's' ? audience_of(f008[22])
                                                                : AUDIENCE_UNKNOWN;
    if (fixed) {
        const char *l = f008 + 35;
        int letters = 1;
        for (int i = 0; i < SEGMENT_LANGUAGE_BYTES; i++)
            letters &= l[i] >= 'a' && l[i] <= 'z';
        /* undetermined, no linguistic content, multiple: no language to keep */
        if (letters && memcmp(l, "und", 3) != 0 && memcmp(l, "zxx", 3) != 0 &&
            memcmp(l, "mul", 3) != 0)
            memcpy(out->language, l, SEGMENT_LANGUAGE_BYTES);
    }
}

int segment_fits(const struct segment *wanted, const struct segment *candidate, unsigned fit)
{
    if ((fit & FIT_FORMAT) && wanted->format && candidate->format &&
        wanted->format != candidate->format)
        return 0;
    if ((fit & FIT_AUDIENCE) && wanted->audience && candidate->audience &&
        wanted->audience != candidate->audience)
        return 0;
    if ((fit & FIT_LANGUAGE) && wanted->language[0] && candidate->language[0] &&
        strcmp(wanted->language, candidate->language) != 0)
        return 0;
    return 1;
}

const char *segment_format_name(enum bib_format f)
{
    switch (f) {
    case BIB_FORMAT_UNKNOWN: return NULL;
    case BIB_FORMAT_BOOK: return "book";
    case BIB_FORMAT_LARGE_PRINT: return "large_print";
    case BIB_FORMAT_EBOOK: return "ebook";
    case BIB_FORMAT_AUDIOBOOK: return "audiobook";
    case BIB_FORMAT_MUSIC: return "music";
    case BIB_FORMAT_DVD: return "dvd";
    case BIB_FORMAT_PERIODICAL: return "periodical";
    }
    return NULL;
}

const char *segment_audience_name(enum bib_audience a)
{
    switch (a) {
    case AUDIENCE_UNKNOWN: return NULL;
    case AUDIENCE_JUVENILE: return "juvenile";
    case AUDIENCE_ADULT: return "adult";
    }
    return NULL;
}

const char *segment_language(const struct segment *s)
{
    return s->language[0] ? s->language : NULL;
}
