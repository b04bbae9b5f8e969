# SPDX-License-Identifier: MIT
# lbd — one non-recursive Makefile. Outputs go under build/.
#
#   make                 build build/lbd and build/lbctl (BPF objects, then
#                        skeletons, then binaries)
#   make run             install what is missing, build, start demo backends
#                        and lbd on examples/quickstart.conf
#   make test            install what is missing, build, run every test
#   make SANITIZE=address,undefined test
#   make fuzz            run each libFuzzer target for a bounded time
#                        (FUZZ_SECONDS=60; CI=true make test: 6 s each)
#   make bench           lbd vs nginx vs HAProxy (bench/README.md)

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
# Sanitizer builds live beside the normal one so switching needs no clean.
ifeq ($(SANITIZE),)
B        := build
else
B        := build/san
endif
export B
VERSION  := 0.1.0

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wimplicit-fallthrough
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -DLBD_VERSION='"$(VERSION)"' \
	-Iinclude -Ibuild -I/usr/include/libnl3 -pthread -MMD -MP
LDLIBS  := -lbpf -lelf -lnl-route-3 -lnl-3 -lz -lpcre2-8 -lssl -lcrypto -lnghttp2 -lcrypt -lpthread -lm

# Sanitizer builds at -O1 (the later -O wins): ASan's advice, and half the
# compile time of -O2 for the CI's second build.
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all -O1
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# --- BPF: vmlinux.h -> .bpf.o -> .skel.h ------------------------------------
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,build/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,build/skel/%.skel.h,$(BPF_SRCS))
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Ibuild -Iinclude -Ibpf

build/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

build/bpf/%.bpf.o: bpf/%.bpf.c build/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

build/skel/%.skel.h: build/bpf/%.bpf.o
	@mkdir -p $(@D)
	$(BPFTOOL) gen skeleton $< > $@

# --- userspace -------------------------------------------------------------
LIB_SRCS := $(filter-out userspace/main.c,$(wildcard userspace/*.c))
LIB_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRCS))
LIB      := $(B)/liblbd.a

$(B)/obj/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/lbd: $(B)/obj/userspace/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/lbctl: $(B)/obj/tools/lbctl.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/xdpbench: $(B)/obj/tools/xdpbench.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/wsbench: $(B)/obj/tools/wsbench.o
	$(CC) $(LDFLAGS) $^ -lpthread -o $@

$(B)/demo_backend: $(B)/obj/tools/demo_backend.o
	$(CC) $(LDFLAGS) $^ -lpthread -o $@

BINS := $(B)/lbd $(B)/lbctl $(B)/demo_backend $(B)/xdpbench $(B)/wsbench
all: $(BINS)

# --- tests -----------------------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -lcriterion $(LDLIBS) -o $@

# Fuzz targets: clang + libFuzzer; `make test` replays their corpora.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -Ibuild -I/usr/include/libnl3 \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
# The library is compiled once with the fuzzing instrumentation
# ($(B)/fuzzobj, archived as $(FUZZ_LIB)); each target links only the
# modules it exercises (FUZZ_SRCS_<name>), or the whole library.
FUZZ_SRCS_h1  := userspace/h1.c
FUZZ_SRCS_cfg := userspace/cfg_ast.c
FUZZ_SRCS_h1resp  := userspace/h1.c
FUZZ_SRCS_chunked := userspace/h1.c
FUZZ_SRCS_preread := userspace/preread.c
FUZZ_SRCS_range := userspace/range.c userspace/h1.c
FUZZ_SRCS_pproto := userspace/pproto.c
FUZZ_SRCS_referer := userspace/referer.c
FUZZ_SRCS_fastcgi := userspace/fastcgi_rec.c
FUZZ_SRCS_dns := userspace/dns.c
FUZZ_SRCS_ssi := userspace/ssi_parse.c
FUZZ_SRCS_mp4 := userspace/mp4.c
FUZZ_SRCS_recode := userspace/recode.c userspace/pool.c
FUZZ_LIB := $(B)/libfuzzlbd.a
fuzz_objs = $(patsubst %.c,$(B)/fuzzobj/%.o,$(1))

$(B)/fuzzobj/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(patsubst %.c,$(B)/fuzzobj/%.o,$(LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^

.SECONDEXPANSION:
$(B)/fuzz/fuzz_%: $(B)/fuzzobj/tests/fuzz/fuzz_%.o $$(or $$(call fuzz_objs,$$(FUZZ_SRCS_$$*)),$(FUZZ_LIB))
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_LDFLAGS) $^ $(LDLIBS) -o $@

deps:
	@scripts/deps.sh

units: $(UNIT_BINS)
fuzzers: $(FUZZ_BINS)

# In CI (CI=true) the suite also runs against a sanitizer build
# (build/san): its unit tests and the integration tests with its lbd.
# The builds use every core (TEST_JOBS; `make -jN test` is not needed).
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test: deps
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) all units fuzzers
ifeq ($(CI)$(SANITIZE),true)
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) SANITIZE=address,undefined all units
	@LBD=$(CURDIR)/$(B)/lbd SAN_B=build/san scripts/run-tests.sh
else
	@LBD=$(CURDIR)/$(B)/lbd scripts/run-tests.sh
endif

fuzz: deps fuzzers
	@scripts/fuzz.sh $(FUZZ_SECONDS)

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-demo.sh

bench: deps
	@$(MAKE) --no-print-directory $(B)/demo_backend
	-@$(MAKE) --no-print-directory $(B)/lbd
	@bench/run.sh

# make install [DESTDIR=...] [PREFIX=/usr/local]: binaries, systemd unit,
# and /etc/lbd/ (lbd.conf and mime.types are never overwritten).
PREFIX ?= /usr/local
install: all
	install -D -m 0755 $(B)/lbd $(DESTDIR)$(PREFIX)/sbin/lbd
	install -D -m 0755 $(B)/lbctl $(DESTDIR)$(PREFIX)/bin/lbctl
	install -D -m 0644 contrib/lbd.service $(DESTDIR)/etc/systemd/system/lbd.service
	sed -i 's|/usr/local|$(PREFIX)|g' $(DESTDIR)/etc/systemd/system/lbd.service
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/lbd/README.md
	install -d -m 0755 $(DESTDIR)/etc/lbd/conf.d $(DESTDIR)/etc/lbd/sites-enabled \
		$(DESTDIR)/etc/lbd/sites-available $(DESTDIR)/var/log/lbd
	test -e $(DESTDIR)/etc/lbd/lbd.conf || install -m 0644 examples/lbd.conf $(DESTDIR)/etc/lbd/lbd.conf
	test -e $(DESTDIR)/etc/lbd/mime.types || install -m 0644 contrib/mime.types $(DESTDIR)/etc/lbd/mime.types

format:
	clang-format -i $(wildcard userspace/*.c include/*.h tools/*.c bpf/*.c bpf/lib/*.h tests/unit/*.c tests/fuzz/*.c)

clean:
	rm -rf $(B)

.PHONY: all deps units fuzzers test fuzz run bench install format clean
.DEFAULT_GOAL := all

-include $(shell find $(B) -name '*.d' 2>/dev/null)
