/* csv.h: splitting one line of RFC 4180 CSV, in place. */
#ifndef ONLOAN_CORE_CSV_H
#define ONLOAN_CORE_CSV_H

#include <stddef.h>

/* Splits line (modified: quotes removed, fields NUL-terminated) into at
 * most max fields. Returns the number of fields, or -1 when a quoted
 * field is not closed or more than max fields are present. A trailing
 * "\r\n" or "\n" is ignored. */
int csv_split(char *line, char **fields, int max);

#endif
