# vapp: one non-recursive Makefile. Each part lists its own targets in a
# rules.mk beside its sources; they are included here, never run by a sub-make.
#
#   make            build everything into build/
#   make test       build (the small kernel too), then run every test
#   make kernel     the appliances' small kernel (kernel/build.sh)
#   make bench      build, then run the benchmarks (figures in build/bench.json)
#   make fuzz       build the libFuzzer targets with clang and run each briefly
#   make clean      remove build/
#
#   SAN=1           build with AddressSanitizer + UndefinedBehaviorSanitizer
#                   (into build/san, so the normal build stays)
#   V=1             show the commands
#   WERROR=0        warnings stay warnings
#   CC=clang        any C11 compiler

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
SAN ?= 0
WERROR ?= 1
V ?= 0

ifeq ($(SAN),1)
BUILD ?= build/san
else
BUILD ?= build
endif

# Generated sources and their objects are kept, never removed as
# intermediates (the patterns are those of the rules that make them). (Not
# .SECONDARY: a missing secondary object would not be rebuilt into an
# archive that looks newer than its sources.)
.PRECIOUS: $(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h $(BUILD)/obj/gen/%.pb-c.o

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2)
endif

# Installs missing Debian packages (tools/deps.sh) and asks pkg-config once;
# make re-reads the result before building anything.
CONFIG := $(BUILD)/config.mk
ifeq ($(filter clean,$(MAKECMDGOALS)),)
include $(CONFIG)
endif
$(CONFIG): tools/deps.sh tools/debian-packages.txt tools/configure.sh
	@mkdir -p $(@D)
	$(Q)tools/deps.sh install
	$(Q)tools/configure.sh > $@.tmp && mv $@.tmp $@

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
SANFLAGS :=
ifeq ($(FUZZ),1)
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif

CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -fPIC $(WARN) $(SANFLAGS) $(CFLAGS) \
	-MMD -MP -I$(BUILD)/gen $(INCLUDES)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# Filled by the rules.mk files.
INCLUDES :=
VAPP_CLI_SRCS :=
VAPP_CLI_TAIL_LIBS :=
VAPP_CLI_LIBS :=
VAPP_CLI_LDLIBS :=
VAPP_CLI_GEN_HEADERS :=
PROGRAMS :=
LIBS :=
TESTS_UNIT :=
BENCHES :=
FUZZERS :=
GEN_SRCS :=

# protoc-c: PROTO.proto -> $(BUILD)/gen/PROTO.pb-c.[ch], paths kept.
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: %.proto
	$(call msg,PROTOC,$<)
	@mkdir -p $(@D)
	$(Q)protoc-c --c_out=$(BUILD)/gen -I. $<

$(BUILD)/obj/%.o: %.c | $(CONFIG)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

# objs-of: sources (.c, or .proto for generated code) -> object files
objs-of = $(patsubst %.c,$(BUILD)/obj/%.o,$(filter %.c,$(1))) \
	$(patsubst %.proto,$(BUILD)/obj/gen/%.pb-c.o,$(filter %.proto,$(1)))
# gen-headers-of: .proto sources -> the headers their users include
gen-headers-of = $(patsubst %.proto,$(BUILD)/gen/%.pb-c.h,$(filter %.proto,$(1)))

include util/rules.mk
include vchan-rpc/rules.mk
include vchan-rpc/windows/rules.mk
include examples/rules.mk
include hypervisor-config/rules.mk
include image/rules.mk
include builder/rules.mk
include runtime/guest-init/rules.mk
include manifest/rules.mk
include appliances/common/rules.mk
include appliances/firewall/rules.mk
include appliances/voip/rules.mk
include appliances/fingerprint/rules.mk
include appliances/usb-proxy/rules.mk
include runtime/policy/rules.mk
include runtime/vappd/rules.mk
include sdk/rules.mk
include runtime/rules.mk
include tests/rules.mk
include kernel/rules.mk

all: $(LIBS) $(PROGRAMS)

test: all kernel $(TESTS_UNIT)
	$(Q)BUILD=$(BUILD) SAN=$(SAN) tests/run.sh

bench: all $(BENCHES)
	$(Q)BUILD=$(BUILD) tests/bench/run.sh

fuzz:
	$(Q)$(MAKE) --no-print-directory CC=clang FUZZ=1 BUILD=build/fuzz fuzz-run

clean:
	rm -rf build

.PHONY: all test bench fuzz fuzz-run clean

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
