# runtime: the vapp command. Its table of subcommands and the ones that
# talk to vappd are in runtime/cli/; every other part keeps its own
# subcommands beside it (builder/cli, image/cli, manifest/cli, sdk/new) and
# adds them to VAPP_CLI_SRCS in its rules.mk. Each library the CLI needs
# appends itself to VAPP_CLI_LIBS there too (those rules.mk are included
# before this one), in link order: users before what they use.
VAPP_CLI_SRCS += $(sort $(wildcard runtime/cli/*.c))
VAPP_CLI_OBJS := $(call objs-of,$(VAPP_CLI_SRCS))
VAPP_VERSION := 0.1.0
PROGRAMS += $(BUILD)/bin/vapp

$(VAPP_CLI_OBJS): INCLUDES += -Iruntime/cli -DVAPP_VERSION='"$(VAPP_VERSION)"'
$(VAPP_CLI_OBJS): | $(VAPP_CLI_GEN_HEADERS)

$(BUILD)/bin/vapp: $(VAPP_CLI_OBJS) $(VAPP_CLI_LIBS) $(VAPP_CLI_TAIL_LIBS) $(VRPC_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(VAPP_CLI_OBJS) $(VAPP_CLI_LIBS) $(VAPP_CLI_TAIL_LIBS) $(VAPP_CLI_LDLIBS) \
		$(VRPC_LDLIBS)
