/* ids.h: what a record id and a branch code may be.
 *
 * One rule each, shared by every way they come in (query parameters, loan
 * events, outcomes, the config). Both are safe to put, as they are, in a
 * PQF or CQL term, a Redis key, a log line and a URL. */
#ifndef ONLOAN_CORE_IDS_H
#define ONLOAN_CORE_IDS_H

/* Local record ids: 1..max_bytes bytes of A-Z a-z 0-9 . _ : - */
int record_id_valid(const char *s, int max_bytes);
/* Branch codes: 1..BRANCH_CODE_MAX_BYTES bytes of A-Z a-z 0-9 _ - */
#define BRANCH_CODE_MAX_BYTES 16
int branch_code_valid(const char *s);

#endif
