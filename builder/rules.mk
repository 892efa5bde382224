# builder/: libvapp-builder, manifest -> image folder (kernel and modules,
# the dependency closure of the appliance's programs, a deterministic
# initramfs, the command line), measured and signed with libvapp-image;
# builder/cli/ holds `vapp build`, `vapp sign` and `vapp keygen`.
BUILDER_SRCS := $(sort $(wildcard builder/src/*.c))
BUILDER_OBJS := $(call objs-of,$(BUILDER_SRCS))
BUILDER_LIB := $(BUILD)/lib/libvapp-builder.a

INCLUDES += -Ibuilder/include -Imanifest/include
LIBS += $(BUILDER_LIB)
VAPP_CLI_LIBS := $(BUILDER_LIB) $(VAPP_CLI_LIBS)
VAPP_CLI_SRCS += $(sort $(wildcard builder/cli/*.c))

$(BUILDER_OBJS): INCLUDES += -Ibuilder/src

$(BUILDER_LIB): $(BUILDER_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The image builder's tests link the library (and libvapp-image under it).
BUILDER_TESTS := $(BUILD)/tests/unit/test_elf_deps $(BUILD)/tests/unit/test_modules
$(BUILDER_TESTS): $(BUILDER_LIB) $(IMAGE_LIB) $(UTIL_LIB)
$(BUILDER_TESTS): TEST_COMMON_OBJS += $(BUILDER_LIB) $(IMAGE_LDLIBS)
$(patsubst $(BUILD)/tests/%,$(BUILD)/obj/tests/%.o,$(BUILDER_TESTS)): INCLUDES += -Ibuilder/src
$(BUILD)/obj/builder/cli/cmd_build.o: INCLUDES += -DVAPP_BUILD_DIR='"$(BUILD)"'
