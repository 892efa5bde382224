# libvapp-hvconfig: manifest -> QEMU argv, libvirt domain XML, Xen xl.cfg.
# Every .c in hypervisor-config/src is part of the library. It reads the
# manifest model (manifest.h) but calls nothing in libvapp-manifest.
HVCONFIG_SRCS := $(sort $(wildcard hypervisor-config/src/*.c))
HVCONFIG_OBJS := $(call objs-of,$(HVCONFIG_SRCS))
HVCONFIG_LIB := $(BUILD)/lib/libvapp-hvconfig.a

INCLUDES += -Ihypervisor-config/include -Imanifest/include
LIBS += $(HVCONFIG_LIB)
VAPP_CLI_LIBS := $(HVCONFIG_LIB) $(VAPP_CLI_LIBS)
# hypervisor-config/cli: vapp export.
VAPP_CLI_SRCS += $(sort $(wildcard hypervisor-config/cli/*.c))

$(HVCONFIG_OBJS): INCLUDES += -Ihypervisor-config/src

$(HVCONFIG_LIB): $(HVCONFIG_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The golden-file test links the library (tests/rules.mk links libvrpc only)
# and Xen's own xl.cfg parser (libxlutil, from libxen-dev) to read back
# every generated xl.cfg.
$(BUILD)/tests/unit/test_hvconfig: $(HVCONFIG_LIB) $(UTIL_LIB)
$(BUILD)/tests/unit/test_hvconfig: TEST_COMMON_OBJS += $(HVCONFIG_LIB) $(UTIL_LIB) -lxlutil -lxenlight

# The Xen backend's commands (src/run_xen.c).
$(BUILD)/tests/unit/test_hvrun_xen: $(HVCONFIG_LIB) $(UTIL_LIB)
$(BUILD)/tests/unit/test_hvrun_xen: TEST_COMMON_OBJS += $(HVCONFIG_LIB) $(UTIL_LIB)
