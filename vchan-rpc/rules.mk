# vchan-rpc: three libraries, one folder each, one public header folder
# (vchan-rpc/include), one symbol prefix (vrpc_):
#
#   core/     libvrpc.a          wire, transports, loop, client, server
#   reflect/  libvrpc-reflect.a  JSON and run-time descriptors (tools: vapp
#                                call, vapp new, vapp-fw)
#   relay/    libvrpc-relay.a    the broker's engine (vappd)
#
# reflect and relay use core's private headers; nothing outside vchan-rpc
# does but the tests. The Windows build of the client half is windows/.
VRPC_PROTOS := vchan-rpc/proto/vrpc/v1/hello.proto
VRPC_CORE_SRCS := $(sort $(wildcard vchan-rpc/core/*.c)) $(VRPC_PROTOS)
VRPC_REFLECT_SRCS := $(sort $(wildcard vchan-rpc/reflect/*.c))
VRPC_RELAY_SRCS := $(sort $(wildcard vchan-rpc/relay/*.c))
VRPC_SRCS := $(VRPC_CORE_SRCS) $(VRPC_REFLECT_SRCS) $(VRPC_RELAY_SRCS)
# protoc's own descriptor.proto (Debian's libprotobuf-dev), compiled by
# protoc-c: reflect/dyn_*.c decode protoc's FileDescriptorSet with it.
VRPC_DESC_INCLUDE := /usr/include
VRPC_DESC_PROTO := $(VRPC_DESC_INCLUDE)/google/protobuf/descriptor.proto
VRPC_DESC_GEN := $(BUILD)/gen/google/protobuf/descriptor.pb-c
VRPC_CORE_OBJS := $(call objs-of,$(VRPC_CORE_SRCS))
VRPC_REFLECT_OBJS := $(call objs-of,$(VRPC_REFLECT_SRCS)) \
	$(BUILD)/obj/gen/google/protobuf/descriptor.pb-c.o
VRPC_RELAY_OBJS := $(call objs-of,$(VRPC_RELAY_SRCS))
# Every object of the three (the SDK's libvrpc.so is made of all of them).
VRPC_OBJS := $(VRPC_CORE_OBJS) $(VRPC_REFLECT_OBJS) $(VRPC_RELAY_OBJS)
VRPC_LIB := $(BUILD)/lib/libvrpc.a
VRPC_REFLECT_LIB := $(BUILD)/lib/libvrpc-reflect.a
VRPC_RELAY_LIB := $(BUILD)/lib/libvrpc-relay.a
VRPC_LIBS := $(VRPC_RELAY_LIB) $(VRPC_REFLECT_LIB) $(VRPC_LIB)
# What a program linking libvrpc adds to its link line (users before used;
# a static library adds only the objects a program uses).
VRPC_LDLIBS := $(VRPC_LIBS) $(PROTOBUF_C_LIBS) $(JSON_C_LIBS) $(XENVCHAN_LIBS)

INCLUDES += -Ivchan-rpc/include $(PROTOBUF_C_CFLAGS) $(JSON_C_CFLAGS) $(XENVCHAN_CFLAGS)
LIBS += $(VRPC_LIBS)

$(call objs-of,$(VRPC_SRCS)): | $(call gen-headers-of,$(VRPC_PROTOS)) $(VRPC_DESC_GEN).h
$(call objs-of,$(VRPC_RELAY_SRCS)): INCLUDES += -Ivchan-rpc/core

$(VRPC_DESC_GEN).c $(VRPC_DESC_GEN).h &: $(VRPC_DESC_PROTO)
	$(call msg,PROTOC,$<)
	@mkdir -p $(@D)
	$(Q)protoc-c --c_out=$(BUILD)/gen -I$(VRPC_DESC_INCLUDE) $<

$(VRPC_LIB): $(VRPC_CORE_OBJS)
$(VRPC_REFLECT_LIB): $(VRPC_REFLECT_OBJS)
$(VRPC_RELAY_LIB): $(VRPC_RELAY_OBJS)
$(VRPC_LIBS):
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
