/* test_marc_check.c: records YAZ is not given (marc_check.h), and the
 * reader's answer for them (holdings.h): refused as malformed, whatever
 * the mapping and character set. Every record is handed over in a buffer
 * of exactly its size, so that the ASan build catches a read past it. */
#include <stdlib.h>
#include <yaz/marcdisp.h>
#include <yaz/wrbuf.h>

#include "catalogue/holdings.h"
#include "catalogue/marc_check.h"
#include "unit.h"

/* Issue 23's record (../shared/repro/marc-yaz-overread.mrc, sha256
 * b701249b...e84be9098), found by fuzzing: YAZ 5.34 reads past a 4096-byte
 * heap block in yaz_marc_write_line on it (identifier length 6 in
 * leader/11, a subfield of 4 bytes). */
static const char repro[] =
    "002020am\x01\x00" "26001577i 4%00001000300000008004100003020001800000000000010\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x1f" "c000\x1d" "0200015bCN\xff\xff\x1f" "000000000"
    "010\x1f\xff\xff\xff\xff\x1dT\x1f" "c0\x1d\x1d\xff\xff\x1d\x1fT\x1f" "c000\x1d" "0"
    "\x1f\xff\xff\xff\xff\x7f\xff\xff\xff" "00bCN\xff\xff\x1f" "000000000010\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x1f" "c000\x1d" "0200015bCN\xff\xff\x1f" "00000000010\x1f\xff"
    "\x1d";
#define REPRO_PATH "../shared/repro/marc-yaz-overread.mrc"

/* The smallest record with issue 23's fault: well formed but for the
 * identifier length (leader/11 "6"), one 245 with a one-byte subfield. YAZ
 * takes 5 bytes for its code and strlen()s past the copy of "a". */
static const char fault_min[] =
    "00043nam a2600037   4500" "245000500000\x1e" "00\x1f" "a\x1e\x1d";

/* Well formed, but the one-byte 001 that ends it makes YAZ's DanMARC test
 * look 2 bytes past the record (marc_read_iso2709.c). */
static const char peek_past[] =
    "00057nam a2200049   4500" "245000600000" "001000100006\x1e"
    "00\x1f" "aT\x1e" "\x1e" "\x1d";

static char *exact_copy(const char *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (c)
        memcpy(c, p, n);
    return c;
}

static const char *check(const char *rec, size_t n, size_t *reclen)
{
    char *c = exact_copy(rec, n);
    const char *why = NULL;
    size_t len = 0;
    int rc = c ? marc_check_iso2709(c, n, &len, &why) : -1;
    free(c);
    if (reclen)
        *reclen = len;
    return rc == 0 ? NULL : why ? why : "(no reason)";
}

static struct marc_reader *reader(const char *charset, enum holdings_mapping map)
{
    struct strbuf err = {0};
    struct marc_reader *r = marc_reader_new(charset, holdings_map(map), "001", &err);
    if (!r)
        printf("  marc_reader_new: %s\n", strbuf_cstr(&err));
    strbuf_free(&err);
    return r;
}

/* Every reader (both mappings, both character sets) refuses rec as
 * malformed, for the reason want. */
static int refused_by_every_reader(const char *rec, size_t n, const char *want)
{
    static const char *const charsets[] = {"utf-8", "marc8s"};
    static const enum holdings_mapping maps[] = {HOLDINGS_KOHA952, HOLDINGS_SIRSI949};
    int ok = 1;
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++) {
            struct marc_reader *r = reader(charsets[i], maps[j]);
            char *c = exact_copy(rec, n);
            const char *why = NULL;
            struct bib *b = r && c ? marc_reader_iso2709(r, c, n, &why) : NULL;
            if (b || !r || !marc_reader_malformed(r) || !why || strcmp(why, want) != 0) {
                printf("  %s/%s: %s\n", charsets[i], maps[j] == HOLDINGS_KOHA952 ? "koha" : "sirsi",
                       b ? "decoded" : why ? why : "(no reason)");
                ok = 0;
            }
            bib_unref(b);
            free(c);
            marc_reader_free(r);
        }
    return ok;
}

TEST(issue23_record_is_refused_before_yaz)
{
    CHECK(sizeof repro - 1 == 202);
    FILE *f = fopen(REPRO_PATH, "rb");
    if (f) {                    /* the transcription above is the shared file */
        char buf[256];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        CHECK(n == sizeof repro - 1 && memcmp(buf, repro, n) == 0);
    }
    const char *want = "ISO 2709: the leader holds a byte that is not printable ASCII";
    CHECK_STR(check(repro, sizeof repro - 1, NULL), want);
    CHECK(refused_by_every_reader(repro, sizeof repro - 1, want));
}

/* The repro fails more than one check: mending each in turn brings up the
 * next, down to the field that ends outside the data area. */
TEST(issue23_record_fails_every_layer)
{
    char rec[sizeof repro];
    memcpy(rec, repro, sizeof rec);
    size_t n = sizeof repro - 1;
    rec[8] = ' ';
    rec[9] = 'a';
    CHECK_STR(check(rec, n, NULL),
              "ISO 2709: indicator count and subfield code length (leader/10-11) are not 22");
    rec[11] = '2';
    CHECK_STR(check(rec, n, NULL), "ISO 2709: the entry map (leader/20-22) is not 450");
    rec[21] = '5';
    CHECK_STR(check(rec, n, NULL),
              "ISO 2709: the directory does not end where the base address says");
}

TEST(yaz_faults_are_refused)
{
    const char *want = "ISO 2709: indicator count and subfield code length (leader/10-11) are not 22";
    CHECK_STR(check(fault_min, sizeof fault_min - 1, NULL), want);
    CHECK(refused_by_every_reader(fault_min, sizeof fault_min - 1, want));
    /* with subfield code length 2 the same record is fine */
    char mended[sizeof fault_min];
    memcpy(mended, fault_min, sizeof mended);
    mended[11] = '2';
    size_t reclen = 0;
    CHECK(check(mended, sizeof mended - 1, &reclen) == NULL && reclen == 43);

    want = "ISO 2709: a control field ends the record too closely";
    CHECK_STR(check(peek_past, sizeof peek_past - 1, NULL), want);
    CHECK(refused_by_every_reader(peek_past, sizeof peek_past - 1, want));
}

/* An ISO 2709 record written by YAZ (as test_holdings.c does). */
static WRBUF written(void)
{
    yaz_marc_t mt = yaz_marc_create();
    WRBUF w = wrbuf_alloc();
    int ind, ident, base, len_entry, len_start, len_impl;
    yaz_marc_set_leader(mt, "00000nam a2200000 a 4500", &ind, &ident, &base, &len_entry,
                        &len_start, &len_impl);
    yaz_marc_add_controlfield(mt, "001", "b7", 2);
    yaz_marc_add_controlfield(mt, "007", "v", 1);   /* short, not last */
    yaz_marc_add_datafield(mt, "245", "10", 2);
    yaz_marc_add_subfield(mt, "aA title /", 10);
    yaz_marc_add_datafield(mt, "952", "  ", 2);
    yaz_marc_add_subfield(mt, "aCEN", 4);
    yaz_marc_add_subfield(mt, "oDVD 1", 6);
    yaz_marc_add_datafield(mt, "949", "  ", 2);
    yaz_marc_add_subfield(mt, "mNRD", 4);
    if (yaz_marc_write_iso2709(mt, w) != 0)
        printf("  fixture: YAZ cannot write it\n");
    yaz_marc_destroy(mt);
    return w;
}

TEST(good_record_passes_and_reads_the_same)
{
    WRBUF w = written();
    size_t reclen = 0;
    CHECK(check(wrbuf_buf(w), wrbuf_len(w), &reclen) == NULL && reclen == wrbuf_len(w));
    /* bytes after the record are not part of it */
    WRBUF more = wrbuf_alloc();
    wrbuf_write(more, wrbuf_buf(w), wrbuf_len(w));
    wrbuf_puts(more, "trailing");
    CHECK(check(wrbuf_buf(more), wrbuf_len(more), &reclen) == NULL && reclen == wrbuf_len(w));
    struct marc_reader *r = reader("marc8s", HOLDINGS_KOHA952);
    const char *why = NULL;
    char *c = exact_copy(wrbuf_buf(more), wrbuf_len(more));
    struct bib *b = r && c ? marc_reader_iso2709(r, c, wrbuf_len(more), &why) : NULL;
    CHECK(b && strcmp(b->id, "b7") == 0 && strcmp(b->title, "A title") == 0 && b->ncopies == 1);
    CHECK(r && !marc_reader_malformed(r));
    bib_unref(b);
    free(c);
    marc_reader_free(r);
    wrbuf_destroy(more);
    wrbuf_destroy(w);
}

/* Every record cut short is refused, and nothing reads past the cut. */
TEST(every_truncation_is_refused)
{
    WRBUF w = written();
    size_t n = wrbuf_len(w);
    int passed = 0;
    for (size_t cut = 0; cut < n; cut++)
        passed += check(wrbuf_buf(w), cut, NULL) == NULL;
    CHECK(passed == 0);
    /* cut, with the record length made to fit: the terminators are missing */
    char *rec = exact_copy(wrbuf_buf(w), n);
    for (size_t cut = 26; rec && cut < n && cut < 100000; cut++) {
        char len[16];
        snprintf(len, sizeof len, "%05zu", cut);
        memcpy(rec, len, 5);
        passed += check(rec, cut, NULL) == NULL;
    }
    CHECK(passed == 0);
    free(rec);
    wrbuf_destroy(w);
}

/* One damaged byte at a time, each refused for its reason. */
TEST(each_structural_fault_has_its_reason)
{
    WRBUF w = written();
    const char *good = wrbuf_buf(w);
    size_t n = wrbuf_len(w);
    long base = strtol((char[6]){good[12], good[13], good[14], good[15], good[16], 0}, NULL, 10);
    struct {
        long at;
        char byte;
        const char *why;
    } cases[] = {
        {0, 'x', "ISO 2709: the record length (leader/00-04) is not a number"},
        {2, '9', "ISO 2709: the record length (leader/00-04) is more than the bytes received"},
        {23, '\x80', "ISO 2709: the leader holds a byte that is not printable ASCII"},
        {10, '1', "ISO 2709: indicator count and subfield code length (leader/10-11) are not 22"},
        {22, '1', "ISO 2709: the entry map (leader/20-22) is not 450"},
        {16, 'x', "ISO 2709: the base address (leader/12-16) is not a number"},
        {14, '9', "ISO 2709: the base address (leader/12-16) is outside the record"},
        {16, good[16] == '9' ? '8' : (char)(good[16] + 1),
         "ISO 2709: the directory does not end where the base address says"},
        {(long)n - 1, '\x1e', "ISO 2709: the record does not end with a record terminator"},
        {24, '\x1e', "ISO 2709: a directory entry's tag is not alphanumeric"},
        {27, 'x', "ISO 2709: a directory entry's length or start is not a number"},
        {base + 2, 'x', "ISO 2709: a field does not end with a field terminator"},
        {base, '\x1f', "ISO 2709: a control field holds a subfield delimiter"},
        {base + 8, '\x1e', "ISO 2709: a field holds a field terminator before its end"},
        {base + 8, '\x1d', "ISO 2709: a field holds a record terminator"},
        {base + 5, '\x01', "ISO 2709: an indicator is not a printable ASCII character"},
        {base + 7, 'x', "ISO 2709: a data field has no subfield delimiter after its indicators"},
        {base + 8, '\xc3', "ISO 2709: a subfield code is not a printable ASCII character"},
        {base + 8, ' ', "ISO 2709: a subfield code is not a printable ASCII character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *rec = exact_copy(good, n);
        if (!rec)
            continue;
        rec[cases[i].at] = cases[i].byte;
        const char *why = check(rec, n, NULL);
        if (!why || strcmp(why, cases[i].why) != 0) {
            printf("FAIL %s: byte %ld = 0x%02x: got \"%s\", want \"%s\"\n", unit_current,
                   cases[i].at, (unsigned char)cases[i].byte, why ? why : "(passed)",
                   cases[i].why);
            unit_current_failed = 1;
        }
        free(rec);
    }
    /* an empty subfield (delimiter after delimiter) is not a fault: YAZ skips it */
    char *rec = exact_copy(good, n);
    char *code = rec ? memmem(rec, n, "\x1foDVD", 5) : NULL;
    CHECK(code != NULL);
    if (code) {
        code[1] = '\x1f';
        CHECK(check(rec, n, NULL) == NULL);
    }
    free(rec);
    wrbuf_destroy(w);
}

static const char *check_xml(const char *xml)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    if (!doc)
        return "(not XML)";
    const char *why = NULL;
    int rc = marc_check_marcxml(xmlDocGetRootElement(doc), &why);
    xmlFreeDoc(doc);
    return rc == 0 ? NULL : why ? why : "(no reason)";
}

#define XML_HEAD "<record xmlns=\"http://www.loc.gov/MARC21/slim\">"
#define XML_245 "<datafield tag=\"245\" ind1=\"1\" ind2=\"0\">"

TEST(marcxml_checks)
{
    CHECK(check_xml(XML_HEAD "<leader>00000nam a2200000 a 4500</leader>"
                    "<controlfield tag=\"001\">b1</controlfield>" XML_245
                    "<subfield code=\"a\">T</subfield></datafield></record>") == NULL);
    CHECK(check_xml(XML_HEAD XML_245 "<subfield code=\"a\">T</subfield></datafield></record>") ==
          NULL);      /* no leader: YAZ makes one up with "22" */
    CHECK_STR(check_xml(XML_HEAD "<leader>00000nam a2600000 a 4500</leader>" XML_245
                        "<subfield code=\"a\">T</subfield></datafield></record>"),
              "MARCXML: indicator count and subfield code length (leader/10-11) are not 22");
    CHECK_STR(check_xml(XML_HEAD "<leader>00000nam a26</leader></record>"),
              "MARCXML: the leader is not 24 bytes");
    /* an empty code with an empty subfield: YAZ takes a 1-byte code of "" */
    CHECK_STR(check_xml(XML_HEAD XML_245 "<subfield code=\"\"/></datafield></record>"),
              "MARCXML: a subfield code is not one printable ASCII character");
    CHECK_STR(check_xml(XML_HEAD XML_245 "<subfield code=\"c000\">0</subfield></datafield>"
                        "</record>"),
              "MARCXML: a subfield code is not one printable ASCII character");
    CHECK_STR(check_xml(XML_HEAD XML_245 "<subfield>T</subfield></datafield></record>"),
              "MARCXML: a subfield code is not one printable ASCII character");
    CHECK_STR(check_xml("<collection>" XML_HEAD "</record></collection>"),
              "MARCXML: the document is not a record");
    CHECK_STR(check_xml("<r><l>00000nam a2600000 a 4500</l></r>"),
              "MARCXML: the document is not a record");
}

TEST(marcxml_reader_refuses_as_malformed)
{
    /* what zebrasrv makes of issue 23's record for SRU */
    static const char xml[] =
        XML_HEAD "<leader>002020am#a26001577i 4500</leader>"
        "<controlfield tag=\"001\">00</controlfield>"
        "<datafield tag=\"020\" ind1=\"0\" ind2=\"0\"><subfield code=\"0\"/>"
        "<subfield code=\"c000\">0</subfield></datafield></record>";
    struct marc_reader *r = reader("utf-8", HOLDINGS_KOHA952);
    const char *why = NULL;
    CHECK(r && marc_reader_marcxml(r, xml, sizeof xml - 1, &why) == NULL);
    CHECK_STR(why, "MARCXML: indicator count and subfield code length (leader/10-11) are not 22");
    CHECK(r && marc_reader_malformed(r));
    CHECK(r && marc_reader_refused_id(r) && strcmp(marc_reader_refused_id(r), "00") == 0);
    CHECK(r && marc_reader_marcxml(r, "<record", 7, &why) == NULL && marc_reader_malformed(r));
    CHECK(r && marc_reader_refused_id(r) == NULL);
    CHECK_STR(why, "not an XML document");
    marc_reader_free(r);
}

static const char *refused_id(const char *rec, size_t n, const char *id_field)
{
    static char out[MARC_REFUSED_ID_MAX + 1];
    struct strbuf sb = {0};
    char *c = exact_copy(rec, n);
    int rc = c ? marc_refused_id_iso2709(c, n, id_field, &sb) : -1;
    snprintf(out, sizeof out, "%s", rc == 0 ? strbuf_cstr(&sb) : "(none)");
    strbuf_free(&sb);
    free(c);
    return out;
}

/* A refused record's id, for the log, is read without YAZ and only from
 * what lies within its bytes. */
TEST(refused_record_ids)
{
    CHECK_STR(refused_id(repro, sizeof repro - 1, "001"), "00");   /* as Zebra indexes it */
    CHECK_STR(refused_id(repro, sizeof repro - 1, "999$c"), "(none)");
    struct marc_reader *r = reader("marc8s", HOLDINGS_SIRSI949);
    const char *why = NULL;
    char *c = exact_copy(repro, sizeof repro - 1);
    CHECK(r && c && marc_reader_iso2709(r, c, sizeof repro - 1, &why) == NULL);
    CHECK(r && marc_reader_refused_id(r) && strcmp(marc_reader_refused_id(r), "00") == 0);
    free(c);
    /* the id in a subfield, in a record YAZ may not read */
    static const char in_999[] =
        "00051nam a2600037   4500" "999001300000\x1e" "  \x1f" "a1\x1f" "c b42 \x1e\x1d";
    CHECK_STR(refused_id(in_999, sizeof in_999 - 1, "999$c"), "b42");
    CHECK_STR(refused_id(in_999, sizeof in_999 - 1, "999$d"), "(none)");
    CHECK_STR(refused_id(in_999, sizeof in_999 - 1, "001"), "(none)");
    /* cut anywhere: an id only when its field is whole */
    for (size_t cut = 0; cut < sizeof in_999 - 1; cut++) {
        const char *id = refused_id(in_999, cut, "999$c");
        if (strcmp(id, "(none)") != 0 && !(strcmp(id, "b42") == 0 && cut >= 50))
            CHECK(!"an id from a field cut short");
    }
    /* no id that is not a valid record id */
    static const char bad_id[] =
        "00044nam a2600037   4500" "001000600000\x1e" "a b c\x1e\x1d";
    CHECK_STR(refused_id(bad_id, sizeof bad_id - 1, "001"), "(none)");
    /* a record that is well formed has no refused id */
    WRBUF w = written();
    struct bib *b = r ? marc_reader_iso2709(r, wrbuf_buf(w), wrbuf_len(w), &why) : NULL;
    CHECK(b && marc_reader_refused_id(r) == NULL);
    bib_unref(b);
    wrbuf_destroy(w);
    marc_reader_free(r);
}

int main(void)
{
    RUN(issue23_record_is_refused_before_yaz);
    RUN(issue23_record_fails_every_layer);
    RUN(yaz_faults_are_refused);
    RUN(good_record_passes_and_reads_the_same);
    RUN(every_truncation_is_refused);
    RUN(each_structural_fault_has_its_reason);
    RUN(marcxml_checks);
    RUN(marcxml_reader_refuses_as_malformed);
    RUN(refused_record_ids);
    return unit_failures != 0;
}
