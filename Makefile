# claimfs build. Plain and readable on purpose (after redis' src/Makefile):
#   make                 build ./claimfs
#   make check           install missing packages, build, run every test family (unit,
#                        mount tests, sanitizers and valgrind, fuzzers for 10 s each);
#                        ends with "N passed, N failed" over all of them
#   make quick-check     unit suites and mount tests only (QUICK=1)
#   make run [MNT=dir]   mount the embedded default cluster on ./mnt in the foreground
#   make install         PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined check    everything built with sanitizers (the daemon
#                        is then build-address-undefined/claimfs; ./claimfs is untouched)
#   make valgrind        unit tests under valgrind
#   make sanitize-check  ASan+UBSan, TSan and valgrind variants only
#   make crash-long / stress-long   the long crash (200 cycles) and stress (10 min) runs
#   make bench           the benchmark (not a test)
PREFIX ?= /usr/local
DESTDIR ?=
MNT ?= ./mnt
CC ?= cc
OPT ?= -O2 -g
SANITIZE ?=
WERROR ?=

PKGS := fuse3 yaml-0.1 jansson
CORE_PKGS := yaml-0.1 jansson
WARN := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings -fno-common -Wno-unused-parameter
CFLAGS_ALL := -std=gnu11 $(OPT) $(WARN) $(WERROR) -Iinclude -D_GNU_SOURCE -MMD -MP -pthread
ifneq ($(SANITIZE),)
CFLAGS_ALL += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS_ALL += -fsanitize=$(SANITIZE)
ifneq ($(findstring undefined,$(SANITIZE)),)
CFLAGS_ALL += -fno-sanitize-recover=undefined
endif
endif
comma := ,
BUILD := build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))
# The daemon: ./claimfs, or next to its objects for a sanitizer build.
DAEMON := $(if $(SANITIZE),$(BUILD)/claimfs,claimfs)

pc = $(shell pkg-config --cflags $(1) 2>/dev/null)
pl = $(shell pkg-config --libs $(1) 2>/dev/null)

CORE_SRC := $(wildcard src/core/*.c src/manifest/*.c src/controllers/*.c src/tree/*.c src/volume/*.c)
FS_SRC := $(wildcard src/fs/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
FS_OBJ := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(DAEMON)

$(BUILD)/src/fs/%.o: src/fs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call pc,$(PKGS)) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call pc,$(CORE_PKGS)) $(CFLAGS) -c $< -o $@

$(BUILD)/libclaimfs-core.a: $(CORE_OBJ)
	rm -f $@; ar rcs $@ $^

$(DAEMON): $(FS_OBJ) $(BUILD)/libclaimfs-core.a
	$(CC) $(LDFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(call pl,$(PKGS)) -pthread

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libclaimfs-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call pc,$(CORE_PKGS) check) $(CFLAGS) -o $@ $< $(BUILD)/libclaimfs-core.a $(LDFLAGS_ALL) $(call pl,$(CORE_PKGS) check) -pthread

unit: $(UNIT_BIN)

deps:
	@sh scripts/install-deps.sh

NPROC := $(shell nproc 2>/dev/null || echo 2)

check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(DAEMON) unit
	@BUILD=$(BUILD) CLAIMFS=./$(DAEMON) QUICK=$(if $(SANITIZE),1,$(QUICK)) sh scripts/run-tests.sh

quick-check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) $(DAEMON) unit
	@BUILD=$(BUILD) CLAIMFS=./$(DAEMON) QUICK=1 sh scripts/run-tests.sh

unit-check: unit
	@BUILD=$(BUILD) ONLY=unit sh scripts/run-tests.sh

sanitize-check:
	@sh scripts/sanitize-check.sh

# The benchmark (scripts/bench.sh): builds with optimisation into build-bench/, prints
# figures against the targets and writes bench.json. Not a test: CI does not run it.
bench:
	@sh scripts/bench.sh

crash-long: $(DAEMON)
	CRASH_CYCLES=200 CLAIMFS=./$(DAEMON) bash tests/integration/test_crash.sh

stress-long: $(DAEMON)
	STRESS_SECONDS=600 CLAIMFS=./$(DAEMON) bash tests/integration/test_stress.sh

valgrind: unit
	@BUILD=$(BUILD) ONLY=unit VALGRIND=1 sh scripts/run-tests.sh

run: $(DAEMON)
	@mkdir -p $(MNT)
	./$(DAEMON) -f $(MNT)

install: $(DAEMON)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 claimfs $(DESTDIR)$(PREFIX)/bin/claimfs

format:
	clang-format -i $$(find src include tests -name '*.[ch]')

clean:
	rm -rf build build-* claimfs

.PHONY: all unit deps check quick-check unit-check valgrind sanitize-check bench crash-long \
	stress-long run install format clean
-include $(CORE_OBJ:.o=.d) $(FS_OBJ:.o=.d) $(UNIT_BIN:=.d)

# Fuzzing (libFuzzer: clang and libclang-rt-14-dev, installed through install-deps):
#   make fuzz [FUZZ_SECONDS=60]   each target of tests/fuzz for FUZZ_SECONDS
#   make fuzz-ci                  each for 10 s; ends with "N passed, N failed"
# The core is compiled again with the sanitizers into build-fuzz/; seeds are tests/data
# (good manifests and the bad corpus); findings go to build-fuzz/artifacts/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g $(FUZZ_SAN) $(WARN) -Iinclude -D_GNU_SOURCE -MMD -MP -pthread
FUZZ_NAMES := fuzz_manifest fuzz_quantity fuzz_apply fuzz_snapshot
FUZZ_BIN := $(FUZZ_NAMES:%=$(FUZZ)/%)
FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(FUZZ)/%.o)

$(FUZZ_CORE_OBJ): $(FUZZ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(call pc,$(CORE_PKGS)) -c $< -o $@

$(FUZZ_BIN): $(FUZZ)/%: tests/fuzz/%.c $(FUZZ_CORE_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(call pc,$(CORE_PKGS)) -o $@ $< $(FUZZ_CORE_OBJ) $(call pl,$(CORE_PKGS)) -pthread

fuzz-build:
	@CLAIMFS_EXTRA_PKGS="clang libclang-rt-14-dev" sh scripts/install-deps.sh
	@$(MAKE) --no-print-directory -s -j$(NPROC) $(FUZZ_BIN)

# Each target runs from a private working corpus seeded by tests/data (quantities get a
# few strings of their own); a crash, a leak or a failed invariant fails the target.
fuzz: fuzz-build
	@pass=0; fail=0; mkdir -p $(FUZZ)/artifacts; \
	for t in $(FUZZ_NAMES); do \
		work=$(FUZZ)/corpus/$$t; mkdir -p $$work; \
		if [ $$t = fuzz_quantity ]; then seeds=$(FUZZ)/seeds-quantity; max=128; mkdir -p $$seeds; \
			for q in 1Gi 1.5Gi 100m 1e3 .001Ki -5Gi 9223372036854775807 8Ei 0.1 1E-9 +12n 5.; do \
				printf '%s' "$$q" > "$$seeds/$$q"; done; \
		elif [ $$t = fuzz_snapshot ]; then seeds=$(FUZZ)/seeds-snapshot; max=65536; mkdir -p $$seeds; \
			printf 'x%s' '1,2,3' > $$seeds/numbers; printf '\001%s' '1,2,3' > $$seeds/numbers-lead; \
			printf 'x%s' '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"default","resourceVersion":"7"},"data":{"k":"v\u00e9"}}' > $$seeds/object; \
			printf '\001%s' '{"a":[1,{"b":null,"c":1.5e3}]},"x",true' > $$seeds/nested-lead; \
			printf '\001%s' '1]},"rv":2,"objects":[' > $$seeds/objects-twice-lead; \
			printf 'x%s' '1]},"gen":2,"x":{"y":[' > $$seeds/gen-twice; \
		else seeds=tests/data; max=65536; fi; \
		echo "$$t: $(FUZZ_SECONDS) s"; \
		if ./$(FUZZ)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=4096 \
			-max_len=$$max -print_final_stats=1 -artifact_prefix=$(FUZZ)/artifacts/$$t- \
			$$work $$seeds > $(FUZZ)/$$t.log 2>&1; then \
			pass=$$((pass + 1)); echo "ok   $$t: $$(grep -E '^stat::number_of_executed_units' $(FUZZ)/$$t.log | sed 's/.*: *//') runs"; \
		else \
			fail=$$((fail + 1)); echo "FAIL $$t (log: $(FUZZ)/$$t.log)"; \
			grep -E 'ERROR|SUMMARY|fuzz_[a-z]+:|Test unit written' $(FUZZ)/$$t.log | head -8; \
		fi; \
	done; \
	echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

.PHONY: fuzz fuzz-ci fuzz-build
-include $(FUZZ_CORE_OBJ:.o=.d)
