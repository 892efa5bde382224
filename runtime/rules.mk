# runtime: the vapp command (runtime/cli/, one file per subcommand).
# Each library the CLI needs appends itself to VAPP_CLI_LIBS in its own
# rules.mk (included before this one), in link order: users before what they use.
VAPP_CLI_SRCS := $(sort $(wildcard runtime/cli/*.c))
VAPP_CLI_OBJS := $(call objs-of,$(VAPP_CLI_SRCS))
VAPP_VERSION := 0.1.0
PROGRAMS += $(BUILD)/bin/vapp

$(VAPP_CLI_OBJS): INCLUDES += -Iruntime/cli -DVAPP_VERSION='"$(VAPP_VERSION)"'
$(VAPP_CLI_OBJS): | $(VAPP_CLI_GEN_HEADERS)

$(BUILD)/bin/vapp: $(VAPP_CLI_OBJS) $(VAPP_CLI_LIBS) $(VRPC_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(VAPP_CLI_OBJS) $(VAPP_CLI_LIBS) $(VAPP_CLI_LDLIBS) $(VRPC_LDLIBS)
