# libvrpc: every .c in vchan-rpc/src is part of the library.
VRPC_PROTOS := vchan-rpc/proto/vrpc/v1/hello.proto
VRPC_SRCS := $(sort $(wildcard vchan-rpc/src/*.c)) $(VRPC_PROTOS)
# protoc's own descriptor.proto (Debian's libprotobuf-dev), compiled by
# protoc-c: dyn_*.c decode protoc's FileDescriptorSet with it.
VRPC_DESC_INCLUDE := /usr/include
VRPC_DESC_PROTO := $(VRPC_DESC_INCLUDE)/google/protobuf/descriptor.proto
VRPC_DESC_GEN := $(BUILD)/gen/google/protobuf/descriptor.pb-c
VRPC_OBJS := $(call objs-of,$(VRPC_SRCS)) $(BUILD)/obj/gen/google/protobuf/descriptor.pb-c.o
VRPC_LIB := $(BUILD)/lib/libvrpc.a
# What a program linking libvrpc adds to its link line.
VRPC_LDLIBS := $(VRPC_LIB) $(PROTOBUF_C_LIBS) $(JSON_C_LIBS) $(XENVCHAN_LIBS)

INCLUDES += -Ivchan-rpc/include $(PROTOBUF_C_CFLAGS) $(JSON_C_CFLAGS) $(XENVCHAN_CFLAGS)
LIBS += $(VRPC_LIB)

$(call objs-of,$(VRPC_SRCS)): | $(call gen-headers-of,$(VRPC_PROTOS)) $(VRPC_DESC_GEN).h

$(VRPC_DESC_GEN).c $(VRPC_DESC_GEN).h &: $(VRPC_DESC_PROTO)
	$(call msg,PROTOC,$<)
	@mkdir -p $(@D)
	$(Q)protoc-c --c_out=$(BUILD)/gen -I$(VRPC_DESC_INCLUDE) $<

$(VRPC_LIB): $(VRPC_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
