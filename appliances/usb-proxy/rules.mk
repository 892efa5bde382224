# appliances/usb-proxy: the USB proxy appliance (vapp.usb.v1.UsbProxy):
# its daemon (vapp-usbd, in the appliance), the guest side (vapp-usb), and
# what both use (common/: the data stream's opening line). The daemon's
# parts but main.c are libvapp-usbd.a, which its tests link too.
USB_PROTO := appliances/usb-proxy/usb.proto
USB_DAEMON := $(BUILD)/bin/vapp-usbd
USB_CLI := $(BUILD)/bin/vapp-usb
USB_LIB := $(BUILD)/lib/libvapp-usbd.a
USB_COMMON_OBJS := $(call objs-of,$(USB_PROTO) $(sort $(wildcard appliances/usb-proxy/common/*.c)))
USB_LIB_OBJS := $(USB_COMMON_OBJS) $(call objs-of,$(filter-out %/main.c, \
	$(sort $(wildcard appliances/usb-proxy/daemon/*.c))))
USB_MAIN_OBJS := $(call objs-of,appliances/usb-proxy/daemon/main.c)
USB_CLI_OBJS := $(call objs-of,$(sort $(wildcard appliances/usb-proxy/guest/*.c)))
PROGRAMS += $(USB_DAEMON) $(USB_CLI)
LIBS += $(USB_LIB)
USB_ALL_OBJS := $(USB_LIB_OBJS) $(USB_MAIN_OBJS) $(USB_CLI_OBJS)
$(USB_ALL_OBJS): | $(call gen-headers-of,$(USB_PROTO))
$(USB_ALL_OBJS): INCLUDES += -Iappliances/usb-proxy/common -Iappliances/usb-proxy/daemon $(APPLIANCE_INCLUDES) \
	-Iappliances/usb-proxy/guest

$(USB_DAEMON): $(USB_MAIN_OBJS) $(USB_LIB) $(APPLIANCE_LIB) $(VRPC_LIBS) $(UTIL_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(USB_MAIN_OBJS) $(USB_LIB) $(APPLIANCE_LIB) $(VRPC_LDLIBS) $(UTIL_LIB)

$(USB_CLI): $(USB_CLI_OBJS) $(USB_COMMON_OBJS) $(VRPC_LIBS) $(UTIL_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(USB_CLI_OBJS) $(USB_COMMON_OBJS) $(VRPC_LDLIBS) $(UTIL_LIB)

$(USB_LIB): $(USB_LIB_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Its tests (appliances/usb-proxy/tests/): the unit test and the fuzz
# targets link the library.
USB_TEST_SRC_OBJS := $(call objs-of,$(wildcard appliances/usb-proxy/tests/*/*.c))
USB_TEST_BINS := $(BUILD)/tests/unit/test_usb $(BUILD)/tests/fuzz/fuzz_usb_line \
	$(BUILD)/tests/fuzz/fuzz_usb_rules
$(USB_TEST_BINS): $(USB_LIB) $(APPLIANCE_LIB)
$(USB_TEST_BINS): TEST_COMMON_OBJS += $(USB_LIB) $(APPLIANCE_LIB) $(UTIL_LIB)
$(USB_TEST_SRC_OBJS): INCLUDES += -Iappliances/usb-proxy/common -Iappliances/usb-proxy/daemon \
	$(APPLIANCE_INCLUDES)
