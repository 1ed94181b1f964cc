/* test_holdings.c: MARC records to copies, for both mappings, as the
 * catalogue hands them over: ISO 2709 (UTF-8 or MARC-8) and MARCXML.
 * The records are cut down from the generated demo catalogue (952) and
 * the Evergreen jazz set (949); YAZ itself writes the ISO 2709 ones. */
#include <yaz/marcdisp.h>
#include <yaz/wrbuf.h>

#include "catalogue/holdings.h"
#include "unit.h"

/* An ISO 2709 record written by YAZ. Each field is "TAG data" for a
 * control field or "TAGii|aone|btwo" for a data field (ii: indicators,
 * '|' starts a subfield in this notation only). Caller frees the WRBUF. */
static WRBUF iso2709(const char *leader, const char *const *fields)
{
    yaz_marc_t mt = yaz_marc_create();
    WRBUF w = wrbuf_alloc();
    int ind, ident, base, len_entry, len_start, len_impl;
    yaz_marc_set_leader(mt, leader, &ind, &ident, &base, &len_entry, &len_start, &len_impl);
    for (size_t i = 0; fields[i]; i++) {
        const char *f = fields[i];
        if (strncmp(f, "010", 3) < 0) {
            yaz_marc_add_controlfield(mt, (char[4]){f[0], f[1], f[2], '\0'}, f + 4,
                                      strlen(f + 4));
            continue;
        }
        yaz_marc_add_datafield(mt, (char[4]){f[0], f[1], f[2], '\0'}, f + 3, 2);
        for (const char *s = strchr(f, '|'); s; s = strchr(s + 1, '|')) {
            const char *e = strchr(s + 1, '|');
            yaz_marc_add_subfield(mt, s + 1, e ? (size_t)(e - s - 1) : strlen(s + 1));
        }
    }
    if (yaz_marc_write_iso2709(mt, w) != 0)
        printf("  fixture: YAZ cannot write it\n");
    yaz_marc_destroy(mt);
    return w;
}

static struct marc_reader *reader(const char *charset, enum holdings_mapping map, const char *id_field)
{
    struct strbuf err = {0};
    struct marc_reader *r = marc_reader_new(charset, holdings_map(map), id_field, &err);
    if (!r)
        printf("  marc_reader_new: %s\n", strbuf_cstr(&err));
    strbuf_free(&err);
    return r;
}

/* UTF-8 (leader/09 "a") in a catalogue whose records are MARC-8 by default. */
static const char *const koha_fields[] = {
    "001 f356",
    "10010|aZemeckis, Robert,",
    "24510|aForrest Gump /|cx",
    "260  |c[1994]",
    "952  |aCEN|bCEN|oDVD FORR|cVOLW|q2026-12-10",
    "952  |aNRD|bZUI|oDVD FORR|q2026-12-03 23:59:00",
    "952  |aOST|77|1",
    "952  |aOST|12",
    "952  |aNRD|70",
    "952  |aCEN|bCEN|oDVD $a FORR|cVOLW",  /* "$a" in the data is data */
    NULL};

TEST(koha952_copies_and_status)
{
    WRBUF rec = iso2709("00000ngm a2200000 a 4500", koha_fields);
    struct marc_reader *r = reader("marc8s", HOLDINGS_KOHA952, "001");
    const char *why = NULL;
    struct bib *b = r ? marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why) : NULL;
    CHECK(b != NULL);
    if (b) {
        CHECK_STR(b->id, "f356");
        CHECK_STR(b->title, "Forrest Gump");
        CHECK_STR(b->author, "Zemeckis, Robert");
        CHECK_STR(b->year, "1994");
        CHECK(b->ncopies == 6);
        CHECK_STR(b->copies[0].branch, "CEN");
        CHECK(b->copies[0].status == COPY_ON_LOAN);
        CHECK_STR(b->copies[1].branch, "ZUI");          /* holding branch wins */
        CHECK_STR(b->copies[1].due, "2026-12-03");
        CHECK(b->copies[2].status == COPY_NOT_FOR_LOAN);
        CHECK(b->copies[3].status == COPY_UNAVAILABLE);
        CHECK(b->copies[4].status == COPY_AVAILABLE);   /* $7 0 is loanable */
        CHECK_STR(b->copies[5].call_number, "DVD $a FORR");
        CHECK_STR(b->copies[5].location, "VOLW");
        CHECK(bib_available(b, NULL));
        CHECK(bib_available(b, "NRD"));
        CHECK(bib_available(b, "CEN"));
        CHECK(!bib_available(b, "OST"));    /* not for loan, unavailable */
        CHECK(!bib_available(b, "ZUI"));    /* on loan */
        CHECK_STR(bib_expected_back(b), "2026-12-03");
        bib_unref(b);
    }
    marc_reader_free(r);
    wrbuf_destroy(rec);
}

/* MARC-8 (leader/09 blank): the cedilla comes before its letter. */
static const char *const sirsi_fields[] = {
    "001 03-0017123",
    "245  |aMudan\xf0" "cas",
    "949  |a5490|i30007007467409|lHUNT-AUDIO|mHUNTINGTON",
    "949  |kCHECKEDOUT|aZ 5782 S34 Ref.|mHUNTINGTON",
    "999  |c42",
    NULL};

TEST(sirsi949_marc8_and_id_in_subfield)
{
    WRBUF rec = iso2709("00962njm  2200253 a 4500", sirsi_fields);
    struct marc_reader *r = reader("marc8s", HOLDINGS_SIRSI949, "001");
    const char *why = NULL;
    struct bib *b = r ? marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why) : NULL;
    CHECK(b && b->ncopies == 2);
    if (b) {
        CHECK_STR(b->title, "Mudan\xc3\xa7" "as");     /* composed (NFC) */
        CHECK_STR(b->copies[0].branch, "HUNTINGTON");
        CHECK_STR(b->copies[0].call_number, "5490");
        CHECK_STR(b->copies[0].location, "HUNT-AUDIO");
        CHECK(b->copies[0].status == COPY_AVAILABLE);
        CHECK(b->copies[1].status == COPY_ON_LOAN);
        CHECK_STR(b->copies[1].call_number, "Z 5782 S34 Ref.");   /* as catalogued */
        CHECK(bib_expected_back(b) == NULL);    /* Sirsi exports no due date */
        bib_unref(b);
    }
    marc_reader_free(r);
    r = reader("marc8s", HOLDINGS_KOHA952, "999$c");
    b = r ? marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why) : NULL;
    CHECK(b && strcmp(b->id, "42") == 0 && b->ncopies == 0);
    bib_unref(b);
    marc_reader_free(r);
    wrbuf_destroy(rec);
}

TEST(marcxml_record)
{
    static const char xml[] =
        "<record xmlns=\"http://www.loc.gov/MARC21/slim\">"
        "<leader>00000ngm a2200000 a 4500</leader>"
        "<controlfield tag=\"001\">f377</controlfield>"
        "<datafield tag=\"245\" ind1=\"1\" ind2=\"0\">"
        "<subfield code=\"a\">Speed :</subfield><subfield code=\"b\">a film</subfield></datafield>"
        "<datafield tag=\"655\" ind1=\" \" ind2=\"7\">"
        "<subfield code=\"a\">Action.</subfield></datafield>"
        "<datafield tag=\"952\" ind1=\" \" ind2=\" \"><subfield code=\"a\">CEN</subfield>"
        "<subfield code=\"o\">DVD SPEE</subfield></datafield>"
        "</record>";
    struct marc_reader *r = reader("marc8s", HOLDINGS_KOHA952, "001");
    const char *why = NULL;
    struct bib *b = r ? marc_reader_marcxml(r, xml, sizeof xml - 1, &why) : NULL;
    CHECK(b != NULL);
    if (b) {
        CHECK_STR(b->id, "f377");
        CHECK_STR(b->title, "Speed: a film");
        CHECK_STR(b->subjects[0], "Action");
        CHECK(b->author == NULL);
        CHECK(b->ncopies == 1 && bib_available(b, "CEN"));
        bib_unref(b);
    }
    CHECK(r && marc_reader_marcxml(r, "<record", 7, &why) == NULL);
    marc_reader_free(r);
}

TEST(subject_headings_in_order_distinct_at_most_three)
{
    /* 650s in order, then 655s; a repeat, a heading without $a and
     * ISBD punctuation do not count; at most BIB_MAX_SUBJECTS */
    static const char xml[] =
        "<record xmlns=\"http://www.loc.gov/MARC21/slim\">"
        "<leader>00000nam a2200000 a 4500</leader>"
        "<controlfield tag=\"001\">b1</controlfield>"
        "<datafield tag=\"245\" ind1=\"1\" ind2=\"0\"><subfield code=\"a\">T</subfield></datafield>"
        "<datafield tag=\"655\" ind1=\" \" ind2=\"7\"><subfield code=\"a\">Detective fiction.</subfield></datafield>"
        "<datafield tag=\"650\" ind1=\" \" ind2=\"0\"><subfield code=\"x\">History</subfield></datafield>"
        "<datafield tag=\"650\" ind1=\" \" ind2=\"0\"><subfield code=\"a\">Amsterdam</subfield></datafield>"
        "<datafield tag=\"650\" ind1=\" \" ind2=\"0\"><subfield code=\"a\">Amsterdam.</subfield></datafield>"
        "<datafield tag=\"650\" ind1=\" \" ind2=\"0\"><subfield code=\"a\">Canals</subfield></datafield>"
        "<datafield tag=\"655\" ind1=\" \" ind2=\"7\"><subfield code=\"a\">Thrillers</subfield></datafield>"
        "</record>";
    struct marc_reader *r = reader("marc8s", HOLDINGS_KOHA952, "001");
    const char *why = NULL;
    struct bib *b = r ? marc_reader_marcxml(r, xml, sizeof xml - 1, &why) : NULL;
    CHECK(b && b->nsubjects == 3);
    if (b && b->nsubjects == 3) {
        CHECK_STR(b->subjects[0], "Amsterdam");
        CHECK_STR(b->subjects[1], "Canals");
        CHECK_STR(b->subjects[2], "Detective fiction");
    }
    bib_unref(b);
    marc_reader_free(r);
}

TEST(record_without_id_or_title_is_refused)
{
    static const char *const no_title[] = {"001 b1", NULL};
    static const char *const no_id[] = {"245  |aT", NULL};
    struct marc_reader *r = reader("utf-8", HOLDINGS_KOHA952, "001");
    const char *why = NULL;
    WRBUF rec = iso2709("00000nam a2200000 a 4500", no_title);
    CHECK(r && marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why) == NULL);
    CHECK_STR(why, "record has no title (245 $a)");
    CHECK(r && !marc_reader_malformed(r));      /* well formed, only of no use */
    wrbuf_destroy(rec);
    rec = iso2709("00000nam a2200000 a 4500", no_id);
    CHECK(r && marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why) == NULL);
    CHECK_STR(why, "record has no local id");
    wrbuf_destroy(rec);
    CHECK(r && marc_reader_iso2709(r, "not a record", 12, &why) == NULL);
    CHECK_STR(why, "ISO 2709: shorter than a leader");
    CHECK(r && marc_reader_malformed(r));
    marc_reader_free(r);
}

/* A record id keeps the characters ids may end with ('.' and ':' are ISBD
 * punctuation in a title, not in an id): "abc:" is not "abc". */
TEST(record_id_keeps_trailing_punctuation)
{
    static const char *const ids[] = {"abc:", "abc.", "2024.", "x-1:"};
    struct marc_reader *r = reader("marc8s", HOLDINGS_KOHA952, "001");
    struct marc_reader *r999 = reader("marc8s", HOLDINGS_KOHA952, "999$c");
    for (size_t i = 0; r && r999 && i < sizeof ids / sizeof ids[0]; i++) {
        char f001[32], f999[32];
        snprintf(f001, sizeof f001, "001 %s ", ids[i]);         /* blanks still go */
        snprintf(f999, sizeof f999, "999  |c%s", ids[i]);
        const char *const fields[] = {f001, "24510|aTitle :|bsub.", f999, NULL};
        WRBUF rec = iso2709("00000nam a2200000 a 4500", fields);
        const char *why = NULL;
        struct bib *b = marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why);
        struct bib *c = marc_reader_iso2709(r999, wrbuf_buf(rec), wrbuf_len(rec), &why);
        CHECK(b && c);
        if (b)
            CHECK_STR(b->id, ids[i]);
        if (c)
            CHECK_STR(c->id, ids[i]);
        if (b)
            CHECK_STR(b->title, "Title: sub");             /* titles still lose it */
        bib_unref(b);
        bib_unref(c);
        wrbuf_destroy(rec);
    }
    marc_reader_free(r);
    marc_reader_free(r999);
}

/* A record that says UTF-8 (leader/09 "a") but is not: the text is
 * repaired, the bad bytes U+FFFD, and the bib says so; valid text is left
 * as it is and the bib does not. */
TEST(invalid_utf8_is_repaired_and_said)
{
    static const char *const bad[] = {
        "001 u1", "10010|aN\xc3(ez", "24510|aCaf\xe9 \xed\xa0\x80 ok", "952  |aCEN|oR\xff", NULL};
    static const char *const good[] = {"001 u2", "24510|aCaf\xc3\xa9", "952  |aCEN", NULL};
    struct marc_reader *r = reader("marc8s", HOLDINGS_KOHA952, "001");
    WRBUF rb = iso2709("00000nam a2200000 a 4500", bad);
    WRBUF rg = iso2709("00000nam a2200000 a 4500", good);
    const char *why = NULL;
    struct bib *b = r ? marc_reader_iso2709(r, wrbuf_buf(rb), wrbuf_len(rb), &why) : NULL;
    struct bib *g = r ? marc_reader_iso2709(r, wrbuf_buf(rg), wrbuf_len(rg), &why) : NULL;
    CHECK(b && g);
    if (b) {
        CHECK(b->text_repaired);
        CHECK_STR(b->title, "Caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok");
        CHECK_STR(b->author, "N\xef\xbf\xbd(ez");
        CHECK_STR(b->copies[0].call_number, "R\xef\xbf\xbd");
    }
    if (g) {
        CHECK(!g->text_repaired);
        CHECK_STR(g->title, "Caf\xc3\xa9");
    }
    bib_unref(b);
    bib_unref(g);
    wrbuf_destroy(rb);
    wrbuf_destroy(rg);
    marc_reader_free(r);
}

TEST(unknown_record_charset_is_refused)
{
    struct strbuf err = {0};
    CHECK(marc_reader_new("no-such-charset", holdings_map(HOLDINGS_KOHA952), "001", &err) == NULL);
    CHECK_STR(strbuf_cstr(&err), "record_charset no-such-charset: YAZ cannot convert it to UTF-8");
    strbuf_free(&err);
}

/* The fixed fields as YAZ decodes them, ISO 2709 and MARCXML alike. */
TEST(fixed_fields_give_the_segment)
{
    static const char *const dvd[] = {
        "001 f1", "007 vd cvaizq", "008 261205s1995    xx --- j          vldut d",
        "24510|aToy Story", NULL};
    WRBUF rec = iso2709("00000ngm a2200000 a 4500", dvd);
    struct marc_reader *r = reader("utf-8", HOLDINGS_KOHA952, "001");
    const char *why = NULL;
    struct bib *b = r ? marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why) : NULL;
    CHECK(b != NULL);
    if (b) {
        CHECK_STR(segment_format_name(b->segment.format), "dvd");
        CHECK_STR(segment_audience_name(b->segment.audience), "juvenile");
        CHECK_STR(segment_language(&b->segment), "dut");
        bib_unref(b);
    }
    static const char xml[] =
        "<record xmlns=\"http://www.loc.gov/MARC21/slim\">"
        "<leader>00000nam a2200000 a 4500</leader>"
        "<controlfield tag=\"001\">b7</controlfield>"
        "<controlfield tag=\"008\">261205s2001    xx     ed     000 | fre d</controlfield>"
        "<datafield tag=\"245\" ind1=\"1\" ind2=\"0\">"
        "<subfield code=\"a\">Le livre</subfield></datafield></record>";
    b = r ? marc_reader_marcxml(r, xml, sizeof xml - 1, &why) : NULL;
    CHECK(b != NULL);
    if (b) {
        CHECK_STR(segment_format_name(b->segment.format), "large_print");
        CHECK_STR(segment_audience_name(b->segment.audience), "adult");
        CHECK_STR(segment_language(&b->segment), "fre");
        bib_unref(b);
    }
    marc_reader_free(r);
    wrbuf_destroy(rec);
}

/* A copy on the hold shelf (Sirsi $k HOLDS) waits for another patron:
 * not available, so never offered, though it is on the shelf. */
TEST(sirsi949_held_copy_is_not_available)
{
    static const char *const held[] = {
        "001 03-1", "245  |aHeld", "949  |kHOLDS|a5490|mHUNTINGTON",
        "949  |kCHECKEDOUT|a5490|mCENTRAL", NULL};
    WRBUF rec = iso2709("00962njm  2200253 a 4500", held);
    struct marc_reader *r = reader("marc8s", HOLDINGS_SIRSI949, "001");
    const char *why = NULL;
    struct bib *b = r ? marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why) : NULL;
    CHECK(b && b->ncopies == 2);
    if (b) {
        CHECK(b->copies[0].status == COPY_HELD);
        CHECK_STR(copy_status_name(b->copies[0].status), "held");
        CHECK(!bib_available(b, NULL) && !bib_available(b, "HUNTINGTON"));
        bib_unref(b);
    }
    marc_reader_free(r);
    wrbuf_destroy(rec);
}

/* Each Sirsi current location says where the copy is: the mapping's
 * table, a lost kind of its own, and a shelf of any other name. */
TEST(sirsi949_current_locations)
{
    static const struct {
        const char *k;
        enum copy_status want;
    } cases[] = {
        {"CHECKEDOUT", COPY_ON_LOAN}, {"HOLDS", COPY_HELD},
        {"LOST", COPY_UNAVAILABLE}, {"LOST-ASSUM", COPY_UNAVAILABLE},
        {"MISSING", COPY_UNAVAILABLE}, {"DAMAGED", COPY_UNAVAILABLE},
        {"BINDERY", COPY_UNAVAILABLE}, {"INTRANSIT", COPY_UNAVAILABLE},
        {"ON-ORDER", COPY_NOT_FOR_LOAN}, {"REFERENCE", COPY_NOT_FOR_LOAN},
        {"STACKS", COPY_AVAILABLE}, {"DISPLAY", COPY_AVAILABLE},
        {"LOST-", COPY_AVAILABLE},      /* no kind: a name, not LOST-... */
        {"LOSTANDFOUND", COPY_AVAILABLE},
    };
    struct marc_reader *r = reader("marc8s", HOLDINGS_SIRSI949, "001");
    for (size_t i = 0; r && i < sizeof cases / sizeof *cases; i++) {
        char field[64];
        snprintf(field, sizeof field, "949  |k%s|a5490|mCENTRAL", cases[i].k);
        const char *fields[] = {"001 03-1", "245  |aWhere", field, NULL};
        WRBUF rec = iso2709("00962njm  2200253 a 4500", fields);
        const char *why = NULL;
        struct bib *b = marc_reader_iso2709(r, wrbuf_buf(rec), wrbuf_len(rec), &why);
        CHECK(b && b->ncopies == 1);
        if (b && b->copies[0].status != cases[i].want) {
            fprintf(stderr, "  $k %s: %s, not %s\n", cases[i].k,
                    copy_status_name(b->copies[0].status), copy_status_name(cases[i].want));
            CHECK(0);
        }
        bib_unref(b);
        wrbuf_destroy(rec);
    }
    CHECK(r);
    marc_reader_free(r);
}

int main(void)
{
    RUN(koha952_copies_and_status);
    RUN(sirsi949_marc8_and_id_in_subfield);
    RUN(sirsi949_current_locations);
    RUN(marcxml_record);
    RUN(subject_headings_in_order_distinct_at_most_three);
    RUN(record_without_id_or_title_is_refused);
    RUN(record_id_keeps_trailing_punctuation);
    RUN(invalid_utf8_is_repaired_and_said);
    RUN(unknown_record_charset_is_refused);
    RUN(fixed_fields_give_the_segment);
    RUN(sirsi949_held_copy_is_not_available);
    return unit_failures != 0;
}
