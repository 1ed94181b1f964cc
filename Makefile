# onloan: plain Makefile. `make` builds build/onloand, build/onloan and the
# plugins; `make test` and `make demo` install what is missing first.

SHARED   ?= ../shared
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
SANITIZE ?=

PKGS     := libevent hiredis jansson libsodium yaz
OPTFLAGS ?= -O2 -g
CFLAGS   := $(OPTFLAGS) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
            -Wshadow -Wstrict-prototypes -Wmissing-prototypes -fPIC $(SANITIZE)
CPPFLAGS += -Iservice -Iplugins $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -levent_core -ldl -lm
LDFLAGS  += $(SANITIZE)

# Modules shared by the daemon, the CLI and the unit tests.
CORE_SRC := service/strbuf.c service/log.c service/dict.c service/config.c \
            service/pseudo.c service/holdings.c service/plugin.c \
            service/recommend.c service/params.c service/csv.c service/messages.c \
            service/names.c service/pairs.c service/history.c service/cooc.c service/score.c service/event.c
MODEL_SRC := service/store.c service/model.c service/ingest.c service/compact.c service/ttl_cache.c
DAEMON_SRC := $(MODEL_SRC) service/work_queue.c service/catalogue.c service/answers.c service/forget_feed.c service/touchpoint.c \
              service/alternatives.c service/loans.c service/http.c service/server.c
CLI_SRC  := service/batch.c service/eval.c service/redis_child.c

CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/%.o)
MODEL_OBJ  := $(MODEL_SRC:%.c=$(BUILD)/%.o)
PLUGINS    := $(BUILD)/plugins/koha.so $(BUILD)/plugins/template.so
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c)) \
              $(BUILD)/tests/unit/plugins/badabi.so

.PHONY: all deps test unit bench eval demo catalogue asan install clean
all: $(BUILD)/onloand $(BUILD)/onloan $(PLUGINS) $(UNIT_TESTS)

$(BUILD)/%.o: %.c $(wildcard service/*.h plugins/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/onloand: $(BUILD)/service/main.o $(DAEMON_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(LDLIBS)

$(BUILD)/onloan: $(BUILD)/service/cli.o $(CLI_OBJ) $(MODEL_OBJ) $(CORE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/plugins/%.so: plugins/%.c plugins/onloan_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $< $(LDFLAGS) -ljansson

$(BUILD)/tests/unit/plugins/badabi.so: tests/unit/plugin_badabi.c plugins/onloan_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $< $(LDFLAGS)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/unit.h $(CORE_OBJ) $(DAEMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_EXTRA_OBJ) $(CORE_OBJ) $(DAEMON_OBJ) $(LDLIBS)

# test_oom refuses allocations on purpose: our code's go through its wrappers.
$(BUILD)/tests/unit/test_oom: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
                                         -Wl,--wrap=strdup,--wrap=asprintf
# test_compact answers compact.c's Redis calls itself, in the order it chooses.
$(BUILD)/tests/unit/test_compact: LDFLAGS += -Wl,--wrap=store_send,--wrap=store_exec \
                                             -Wl,--wrap=store_exec_sure,--wrap=store_op_cancel

# test_redis_child starts and stops a real redis-server through the CLI's module.
$(BUILD)/tests/unit/test_redis_child: UNIT_EXTRA_OBJ := $(BUILD)/service/redis_child.o
$(BUILD)/tests/unit/test_redis_child: $(BUILD)/service/redis_child.o

deps:
	@bash deploy/install-deps.sh

asan:
	$(MAKE) BUILD=build-asan OPTFLAGS="-O1 -g -fno-omit-frame-pointer" \
	        SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

catalogue: $(BUILD)/catalogue/.built
$(BUILD)/catalogue/.built: deploy/catalogue/build.sh $(wildcard deploy/catalogue/*.py deploy/zebra/*)
	bash deploy/catalogue/build.sh $(SHARED)/data $(BUILD)/catalogue
	@touch $@

test: deps
	$(MAKE) all
	$(MAKE) asan
	$(MAKE) catalogue
	tests/run --shared $(SHARED) --build build --build build-asan

# Offline evaluation on the shared MovieLens ratings (onloan eval starts a
# Redis of its own); the protocol is in README.md.
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

clean:
	rm -rf build build-asan
