# appliances/fingerprint: the fingerprint-authentication appliance. Its
# daemon (vapp-fpd: the reader through libfprint, the sealed templates, the
# signed assertions), the guest side's assertion checker and one checked
# question to the appliance (check/: libvapp-fpcheck.a, which vapp-fp and
# the PAM module link; fpclient.c needs libvrpc) and its
# guest-side CLI (vapp-fp), over fingerprint.proto.
FP_PROTO := appliances/fingerprint/fingerprint.proto
FP_DAEMON := $(BUILD)/bin/vapp-fpd
FP_CLI := $(BUILD)/bin/vapp-fp
FP_CHECK_LIB := $(BUILD)/lib/libvapp-fpcheck.a
FP_DAEMON_OBJS := $(call objs-of,$(sort $(wildcard appliances/fingerprint/daemon/*.c)))
FP_CHECK_OBJS := $(call objs-of,appliances/fingerprint/check/fpcheck.c $(FP_PROTO))
FP_CLIENT_OBJS := $(call objs-of,appliances/fingerprint/check/fpclient.c)
FP_CLI_OBJS := $(call objs-of,$(sort $(wildcard appliances/fingerprint/cli/*.c)))
PROGRAMS += $(FP_DAEMON) $(FP_CLI)
LIBS += $(FP_CHECK_LIB)

# libfprint's (and GLib's) headers as system ones: their warnings are not ours.
FPRINT_ISYSTEM := $(patsubst -I%,-isystem %,$(FPRINT_CFLAGS))
FP_ALL_OBJS := $(FP_DAEMON_OBJS) $(FP_CHECK_OBJS) $(FP_CLIENT_OBJS) $(FP_CLI_OBJS)
$(FP_ALL_OBJS): | $(call gen-headers-of,$(FP_PROTO))
$(FP_ALL_OBJS): INCLUDES += -Iappliances/fingerprint/check
$(FP_DAEMON_OBJS): INCLUDES += -Iappliances/fingerprint/daemon $(FPRINT_ISYSTEM) $(APPLIANCE_INCLUDES)

$(FP_CHECK_LIB): $(FP_CHECK_OBJS) $(FP_CLIENT_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FP_DAEMON): $(FP_DAEMON_OBJS) $(FP_CHECK_LIB) $(APPLIANCE_LIB) $(VRPC_LIBS) $(UTIL_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(FP_DAEMON_OBJS) $(FP_CHECK_LIB) $(APPLIANCE_LIB) $(VRPC_LDLIBS) \
		$(UTIL_LIB) $(FPRINT_LIBS) $(CRYPTO_LIBS) -lpthread

$(FP_CLI): $(FP_CLI_OBJS) $(FP_CHECK_LIB) $(VRPC_LIBS) $(UTIL_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(FP_CLI_OBJS) $(FP_CHECK_LIB) $(VRPC_LDLIBS) \
		$(UTIL_LIB) $(CRYPTO_LIBS)

# Its tests (appliances/fingerprint/tests/): the unit test and the fuzz
# targets link the vault (sealing), the signer and the checker.
FP_TEST_OBJS := $(call objs-of,appliances/fingerprint/daemon/vault.c \
	appliances/fingerprint/daemon/signer.c) $(FP_CHECK_OBJS)
FP_TEST_SRC_OBJS := $(call objs-of,$(wildcard appliances/fingerprint/tests/*/*.c))
FP_TEST_BINS := $(BUILD)/tests/unit/test_fp $(BUILD)/tests/fuzz/fuzz_fp_template \
	$(BUILD)/tests/fuzz/fuzz_fp_assertion
$(FP_TEST_BINS): $(FP_TEST_OBJS) $(UTIL_LIB)
$(FP_TEST_BINS): TEST_COMMON_OBJS += $(FP_TEST_OBJS) $(UTIL_LIB) $(CRYPTO_LIBS)
$(FP_TEST_SRC_OBJS): INCLUDES += -Iappliances/fingerprint/daemon -Iappliances/fingerprint/check
$(FP_TEST_SRC_OBJS): | $(call gen-headers-of,$(FP_PROTO))

# fp_bench: the benchmark's two sides, libfprint's own verify and the RPC's.
FP_BENCH := $(BUILD)/tests/progs/fp_bench
PROGRAMS += $(FP_BENCH)
$(call objs-of,appliances/fingerprint/tests/progs/fp_bench.c): INCLUDES += $(FPRINT_ISYSTEM)
$(FP_BENCH): $(call objs-of,appliances/fingerprint/tests/progs/fp_bench.c) $(FP_CHECK_LIB) $(VRPC_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(FP_CHECK_LIB) $(VRPC_LDLIBS) $(FPRINT_LIBS) $(CRYPTO_LIBS) \
		-lpthread

# fp_synth: synthetic print images for the image reader's tests.
FP_SYNTH := $(BUILD)/tests/progs/fp_synth
PROGRAMS += $(FP_SYNTH)
$(FP_SYNTH): $(call objs-of,appliances/fingerprint/tests/progs/fp_synth.c)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< -lm

# pam_vapp_fingerprint.so: the Linux guest's PAM module (libpam0g-dev). The
# libraries it links are static archives built with -fPIC; only libc, libpam,
# protobuf-c and libcrypto are shared.
FP_PAM := $(BUILD)/lib/security/pam_vapp_fingerprint.so
FP_PAM_OBJS := $(call objs-of,appliances/fingerprint/pam/pam_vapp_fingerprint.c)
PROGRAMS += $(FP_PAM)
$(FP_PAM_OBJS): INCLUDES += -Iappliances/fingerprint/check
$(FP_PAM_OBJS): | $(call gen-headers-of,$(FP_PROTO))
$(FP_PAM): $(FP_PAM_OBJS) $(FP_CHECK_LIB) $(VRPC_LIBS) $(UTIL_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -shared -Wl,-z,defs -o $@ $(FP_PAM_OBJS) $(FP_CHECK_LIB) \
		$(VRPC_LDLIBS) $(UTIL_LIB) $(CRYPTO_LIBS) -lpam
