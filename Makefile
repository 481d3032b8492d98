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
CC ?= gcc
ifeq ($(SAN),1)
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

.PHONY: all deps test unit integration faults bench bench-quick demo env-up env-down clean help format
all: deps-check $(BINARIES)

help:
	@echo "make            build bin/ (release)"
	@echo "make demo       install what is missing, start the embedded Kafka + PostgreSQL, run the scenario"
	@echo "make test       install what is missing, build with ASan+UBSan, run unit and integration tests"
	@echo "make unit       unit tests only (no services)"
	@echo "make faults     the pipeline under faults against an undisturbed run, full version (minutes;"
	@echo "                make test runs a short one); MNI_FAULTS_SEED=N repeats a run"
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

# A worker's modules (all but its main.c) form an archive the unit tests link, so the pure
# parts of a worker (the assess fold, notify's webhook backoff) are tested directly.
WORKER_LIB := $(BUILD)/libmni_workers.a
WORKER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out %/main.c,$(wildcard assess/*.c notify/*.c)))
$(WORKER_LIB): $(WORKER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(TEST_SUPPORT) $(WORKER_LIB) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< $(TEST_SUPPORT) $(WORKER_LIB) $(LIBS) $(DEP_LIBS) -lcmocka

$(BUILD)/tests/%: tests/integration/%.c $(TEST_SUPPORT) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< $(TEST_SUPPORT) $(LIBS) $(DEP_LIBS) -lcmocka

# Benchmarks may measure a worker's own modules (everything of assess/ but its main).
BENCH_WORKER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(filter-out %/main.c,$(wildcard assess/*.c)))
$(BUILD)/bench/%: bench/%.c $(BENCH_WORKER_OBJ) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $< $(BENCH_WORKER_OBJ) $(LIBS) $(DEP_LIBS)

build-tests: $(BINARIES) $(UNIT_TESTS) $(INTEGRATION_TESTS)
.PHONY: build-tests

# The test command of README.md: installs what is missing, builds with sanitizers, runs all.
test: deps-test
	@scripts/check-includes.sh
	@$(MAKE) --no-print-directory SAN=1 build-tests
	@scripts/run-tests.sh build/san all

unit: deps-check
	@$(MAKE) --no-print-directory SAN=1 build-tests
	@scripts/run-tests.sh build/san unit

integration: deps-check
	@$(MAKE) --no-print-directory SAN=1 build-tests
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
