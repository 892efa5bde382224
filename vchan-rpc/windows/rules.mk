# The Windows (mingw-w64, x86_64) build of libvrpc's client half, for guests
# such as the VoIP UI plugin in a Windows guest. Included by the top Makefile.
#
#   make win        build/win/lib/libvrpc.a and the Windows test programs
#                   (tests/win/*.c -> build/win/tests/win/*.exe)
#   make test       also does `make win`; tests/integration/windows_client.sh
#                   runs a Windows client under wine against a Linux server
#
# Debian has no mingw build of the protobuf-c runtime nor of json-c, so both
# are compiled here from their Debian sources, at the version of the
# installed -dev packages (tools/fetch-source.sh fetches them into
# build/cache once; nothing fetched is committed). protobuf-c's runtime is
# one file; json-c is a plain compile of its library files with a
# hand-written config.h (vchan-rpc/windows/json-c/).
#
# The output does not depend on SAN or BUILD: it always goes to build/win.

WIN := build/win
WIN_CACHE := build/cache
WIN_CC := x86_64-w64-mingw32-gcc
WIN_AR := x86_64-w64-mingw32-ar
# Vista's API (WSAPoll, inet_ntop, CancelIoEx, GetTickCount64) and up.
WIN_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_WIN32_WINNT=0x0601 -O2 -g \
	$(WARN) -MMD -MP
WIN_INCLUDES := -I$(WIN)/include -I$(WIN)/include/json-c -Ivchan-rpc/include \
	-Ivchan-rpc/core -Ivchan-rpc/reflect -I$(BUILD)/gen
# clock_gettime() is in winpthread; linked statically, as is libgcc, so that
# an .exe needs only system DLLs.
WIN_LDLIBS := -Wl,-Bstatic -lwinpthread -Wl,-Bdynamic -lws2_32 -ladvapi32
WIN_LDFLAGS := -static-libgcc

# The client half: framing, client engine, reflection, stream transports.
# POSIX-only files (sock.c, the server, the other transports) stay out.
WIN_VRPC_SRCS := $(wildcard $(addprefix vchan-rpc/core/, \
	wire.c status.c transport.c hostport.c conn.c handshake.c client.c deadline_heap.c)) \
	$(sort $(wildcard vchan-rpc/windows/*.c)) \
	$(sort $(wildcard vchan-rpc/reflect/*json*.c))
WIN_VRPC_OBJS := $(patsubst %.c,$(WIN)/obj/%.o,$(WIN_VRPC_SRCS)) \
	$(patsubst %.proto,$(WIN)/obj/gen/%.pb-c.o,$(VRPC_PROTOS))
WIN_VRPC_LIB := $(WIN)/lib/libvrpc.a
# (tests/rules.mk, included later, has the same list as TEST_PROTOS)
WIN_TEST_PROTOS := $(sort $(wildcard tests/proto/*.proto))
WIN_TEST_PROTO_OBJS := $(patsubst %.proto,$(WIN)/obj/gen/%.pb-c.o,$(WIN_TEST_PROTOS))
WIN_PROGS := $(patsubst %.c,$(WIN)/%.exe,$(sort $(wildcard tests/win/*.c)))

WIN_PBC_LIB := $(WIN)/lib/libprotobuf-c.a
WIN_JSONC_LIB := $(WIN)/lib/libjson-c.a
# json-c's library files (its CMakeLists.txt's JSON_C_SOURCES).
WIN_JSONC_FILES := arraylist debug json_c_version json_object json_object_iterator \
	json_pointer json_tokener json_util json_visit linkhash printbuf \
	random_seed strerror_override

win: $(WIN_VRPC_LIB) $(WIN_PROGS)
test: win
.PHONY: win

# protobuf-c runtime; its header goes where <protobuf-c/protobuf-c.h> finds it.
$(WIN_PBC_LIB): tools/fetch-source.sh vchan-rpc/windows/rules.mk
	$(call msg,WIN-SRC,protobuf-c)
	$(Q)src=$$(tools/fetch-source.sh $(WIN_CACHE) libprotobuf-c-dev) && \
	mkdir -p $(WIN)/include/protobuf-c $(WIN)/obj/protobuf-c $(@D) && \
	cp "$$src/protobuf-c/protobuf-c.h" $(WIN)/include/protobuf-c/ && \
	$(WIN_CC) -std=gnu11 -O2 -g -c -o $(WIN)/obj/protobuf-c/protobuf-c.o \
		-I$(WIN)/include "$$src/protobuf-c/protobuf-c.c" && \
	rm -f $@ && $(WIN_AR) rcs $@ $(WIN)/obj/protobuf-c/protobuf-c.o

# json-c: its headers go to include/json-c (users say <json-c/json.h> or,
# as pkg-config's -I.../json-c lets them, <json.h>). json.h is made from
# json.h.cmakein as json-c's CMake would, with json_pointer.h in it.
$(WIN_JSONC_LIB): tools/fetch-source.sh vchan-rpc/windows/rules.mk \
		vchan-rpc/windows/json-c/config.h vchan-rpc/windows/json-c/json_config.h
	$(call msg,WIN-SRC,json-c)
	$(Q)src=$$(tools/fetch-source.sh $(WIN_CACHE) libjson-c-dev) && \
	rm -rf $(WIN)/obj/json-c $(WIN)/include/json-c && \
	mkdir -p $(WIN)/include/json-c $(WIN)/obj/json-c $(@D) && \
	cp "$$src"/*.h vchan-rpc/windows/json-c/json_config.h $(WIN)/include/json-c/ && \
	sed 's|@JSON_H_JSON_POINTER@|#include "json_pointer.h"|' "$$src/json.h.cmakein" \
		> $(WIN)/include/json-c/json.h && \
	for f in $(WIN_JSONC_FILES); do \
		$(WIN_CC) -std=gnu11 -D_GNU_SOURCE -DWIN32 -O2 -g -w \
			-Ivchan-rpc/windows/json-c -I$(WIN)/include/json-c \
			-c -o $(WIN)/obj/json-c/$$f.o "$$src/$$f.c" || exit 1; \
	done && \
	rm -f $@ && $(WIN_AR) rcs $@ $(addprefix $(WIN)/obj/json-c/,$(addsuffix .o,$(WIN_JSONC_FILES)))

# Every Windows object needs the two libraries' headers in place first.
$(WIN)/obj/%.o: %.c | $(WIN_PBC_LIB) $(WIN_JSONC_LIB) $(CONFIG)
	$(call msg,WIN-CC,$<)
	@mkdir -p $(@D)
	$(Q)$(WIN_CC) $(WIN_CFLAGS) $(WIN_INCLUDES) -c -o $@ $<

# protoc-c's output is the same for both targets: reuse the Linux build's.
$(WIN)/obj/gen/%.o: $(BUILD)/gen/%.c | $(WIN_PBC_LIB) $(WIN_JSONC_LIB)
	$(call msg,WIN-CC,$<)
	@mkdir -p $(@D)
	$(Q)$(WIN_CC) $(WIN_CFLAGS) -Wno-missing-prototypes $(WIN_INCLUDES) -c -o $@ $<

$(WIN_VRPC_OBJS): | $(call gen-headers-of,$(VRPC_PROTOS))
$(patsubst %.c,$(WIN)/obj/%.o,$(sort $(wildcard tests/win/*.c))): \
	| $(call gen-headers-of,$(WIN_TEST_PROTOS) $(VRPC_PROTOS))
$(WIN)/obj/tests/%.o: WIN_INCLUDES += -I$(BUILD)/gen/tests/proto

# Kept, like the Linux build's generated objects (the top Makefile).
.PRECIOUS: $(WIN)/obj/gen/%.pb-c.o

$(WIN_VRPC_LIB): $(WIN_VRPC_OBJS)
	$(call msg,WIN-AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(WIN_AR) rcs $@ $^

$(WIN)/tests/win/%.exe: $(WIN)/obj/tests/win/%.o $(WIN_TEST_PROTO_OBJS) $(WIN_VRPC_LIB) \
		$(WIN_PBC_LIB) $(WIN_JSONC_LIB)
	$(call msg,WIN-LD,$@)
	@mkdir -p $(@D)
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) -o $@ $< $(WIN_TEST_PROTO_OBJS) $(WIN_VRPC_LIB) \
		$(WIN_PBC_LIB) $(WIN_JSONC_LIB) $(WIN_LDLIBS)

-include $(shell find $(WIN)/obj -name '*.d' 2>/dev/null)
