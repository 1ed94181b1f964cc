/* test_messages.c: the messages shown to patrons (messages.h), in Dutch
 * and English. */
#include "core/strbuf.h"
#include "http/messages.h"
#include "unit.h"

TEST(patron_messages_in_two_languages)
{
    struct strbuf m = {0};
    CHECK(message_availability(&m, "nl", "on_loan", 1, "2026-12-03", 1) == 0);
    CHECK(strstr(m.buf, "Alle exemplaren zijn uitgeleend. Verwacht terug rond 3 december 2026.") != NULL);
    CHECK(strstr(m.buf, "staan in de kast") != NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "en", "on_loan", 1, "2026-01-09", 0) == 0);
    CHECK(strstr(m.buf, "Expected back around 9 January 2026.") != NULL);
    CHECK(strstr(m.buf, "on the shelf") == NULL);
    strbuf_reset(&m);
    CHECK(message_availability(&m, "en", "on_loan", 0, NULL, 0) == 0);
    CHECK(strstr(m.buf, "No copy can be borrowed right now.") != NULL);
    strbuf_reset(&m);
    CHECK(message_date(&m, "nl", "2026-13-01") < 0);
    strbuf_free(&m);
}

int main(void)
{
    RUN(patron_messages_in_two_languages);
    return unit_failures != 0;
}
