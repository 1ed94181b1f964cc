/* csv.c: see csv.h. */
#include "core/csv.h"

#include <string.h>

int csv_split(char *line, char **fields, int max)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    int count = 0;
    char *in = line, *out = line;
    for (;;) {
        if (count == max)
            return -1;
        fields[count++] = out;
        if (*in == '"') {
            in++;
            for (;;) {
                if (*in == '\0')
                    return -1;
                if (*in == '"') {
                    if (in[1] == '"') {
                        *out++ = '"';
                        in += 2;
                        continue;
                    }
                    in++;
                    break;
                }
                *out++ = *in++;
            }
            if (*in != ',' && *in != '\0')
                return -1;
        } else {
            while (*in && *in != ',')
                *out++ = *in++;
        }
        if (*in == '\0') {
            *out = '\0';
            return count;
        }
        in++;           /* the comma */
        *out++ = '\0';
    }
}

int csv_put_field(struct strbuf *out, const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote)
        return strbuf_append(out, s, n);
    if (strbuf_reserve(out, n + 2 + n / 8) < 0 || strbuf_append(out, "\"", 1) < 0)
        return -1;
    for (const char *p = s, *end = s + n; p < end;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        size_t run = q ? (size_t)(q - p) + 1 : (size_t)(end - p);
        if (strbuf_append(out, p, run) < 0 || (q && strbuf_append(out, "\"", 1) < 0))
            return -1;
        p += run;
    }
    return strbuf_append(out, "\"", 1);
}
