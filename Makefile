# claimfs build. Plain and readable on purpose (after redis' src/Makefile):
#   make                 build ./claimfs
#   make check           install missing packages, build, run every test suite
#   make run [MNT=dir]   mount the embedded default cluster on ./mnt in the foreground
#   make install         PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined check
#   make valgrind        unit tests under valgrind
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
endif
comma := ,
BUILD := build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

pc = $(shell pkg-config --cflags $(1) 2>/dev/null)
pl = $(shell pkg-config --libs $(1) 2>/dev/null)

CORE_SRC := $(wildcard src/core/*.c src/manifest/*.c src/controllers/*.c src/tree/*.c)
FS_SRC := $(wildcard src/fs/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
FS_OBJ := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: claimfs

$(BUILD)/src/fs/%.o: src/fs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call pc,$(PKGS)) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call pc,$(CORE_PKGS)) $(CFLAGS) -c $< -o $@

$(BUILD)/libclaimfs-core.a: $(CORE_OBJ)
	rm -f $@; ar rcs $@ $^

claimfs: $(FS_OBJ) $(BUILD)/libclaimfs-core.a
	$(CC) $(LDFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(call pl,$(PKGS)) -pthread

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libclaimfs-core.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(call pc,$(CORE_PKGS) check) $(CFLAGS) -o $@ $< $(BUILD)/libclaimfs-core.a $(LDFLAGS_ALL) $(call pl,$(CORE_PKGS) check) -pthread

unit: $(UNIT_BIN)

deps:
	@sh scripts/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory claimfs unit
	@BUILD=$(BUILD) sh scripts/run-tests.sh

unit-check: unit
	@BUILD=$(BUILD) ONLY=unit sh scripts/run-tests.sh

valgrind: unit
	@BUILD=$(BUILD) ONLY=unit VALGRIND=1 sh scripts/run-tests.sh

run: claimfs
	@mkdir -p $(MNT)
	./claimfs -f $(MNT)

install: claimfs
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 claimfs $(DESTDIR)$(PREFIX)/bin/claimfs

format:
	clang-format -i $$(find src include tests -name '*.[ch]')

clean:
	rm -rf build build-* claimfs

.PHONY: all unit deps check unit-check valgrind run install format clean
-include $(CORE_OBJ:.o=.d) $(FS_OBJ:.o=.d)
