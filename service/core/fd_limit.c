/* fd_limit.c: see fd_limit.h. */
#include "core/fd_limit.h"

#include <sys/resource.h>

int fd_limit_raise(unsigned long long want, unsigned long long *got,
                   unsigned long long *hard)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    *hard = rl.rlim_max == RLIM_INFINITY ? ~0ULL : (unsigned long long)rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && (unsigned long long)rl.rlim_cur < want) {
        struct rlimit raised = rl;
        raised.rlim_cur = (rlim_t)(want < *hard ? want : *hard);
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    *got = rl.rlim_cur == RLIM_INFINITY ? ~0ULL : (unsigned long long)rl.rlim_cur;
    return 0;
}
