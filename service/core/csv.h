/* csv.h: RFC 4180 CSV: splitting one line in place, and writing a field. */
#ifndef ONLOAN_CORE_CSV_H
#define ONLOAN_CORE_CSV_H

#include <stddef.h>

#include "core/strbuf.h"

/* Splits line (modified: quotes removed, fields NUL-terminated) into at
 * most max fields. Returns the number of fields, or -1 when a quoted
 * field is not closed or more than max fields are present. A trailing
 * "\r\n" or "\n" is ignored. */
int csv_split(char *line, char **fields, int max);

/* Appends s (n bytes) as one field: in double quotes, its quotes doubled,
 * when it holds a comma, a double quote, CR or LF; else as it is. -1
 * when out of memory. */
int csv_put_field(struct strbuf *out, const char *s, size_t n);

#endif
