/* test_segment.c: format, audience and language from the fixed fields,
 * and when a candidate fits the wanted title. Records through YAZ:
 * test_holdings.c (fixed_fields_give_the_segment). */
#include "catalogue/segment.h"
#include "unit.h"

/* An 008 of 40 characters: position 22 audience, 23 form of item,
 * 35-37 language. */
static const char *f008(char audience, char form, const char *lang)
{
    static char s[41];
    memset(s, ' ', 40);
    memcpy(s, "261205s2020    xx ", 18);
    s[22] = audience;
    s[23] = form;
    memcpy(s + 35, lang, 3);
    s[38] = ' ';
    s[39] = 'd';
    s[40] = '\0';
    return s;
}

static struct segment seg(const char *leader, const char *f007, const char *fixed)
{
    struct segment s;
    segment_read(&s, leader, leader ? strlen(leader) : 0, f007, f007 ? strlen(f007) : 0, fixed,
                 fixed ? strlen(fixed) : 0);
    return s;
}

TEST(formats_from_leader_007_and_008)
{
    struct {
        const char *leader, *f007;
        char form;
        enum bib_format want;
    } cases[] = {
        {"00000nam a2200000 a 4500", NULL, ' ', BIB_FORMAT_BOOK},
        {"00000ntm a2200000 a 4500", NULL, ' ', BIB_FORMAT_BOOK},      /* manuscript text */
        {"00000nam a2200000 a 4500", NULL, 'd', BIB_FORMAT_LARGE_PRINT},
        {"00000nam a2200000 a 4500", NULL, 'o', BIB_FORMAT_EBOOK},
        {"00000nam a2200000 a 4500", NULL, 's', BIB_FORMAT_EBOOK},
        {"00000nam a2200000 a 4500", "cr |n|||||||||", ' ', BIB_FORMAT_EBOOK},
        {"00000nim a2200000 a 4500", "sd fsngnnmmned", ' ', BIB_FORMAT_AUDIOBOOK},
        {"00000njm a2200000 a 4500", "sd fsngnnmmned", ' ', BIB_FORMAT_MUSIC},
        {"00000ngm a2200000 a 4500", "vd cvaizq", ' ', BIB_FORMAT_DVD},
        {"00000ngm a2200000 a 4500", NULL, ' ', BIB_FORMAT_DVD},
        {"00000ngm a2200000 a 4500", "gs cjc", ' ', BIB_FORMAT_UNKNOWN},  /* slides */
        {"00000nas a2200000 a 4500", NULL, 'd', BIB_FORMAT_PERIODICAL},
        {"00000nem a2200000 a 4500", NULL, ' ', BIB_FORMAT_UNKNOWN},      /* a map */
        {"00000n", NULL, ' ', BIB_FORMAT_UNKNOWN},                         /* leader cut short */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct segment s = seg(cases[i].leader, cases[i].f007, f008(' ', cases[i].form, "dut"));
        if (s.format != cases[i].want)
            printf("  case %zu: format %d, want %d\n", i, (int)s.format, (int)cases[i].want);
        CHECK(s.format == cases[i].want);
    }
    CHECK_STR(segment_format_name(BIB_FORMAT_LARGE_PRINT), "large_print");
    CHECK_STR(segment_format_name(BIB_FORMAT_DVD), "dvd");
    CHECK(segment_format_name(BIB_FORMAT_UNKNOWN) == NULL);
}

TEST(audience_from_008_22)
{
    const char *book = "00000nam a2200000 a 4500";
    CHECK(seg(book, NULL, f008('j', ' ', "eng")).audience == AUDIENCE_JUVENILE);
    CHECK(seg(book, NULL, f008('a', ' ', "eng")).audience == AUDIENCE_JUVENILE);
    CHECK(seg(book, NULL, f008('d', ' ', "eng")).audience == AUDIENCE_JUVENILE);
    CHECK(seg(book, NULL, f008('e', ' ', "eng")).audience == AUDIENCE_ADULT);
    CHECK(seg(book, NULL, f008('g', ' ', "eng")).audience == AUDIENCE_ADULT);
    CHECK(seg(book, NULL, f008(' ', ' ', "eng")).audience == AUDIENCE_UNKNOWN);
    CHECK(seg(book, NULL, f008('|', ' ', "eng")).audience == AUDIENCE_UNKNOWN);
    /* a serial's 008/22 is the form of the original; a map has none */
    CHECK(seg("00000nas a2200000 a 4500", NULL, f008('j', ' ', "eng")).audience ==
          AUDIENCE_UNKNOWN);
    CHECK(seg("00000nem a2200000 a 4500", NULL, f008('j', ' ', "eng")).audience ==
          AUDIENCE_UNKNOWN);
    CHECK(seg(book, NULL, NULL).audience == AUDIENCE_UNKNOWN);
    CHECK(seg(book, NULL, "261205s2020").audience == AUDIENCE_UNKNOWN);     /* 008 cut short */
    CHECK_STR(segment_audience_name(AUDIENCE_JUVENILE), "juvenile");
    CHECK_STR(segment_audience_name(AUDIENCE_ADULT), "adult");
}

TEST(language_from_008_35)
{
    const char *book = "00000nam a2200000 a 4500";
    struct segment s = seg(book, NULL, f008(' ', ' ', "dut"));
    CHECK_STR(segment_language(&s), "dut");
    const char *unknown[] = {"und", "zxx", "mul", "   ", "|||", "EN ", "e1g"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        s = seg(book, NULL, f008(' ', ' ', unknown[i]));
        CHECK(segment_language(&s) == NULL);
    }
}

TEST(fit_needs_the_dimensions_named)
{
    struct segment nl_book = seg("00000nam a2200000 a 4500", NULL, f008('j', ' ', "dut"));
    struct segment en_book = seg("00000nam a2200000 a 4500", NULL, f008('j', ' ', "eng"));
    struct segment nl_adult = seg("00000nam a2200000 a 4500", NULL, f008('e', ' ', "dut"));
    struct segment nl_dvd = seg("00000ngm a2200000 a 4500", "vd cvaizq", f008('j', ' ', "dut"));
    struct segment nl_large = seg("00000nam a2200000 a 4500", NULL, f008('j', 'd', "dut"));
    struct segment unsaid = seg("00000nam a2200000 a 4500", NULL, NULL);
    struct segment nothing = seg(NULL, NULL, NULL);
    CHECK(segment_fits(&nl_book, &nl_book, FIT_ALL));
    CHECK(!segment_fits(&nl_book, &en_book, FIT_ALL));
    CHECK(!segment_fits(&nl_book, &nl_adult, FIT_ALL));
    CHECK(!segment_fits(&nl_book, &nl_dvd, FIT_ALL));
    CHECK(!segment_fits(&nl_book, &nl_large, FIT_ALL));     /* large print is a format */
    /* relaxed: only what fit names must match */
    CHECK(segment_fits(&nl_book, &en_book, FIT_FORMAT | FIT_AUDIENCE));
    CHECK(segment_fits(&nl_book, &nl_adult, FIT_FORMAT | FIT_LANGUAGE));
    CHECK(segment_fits(&nl_book, &nl_dvd, FIT_AUDIENCE | FIT_LANGUAGE));
    CHECK(segment_fits(&nl_book, &nl_dvd, 0));
    /* what a record does not say keeps nothing out, either way */
    CHECK(segment_fits(&nl_book, &unsaid, FIT_ALL));
    CHECK(segment_fits(&unsaid, &en_book, FIT_ALL));
    CHECK(segment_fits(&nothing, &nl_dvd, FIT_ALL));
}

int main(void)
{
    RUN(formats_from_leader_007_and_008);
    RUN(audience_from_008_22);
    RUN(language_from_008_35);
    RUN(fit_needs_the_dimensions_named);
    return unit_failures != 0;
}
