# Haven's build. Make, because DESIGN.md's contracts are `make run` and `make test`, the
# tree is small, and plain GNU Make needs nothing beyond what Debian 12 ships with gcc.
# Sources are found by wildcard: a new file under src/<module>/ is built without editing
# this file. Test files under tests/unit/ and tests/api/ are linked into one runner.
#
#   make            build build/haven (optimised, warnings are errors)
#   make run        install missing packages (as root), build, serve on 127.0.0.1:8080
#   make test       install missing packages, build the ASan+UBSan test build, run everything
#   make fuzz       build the libFuzzer targets (clang) into build/fuzz/

CC      ?= gcc
PKGS    := libmicrohttpd sqlite3 libpq libsodium jansson libcurl
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter -Wformat=2 -Wvla -Wpointer-arith
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS_ALL := -D_GNU_SOURCE -Iinclude -Isrc $(PKG_CFLAGS)
CFLAGS_REL   := -std=c11 -O2 -g -pthread $(WARN)
CFLAGS_SAN   := -std=c11 -O1 -g -pthread $(WARN) -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
LIBS := $(PKG_LIBS) -lpthread -lm

SRC      := $(sort $(wildcard src/*/*.c))
LIB_SRC  := $(filter-out src/cli/main.c,$(SRC))
TEST_SRC := $(sort $(wildcard tests/unit/*/*.c tests/api/*.c)) tests/runner.c
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

REL_OBJ  := $(SRC:%.c=build/obj/%.o)
SAN_OBJ  := $(SRC:%.c=build/asan/obj/%.o)
SAN_LIB  := $(LIB_SRC:%.c=build/asan/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=build/asan/obj/%.o)

.PHONY: all run test deps check-build fuzz clean bench format

all: build/haven

build/haven: $(REL_OBJ)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LIBS)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_REL) -MMD -MP -c -o $@ $<

build/asan/haven: $(SAN_OBJ)
	$(CC) $(CFLAGS_SAN) -o $@ $^ $(LIBS)

build/asan/haven-tests: $(SAN_LIB) $(TEST_OBJ)
	$(CC) $(CFLAGS_SAN) -o $@ $^ $(LIBS) -lcurl

build/asan/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) -Itests $(CFLAGS_SAN) -MMD -MP -c -o $@ $<

build/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_SAN) -MMD -MP -c -o $@ $<

# libFuzzer targets: clang, ASan, linked against every library source.
FUZZ_CFLAGS := -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -pthread
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS_ALL) -Itests $(FUZZ_CFLAGS) -o $@ $^ $(LIBS)

fuzz: $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

# Benchmarks: bench/<name>.c becomes build/bench/<name>, linked with the optimised library
# objects. Run by hand; results go in bench/README.md.
BENCH_SRC := $(sort $(wildcard bench/*.c))
REL_LIB   := $(LIB_SRC:%.c=build/obj/%.o)
build/bench/%: bench/%.c $(REL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_REL) -o $@ $^ $(LIBS)

bench: $(BENCH_SRC:bench/%.c=build/bench/%)

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build/haven
	@mkdir -p var
	build/haven serve --db sqlite:var/haven.db --listen 127.0.0.1:8080

check-build: build/haven build/asan/haven build/asan/haven-tests

test: deps
	@$(MAKE) --no-print-directory -j2 check-build
	@$(MAKE) --no-print-directory fuzz
	@tests/run.sh

format:
	clang-format -i $(SRC) $(wildcard src/*/*.h)

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
