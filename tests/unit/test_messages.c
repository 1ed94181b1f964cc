/* test_messages.c: the messages shown to patrons (messages.h), in Dutch
 * and English. */
#include "core/strbuf.h"
#include "http/messages.h"
#include "unit.h"

TEST(patron_messages_in_two_languages)
{
    struct strbuf m = {0};
    CHECK(message_availability(&m, "nl", "on_loan", 1, "2026-12-03", 0, "2026-12-03", 1) == 0);
    CHECK(strstr(m.buf, "Alle exemplaren zijn uitgeleend. Verwacht terug rond 3 december 2026.") != NULL);
    CHECK(strstr(m.buf, "staan in de kast") != NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "en", "on_loan", 1, "2026-01-09", -1, NULL, 0) == 0);
    CHECK(strstr(m.buf, "Expected back around 9 January 2026.") != NULL);
    CHECK(strstr(m.buf, "on the shelf") == NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "en", "on_loan", 0, NULL, 0, NULL, 0) == 0);
    CHECK(strstr(m.buf, "No copy can be borrowed right now.") != NULL);
    /* holds waiting: how many, and when one placed now is likely ready */
    strbuf_reset(&m);
    CHECK(message_availability(&m, "nl", "on_loan", 1, "2026-12-03", 3, "2027-01-14", 0) == 0);
    CHECK(strstr(m.buf, "Verwacht terug rond 3 december 2026. 3 reserveringen voor u; "
                        "verwacht voor u rond 14 januari 2027.") != NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "en", "on_loan", 1, "2026-12-03", 1, "2026-12-24", 0) == 0);
    CHECK(strstr(m.buf, "1 reservation ahead of you; expected for you around 24 December 2026.") !=
          NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "nl", "on_loan", 1, "2026-12-03", 1, NULL, 0) == 0);
    CHECK(strstr(m.buf, "1 reservering voor u.") != NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "nl", "on_loan", 1, "2026-12-03", 0, "2026-12-03", 0) == 0);
    CHECK(strstr(m.buf, "reservering") == NULL);
    strbuf_reset(&m);
    CHECK(message_date(&m, "nl", "2026-13-01") < 0);
    strbuf_free(&m);
}

/* Why each alternative is shown (issue 20 section 4), both languages. */
TEST(explanations_in_two_languages)
{
    struct strbuf m = {0};
    CHECK(message_explanation(&m, "nl", "also_borrowed", 12, 40, 3, "Forrest Gump", NULL, NULL, NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "12 van de 40 lezers van Forrest Gump leenden ook dit");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "en", "also_borrowed", 12, 40, 3, "Forrest Gump", NULL, NULL, NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "12 of the 40 readers of Forrest Gump also borrowed this");
    /* no count under min_patrons, nor one the wanted title's count does not hold */
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "nl", "also_borrowed", 2, 40, 3, "Speed", NULL, NULL, NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Lezers van Speed leenden ook dit");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "en", "also_borrowed", 5, 0, 3, "Speed", NULL, NULL, NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Readers of Speed also borrowed this");
    /* brought by the patron's own history only */
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "nl", "also_borrowed", 0, 40, 3, "Speed", NULL, NULL, NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Past bij wat u eerder leende");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "nl", "same_author", 0, 0, 3, "T", "Rowling, J.K.", "Magic", NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Ook van Rowling, J.K.");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "en", "same_author", 0, 0, 3, "T", "Rowling, J.K.", NULL, NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Also by Rowling, J.K.");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "nl", "same_subject", 0, 0, 3, "T", NULL, "Jazz", NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Ook over Jazz");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "en", "same_subject", 0, 0, 3, "T", NULL, "Jazz", NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Also about Jazz");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "nl", "popular", 0, 0, 3, "T", NULL, NULL, NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Populair bij onze lezers");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "en", "popular", 0, 0, 3, "T", NULL, NULL, NULL) == 0);
    CHECK_STR(strbuf_cstr(&m), "Popular with our readers");
    /* one of the most borrowed at the patron's branch: its name */
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "nl", "popular", 0, 0, 3, "T", NULL, NULL, "Noord") == 0);
    CHECK_STR(strbuf_cstr(&m), "Veel geleend in Noord");
    strbuf_reset(&m);
    CHECK(message_explanation(&m, "en", "popular", 0, 0, 3, "T", NULL, NULL, "Noord") == 0);
    CHECK_STR(strbuf_cstr(&m), "Often borrowed at Noord");
    strbuf_free(&m);
}

int main(void)
{
    RUN(patron_messages_in_two_languages);
    RUN(explanations_in_two_languages);
    return unit_failures != 0;
}
