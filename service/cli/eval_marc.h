/* eval_marc.h: a title of TITLES.csv as a MARC21 record (ISO 2709, UTF-8)
 * for the Zebra of onloan eval --titles.
 *
 * What the record holds, read back by the catalogue's own reader
 * (holdings.h, koha952) and indexed by deploy/zebra/onloan.abs:
 *   leader  05 n, 06-07 type and level from the format (book am,
 *           periodical as, article aa, film gm, audiobook im, music jm,
 *           map em, ebook am with 008/23 o), 09 a (UTF-8), 17-19 "7i "
 *   001     the record id
 *   007     film: vd cvaizq (a videodisc)
 *   008     date entered, s + year (uuuu unknown), place xx, audience at
 *           22 (where the type has one), language at 35-37 (und unknown)
 *   041 $a  language; 100 1_ $a author; 245 $a title; 264 _1 $c year
 *   521 $a  audience, by name; 650 _4 $a each subject, in order
 *   952     one copy, on the shelf: $a and $b branch, $p barcode, $y item
 *           type (BK, PER, ART, DVD, AUD, MUS, MAP, EBK)
 * ISO 2709's limits are checked, never cut to: a field of at most 9,999
 * bytes, a record of at most 99,999. */
#ifndef ONLOAN_CLI_EVAL_MARC_H
#define ONLOAN_CLI_EVAL_MARC_H

#include "cli/eval_titles.h"
#include "core/strbuf.h"

#define MARC_MAX_RECORD_BYTES 99999
#define MARC_MAX_FIELD_BYTES 9999

/* Appends t's record to out, its one copy at branch with barcode;
 * entered is 008's date entered (YYMMDD). Returns 0, or -1 with *why (a
 * static string): too long for ISO 2709, or out of memory (out is then
 * as it was). */
int eval_marc_record(const struct eval_title *t, const char *branch, const char *barcode,
                     const char entered[7], struct strbuf *out, const char **why);

#endif
