# appliances/firewall: the firewall appliance's daemon (vapp-firewalld), its
# guest-side CLI (vapp-fw) and the service they share (firewall.proto).
# libnftables and libmnl come from Debian (libnftables-dev, libmnl-dev).
FW_PROTO := appliances/firewall/firewall.proto
FW_DAEMON := $(BUILD)/bin/vapp-firewalld
FW_CLI := $(BUILD)/bin/vapp-fw
FW_DAEMON_SRCS := $(sort $(wildcard appliances/firewall/daemon/*.c))
FW_DAEMON_OBJS := $(call objs-of,$(FW_DAEMON_SRCS))
FW_CLI_OBJS := $(call objs-of,$(sort $(wildcard appliances/firewall/cli/*.c)))
FW_NFT_CFLAGS := $(shell pkg-config --cflags libnftables libmnl 2>/dev/null)
FW_NFT_LIBS := $(shell pkg-config --libs libnftables libmnl 2>/dev/null)
PROGRAMS += $(FW_DAEMON) $(FW_CLI)

$(FW_DAEMON_OBJS) $(FW_CLI_OBJS): | $(call gen-headers-of,$(FW_PROTO))
$(FW_DAEMON_OBJS): INCLUDES += -Iappliances/firewall/daemon $(FW_NFT_CFLAGS) $(APPLIANCE_INCLUDES)

$(FW_DAEMON): $(FW_DAEMON_OBJS) $(call objs-of,$(FW_PROTO)) $(APPLIANCE_LIB) $(VRPC_LIBS) $(UTIL_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(FW_DAEMON_OBJS) $(call objs-of,$(FW_PROTO)) $(APPLIANCE_LIB) \
		$(VRPC_LDLIBS) $(UTIL_LIB) $(FW_NFT_LIBS)

# vapp-fw checks host names with the daemon's own dns.c.
FW_CLI_SHARED_OBJS := $(call objs-of,appliances/firewall/daemon/dns.c)
$(FW_CLI_OBJS): INCLUDES += -Iappliances/firewall/daemon
$(FW_CLI): $(FW_CLI_OBJS) $(FW_CLI_SHARED_OBJS) $(call objs-of,$(FW_PROTO)) $(VRPC_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(FW_CLI_OBJS) $(FW_CLI_SHARED_OBJS) $(call objs-of,$(FW_PROTO)) \
		$(VRPC_LDLIBS)

# Its tests are in appliances/firewall/tests/, laid out like tests/ (unit,
# integration, fuzz, bench, lib); tests/rules.mk and the runners find them
# by that convention. The unit test and the fuzz target link the daemon's
# pure parts (rule checks, nft JSON, store, nflog parser): all but main.o.
FW_TEST_OBJS := $(filter-out %/main.o,$(FW_DAEMON_OBJS)) $(call objs-of,$(FW_PROTO)) $(APPLIANCE_LIB)
FW_TEST_SRC_OBJS := $(call objs-of,$(wildcard appliances/firewall/tests/*/*.c))
$(BUILD)/tests/unit/test_firewall $(BUILD)/tests/fuzz/fuzz_firewall: $(FW_TEST_OBJS) $(UTIL_LIB)
$(BUILD)/tests/unit/test_firewall $(BUILD)/tests/fuzz/fuzz_firewall: \
	TEST_COMMON_OBJS += $(FW_TEST_OBJS) $(UTIL_LIB) $(FW_NFT_LIBS)
$(FW_TEST_SRC_OBJS): INCLUDES += -Iappliances/firewall/daemon $(FW_NFT_CFLAGS)
$(FW_TEST_SRC_OBJS): | $(call gen-headers-of,$(FW_PROTO))
# vapp-fw's Qubes rule lists (cli/qubes_rules.c), checked against the
# daemon's own rule checks.
FW_IMPORT_OBJS := $(call objs-of,appliances/firewall/cli/qubes_rules.c)
$(BUILD)/tests/unit/test_fw_import: $(FW_IMPORT_OBJS) $(FW_TEST_OBJS) $(UTIL_LIB)
$(BUILD)/tests/unit/test_fw_import: \
	TEST_COMMON_OBJS += $(FW_IMPORT_OBJS) $(FW_TEST_OBJS) $(UTIL_LIB) $(FW_NFT_LIBS)
$(call objs-of,appliances/firewall/tests/unit/test_fw_import.c): INCLUDES += -Iappliances/firewall/cli
$(BUILD)/tests/fuzz/fuzz_fw_import: $(FW_IMPORT_OBJS) $(FW_TEST_OBJS) $(UTIL_LIB)
$(BUILD)/tests/fuzz/fuzz_fw_import: \
	TEST_COMMON_OBJS += $(FW_IMPORT_OBJS) $(FW_TEST_OBJS) $(UTIL_LIB) $(FW_NFT_LIBS)
$(call objs-of,appliances/firewall/tests/fuzz/fuzz_fw_import.c): INCLUDES += -Iappliances/firewall/cli
