/* messages.c: see messages.h. */
#include "http/messages.h"

#include <stdlib.h>
#include <string.h>

static const char *const months_nl[] = {"januari", "februari", "maart", "april", "mei", "juni",
                                        "juli", "augustus", "september", "oktober",
                                        "november", "december"};
static const char *const months_en[] = {"January", "February", "March", "April", "May", "June",
                                        "July", "August", "September", "October",
                                        "November", "December"};

int message_date(struct strbuf *out, const char *lang, const char *date)
{
    if (!date || strlen(date) != 10 || date[4] != '-' || date[7] != '-')
        return -1;
    int year = atoi(date), month = atoi(date + 5), day = atoi(date + 8);
    if (month < 1 || month > 12 || day < 1 || day > 31)
        return -1;
    const char *const *months = strcmp(lang, "nl") == 0 ? months_nl : months_en;
    return strbuf_printf(out, "%d %s %d", day, months[month - 1], year);
}

/* " 3 reserveringen voor u; verwacht voor u rond 14 januari 2027." */
static int message_queue(struct strbuf *out, int nl, const char *lang, long queue,
                         const char *expected_available)
{
    int rc = nl ? strbuf_printf(out, " %ld %s voor u", queue,
                                queue == 1 ? "reservering" : "reserveringen")
                : strbuf_printf(out, " %ld %s ahead of you", queue,
                                queue == 1 ? "reservation" : "reservations");
    if (expected_available) {
        rc |= strbuf_puts(out, nl ? "; verwacht voor u rond " : "; expected for you around ");
        if (message_date(out, lang, expected_available) < 0)
            rc |= strbuf_puts(out, expected_available);
    }
    return rc | strbuf_puts(out, ".");
}

int message_availability(struct strbuf *out, const char *lang, const char *status,
                         int copies_out, const char *expected_back, long queue,
                         const char *expected_available, int has_alternatives)
{
    int nl = strcmp(lang, "nl") == 0;
    int rc = 0;
    if (strcmp(status, "available") == 0)
        return strbuf_puts(out, nl ? "Deze titel staat nu in de kast."
                                   : "This title is on the shelf now.");
    if (strcmp(status, "unknown") == 0)
        return strbuf_puts(out, nl ? "We kunnen de beschikbaarheid nu niet controleren. "
                                     "Probeer het later opnieuw of vraag het aan de balie."
                                   : "We cannot check availability right now. "
                                     "Please try again later or ask at the desk.");
    if (copies_out)
        rc |= strbuf_puts(out, nl ? "Alle exemplaren zijn uitgeleend." : "All copies are on loan.");
    else
        rc |= strbuf_puts(out, nl ? "Er is nu geen exemplaar te leen." : "No copy can be borrowed right now.");
    if (expected_back) {
        rc |= strbuf_puts(out, nl ? " Verwacht terug rond " : " Expected back around ");
        if (message_date(out, lang, expected_back) < 0)
            rc |= strbuf_puts(out, expected_back);
        rc |= strbuf_puts(out, ".");
    }
    if (queue > 0)
        rc |= message_queue(out, nl, lang, queue, expected_available);
    rc |= strbuf_puts(out, nl ? " Reserveer de titel en u krijgt bericht zodra hij voor u klaarligt."
                              : " Reserve it and we will let you know when it is ready for you.");
    if (has_alternatives)
        rc |= strbuf_puts(out, nl ? " Of neem nu een van deze titels mee; ze staan in de kast."
                                  : " Or take one of these titles today; they are on the shelf.");
    return rc ? -1 : 0;
}

int message_explanation(struct strbuf *out, const char *lang, const char *reason,
                        unsigned long both, unsigned long borrowers, unsigned long min_patrons,
                        const char *title, const char *author, const char *subject,
                        const char *branch)
{
    int nl = strcmp(lang, "nl") == 0;
    if (strcmp(reason, "also_borrowed") == 0) {
        if (both == 0)
            return strbuf_puts(out, nl ? "Past bij wat u eerder leende"
                                       : "Goes with what you borrowed before");
        if (!title)
            return strbuf_puts(out, nl ? "Lezers van deze titel leenden ook dit"
                                       : "Readers of this title also borrowed this");
        /* a count below min_patrons is never shown: it could point at a patron */
        if (both >= min_patrons && borrowers >= both)
            return nl ? strbuf_printf(out, "%lu van de %lu lezers van %s leenden ook dit", both,
                                      borrowers, title)
                      : strbuf_printf(out, "%lu of the %lu readers of %s also borrowed this",
                                      both, borrowers, title);
        return nl ? strbuf_printf(out, "Lezers van %s leenden ook dit", title)
                  : strbuf_printf(out, "Readers of %s also borrowed this", title);
    }
    if (strcmp(reason, "same_author") == 0)
        return author ? strbuf_printf(out, nl ? "Ook van %s" : "Also by %s", author)
                      : strbuf_puts(out, nl ? "Van dezelfde auteur" : "By the same author");
    if (strcmp(reason, "same_subject") == 0)
        return subject ? strbuf_printf(out, nl ? "Ook over %s" : "Also about %s", subject)
                       : strbuf_puts(out, nl ? "Over hetzelfde onderwerp" : "On the same subject");
    if (branch)
        return strbuf_printf(out, nl ? "Veel geleend in %s" : "Often borrowed at %s", branch);
    return strbuf_puts(out, nl ? "Populair bij onze lezers" : "Popular with our readers");
}
