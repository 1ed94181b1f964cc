/* ids.c: see ids.h. */
#include "core/ids.h"

#include <string.h>

static int valid_chars(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return 0;
    }
    return 1;
}

int record_id_valid(const char *s, int max_bytes)
{
    return max_bytes > 0 && valid_chars(s, (size_t)max_bytes, "._:-");
}

int branch_code_valid(const char *s)
{
    return valid_chars(s, BRANCH_CODE_MAX_BYTES, "_-");
}
