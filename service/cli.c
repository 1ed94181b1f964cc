/* cli.c: onloan, the command-line tool.
 *
 *   onloan [-c FILE] load LOANS.csv    rebuild the loan model in Redis */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "loader.h"
#include "pseudo.h"

static void usage(void)
{
    fprintf(stderr, "usage: onloan [-c config.json] load LOANS.csv\n");
}

static int cmd_load(const struct config *cfg, const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        perror(path);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct strbuf err = {0};
    struct load_summary sum;
    struct loan_set *ls = loans_read(in, path, cfg, &err);
    if (in != stdin)
        fclose(in);
    int rc = ls && loans_store(ls, cfg, &sum, &err) == 0 ? 0 : 1;
    loans_free(ls);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        fputs(strbuf_cstr(&err), stderr);
        fprintf(stderr, "%s: nothing loaded\n", path);
    } else {
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("loaded %zu loans by %zu patrons of %zu records: %zu pairs seen, "
               "%zu kept (shared by >= %d patrons) in %.2f s\n",
               sum.loans, sum.patrons, sum.records, sum.pairs_seen, sum.pairs_kept,
               cfg->min_patrons, secs);
    }
    strbuf_free(&err);
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = "config/onloan.json";
    int opt;
    while ((opt = getopt(argc, argv, "c:h")) != -1) {
        if (opt == 'c') {
            path = optarg;
        } else {
            usage();
            return 2;
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "load") != 0) {
        usage();
        return 2;
    }
    struct config *cfg = config_load_or_report(path);
    if (!cfg)
        return 1;
    if (pseudo_init() < 0) {
        fprintf(stderr, "cannot initialise libsodium\n");
        config_free(cfg);
        return 1;
    }
    int rc = cmd_load(cfg, argv[optind + 1]);
    config_free(cfg);
    return rc;
}
