# runtime/vappd: the vapp runtime daemon. Every runtime/vappd/*.c but main.c
# goes into libvappd.a (so unit tests can link the pure parts), main.c makes
# $(BUILD)/bin/vappd. The control protocol (runtime/proto/control.proto) is
# shared with the CLI.
VAPPD_PROTOS := runtime/proto/control.proto
VAPPD_SRCS := $(filter-out runtime/vappd/main.c,$(sort $(wildcard runtime/vappd/*.c)))
VAPPD_OBJS := $(call objs-of,$(VAPPD_SRCS))
VAPPD_MAIN_OBJ := $(call objs-of,runtime/vappd/main.c)
VAPPD_PROTO_OBJS := $(call objs-of,$(VAPPD_PROTOS))
VAPPD_LIB := $(BUILD)/lib/libvappd.a
# What a program linking libvappd adds to its link line (users before used).
VAPPD_LDLIBS := $(VAPPD_LIB) $(VAPPD_PROTO_OBJS) $(IMAGE_LIB) $(HVCONFIG_LIB) \
	$(MANIFEST_LIB) $(POLICY_LIB) $(UTIL_LIB) $(CRYPTO_LIBS) $(ZSTD_LIBS) $(CYAML_LIBS) -lpthread \
	-lseccomp $(XENSTORE_LIBS)

LIBS += $(VAPPD_LIB)
PROGRAMS += $(BUILD)/bin/vappd

$(VAPPD_OBJS) $(VAPPD_MAIN_OBJ): INCLUDES += -Iruntime/vappd -Iruntime/policy
$(VAPPD_OBJS) $(VAPPD_MAIN_OBJ): | $(call gen-headers-of,$(VAPPD_PROTOS))

$(VAPPD_LIB): $(VAPPD_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/bin/vappd: $(VAPPD_MAIN_OBJ) $(VAPPD_LIB) $(VAPPD_PROTO_OBJS) $(IMAGE_LIB) \
		$(HVCONFIG_LIB) $(MANIFEST_LIB) $(POLICY_LIB) $(UTIL_LIB) $(VRPC_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(VAPPD_MAIN_OBJ) $(VAPPD_LDLIBS) $(VRPC_LDLIBS)

# The CLI's run, stop, ps and logs speak the control protocol.
VAPP_CLI_LIBS := $(VAPPD_PROTO_OBJS) $(VAPP_CLI_LIBS)
VAPP_CLI_GEN_HEADERS += $(call gen-headers-of,$(VAPPD_PROTOS))

# Unit tests of vappd's pure parts link the library.
VAPPD_TESTS := $(BUILD)/tests/unit/test_supervise $(BUILD)/tests/unit/test_vappd_qemu \
	$(BUILD)/tests/unit/test_privsep $(BUILD)/tests/fuzz/fuzz_privsep \
	$(BUILD)/tests/unit/test_vappd_settings $(BUILD)/tests/unit/test_vappd_ivshmem \
	$(BUILD)/tests/progs/ivshmem_serve
$(VAPPD_TESTS): $(VAPPD_LIB) $(VAPPD_PROTO_OBJS) $(HVCONFIG_LIB) $(IMAGE_LIB) $(MANIFEST_LIB) \
	$(POLICY_LIB)
$(VAPPD_TESTS): TEST_COMMON_OBJS += $(VAPPD_LDLIBS)
$(patsubst $(BUILD)/tests/%,$(BUILD)/obj/tests/%.o,$(VAPPD_TESTS)): INCLUDES += -Iruntime/vappd

# vappd's settings lines are read back by vapp-init's own reader.
SETTINGS_GUEST_OBJS := $(call objs-of,runtime/guest-init/initconf.c runtime/guest-init/initconf_settings.c)
$(BUILD)/tests/unit/test_vappd_settings: $(SETTINGS_GUEST_OBJS)
$(BUILD)/tests/unit/test_vappd_settings: TEST_COMMON_OBJS += $(SETTINGS_GUEST_OBJS)
$(BUILD)/obj/tests/unit/test_vappd_settings.o: INCLUDES += -Iruntime/guest-init
