# libvrpc: every .c in vchan-rpc/src is part of the library.
VRPC_PROTOS := vchan-rpc/proto/vrpc/v1/hello.proto
VRPC_SRCS := $(sort $(wildcard vchan-rpc/src/*.c)) $(VRPC_PROTOS)
VRPC_OBJS := $(call objs-of,$(VRPC_SRCS))
VRPC_LIB := $(BUILD)/lib/libvrpc.a
# What a program linking libvrpc adds to its link line.
VRPC_LDLIBS := $(VRPC_LIB) $(PROTOBUF_C_LIBS) $(JSON_C_LIBS) $(XENVCHAN_LIBS)

INCLUDES += -Ivchan-rpc/include $(PROTOBUF_C_CFLAGS) $(JSON_C_CFLAGS) $(XENVCHAN_CFLAGS)
LIBS += $(VRPC_LIB)

$(call objs-of,$(VRPC_SRCS)): | $(call gen-headers-of,$(VRPC_PROTOS))

$(VRPC_LIB): $(VRPC_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
