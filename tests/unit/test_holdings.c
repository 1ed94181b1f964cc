/* test_holdings.c: MARC-in-JSON records to copies, for both mappings.
 * The records are cut down from the generated demo catalogue (952) and
 * the Evergreen jazz set (949), in the JSON that YAZ writes. */
#include "holdings.h"
#include "unit.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        printf("  fixture: %s\n", e.text);
    return j;
}

static const char koha_record[] =
    "{\"leader\": \"00000ngm a2200000 a 4500\", \"fields\": ["
    " {\"001\": \"f356\"},"
    " {\"100\": {\"ind1\": \"1\", \"ind2\": \" \", \"subfields\": [{\"a\": \"Zemeckis, Robert,\"}]}},"
    " {\"245\": {\"ind1\": \"1\", \"ind2\": \"0\", \"subfields\": [{\"a\": \"Forrest Gump /\"}, {\"c\": \"x\"}]}},"
    " {\"260\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"c\": \"[1994]\"}]}},"
    " {\"952\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"a\": \"CEN\"}, {\"b\": \"CEN\"},"
    "   {\"o\": \"DVD FORR\"}, {\"c\": \"VOLW\"}, {\"q\": \"2026-12-10\"}]}},"
    " {\"952\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"a\": \"NRD\"}, {\"b\": \"ZUI\"},"
    "   {\"o\": \"DVD FORR\"}, {\"q\": \"2026-12-03 23:59:00\"}]}},"
    " {\"952\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"a\": \"OST\"}, {\"7\": \"1\"}]}},"
    " {\"952\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"a\": \"OST\"}, {\"1\": \"2\"}]}},"
    " {\"952\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"a\": \"NRD\"}, {\"7\": \"0\"}]}}"
    "]}";

TEST(koha952_copies_and_status)
{
    json_t *j = parse(koha_record);
    const char *why = NULL;
    struct bib *b = bib_from_marc_json(j, holdings_map_find("koha952"), "001", &why);
    CHECK(b != NULL);
    if (!b)
        return;
    CHECK_STR(b->id, "f356");
    CHECK_STR(b->title, "Forrest Gump");
    CHECK_STR(b->author, "Zemeckis, Robert");
    CHECK_STR(b->year, "1994");
    CHECK(b->ncopies == 5);
    CHECK_STR(b->copies[0].branch, "CEN");
    CHECK(b->copies[0].status == COPY_ON_LOAN);
    CHECK_STR(b->copies[1].branch, "ZUI");          /* holding branch wins */
    CHECK_STR(b->copies[1].due, "2026-12-03");
    CHECK(b->copies[2].status == COPY_NOT_FOR_LOAN);
    CHECK(b->copies[3].status == COPY_UNAVAILABLE);
    CHECK(b->copies[4].status == COPY_AVAILABLE);   /* $7 0 is loanable */
    CHECK(bib_available(b, NULL));
    CHECK(bib_available(b, "NRD"));
    CHECK(!bib_available(b, "CEN"));
    CHECK_STR(bib_expected_back(b), "2026-12-03");
    bib_unref(b);
    json_decref(j);
}

TEST(sirsi949_and_id_in_subfield)
{
    const char *rec =
        "{\"leader\": \"00962njm  2200253 a 4500\", \"fields\": ["
        " {\"001\": \"03-0017123\"},"
        " {\"245\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"a\": \"Mudan\\u00e7as\"}]}},"
        " {\"949\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"a\": \"5490\"},"
        "   {\"i\": \"30007007467409\"}, {\"l\": \"HUNT-AUDIO\"}, {\"m\": \"HUNTINGTON\"}]}},"
        " {\"949\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": ["
        "   {\"k\": \"CHECKEDOUT\"}, {\"a\": \"Z 5782 S34 Ref.\"}, {\"m\": \"HUNTINGTON\"}]}},"
        " {\"999\": {\"ind1\": \" \", \"ind2\": \" \", \"subfields\": [{\"c\": \"42\"}]}}"
        "]}";
    json_t *j = parse(rec);
    const char *why = NULL;
    struct bib *b = bib_from_marc_json(j, holdings_map_find("sirsi949"), "001", &why);
    CHECK(b && b->ncopies == 2);
    if (b) {
        CHECK_STR(b->title, "Mudan\xc3\xa7" "as");
        CHECK_STR(b->copies[0].branch, "HUNTINGTON");
        CHECK_STR(b->copies[0].call_number, "5490");
        CHECK_STR(b->copies[0].location, "HUNT-AUDIO");
        CHECK(b->copies[0].status == COPY_AVAILABLE);
        CHECK(b->copies[1].status == COPY_ON_LOAN);
        CHECK_STR(b->copies[1].call_number, "Z 5782 S34 Ref.");   /* as catalogued */
        CHECK(bib_expected_back(b) == NULL);    /* Sirsi exports no due date */
        bib_unref(b);
    }
    b = bib_from_marc_json(j, holdings_map_find("koha952"), "999$c", &why);
    CHECK(b && strcmp(b->id, "42") == 0 && b->ncopies == 0);
    bib_unref(b);
    json_decref(j);
}

TEST(record_without_id_or_title_is_refused)
{
    json_t *j = parse("{\"leader\": \"x\", \"fields\": [{\"001\": \"b1\"}]}");
    const char *why = NULL;
    CHECK(bib_from_marc_json(j, holdings_map_find("koha952"), "001", &why) == NULL);
    CHECK_STR(why, "record has no title (245 $a)");
    json_decref(j);
    j = parse("{\"leader\": \"x\", \"fields\": [{\"245\": {\"subfields\": [{\"a\": \"T\"}]}}]}");
    CHECK(bib_from_marc_json(j, holdings_map_find("koha952"), "001", &why) == NULL);
    CHECK_STR(why, "record has no local id");
    json_decref(j);
}

TEST(id_field_syntax)
{
    CHECK(holdings_id_field_valid("001"));
    CHECK(holdings_id_field_valid("999$c"));
    CHECK(!holdings_id_field_valid("245"));     /* not a control field */
    CHECK(!holdings_id_field_valid("99$c"));
    CHECK(!holdings_id_field_valid("999$"));
    CHECK(holdings_map_find("koha952") && holdings_map_find("sirsi949"));
    CHECK(holdings_map_find("852") == NULL);
}

int main(void)
{
    RUN(koha952_copies_and_status);
    RUN(sirsi949_and_id_in_subfield);
    RUN(record_without_id_or_title_is_refused);
    RUN(id_field_syntax);
    return unit_failures != 0;
}
