/* text_wrap.h: text laid out for a fixed-width device (a receipt printer).
 *
 * A paragraph becomes lines of at most `width` display cells: combining
 * marks take none, East Asian wide and fullwidth characters two, others
 * one (Unicode's East_Asian_Width, as libunistring's uc_width says for
 * UTF-8: the same on every machine, whatever its locale). Lines break only
 * where Unicode's line breaking rules (UAX #14, u8_possible_linebreaks)
 * allow, so words are never cut; a single word wider than a whole line is
 * the one exception, cut between characters (never before a combining
 * mark). Text is NFC-normalised first (a printer's font has U+0219 "ș"
 * more often than "s" with U+0326), runs of spaces become one and control
 * characters spaces. */
#ifndef ONLOAN_CORE_TEXT_WRAP_H
#define ONLOAN_CORE_TEXT_WRAP_H

#include <stddef.h>

#include "core/strbuf.h"

enum text_wrap_result {
    TEXT_WRAP_OK = 0,
    TEXT_WRAP_NO_MEMORY = -1,
    TEXT_WRAP_NOT_UTF8 = -2,
    TEXT_WRAP_TOO_NARROW = -3,      /* a prefix leaves no cell for text */
};

/* Appends the len bytes of UTF-8 text at text to out as lines of at most
 * width cells, each ending in "\n": the first begins with first, the
 * others with rest (both printable ASCII, counted in the width). Nothing
 * for a text of spaces only. On failure out holds what it held. */
enum text_wrap_result text_wrap(struct strbuf *out, const char *text, size_t len, int width,
                                const char *first, const char *rest);

/* The display cells of the len bytes of UTF-8 at s, counted as
 * text_wrap counts them; -1 if they are not UTF-8. */
long text_cells(const char *s, size_t len);

#endif
