# mni: build, test, bench, demo.  `make help` lists the targets.
#
# Layout: rules/ is the pure rule core (no I/O, no dependencies) built into libmni_core.a;
# lib/*/ is the shared plumbing in subsystem folders (lib/README.md: base, serdes, kafka, pg,
# model, runtime) built into libmni_lib.a; notify/render/ renders the documents (notify and
# `mni report`/`mni web` link libmni_render.a); cli/ is the `mni` tool; ingest/ assess/ notify/
# are the three workers;
# devenv/ is the embedded default (mock Kafka cluster); tests/unit and tests/integration are
# cmocka suites; bench/ holds the benchmarks.
#
# SAN=1 builds everything with AddressSanitizer and UndefinedBehaviorSanitizer into build/san
# (what `make test` and CI use); the default build goes to build/rel with binaries in bin/.

SAN ?= 0
FUZZ ?= 0
CC ?= gcc
ifeq ($(FUZZ),1)
  # libFuzzer targets (tests/fuzz): clang, coverage for the fuzzer, ASan+UBSan, into build/fuzz.
  CC := clang
  BUILD := build/fuzz
  BIN := build/fuzz/bin
  OPT := -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else ifeq ($(SAN),1)
  BUILD := build/san
  BIN := build/san/bin
  OPT := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
  BUILD := build/rel
  BIN := bin
  OPT := -O2
endif

PKGS := rdkafka avro-c libpq jansson libcrypto libmicrohttpd libcurl
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
CFLAGS := -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -I. $(EXTRA_CFLAGS)
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEP_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
LDFLAGS := $(OPT)

CORE_SRC := $(wildcard rules/*.c)
LIB_SRC := $(wildcard lib/*/*.c)
RENDER_SRC := $(wildcard notify/render/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
RENDER_OBJ := $(RENDER_SRC:%.c=$(BUILD)/%.o)
CORE_LIB := $(BUILD)/libmni_core.a
LIB_LIB := $(BUILD)/libmni_lib.a
RENDER_LIB := $(BUILD)/libmni_render.a
LIBS := $(RENDER_LIB) $(LIB_LIB) $(CORE_LIB)

# Each program is the .c files of one folder.
PROGRAMS := mni:cli mni-ingest:ingest mni-assess:assess mni-notify:notify mni-mockbroker:devenv
prog_name = $(word 1,$(subst :, ,$(1)))
prog_dir = $(word 2,$(subst :, ,$(1)))
BINARIES := $(foreach p,$(PROGRAMS),$(if $(wildcard $(call prog_dir,$(p))/*.c),$(BIN)/$(call prog_name,$(p))))

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/test_*.c))
TEST_SUPPORT := $(wildcard tests/support/*.c)
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/bench_*.c))

.PHONY: all deps test test-under-load test-build unit integration faults bench bench-quick demo env-up env-down clean help format
all: deps-check $(BINARIES)

help:
	@echo "make            build bin/ (release)"
	@echo "make demo       install what is missing, start the embedded Kafka + PostgreSQL, run the scenario"
	@echo "make test       install what is missing, build with ASan+UBSan, run unit and integration tests"
	@echo "make test-under-load  the whole suite 3 times in a row (ROUNDS=N) with every core kept busy"
	@echo "make unit       unit tests only (no services)"
	@echo "make faults     the pipeline under faults against an undisturbed run, full version (minutes;"
	@echo "                make test runs a short one); MNI_FAULTS_SEED=N repeats a run"
	@echo "make fuzz       each libFuzzer target (tests/fuzz) for 60 s (MNI_FUZZ_SECONDS); make test runs them 15 s each"
	@echo "make bench      benchmarks (release build): rule core and the pipeline end to end"
	@echo "make bench-quick  the same at a tenth of the size (MNI_BENCH_SCALE=0.1)"
	@echo "make deps       install the Debian packages the build needs (make test adds the test-only ones)"
	@echo "make clean      remove build/ and bin/"

deps:
	@scripts/install-deps.sh

# What only the tests need besides (a headless browser for the web pages, curl).
deps-test:
	@scripts/install-deps.sh --test
.PHONY: deps-test

# Fails early with a readable message instead of a wall of missing-header errors.
deps-check:
	@pkg-config --exists $(PKGS) cmocka || { echo "missing libraries: run 'make deps' (or scripts/install-deps.sh)" >&2; exit 1; }
.PHONY: deps-check

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(RENDER_LIB): $(RENDER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

define program_rule
$(BIN)/$(call prog_name,$(1)): $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(call prog_dir,$(1))/*.c)) $(LIBS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBS) $$(DEP_LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

# The workers' modules (all but each main.c) form an archive the unit tests and the benchmarks
# link, so the pure parts of a worker (the assess fold, notify's webhook backoff, ingest's
# validation) are tested and measured directly.
WORKER_LIB := $(BUILD)/libmni_workers.a
WORKER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out %/main.c,$(wildcard ingest/*.c assess/*.c notify/*.c)))
$(WORKER_LIB): $(WORKER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(TEST_SUPPORT) $(WORKER_LIB) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< $(TEST_SUPPORT) $(WORKER_LIB) $(LIBS) $(DEP_LIBS) -lcmocka

# Integration tests link the workers' modules too: test_batch_reads runs their reads directly.
$(BUILD)/tests/%: tests/integration/%.c $(TEST_SUPPORT) $(WORKER_LIB) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< $(TEST_SUPPORT) $(WORKER_LIB) $(LIBS) $(DEP_LIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(WORKER_LIB) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< $(WORKER_LIB) $(LIBS) $(DEP_LIBS)

# libFuzzer targets (tests/fuzz/README.md), one per tests/fuzz/fuzz_*.c, and the program that
# writes their seed corpora; only in the clang build (FUZZ=1, build/fuzz).
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
ifeq ($(FUZZ),1)
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(LIB_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_LIB) $(CORE_LIB) $(DEP_LIBS)

$(BUILD)/fuzz/make_seeds: tests/fuzz/make_seeds.c $(LIB_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< $(LIB_LIB) $(CORE_LIB) $(DEP_LIBS)
endif
fuzz-targets: $(FUZZ_TARGETS) $(BUILD)/fuzz/make_seeds
.PHONY: fuzz-targets

build-tests: $(BINARIES) $(UNIT_TESTS) $(INTEGRATION_TESTS)
.PHONY: build-tests

# The test command of README.md: installs what is missing, builds with sanitizers, runs all.
test: test-build
	@scripts/run-tests.sh build/san all

# The whole suite three times in a row while busy processes keep every core busy (ROUNDS=N).
test-under-load: test-build
	@scripts/test-under-load.sh $${ROUNDS:-3}

# What the suite runs: the include order checked, the sanitizer build with its tests, the fuzz
# targets, and the release programs the deploy checks call.
test-build: deps-test
	@scripts/check-includes.sh
	@$(MAKE) --no-print-directory SAN=1 build-tests
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-targets
	@$(MAKE) --no-print-directory SAN=0 all

# Each fuzz target for a while (MNI_FUZZ_SECONDS, 60 s each); make test runs them 15 s each.
# fuzz-merge adds what the last `make fuzz` found (new coverage, minimised) to the corpora;
# fuzz-seeds writes the seed inputs again from tests/data.
fuzz: deps-test fuzz-build
	@MNI_FUZZ_SECONDS=$${MNI_FUZZ_SECONDS:-60} MNI_FUZZ_KEEP=1 scripts/fuzz.sh

fuzz-build: deps-check
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-targets

fuzz-merge: fuzz-build
	@scripts/fuzz.sh --merge

fuzz-seeds: fuzz-build
	@ASAN_OPTIONS=detect_leaks=1 build/fuzz/fuzz/make_seeds
.PHONY: fuzz fuzz-build fuzz-merge fuzz-seeds

unit: deps-check
	@$(MAKE) --no-print-directory SAN=1 build-tests
	@scripts/run-tests.sh build/san unit

# The release binaries too: test_valgrind runs them under memcheck (valgrind and ASan do not mix).
integration: deps-check
	@$(MAKE) --no-print-directory SAN=1 build-tests
	@$(MAKE) --no-print-directory SAN=0 all
	@scripts/run-tests.sh build/san integration

# tests/integration/test_faults.c at full length (make test runs it short): kills, PostgreSQL
# restarts, broker outages and rebalances against an undisturbed run of the same stream.
faults: deps-check
	@$(MAKE) --no-print-directory SAN=1 build-tests
	@MNI_FAULTS=full scripts/run-tests.sh build/san faults

# The rule core in C, then the pipeline end to end (bench/run.py, bench/README.md); the Python
# baseline's packages are installed by install-deps.sh --bench. bench-quick: a tenth of each.
bench: deps
	@scripts/install-deps.sh --bench
	@$(MAKE) --no-print-directory SAN=0 all $(patsubst bench/%.c,build/rel/bench/%,$(wildcard bench/bench_*.c))
	@scripts/bench.sh

bench-quick:
	@MNI_BENCH_SCALE=$${MNI_BENCH_SCALE:-0.1} $(MAKE) --no-print-directory bench

demo: deps
	@$(MAKE) --no-print-directory SAN=0 all
	@scripts/demo.sh

format:
	clang-format -i $(wildcard rules/*.[ch] lib/*/*.[ch] notify/render/*.[ch] cli/*.[ch] ingest/*.[ch] assess/*.[ch] notify/*.[ch] devenv/*.[ch] tests/*/*.[ch] bench/*.[ch])

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
