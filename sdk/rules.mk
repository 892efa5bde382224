# sdk: what a vendor installs to make an appliance (sdk/GUIDE.md).
#
#   libvrpc.so.0      the same objects as libvrpc.a (all built -fPIC), linked
#                     with vchan-rpc/libvrpc.map so only vrpc_* is exported
#   vapp-sdk.pc       pkg-config file, written by make install for its PREFIX;
#                     $(BUILD)/pkgconfig/vapp-sdk-uninstalled.pc describes this
#                     source tree, so an appliance can build against it uninstalled
#   vapp new          its template (sdk/new/template/*.in) is embedded in vapp
#
#   make install [PREFIX=/usr/local] [DESTDIR=...] [LIBDIR=$(PREFIX)/lib]
SDK_VERSION := 0.1.0
VRPC_SO := $(BUILD)/lib/libvrpc.so.0
VRPC_SO_LINK := $(BUILD)/lib/libvrpc.so
VRPC_MAP := vchan-rpc/libvrpc.map
SDK_UNINSTALLED_PC := $(BUILD)/pkgconfig/vapp-sdk-uninstalled.pc
LIBS += $(VRPC_SO) $(VRPC_SO_LINK) $(SDK_UNINSTALLED_PC)

# A sanitized library leaves the sanitizer's symbols to the program.
ifeq ($(SAN),1)
SO_NO_UNDEFINED :=
else
SO_NO_UNDEFINED := -Wl,--no-undefined
endif

$(VRPC_SO): $(VRPC_OBJS) $(VRPC_MAP)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -shared -Wl,-soname,libvrpc.so.0 -Wl,--version-script=$(VRPC_MAP) \
		$(SO_NO_UNDEFINED) $(ALL_LDFLAGS) -o $@ $(VRPC_OBJS) \
		$(PROTOBUF_C_LIBS) $(JSON_C_LIBS) $(XENVCHAN_LIBS) -lpthread

$(VRPC_SO_LINK): | $(VRPC_SO)
	$(Q)ln -sf libvrpc.so.0 $@

# The .pc of this tree: pkg-config prefers NAME-uninstalled.pc when it is on
# PKG_CONFIG_PATH, so `PKG_CONFIG_PATH=$(BUILD)/pkgconfig pkg-config vapp-sdk`
# answers for the tree.
$(SDK_UNINSTALLED_PC): sdk/rules.mk sdk/vapp-sdk.pc.in
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(TOP)|; s|@LIBDIR@|$(TOP)/$(BUILD)/lib|' \
		-e 's|@INCLUDEDIR@|$(TOP)/vchan-rpc/include|; s|@BINDIR@|$(TOP)/$(BUILD)/bin|' \
		-e 's|@VAPP_INIT@|$(TOP)/$(BUILD)/bin/vapp-init|; s|@TEMPLATE@|$(TOP)/sdk/new/template|' \
		-e 's|@VERSION@|$(SDK_VERSION)|' sdk/vapp-sdk.pc.in >$@

# vapp new's template, embedded: a small archive the CLI links.
SDK_TEMPLATES := $(sort $(wildcard sdk/new/template/*.in))
SDK_TEMPLATE_C := $(BUILD)/gen/sdk/template_data.c
SDK_TEMPLATE_LIB := $(BUILD)/lib/libvapp-template.a
VAPP_CLI_LIBS := $(SDK_TEMPLATE_LIB) $(VAPP_CLI_LIBS)
# vapp new's code lives beside its template.
VAPP_CLI_SRCS += $(sort $(wildcard sdk/new/*.c))
$(call objs-of,$(wildcard sdk/new/*.c)): INCLUDES += -Isdk/new
# vapp new reads protoc's descriptor sets with libvrpc's descriptor.pb-c.
VAPP_CLI_GEN_HEADERS += $(VRPC_DESC_GEN).h

$(SDK_TEMPLATE_C): sdk/new/embed.sh $(SDK_TEMPLATES)
	$(call msg,EMBED,$@)
	@mkdir -p $(@D)
	$(Q)sdk/new/embed.sh $@ $(SDK_TEMPLATES)

$(BUILD)/obj/gen/sdk/template_data.o: INCLUDES += -Isdk/new

$(SDK_TEMPLATE_LIB): $(BUILD)/obj/gen/sdk/template_data.o
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
# The VoIP UI plugin's API goes with them: a Windows softphone shell embeds
# vapp-voip-ui.dll through it (appliances/voip/windows/).
SDK_HEADERS := $(sort $(wildcard vchan-rpc/include/vrpc*.h)) appliances/voip/windows/vapp_voip_ui.h
SDK_DOCS := sdk/GUIDE.md

install: $(VRPC_LIBS) $(VRPC_SO) $(BUILD)/bin/vapp $(VAPP_INIT)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(PREFIX)/include/vapp $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/vapp \
		$(DESTDIR)$(PREFIX)/share/vapp/template $(DESTDIR)$(PREFIX)/share/doc/vapp
	$(Q)install -m 0644 $(SDK_HEADERS) $(DESTDIR)$(PREFIX)/include/vapp/
	$(Q)install -m 0644 $(VRPC_LIBS) $(DESTDIR)$(LIBDIR)/
	$(Q)install -m 0755 $(VRPC_SO) $(DESTDIR)$(LIBDIR)/
	$(Q)ln -sf libvrpc.so.0 $(DESTDIR)$(LIBDIR)/libvrpc.so
	$(Q)install -m 0755 $(BUILD)/bin/vapp $(DESTDIR)$(PREFIX)/bin/
	$(Q)install -m 0755 $(VAPP_INIT) $(DESTDIR)$(PREFIX)/libexec/vapp/
	$(Q)install -m 0644 $(SDK_TEMPLATES) $(DESTDIR)$(PREFIX)/share/vapp/template/
	$(Q)install -m 0644 $(SDK_DOCS) $(DESTDIR)$(PREFIX)/share/doc/vapp/
	$(Q)if [ -f $(VVUI_DLL) ]; then install -d $(DESTDIR)$(PREFIX)/share/vapp/windows && \
		install -m 0644 $(VVUI_DLL) $(VVUI_IMPLIB) $(DESTDIR)$(PREFIX)/share/vapp/windows/; fi
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$${prefix}/include/vapp|; s|@BINDIR@|$${prefix}/bin|' \
		-e 's|@VAPP_INIT@|$${prefix}/libexec/vapp/vapp-init|' \
		-e 's|@TEMPLATE@|$${prefix}/share/vapp/template|; s|@VERSION@|$(SDK_VERSION)|' \
		sdk/vapp-sdk.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/vapp-sdk.pc

.PHONY: install
