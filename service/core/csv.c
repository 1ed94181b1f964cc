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
