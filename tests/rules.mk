# Tests. By convention, so that adding a test needs no edit here:
#   tests/unit/test_*.c     one cmocka program each, may include vchan-rpc/core
#                           private headers and the generated tests/proto headers
#   tests/lib/*.c           code shared by the test programs (linked into each)
#   tests/progs/*.c         helper programs the integration tests start
#   tests/integration/*.sh  run by tests/run.sh (exit 0 pass, 77 skip, else fail)
#   tests/fuzz/fuzz_*.c     libFuzzer targets (make fuzz), seeds in tests/fuzz/corpus/NAME/
#   tests/bench/bench_*.c   benchmark programs (make bench)
# An appliance keeps its own tests in appliances/NAME/tests/, laid out the
# same way (unit/, integration/, fuzz/, bench/, lib/); its programs are
# built into the same $(BUILD)/tests/ folders, so test names stay unique.
TEST_PROTOS := $(sort $(wildcard tests/proto/*.proto))
# tests/lib/*.c (shared test code, e.g. the Echo service) goes into every test program.
TEST_COMMON_OBJS := $(call objs-of,$(TEST_PROTOS) $(sort $(wildcard tests/lib/*.c)))
TEST_GEN_HEADERS := $(call gen-headers-of,$(TEST_PROTOS) $(VRPC_PROTOS))

TEST_ROOTS := tests $(sort $(wildcard appliances/*/tests))
APPLIANCE_TEST_ROOTS := $(filter-out tests,$(TEST_ROOTS))
UNIT_SRCS := $(sort $(wildcard $(addsuffix /unit/test_*.c,$(TEST_ROOTS))))
PROG_SRCS := $(sort $(wildcard tests/progs/*.c))
BENCH_SRCS := $(sort $(wildcard $(addsuffix /bench/bench_*.c,$(TEST_ROOTS))))
FUZZ_SRCS := $(sort $(wildcard $(addsuffix /fuzz/fuzz_*.c,$(TEST_ROOTS))))

TESTS_UNIT := $(addprefix $(BUILD)/tests/unit/,$(notdir $(basename $(UNIT_SRCS))))
TEST_PROGS := $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(PROG_SRCS))
BENCHES := $(addprefix $(BUILD)/tests/bench/,$(notdir $(basename $(BENCH_SRCS))))
FUZZERS := $(addprefix $(BUILD)/tests/fuzz/,$(notdir $(basename $(FUZZ_SRCS))))
PROGRAMS += $(TEST_PROGS)

$(call objs-of,$(UNIT_SRCS) $(PROG_SRCS) $(BENCH_SRCS) $(FUZZ_SRCS) $(wildcard tests/lib/*.c)): | $(TEST_GEN_HEADERS)
TEST_INCLUDES := -Ivchan-rpc/core -Ivchan-rpc/reflect -Itests/lib $(CMOCKA_CFLAGS)
$(BUILD)/obj/tests/%.o: INCLUDES += $(TEST_INCLUDES)
$(foreach r,$(APPLIANCE_TEST_ROOTS),$(eval $(BUILD)/obj/$(r)/%.o: INCLUDES += $$(TEST_INCLUDES)))

# Links one test program: its object, the test protos, libvrpc.
link-test = @mkdir -p $(@D); $(CC) $(ALL_LDFLAGS) -o $@ $< $(TEST_COMMON_OBJS) $(VRPC_LDLIBS) -lpthread -lm

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(TEST_COMMON_OBJS) $(VRPC_LIBS)
	$(call msg,LD,$@)
	$(Q)$(link-test) $(CMOCKA_LIBS)

# The same for each appliance's unit tests (make tries each pattern in turn).
define appliance-unit-rule
$(BUILD)/tests/unit/%: $(BUILD)/obj/$(1)/unit/%.o $$(TEST_COMMON_OBJS) $$(VRPC_LIBS)
	$$(call msg,LD,$$@)
	$$(Q)$$(link-test) $$(CMOCKA_LIBS)
endef
$(foreach r,$(APPLIANCE_TEST_ROOTS),$(eval $(call appliance-unit-rule,$(r))))

$(BUILD)/tests/progs/%: $(BUILD)/obj/tests/progs/%.o $(TEST_COMMON_OBJS) $(VRPC_LIBS)
	$(call msg,LD,$@)
	$(Q)$(link-test)

# The liar notifies its peer itself (libxenvchan has no call for that).
$(BUILD)/tests/progs/xen_ring_liar: VRPC_LDLIBS += -lxenevtchn

$(BUILD)/tests/bench/%: $(BUILD)/obj/tests/bench/%.o $(TEST_COMMON_OBJS) $(VRPC_LIBS)
	$(call msg,LD,$@)
	$(Q)$(link-test)

# make fuzz builds this tree again with clang into build/fuzz and FUZZ=1.
ifeq ($(FUZZ),1)
$(BUILD)/tests/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(TEST_COMMON_OBJS) $(VRPC_LIBS)
	$(call msg,LD,$@)
	$(Q)$(link-test) -fsanitize=fuzzer

define appliance-fuzz-rule
$(BUILD)/tests/fuzz/%: $(BUILD)/obj/$(1)/fuzz/%.o $$(TEST_COMMON_OBJS) $$(VRPC_LIBS)
	$$(call msg,LD,$$@)
	$$(Q)$$(link-test) -fsanitize=fuzzer
endef
$(foreach r,$(APPLIANCE_TEST_ROOTS),$(eval $(call appliance-fuzz-rule,$(r))))

fuzz-run: $(FUZZERS)
	$(Q)BUILD=$(BUILD) tests/fuzz/run.sh $(FUZZERS)
endif
