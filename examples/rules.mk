# examples/hello: the hello appliance's daemon and its guest-side client.
HELLO_PROTO := examples/hello/hello.proto
HELLO_BINS := $(BUILD)/bin/hello-server $(BUILD)/bin/hello-client
PROGRAMS += $(HELLO_BINS)

$(call objs-of,$(wildcard examples/hello/*.c)): | $(call gen-headers-of,$(HELLO_PROTO))

$(BUILD)/bin/hello-%: $(BUILD)/obj/examples/hello/hello_%.o $(call objs-of,$(HELLO_PROTO)) $(VRPC_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(call objs-of,$(HELLO_PROTO)) $(VRPC_LDLIBS)

# The main demo: the hello appliance called over RPC (README's first command).
demo: all
	$(Q)BUILD=$(BUILD) examples/hello/demo.sh

.PHONY: demo
