/* marc_check.h: which catalogue records YAZ may decode.
 *
 * A catalogue is not a trusted party, and YAZ (5.34, Debian 12's libyaz5;
 * also its git head) trusts the records it decodes: on some malformed ones
 * its ISO 2709 reader and its writers read past the record, or past the
 * strings they made of it (docs/yaz-marc-overread.md). These checks stand
 * in front of YAZ: a record that fails one is refused with the reason and
 * never decoded; a record that passes is one YAZ's reader and its line
 * writer read only within.
 *
 * What marc_check_iso2709 guarantees for a record it passes (ISO 2709 with
 * MARC 21's parameters; every record of the Koha, Evergreen and generated
 * catalogues has them):
 *   - the leader is 24 printable ASCII bytes; the record length (00-04)
 *     and base address (12-16) are digits; indicator count and subfield
 *     code length (10-11) are "22", the entry map (20-22) is "450";
 *   - 26 <= record length <= the bytes received (*reclen; only that many
 *     are to be decoded), and the record ends with a record terminator;
 *   - the directory is whole 12-byte entries (an alphanumeric tag, then
 *     digits) ending in a field terminator just before the base address;
 *   - every field lies inside the data area (before the record terminator),
 *     is not empty and ends with a field terminator, which is its only
 *     one, and holds no record terminator;
 *   - a control field (tag 00X) holds no subfield delimiter and starts at
 *     least 4 bytes before the record's end (YAZ peeks at its 3rd and 4th
 *     byte for DanMARC subfields);
 *   - a data field starts with two printable ASCII indicators followed by a
 *     subfield delimiter or its terminator, and every subfield that is not
 *     empty starts with a code that is one printable ASCII character other
 *     than the blank.
 * The last two keep YAZ's idea of where a character or a subfield code
 * ends (one byte: it sizes them with the record's character set) inside
 * the field; subfield code length 2 keeps its line writer from taking a
 * code longer than the subfield (the over-read of issue 23).
 *
 * marc_check_marcxml guarantees the same of a MARCXML document for YAZ's
 * MARCXML reader and line writer: its root is a "record" element; a
 * leader, where YAZ finds one (the record's first element, when its name
 * starts with "l"), is 24 bytes with "22" at 10-11; every subfield of a
 * data field has a code attribute that is one printable ASCII character
 * other than the blank. */
#ifndef ONLOAN_CATALOGUE_MARC_CHECK_H
#define ONLOAN_CATALOGUE_MARC_CHECK_H

#include <libxml/tree.h>
#include <stddef.h>

#include "core/strbuf.h"

/* Returns 0 when buf (len bytes) holds a record YAZ may decode, with its
 * length in *reclen (<= len); else -1 with the reason in *why (a static
 * string). Reads only buf[0 .. len). */
int marc_check_iso2709(const char *buf, size_t len, size_t *reclen, const char **why);

/* Returns 0 when the document whose root element is root (may be NULL)
 * holds a MARCXML record YAZ may read; else -1 with the reason in *why. */
int marc_check_marcxml(const xmlNode *root, const char **why);

/* The id a refused record gives itself, for the log (nothing else is read
 * from such a record): the data of control field id_field ("001") or the
 * first subfield of the data field it names ("999$c"), found through
 * whichever directory entries and fields lie within the bytes received
 * (ISO 2709, entries of 12 bytes), or the elements of the document
 * (MARCXML); without blanks at either end, and only when it is a valid
 * record id (core/ids.h) of at most MARC_REFUSED_ID_MAX bytes. Returns 0
 * with the id appended to out, or -1 when there is none (or no memory). */
#define MARC_REFUSED_ID_MAX 64
int marc_refused_id_iso2709(const char *buf, size_t len, const char *id_field,
                            struct strbuf *out);
int marc_refused_id_marcxml(const xmlNode *root, const char *id_field, struct strbuf *out);

#endif
