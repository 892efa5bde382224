# libvapp-builder: manifest -> image folder (kernel, deterministic initramfs,
# cmdline), its measurement and signature (measure.c, sign.c, verify.c).
# Every .c in builder/src is part of the library.
BUILDER_SRCS := $(sort $(wildcard builder/src/*.c))
BUILDER_OBJS := $(call objs-of,$(BUILDER_SRCS))
BUILDER_LIB := $(BUILD)/lib/libvapp-builder.a

INCLUDES += -Ibuilder/include -Imanifest/include $(CRYPTO_CFLAGS)
LIBS += $(BUILDER_LIB)
VAPP_CLI_LIBS := $(BUILDER_LIB) $(VAPP_CLI_LIBS)
VAPP_CLI_LDLIBS += $(CRYPTO_LIBS)

$(BUILDER_OBJS): INCLUDES += -Ibuilder/src

$(BUILDER_LIB): $(BUILDER_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The measurement test links the library (tests/rules.mk links libvrpc only).
$(BUILD)/tests/unit/test_measure: $(BUILDER_LIB)
$(BUILD)/tests/unit/test_measure: TEST_COMMON_OBJS += $(BUILDER_LIB) $(CRYPTO_LIBS)
VAPP_CLI_LDLIBS += $(ZLIB_LIBS)

# The image builder's tests link the library and zlib.
BUILDER_TESTS := $(BUILD)/tests/unit/test_cpio $(BUILD)/tests/unit/test_elf_deps \
	$(BUILD)/tests/unit/test_modules
$(BUILDER_TESTS): $(BUILDER_LIB)
$(BUILDER_TESTS): TEST_COMMON_OBJS += $(BUILDER_LIB) $(ZLIB_LIBS)
$(patsubst $(BUILD)/tests/%,$(BUILD)/obj/tests/%.o,$(BUILDER_TESTS)): INCLUDES += -Ibuilder/src

# The measurement parser's fuzz target (make fuzz) links the library too.
$(BUILD)/tests/fuzz/fuzz_measurement: $(BUILDER_LIB)
$(BUILD)/tests/fuzz/fuzz_measurement: TEST_COMMON_OBJS += $(BUILDER_LIB) $(CRYPTO_LIBS)
$(BUILD)/obj/runtime/cli/cmd_build.o: INCLUDES += -DVAPP_BUILD_DIR='"$(BUILD)"'
