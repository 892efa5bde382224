# libvapp-policy: vappd's per-method call policy (parser, evaluator, shadow
# check); `vapp policy check` and the broker use it. Every .c in
# runtime/policy is part of the library.
POLICY_SRCS := $(sort $(wildcard runtime/policy/*.c))
POLICY_OBJS := $(call objs-of,$(POLICY_SRCS))
POLICY_LIB := $(BUILD)/lib/libvapp-policy.a

INCLUDES += -Iruntime/policy
LIBS += $(POLICY_LIB)
VAPP_CLI_LIBS := $(POLICY_LIB) $(VAPP_CLI_LIBS)

$(POLICY_LIB): $(POLICY_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Its unit test and fuzz target link the library (tests/rules.mk links libvrpc only).
POLICY_TESTS := $(BUILD)/tests/unit/test_policy $(BUILD)/tests/fuzz/fuzz_policy
$(POLICY_TESTS): $(POLICY_LIB)
$(POLICY_TESTS): TEST_COMMON_OBJS += $(POLICY_LIB)
