/* test_params.c: request parameters, each bad one named. */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/config.h"
#include "http/params.h"
#include "unit.h"

static struct config *cfg;

static const char *field_of(const char *query)
{
    static struct param_error err;
    struct alt_params p;
    if (params_parse_alternatives(query, cfg, &p, &err) == 0) {
        params_free(&p);
        return "(accepted)";
    }
    return err.field;
}

TEST(alternatives_parameters)
{
    struct alt_params p;
    struct param_error err;
    CHECK(params_parse_alternatives("record=f356&branch=CEN&limit=3&lang=en&channel=kiosk&_=1",
                                    cfg, &p, &err) == 0);
    CHECK_STR(p.record, "f356");
    CHECK_STR(p.branch, "CEN");
    CHECK(p.limit == 3);
    CHECK_STR(p.lang, "en");
    CHECK_STR(p.channel, "kiosk");
    CHECK(p.catalogue == NULL);
    params_free(&p);
    CHECK(params_parse_alternatives("record=03-0018137", cfg, &p, &err) == 0);
    CHECK(p.limit == 5 && strcmp(p.lang, "nl") == 0 && strcmp(p.channel, "opac") == 0);
    params_free(&p);

    CHECK_STR(field_of(""), "record");
    CHECK_STR(field_of("record="), "record");
    CHECK_STR(field_of("record=a%22b"), "record");          /* a quote: query injection */
    CHECK_STR(field_of("record=a%20or%20b"), "record");
    CHECK_STR(field_of("record=x&record=y"), "record");
    CHECK_STR(field_of("record=x&limit=0"), "limit");
    CHECK_STR(field_of("record=x&limit=21"), "limit");
    CHECK_STR(field_of("record=x&limit=2x"), "limit");
    CHECK_STR(field_of("record=x&lang=de"), "lang");
    CHECK_STR(field_of("record=x&channel=fax"), "channel");
    CHECK_STR(field_of("record=x&branch=A%2FB"), "branch");
    CHECK_STR(field_of("record=x&branch=ABCDEFGHIJKLMNOPQ"), "branch");
    CHECK_STR(field_of("record=x&catalogue=nope"), "catalogue");
    CHECK_STR(field_of("record=x&limit=20"), "(accepted)");
    CHECK_STR(field_of("record=x&limit=05"), "(accepted)");
    CHECK_STR(field_of("record=x&limit=%2B5"), "limit");       /* +5 */
    CHECK_STR(field_of("record=x&limit=+5"), "limit");         /* " 5" once decoded */
    CHECK_STR(field_of("record=x&limit=-1"), "limit");
    /* an encoded NUL would cut a value short: refused, not read as "f356" */
    CHECK_STR(field_of("record=f356%00x"), "record");
    CHECK_STR(field_of("record=f356&patron=a%00b"), "patron");
    CHECK_STR(field_of("record=f356&branch=CEN%00"), "branch");
    CHECK_STR(field_of("record=f356&_=%00"), "(accepted)");    /* not ours: ignored */
    /* max_record_id_bytes is 64: 64 passes, 65 does not */
    char q[100] = "record=";
    memset(q + 7, 'a', 64);
    CHECK_STR(field_of(q), "(accepted)");
    q[7 + 64] = 'a';
    CHECK_STR(field_of(q), "record");
}

static int touchpoint_ok(const char *s)
{
    char id[TOUCHPOINT_ID_MAX_BYTES + 1];
    return params_touchpoint_id(s, strlen(s), id) == 0 && strcmp(id, s) == 0;
}

TEST(receipt_format_and_width)
{
    struct alt_params p;
    struct param_error err;
    CHECK(params_parse_alternatives("record=f356&channel=kiosk&format=receipt&width=16", cfg, &p,
                                    &err) == 0);
    CHECK(p.receipt == 1 && p.width == 16);
    params_free(&p);
    CHECK(params_parse_alternatives("record=f356&format=json", cfg, &p, &err) == 0);
    CHECK(p.receipt == 0 && p.width == 40);
    params_free(&p);
    CHECK(params_parse_alternatives("record=f356&format=receipt&width=80", cfg, &p, &err) == 0);
    CHECK(p.receipt == 1 && p.width == 80);
    params_free(&p);
    CHECK_STR(field_of("record=f356&format=receipt&width=15"), "width");
    CHECK_STR(field_of("record=f356&format=receipt&width=81"), "width");
    CHECK_STR(field_of("record=f356&format=receipt&width=+40"), "width");
    CHECK_STR(field_of("record=f356&format=receipt&width=40x"), "width");
    CHECK_STR(field_of("record=f356&format=receipt&width="), "width");
    CHECK_STR(field_of("record=f356&format=receipt&width=99999999999999999999"), "width");
    CHECK_STR(field_of("record=f356&format=receipt&width=40&width=40"), "width");
    CHECK_STR(field_of("record=f356&format=text"), "format");
    CHECK_STR(field_of("record=f356&format=RECEIPT"), "format");
    CHECK_STR(field_of("record=f356&format="), "format");
    CHECK_STR(field_of("record=f356&format=receipt%00"), "format");
}

TEST(touchpoint_ids)
{
    CHECK(touchpoint_ok("1795437192039-0"));
    CHECK(!touchpoint_ok("1795437192039"));
    CHECK(!touchpoint_ok("-0"));
    CHECK(!touchpoint_ok("1-"));
    CHECK(!touchpoint_ok("1-a"));
    CHECK(!touchpoint_ok("1-2-3"));
    /* two 20-digit numbers and the dash: the longest a stream id can be */
    CHECK(touchpoint_ok("18446744073709551615-18446744073709551615"));
    CHECK(!touchpoint_ok("18446744073709551615-184467440737095516150"));
    /* Found by fuzz_params: 20 digits that are no 64-bit number passed, and
     * Redis's refusal of the read was answered as Redis unavailable (503). */
    CHECK(!touchpoint_ok("18446744073709551616-0"));
    CHECK(!touchpoint_ok("0-18446744073709551616"));
    CHECK(!touchpoint_ok("99999999999999999999-1"));
    CHECK(touchpoint_ok("18446744073709551615-0"));
    CHECK(touchpoint_ok("00000000000000000001-0"));
}

/* The strict split of the report endpoints: only known parameters, once. */
static const char *strict(const char *query, struct evkeyvalq *q)
{
    static const char *const known[] = {"from", "to", "group", NULL};
    static struct param_error err;
    int rc = params_split_strict(query, known, q, &err);
    evhttp_clear_headers(q);
    return rc == 0 ? "(accepted)" : err.field;
}

TEST(strict_parameters)
{
    struct evkeyvalq q;
    CHECK_STR(strict("from=2026-12-01&to=2026-12-31&group=day,branch", &q), "(accepted)");
    CHECK_STR(strict("", &q), "(accepted)");
    CHECK_STR(strict(NULL, &q), "(accepted)");
    CHECK_STR(strict("from=2026-12-01&grop=day", &q), "grop");
    CHECK_STR(strict("from=a&from=b", &q), "from");
    CHECK_STR(strict("group=day%00", &q), "group");
    CHECK_STR(strict("_=1", &q), "_");     /* no cache busters here */
    CHECK_STR(strict("a%20b=1", &q), "a%20b");    /* names are not decoded */
    CHECK_STR(strict("a\x01b=1", &q), "query");
    CHECK_STR(strict("abcdefghijklmnopqrstuvwxyz0123456=1", &q), "query");  /* 33 bytes */
    CHECK_STR(strict("abcdefghijklmnopqrstuvwxyz012345=1", &q), "abcdefghijklmnopqrstuvwxyz012345");
    /* the values as libevent decodes them */
    struct param_error err;
    static const char *const known[] = {"group", NULL};
    CHECK(params_split_strict("group=day%2Cbranch", known, &q, &err) == 0);
    CHECK_STR(evhttp_find_header(&q, "group"), "day,branch");
    evhttp_clear_headers(&q);
}

int main(void)
{
    struct strbuf err = {0};
    cfg = config_parse("{\"privacy\": {\"patron_key\": \"0000000000000000000000000000000000000000000000000000000000000000\"}, " UNIT_TOUCHPOINTS ","
                       " \"catalogues\": [{\"name\": \"demo\", \"target\": \"127.0.0.1:1/d\","
                       " \"link\": {\"plugin\": \"koha\"}}]}", "t", &err);
    if (!cfg) {
        printf("FAIL setup: %s", strbuf_cstr(&err));
        return 1;
    }
    RUN(alternatives_parameters);
    RUN(receipt_format_and_width);
    RUN(touchpoint_ids);
    RUN(strict_parameters);
    config_free(cfg);
    return unit_failures != 0;
}
