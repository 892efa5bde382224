# util/: libvapp-util, the small helpers every part shares (vapp_util.h).
# It depends on nothing but libc; every other library may use it.
UTIL_SRCS := $(sort $(wildcard util/src/*.c))
UTIL_OBJS := $(call objs-of,$(UTIL_SRCS))
UTIL_LIB := $(BUILD)/lib/libvapp-util.a

INCLUDES += -Iutil/include
LIBS += $(UTIL_LIB)
# Used by every other library of the CLI: it goes last.
VAPP_CLI_TAIL_LIBS += $(UTIL_LIB)

$(UTIL_LIB): $(UTIL_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Its unit test.
$(BUILD)/tests/unit/test_util: $(UTIL_LIB)
$(BUILD)/tests/unit/test_util: TEST_COMMON_OBJS += $(UTIL_LIB)
