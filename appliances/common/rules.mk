# appliances/common: what every appliance daemon does the same way
# (appliance.h: --attach/--listen addresses, the caller's name, stopping on
# a signal), as libvapp-appliance.a.
APPLIANCE_LIB := $(BUILD)/lib/libvapp-appliance.a
APPLIANCE_LIB_OBJS := $(call objs-of,appliances/common/appliance.c)
APPLIANCE_INCLUDES := -Iappliances/common
LIBS += $(APPLIANCE_LIB)

$(APPLIANCE_LIB): $(APPLIANCE_LIB_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
