# onloan: plain Makefile. `make` builds build/onloand, build/onloan and the
# plugins; `make test` and `make demo` install what is missing first.
#
# service/ has a folder per concern; each becomes a static archive, and the
# two programs link the archives they need (the linker takes only the
# objects they use):
#
#   core/       small shared pieces: strbuf, dict, caches, log, clock,
#               pseudonyms, the config
#   redis/      Redis: commands, the async client, the forget feed,
#               the touchpoint streams
#   catalogue/  Z39.50/SRU: lookups and searches, queries, ZOOM
#               connections, the work queue, MARC to holdings, link plugins
#   model/      the loan model read: neighbours, scores, ranking,
#               co-occurrence lists, compaction
#   ingest/     loan events into the model: events, histories, pairs, jobs
#   report/     reports: rollups read, added up into rows, written out;
#               goals
#   http/       the HTTP face: routes, parameters, handlers, answers
#   cli/        the onloan tool's commands

SHARED   ?= ../shared
BUILD    ?= build

# Where `make install` puts things, and where the programs built look
# (compiled in: the default plugin_dir and config file). DESTDIR stages.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
PLUGINDIR  ?= $(PREFIX)/lib/onloan/plugins
SYSCONFDIR ?= /etc
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
CC       ?= cc
SANITIZE ?=

# libqrencode and libpng: the kiosk's QR codes; libunistring (no .pc):
# the receipt's display widths and line breaks
PKGS        := libevent hiredis jansson libsodium yaz libelf libqrencode libpng
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# -pthread: a large report's second half is written on a thread of its
# own (report/report_render.h), the one thread onloand's code starts.
OPTFLAGS ?= -O2 -g
CFLAGS   := $(OPTFLAGS) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
            -Wshadow -Wstrict-prototypes -Wmissing-prototypes -fPIC -pthread $(SANITIZE)
PATH_DEFS := -DONLOAN_PLUGIN_DIR='"$(PLUGINDIR)"' -DONLOAN_CONFIG_PATH='"$(SYSCONFDIR)/onloan/onloan.json"'
CPPFLAGS += -Iservice -Iplugins $(PKG_CFLAGS) $(PATH_DEFS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lunistring -levent_core -ldl -lm
LDFLAGS  += -pthread $(SANITIZE)

LAYERS   := http report ingest model catalogue redis core
ARCHIVES := $(LAYERS:%=$(BUILD)/lib%.a)
CLI_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard service/cli/*.c))
PLUGINS  := $(BUILD)/plugins/koha.so $(BUILD)/plugins/template.so
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c)) \
              $(patsubst tests/unit/plugin_%.c,$(BUILD)/tests/unit/plugins/%.so,$(wildcard tests/unit/plugin_*.c))
# Archives that may need each other are searched as a group.
LINK_ARCHIVES = -Wl,--start-group $(ARCHIVES) -Wl,--end-group

.PHONY: all deps test bench eval demo catalogue asan install clean fuzz fuzz-build cluster-test
all: $(BUILD)/onloand $(BUILD)/onloan $(PLUGINS) $(UNIT_TESTS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

define layer_archive
$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/%.o,$(wildcard service/$(1)/*.c))
	@rm -f $$@
	$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_archive,$(l))))

# web/: what browsers load from onloand (the OPAC widget, the kiosk's page,
# the marketing dashboard) and the API's description, built into the HTTP layer as a
# table (http/assets.h) by web/embed.sh: PATH=FILE each. The dashboard's
# charts are Debian's Chart.js (libjs-chart.js), built in like the rest:
# no file for onloand to find at run time, none under ProtectSystem=strict.
CHARTJS    ?= /usr/share/javascript/chart.js/chart.min.js
WEB_ASSETS := /widget.js=web/widget/widget.js \
              /dashboard=web/dashboard/dashboard.html \
              /dashboard.js=web/dashboard/dashboard.js \
              /dashboard.css=web/dashboard/dashboard.css \
              /chart.js=$(CHARTJS) \
              /openapi.json=docs/openapi.json
WEB_ASSETS += /kiosk=web/kiosk/kiosk.html /kiosk.js=web/kiosk/kiosk.js
$(CHARTJS):
	@echo "make: $(CHARTJS) is missing: install Debian's libjs-chart.js (make deps), or set CHARTJS=" >&2
	@exit 1
$(BUILD)/gen/assets_data.c: web/embed.sh $(foreach a,$(WEB_ASSETS),$(lastword $(subst =, ,$(a))))
	@mkdir -p $(dir $@)
	sh web/embed.sh $@ $(WEB_ASSETS)
$(BUILD)/gen/assets_data.o: $(BUILD)/gen/assets_data.c service/http/assets.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(BUILD)/libhttp.a: $(BUILD)/gen/assets_data.o

$(BUILD)/onloand: $(BUILD)/service/onloand.o $(BUILD)/service/server.o $(ARCHIVES)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $(filter %.o,$^) $(LINK_ARCHIVES) $(LDLIBS)

$(BUILD)/onloan: $(BUILD)/service/onloan.o $(CLI_OBJ) $(ARCHIVES)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_ARCHIVES) $(LDLIBS)

# The objects that use the compiled-in paths are rebuilt when they change:
# $(BUILD)/paths.stamp is rewritten (as the Makefile is read, so that
# `make -q` tells too) when they differ from the ones it holds.
PATHS_NOW := $(PLUGINDIR) $(SYSCONFDIR)
ifneq ($(PATHS_NOW),$(shell cat $(BUILD)/paths.stamp 2>/dev/null))
$(shell mkdir -p $(BUILD) && printf '%s\n' '$(PATHS_NOW)' > $(BUILD)/paths.stamp)
endif
$(BUILD)/service/core/config.o $(BUILD)/service/onloand.o $(BUILD)/service/onloan.o: $(BUILD)/paths.stamp

# The version /metrics reports (onloan_build_info): git's name for the
# checkout (VERSION= to give another). metrics.o is rebuilt when it
# changes, as with the paths above.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
ifneq ($(VERSION),$(shell cat $(BUILD)/version.stamp 2>/dev/null))
$(shell mkdir -p $(BUILD) && printf '%s\n' '$(VERSION)' > $(BUILD)/version.stamp)
endif
$(BUILD)/service/http/metrics.o: $(BUILD)/version.stamp
$(BUILD)/service/http/metrics.o: CPPFLAGS += -DONLOAN_VERSION='"$(VERSION)"'

# onloand loads plugins only from where no one but root and its own user
# can write (link.h): whatever the umask, they are built that way.
$(BUILD)/plugins/%.so: plugins/%.c
	@mkdir -p $(dir $@) && chmod go-w $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $< $(LDFLAGS) -ljansson
	@chmod go-w $@

# Fixtures of test_link: plugins the loader must refuse.
$(BUILD)/tests/unit/plugins/%.so: tests/unit/plugin_%.c
	@mkdir -p $(dir $@) && chmod go-w $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $< $(LDFLAGS)
	@chmod go-w $@

# A unit test links the archives (and the CLI's modules, for those that
# test them) and takes only what it uses; server.o for handlers' tests.
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/service/server.o $(CLI_OBJ) $(ARCHIVES)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/service/server.o $(CLI_OBJ) $(LINK_ARCHIVES) $(LDLIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -c -o $@ $<

# test_oom refuses allocations on purpose: our code's go through its wrappers.
$(BUILD)/tests/unit/test_oom: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
                                         -Wl,--wrap=strdup,--wrap=asprintf
# test_compact answers compact.c's Redis calls itself, in the order it chooses.
$(BUILD)/tests/unit/test_compact: LDFLAGS += -Wl,--wrap=redis_send,--wrap=redis_exec \
                                             -Wl,--wrap=redis_exec_sure,--wrap=redis_op_cancel

# test_redis_client makes hiredis refuse a command of a transaction.
$(BUILD)/tests/unit/test_redis_client: LDFLAGS += -Wl,--wrap=redisAsyncCommandArgv

deps:
	@bash deploy/install-deps.sh

asan:
	$(MAKE) BUILD=$(BUILD)-asan OPTFLAGS="-O1 -g -fno-omit-frame-pointer" \
	        SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

catalogue: $(BUILD)/catalogue/.built
$(BUILD)/catalogue/.built: deploy/catalogue/build.sh $(wildcard deploy/catalogue/*.py deploy/zebra/*)
	bash deploy/catalogue/build.sh $(SHARED)/data $(BUILD)/catalogue
	@touch $@

# The builds of `make test` and `make demo` use every core (a clean
# clone's three builds took 2.5 minutes one file at a time on two cores).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# Unit tests run on both builds; the integration suite on the ASan build
# (the same requests as the main build's, with every read and write
# checked); the browser tests (tests/browser) drive the main build: what
# they check is the pages and their HTTP conversation, which the ASan
# build meets in the integration suite (test_31, test_36, test_37).
# The failover test (tests/cluster, a minute) runs the ASan build's
# onloand too: a cluster of its own, its primary killed under traffic.
test: deps
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) asan
	$(MAKE) catalogue
	$(MAKE) -j$(JOBS) fuzz-build
	tests/run --shared $(SHARED) --unit-build $(BUILD) --build $(BUILD)-asan \
	          --fuzz $(FUZZ_BUILD) --fuzz-seconds $(FUZZ_TEST_SECONDS) --browser $(BUILD) \
	          --cluster $(BUILD)-asan

# A failover under traffic (issue 21): deploy/cluster/run.sh starts Redis,
# its replicas and Sentinels, two onloand and HAProxy on free loopback
# ports; the primary is killed with SIGKILL during 30 s of requests
# (tests/cluster/test_failover.py, about a minute). `make test` runs it
# too, on the ASan build (tests/run --cluster).
cluster-test: deps
	$(MAKE) all catalogue
	python3 tests/cluster/test_failover.py --build $(BUILD) --catalogue $(BUILD)/catalogue

# ---- fuzzing --------------------------------------------------------------
# `make fuzz` builds each tests/fuzz/fuzz_NAME.c harness with clang's
# libFuzzer, ASan and UBSan into $(FUZZ_BUILD)/, makes its seed corpus from
# the shared data into $(FUZZ_BUILD)/seeds/NAME/ (tests/fuzz/seeds.py) and
# runs it for FUZZ_SECONDS with tests/fuzz/NAME.dict (FUZZ_ARGS: more
# libFuzzer flags, e.g. -jobs=1, -runs=N; FUZZERS=NAME... picks some). New
# inputs go to $(FUZZ_BUILD)/corpus/NAME/, crashes to $(FUZZ_BUILD)/findings/.
# `make test` runs each one for FUZZ_TEST_SECONDS on a corpus of its own
# (tests/run).
#
# The service's folders are built again with the same instrumentation into
# archives of their own ($(FUZZ_BUILD)/libLAYER.a): a harness links them and
# takes only the modules it reaches, as the programs do. FUZZ_EXTRA_NAME
# lists objects a harness needs besides (fuzz_marc: the koha plugin, built
# in, to make an answer's links).
#
# YAZ_SRC=DIR, an unpacked YAZ release of the version Debian ships (`apt-get
# source yaz`), has YAZ itself built with the same instrumentation into
# $(FUZZ_BUILD)/yaz (FUZZ_BUILD is then build-fuzz-yaz): ASan then sees
# YAZ's own reads and libFuzzer its branches. Without it the system's libyaz is linked, and ASan sees only
# what YAZ leaves to libc (strlen, memcpy, ...).
FUZZ_BUILD        ?= build-fuzz$(if $(YAZ_SRC),-yaz)
FUZZ_SECONDS      ?= 20
FUZZ_TEST_SECONDS ?= 3
FUZZ_ARGS         ?=
FUZZ_CC           ?= clang
YAZ_SRC           ?=
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
               -Wshadow -Wstrict-prototypes -Wmissing-prototypes -pthread $(FUZZ_SAN)
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZERS     ?= $(FUZZ_NAMES)
FUZZ_BINS   := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_OBJ    := $(FUZZ_BUILD)/obj
FUZZ_ARCHIVES := $(LAYERS:%=$(FUZZ_BUILD)/lib%.a)
FUZZ_EXTRA_marc := $(FUZZ_OBJ)/plugins/koha.o
FUZZ_PKGS   := libevent hiredis jansson libsodium libelf
ifeq ($(YAZ_SRC),)
FUZZ_YAZ_CFLAGS := $(shell pkg-config --cflags yaz 2>/dev/null)
FUZZ_YAZ_LIBS   := $(shell pkg-config --libs yaz 2>/dev/null)
FUZZ_YAZ_LIB    :=
else
FUZZ_YAZ        := $(FUZZ_BUILD)/yaz
FUZZ_YAZ_LIB    := $(FUZZ_YAZ)/src/.libs/libyaz.a
FUZZ_YAZ_CFLAGS := -DYAZ_POSIX_THREADS=1 -DYAZ_HAVE_XML2=1 -I$(FUZZ_YAZ)/include \
                   $(shell pkg-config --cflags libxml-2.0 2>/dev/null)
FUZZ_YAZ_LIBS   := $(FUZZ_YAZ_LIB) $(shell pkg-config --libs libxml-2.0 2>/dev/null) -lpthread -lm
endif
FUZZ_CPPFLAGS := -Iservice -Iplugins $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null) \
                 $(FUZZ_YAZ_CFLAGS) -MMD -MP
FUZZ_LIBS     := $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null) -levent_core $(FUZZ_YAZ_LIBS) \
                 -ldl -lm

fuzz-build: $(FUZZ_BINS) $(FUZZ_NAMES:%=$(FUZZ_BUILD)/seeds/%/.made)

fuzz: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/findings
	@set -e; for n in $(FUZZERS); do f=$(FUZZ_BUILD)/fuzz_$$n; mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	    echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -dict=tests/fuzz/$$n.dict \
	        -artifact_prefix=$(FUZZ_BUILD)/findings/$$n- $(FUZZ_ARGS) \
	        $(FUZZ_BUILD)/corpus/$$n $(FUZZ_BUILD)/seeds/$$n; done

# Everything the fuzzers compile, with coverage for libFuzzer (the harness
# itself too: -fsanitize=fuzzer-no-link instruments, the link adds the driver).
$(FUZZ_OBJ)/%.o: %.c | $(FUZZ_YAZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_CPPFLAGS) -c -o $@ $<

define fuzz_archive
$(FUZZ_BUILD)/lib$(1).a: $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(wildcard service/$(1)/*.c))
	@rm -f $$@
	$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call fuzz_archive,$(l))))

.SECONDEXPANSION:
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_OBJ)/tests/fuzz/fuzz_%.o $$(FUZZ_EXTRA_$$*) $(FUZZ_ARCHIVES) $(FUZZ_YAZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_EXTRA_$*) \
	    -Wl,--start-group $(FUZZ_ARCHIVES) -Wl,--end-group $(FUZZ_LIBS)

$(FUZZ_BUILD)/seeds/%/.made: tests/fuzz/seeds.py
	python3 tests/fuzz/seeds.py $* $(SHARED)/data $(dir $@)
	@touch $@

ifneq ($(YAZ_SRC),)
$(FUZZ_YAZ_LIB): | $(YAZ_SRC)/configure
	rm -rf $(FUZZ_YAZ) && mkdir -p $(FUZZ_BUILD) && cp -a $(YAZ_SRC) $(FUZZ_YAZ)
	cd $(FUZZ_YAZ) && ./configure -q CC=$(FUZZ_CC) --disable-shared --without-gnutls \
	    --without-icu --without-xslt --without-exslt --without-redis --without-memcached \
	    CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined"
	$(MAKE) -C $(FUZZ_YAZ)/src libyaz.la
endif

# Offline evaluation (docs/evaluation.md) on the shared MovieLens ratings
# and the Shakespeare and Company loans, read in place: each with its
# titles (made into $(BUILD)/eval/ by deploy/eval/make_titles.py), so that
# the served answer is measured too; Shakespeare and Company also with
# min_patrons 2, and with co-occurring titles first (EVAL_ORDER_COOC; the
# default order puts the same author's first).
# onloan eval starts its own Redis, Zebra and onloand.
EVAL_DATA := $(SHARED)/data
EVAL_RUN  := $(BUILD)/onloan -c config/onloan.json eval
EVAL_ORDER_COOC := also_borrowed,same_author,same_subject,popular
$(BUILD)/eval/%-titles.csv: deploy/eval/make_titles.py
	@mkdir -p $(dir $@)
	python3 deploy/eval/make_titles.py $(if $(filter movielens,$*),movielens \
	    $(EVAL_DATA)/movielens-latest-small/movies.csv f,shakespeare \
	    $(EVAL_DATA)/shakespeare-and-co/books.csv) $@
eval: deps
	$(MAKE) $(BUILD)/onloan $(BUILD)/onloand $(PLUGINS) $(BUILD)/eval/movielens-titles.csv \
	        $(BUILD)/eval/shakespeare-titles.csv
	$(EVAL_RUN) --titles $(BUILD)/eval/movielens-titles.csv \
	    $(EVAL_DATA)/movielens-latest-small/ratings.csv
	$(EVAL_RUN) --titles $(BUILD)/eval/shakespeare-titles.csv \
	    $(EVAL_DATA)/shakespeare-and-co/loans.csv
	$(EVAL_RUN) --min-patrons 2 --titles $(BUILD)/eval/shakespeare-titles.csv \
	    $(EVAL_DATA)/shakespeare-and-co/loans.csv
	$(EVAL_RUN) --order $(EVAL_ORDER_COOC) --titles $(BUILD)/eval/shakespeare-titles.csv \
	    $(EVAL_DATA)/shakespeare-and-co/loans.csv

bench: deps
	$(MAKE) all catalogue
	tests/bench/run --build build --shared $(SHARED)

demo: deps
	$(MAKE) -j$(JOBS) all
	$(MAKE) catalogue
	bash deploy/demo.sh $(BUILD) $(SHARED)

# The programs, the plugins where onloand looks for them, the man pages,
# the systemd unit and, unless there is one already, the example config
# (deploy/systemd/onloan.json: its secrets are the unit's credentials,
# kept in $(SYSCONFDIR)/onloan/credentials/). Paths in the unit and the man
# pages are the ones of this install.
INSTALL_PATHS := -e 's|/usr/local/lib/onloan/plugins|$(PLUGINDIR)|g' \
                 -e 's|/usr/local/bin|$(BINDIR)|g' -e 's|/etc/onloan|$(SYSCONFDIR)/onloan|g'
install: $(BUILD)/onloand $(BUILD)/onloan $(PLUGINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(UNITDIR) \
	           $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/onloan
	install -d -m 700 $(DESTDIR)$(SYSCONFDIR)/onloan/credentials
	install -m 755 $(BUILD)/onloand $(BUILD)/onloan $(DESTDIR)$(BINDIR)/
	install -m 644 $(PLUGINS) $(DESTDIR)$(PLUGINDIR)/
	sed $(INSTALL_PATHS) deploy/systemd/onloand.service > $(DESTDIR)$(UNITDIR)/onloand.service
	sed $(INSTALL_PATHS) docs/man/onloand.8 > $(DESTDIR)$(MANDIR)/man8/onloand.8
	sed $(INSTALL_PATHS) docs/man/onloan.1 > $(DESTDIR)$(MANDIR)/man1/onloan.1
	chmod 644 $(DESTDIR)$(UNITDIR)/onloand.service $(DESTDIR)$(MANDIR)/man8/onloand.8 \
	          $(DESTDIR)$(MANDIR)/man1/onloan.1
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/onloan/onloan.json ]; then \
	    echo "install: $(DESTDIR)$(SYSCONFDIR)/onloan/onloan.json is there: kept"; \
	else \
	    echo "install -m 644 deploy/systemd/onloan.json $(DESTDIR)$(SYSCONFDIR)/onloan/onloan.json"; \
	    install -m 644 deploy/systemd/onloan.json $(DESTDIR)$(SYSCONFDIR)/onloan/onloan.json; \
	fi

# This build, its ASan twin (`make asan` builds $(BUILD)-asan) and the
# fuzzers' (with their corpus: keep it by moving it away first).
clean:
	rm -rf $(BUILD) $(BUILD)-asan build-fuzz build-fuzz-yaz

-include $(wildcard $(BUILD)/service/*.d $(BUILD)/service/*/*.d $(BUILD)/tests/unit/*.d)
-include $(wildcard $(FUZZ_OBJ)/service/*/*.d $(FUZZ_OBJ)/tests/fuzz/*.d $(FUZZ_OBJ)/plugins/*.d)
