# appliances/usb-proxy: the USB proxy appliance (vapp.usb.v1.UsbProxy).
# Built so far: the protocol, the data stream's opening line (common/,
# both sides), and the daemon's device reader and device rules (daemon/),
# as libvapp-usbd.a for its tests.
USB_PROTO := appliances/usb-proxy/usb.proto
USB_LIB := $(BUILD)/lib/libvapp-usbd.a
USB_LIB_OBJS := $(call objs-of,$(USB_PROTO) $(sort $(wildcard appliances/usb-proxy/common/*.c)) \
	$(sort $(wildcard appliances/usb-proxy/daemon/*.c)))
LIBS += $(USB_LIB)
$(USB_LIB_OBJS): | $(call gen-headers-of,$(USB_PROTO))
$(USB_LIB_OBJS): INCLUDES += -Iappliances/usb-proxy/common -Iappliances/usb-proxy/daemon

$(USB_LIB): $(USB_LIB_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Its tests (appliances/usb-proxy/tests/): the unit test and the fuzz
# targets link the library.
USB_TEST_SRC_OBJS := $(call objs-of,$(wildcard appliances/usb-proxy/tests/*/*.c))
USB_TEST_BINS := $(BUILD)/tests/unit/test_usb $(BUILD)/tests/fuzz/fuzz_usb_line \
	$(BUILD)/tests/fuzz/fuzz_usb_rules
$(USB_TEST_BINS): $(USB_LIB)
$(USB_TEST_BINS): TEST_COMMON_OBJS += $(USB_LIB)
$(USB_TEST_SRC_OBJS): INCLUDES += -Iappliances/usb-proxy/common -Iappliances/usb-proxy/daemon
