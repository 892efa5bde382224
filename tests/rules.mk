# Tests. By convention, so that adding a test needs no edit here:
#   tests/unit/test_*.c     one cmocka program each, may include vchan-rpc/src
#                           private headers and the generated tests/proto headers
#   tests/lib/*.c           code shared by the test programs (linked into each)
#   tests/progs/*.c         helper programs the integration tests start
#   tests/integration/*.sh  run by tests/run.sh (exit 0 pass, 77 skip, else fail)
#   tests/fuzz/fuzz_*.c     libFuzzer targets (make fuzz), seeds in tests/fuzz/corpus/NAME/
#   tests/bench/bench_*.c   benchmark programs (make bench)
TEST_PROTOS := $(sort $(wildcard tests/proto/*.proto))
# tests/lib/*.c (shared test code, e.g. the Echo service) goes into every test program.
TEST_COMMON_OBJS := $(call objs-of,$(TEST_PROTOS) $(sort $(wildcard tests/lib/*.c)))
TEST_GEN_HEADERS := $(call gen-headers-of,$(TEST_PROTOS) $(VRPC_PROTOS))

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
PROG_SRCS := $(sort $(wildcard tests/progs/*.c))
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

TESTS_UNIT := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
TEST_PROGS := $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(PROG_SRCS))
BENCHES := $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRCS))
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(FUZZ_SRCS))
PROGRAMS += $(TEST_PROGS)

$(call objs-of,$(UNIT_SRCS) $(PROG_SRCS) $(BENCH_SRCS) $(FUZZ_SRCS) $(wildcard tests/lib/*.c)): | $(TEST_GEN_HEADERS)
$(BUILD)/obj/tests/%.o: INCLUDES += -Ivchan-rpc/src -Itests/lib $(CMOCKA_CFLAGS)

# Links one test program: its object, the test protos, libvrpc.
link-test = @mkdir -p $(@D); $(CC) $(ALL_LDFLAGS) -o $@ $< $(TEST_COMMON_OBJS) $(VRPC_LDLIBS) -lpthread -lm

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(TEST_COMMON_OBJS) $(VRPC_LIB)
	$(call msg,LD,$@)
	$(Q)$(link-test) $(CMOCKA_LIBS)

$(BUILD)/tests/progs/%: $(BUILD)/obj/tests/progs/%.o $(TEST_COMMON_OBJS) $(VRPC_LIB)
	$(call msg,LD,$@)
	$(Q)$(link-test)

$(BUILD)/tests/bench/%: $(BUILD)/obj/tests/bench/%.o $(TEST_COMMON_OBJS) $(VRPC_LIB)
	$(call msg,LD,$@)
	$(Q)$(link-test)

# make fuzz builds this tree again with clang into build/fuzz and FUZZ=1.
ifeq ($(FUZZ),1)
$(BUILD)/tests/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(TEST_COMMON_OBJS) $(VRPC_LIB)
	$(call msg,LD,$@)
	$(Q)$(link-test) -fsanitize=fuzzer

fuzz-run: $(FUZZERS)
	$(Q)BUILD=$(BUILD) tests/fuzz/run.sh $(FUZZERS)
endif
