# appliances/voip: the VoIP appliance's daemon (vapp-voipd, which drives the
# SIP stack, baresip, over its ctrl_tcp commands), its guest-side CLI
# (vapp-voip) and the service they share (voip.proto). The daemon reads the
# sound card's devices and levels with libasound (libasound2-dev).
VOIP_PROTO := appliances/voip/voip.proto
VOIP_DAEMON := $(BUILD)/bin/vapp-voipd
VOIP_CLI := $(BUILD)/bin/vapp-voip
VOIP_DAEMON_OBJS := $(call objs-of,$(sort $(wildcard appliances/voip/daemon/*.c)))
VOIP_CLI_OBJS := $(call objs-of,$(sort $(wildcard appliances/voip/cli/*.c)))
PROGRAMS += $(VOIP_DAEMON) $(VOIP_CLI)

$(VOIP_DAEMON_OBJS) $(VOIP_CLI_OBJS): | $(call gen-headers-of,$(VOIP_PROTO))
$(VOIP_DAEMON_OBJS): INCLUDES += -Iappliances/voip/daemon $(APPLIANCE_INCLUDES)

$(VOIP_DAEMON): $(VOIP_DAEMON_OBJS) $(call objs-of,$(VOIP_PROTO)) $(APPLIANCE_LIB) $(VRPC_LIBS) $(UTIL_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(VOIP_DAEMON_OBJS) $(call objs-of,$(VOIP_PROTO)) $(APPLIANCE_LIB) \
		$(VRPC_LDLIBS) $(UTIL_LIB) -lasound

$(VOIP_CLI): $(VOIP_CLI_OBJS) $(call objs-of,$(VOIP_PROTO)) $(VRPC_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(VOIP_CLI_OBJS) $(call objs-of,$(VOIP_PROTO)) $(VRPC_LDLIBS)

# Its tests are in appliances/voip/tests/, laid out like tests/. The unit
# test and the fuzz target link the daemon's pure parts (ctl.c, check.c) and
# audio.c (its card names).
VOIP_TEST_OBJS := $(call objs-of,appliances/voip/daemon/ctl.c appliances/voip/daemon/check.c \
	appliances/voip/daemon/audio.c $(VOIP_PROTO))
VOIP_TEST_SRC_OBJS := $(call objs-of,$(wildcard appliances/voip/tests/*/*.c))
$(BUILD)/tests/unit/test_voip $(BUILD)/tests/fuzz/fuzz_voip_ctl: $(VOIP_TEST_OBJS)
$(BUILD)/tests/unit/test_voip $(BUILD)/tests/fuzz/fuzz_voip_ctl: TEST_COMMON_OBJS += $(VOIP_TEST_OBJS) -lasound
$(VOIP_TEST_SRC_OBJS): INCLUDES += -Iappliances/voip/daemon
$(VOIP_TEST_SRC_OBJS): | $(call gen-headers-of,$(VOIP_PROTO))

# tone: is a call's recording the tone it should be (Goertzel)? bsctl: the
# SIP stack driven directly, the benchmark's baseline. For the tests.
VOIP_TONE := $(BUILD)/tests/progs/tone
VOIP_BSCTL := $(BUILD)/tests/progs/bsctl
PROGRAMS += $(VOIP_TONE) $(VOIP_BSCTL)
$(VOIP_TONE): $(call objs-of,appliances/voip/tests/progs/tone.c)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ -lm
$(VOIP_BSCTL): $(call objs-of,appliances/voip/tests/progs/bsctl.c appliances/voip/daemon/ctl.c)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(VRPC_LDLIBS)
$(call objs-of,appliances/voip/tests/progs/bsctl.c): INCLUDES += -Iappliances/voip/daemon
$(call objs-of,appliances/voip/tests/progs/bsctl.c): | $(call gen-headers-of,$(VOIP_PROTO))

# hostile_voip: an appliance that lies, for the UI plugin's test.
VOIP_HOSTILE := $(BUILD)/tests/progs/hostile_voip
PROGRAMS += $(VOIP_HOSTILE)
$(VOIP_HOSTILE): $(call objs-of,appliances/voip/tests/progs/hostile_voip.c $(VOIP_PROTO)) $(VRPC_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(call objs-of,appliances/voip/tests/progs/hostile_voip.c \
		$(VOIP_PROTO)) $(VRPC_LDLIBS)

# The tests' sound card for QEMU's alsa audiodev (a speaker into a WAV file,
# a microphone hearing a sine, in real time): an ALSA plugin, loaded by
# QEMU's libasound, so never sanitized or instrumented. libasound2-dev.
VOIP_ALSA_PCM := $(BUILD)/tests/progs/libasound_module_pcm_vapptest.so
PROGRAMS += $(VOIP_ALSA_PCM)
$(VOIP_ALSA_PCM): appliances/voip/tests/progs/alsa_test_pcm.c | $(CONFIG)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)cc -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -fPIC -DPIC -shared \
		-o $@ $< -lasound -lm
include appliances/voip/windows/rules.mk
