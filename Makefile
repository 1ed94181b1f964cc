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
#   http/       the HTTP face: routes, parameters, handlers, answers
#   cli/        the onloan tool's commands

SHARED   ?= ../shared
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
SANITIZE ?=

PKGS        := libevent hiredis jansson libsodium yaz
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPTFLAGS ?= -O2 -g
CFLAGS   := $(OPTFLAGS) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
            -Wshadow -Wstrict-prototypes -Wmissing-prototypes -fPIC $(SANITIZE)
CPPFLAGS += -Iservice -Iplugins $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -levent_core -ldl -lm
LDFLAGS  += $(SANITIZE)

LAYERS   := http ingest model catalogue redis core
ARCHIVES := $(LAYERS:%=$(BUILD)/lib%.a)
CLI_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard service/cli/*.c))
PLUGINS  := $(BUILD)/plugins/koha.so $(BUILD)/plugins/template.so
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c)) \
              $(BUILD)/tests/unit/plugins/badabi.so
# Archives that may need each other are searched as a group.
LINK_ARCHIVES = -Wl,--start-group $(ARCHIVES) -Wl,--end-group

.PHONY: all deps test bench eval demo catalogue asan install clean
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

$(BUILD)/onloand: $(BUILD)/service/onloand.o $(BUILD)/service/server.o $(ARCHIVES)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $(filter %.o,$^) $(LINK_ARCHIVES) $(LDLIBS)

$(BUILD)/onloan: $(BUILD)/service/onloan.o $(CLI_OBJ) $(ARCHIVES)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_ARCHIVES) $(LDLIBS)

$(BUILD)/plugins/%.so: plugins/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $< $(LDFLAGS) -ljansson

$(BUILD)/tests/unit/plugins/badabi.so: tests/unit/plugin_badabi.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $< $(LDFLAGS)

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

test: deps
	$(MAKE) all
	$(MAKE) asan
	$(MAKE) catalogue
	tests/run --shared $(SHARED) --build $(BUILD) --build $(BUILD)-asan

# Offline evaluation on the shared MovieLens ratings (onloan eval starts a
# Redis of its own); the protocol is in docs/evaluation.md.
eval: deps
	$(MAKE) $(BUILD)/onloan
	$(BUILD)/onloan -c config/onloan.json eval $(SHARED)/data/movielens-latest-small/ratings.csv

bench: deps
	$(MAKE) all catalogue
	tests/bench/run --build build --shared $(SHARED)

demo: deps
	$(MAKE) all catalogue
	bash deploy/demo.sh $(BUILD) $(SHARED)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/onloan/plugins
	install -m 755 $(BUILD)/onloand $(BUILD)/onloan $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(PLUGINS) $(DESTDIR)$(PREFIX)/lib/onloan/plugins/

# This build and its ASan twin (`make asan` builds $(BUILD)-asan).
clean:
	rm -rf $(BUILD) $(BUILD)-asan

-include $(wildcard $(BUILD)/service/*.d $(BUILD)/service/*/*.d $(BUILD)/tests/unit/*.d)
