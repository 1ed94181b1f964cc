/* fd_limit.h: the process's limit on open file descriptors
 * (RLIMIT_NOFILE), raised to fit the connections it is to take. */
#ifndef ONLOAN_CORE_FD_LIMIT_H
#define ONLOAN_CORE_FD_LIMIT_H

/* Raises the soft limit to want, or as far as the hard limit allows
 * (never lowers it); *got is the soft limit after. -1 with errno when
 * the limit cannot be read. */
int fd_limit_raise(unsigned long long want, unsigned long long *got,
                   unsigned long long *hard);

#endif
