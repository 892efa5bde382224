# manifest/: the appliance manifest (libcyaml schema, checks, diagnostics).
# Every manifest/src/*.c goes into libvapp-manifest.a.
MANIFEST_SRCS := $(sort $(wildcard manifest/src/*.c))
MANIFEST_OBJS := $(call objs-of,$(MANIFEST_SRCS))
MANIFEST_LIB := $(BUILD)/lib/libvapp-manifest.a
# What a program linking the manifest library adds to its link line.
MANIFEST_LDLIBS := $(MANIFEST_LIB) $(CYAML_LIBS)

INCLUDES += -Imanifest/include
LIBS += $(MANIFEST_LIB)
$(MANIFEST_OBJS): INCLUDES += -Imanifest/src $(CYAML_CFLAGS)

# Every other library of the CLI uses this one: it goes last.
VAPP_CLI_LIBS := $(VAPP_CLI_LIBS) $(MANIFEST_LIB)
VAPP_CLI_LDLIBS += $(CYAML_LIBS)
VAPP_CLI_SRCS += $(sort $(wildcard manifest/cli/*.c))
# `vapp manifest check` defaults ${BUILD} to the folder make builds into.
$(BUILD)/obj/manifest/cli/cmd_manifest.o: INCLUDES += -DVAPP_BUILD_DIR='"$(BUILD)"'

$(MANIFEST_LIB): $(MANIFEST_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The unit test and the fuzz target link the library too (the pattern rules
# of tests/rules.mk link only libvrpc).
$(BUILD)/tests/unit/test_manifest: $(MANIFEST_LIB)
$(BUILD)/tests/unit/test_manifest: VRPC_LDLIBS += $(MANIFEST_LDLIBS)
$(BUILD)/tests/fuzz/fuzz_manifest: $(MANIFEST_LIB)
$(BUILD)/tests/fuzz/fuzz_manifest: VRPC_LDLIBS += $(MANIFEST_LDLIBS)
$(BUILD)/obj/tests/fuzz/fuzz_manifest.o: INCLUDES += $(CYAML_CFLAGS)
$(BUILD)/obj/tests/unit/test_manifest.o: INCLUDES += $(CYAML_CFLAGS)
