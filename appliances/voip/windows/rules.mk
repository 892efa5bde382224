# appliances/voip/windows: the VoIP UI plugin for the user's Windows guest.
#
#   ui_core.c           the plugin (vapp_voip_ui.h; connector.c connects on
#                       a thread of its own): built as
#                       build/win/bin/vapp-voip-ui.dll with mingw-w64 (and
#                       its import library build/win/lib/libvapp-voip-ui.dll.a),
#                       and for Linux, where its test also runs sanitized
#   app/                the window program, build/win/bin/vapp-voip-ui.exe
#   installer.nsi       its installer, build/win/vapp-voip-ui-setup.exe
#   tests/test_voip_ui.c  its cmocka test, both ways: $(BUILD)/tests/progs/
#                       test_voip_ui and build/win/bin/test_voip_ui.exe (beside
#                       the DLL, as Windows finds DLLs); voip_ui_api.sh runs
#                       them against two real VoIP daemons
#
# cmocka for mingw is compiled from Debian's source like json-c
# (vchan-rpc/windows/cmocka/config.h), as Debian has no mingw build of it.
VVUI_SRC := appliances/voip/windows/ui_core.c appliances/voip/windows/connector.c
VVUI_TEST_SRC := appliances/voip/windows/tests/test_voip_ui.c
VVUI_TEST := $(BUILD)/tests/progs/test_voip_ui
PROGRAMS += $(VVUI_TEST)

$(call objs-of,$(VVUI_SRC) $(VVUI_TEST_SRC)): | $(call gen-headers-of,$(VOIP_PROTO))
$(call objs-of,$(VVUI_SRC) $(VVUI_TEST_SRC)): INCLUDES += -Iappliances/voip/windows
$(call objs-of,$(VVUI_TEST_SRC)): INCLUDES += $(CMOCKA_CFLAGS)
$(VVUI_TEST): $(call objs-of,$(VVUI_TEST_SRC) $(VVUI_SRC) $(VOIP_PROTO)) $(VRPC_LIBS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(call objs-of,$(VVUI_TEST_SRC) $(VVUI_SRC) $(VOIP_PROTO)) \
		$(VRPC_LDLIBS) $(CMOCKA_LIBS)

# Windows.
VVUI_DLL := $(WIN)/bin/vapp-voip-ui.dll
VVUI_IMPLIB := $(WIN)/lib/libvapp-voip-ui.dll.a
VVUI_WIN_TEST := $(WIN)/bin/test_voip_ui.exe
WIN_CMOCKA_LIB := $(WIN)/lib/libcmocka.a
VVUI_WIN_OBJS := $(addprefix $(WIN)/obj/,$(VVUI_SRC:.c=.o)) $(WIN)/obj/gen/appliances/voip/voip.pb-c.o
VVUI_APP := $(WIN)/bin/vapp-voip-ui.exe
VVUI_APP_OBJS := $(patsubst %.c,$(WIN)/obj/%.o,$(sort $(wildcard appliances/voip/windows/app/*.c)))
win: $(VVUI_DLL) $(VVUI_WIN_TEST) $(VVUI_APP)

$(WIN)/obj/appliances/voip/windows/%.o: WIN_INCLUDES += -Iappliances/voip/windows
$(addprefix $(WIN)/obj/,$(VVUI_SRC:.c=.o)): WIN_CFLAGS += -DVVUI_BUILD
$(WIN)/obj/appliances/voip/windows/tests/%.o: WIN_INCLUDES += -I$(WIN)/include/cmocka
$(WIN)/obj/$(VVUI_TEST_SRC:.c=.o): | $(WIN_CMOCKA_LIB)
$(VVUI_WIN_OBJS): | $(call gen-headers-of,$(VOIP_PROTO))

$(VVUI_DLL): $(VVUI_WIN_OBJS) $(WIN_VRPC_LIB) $(WIN_PBC_LIB) $(WIN_JSONC_LIB)
	$(call msg,WIN-LD,$@)
	@mkdir -p $(@D) $(dir $(VVUI_IMPLIB))
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) -shared -o $@ -Wl,--out-implib,$(VVUI_IMPLIB) \
		$(VVUI_WIN_OBJS) $(WIN_VRPC_LIB) $(WIN_PBC_LIB) $(WIN_JSONC_LIB) $(WIN_LDLIBS)
$(VVUI_IMPLIB): $(VVUI_DLL)

$(VVUI_WIN_TEST): $(WIN)/obj/$(VVUI_TEST_SRC:.c=.o) $(VVUI_DLL) $(WIN_CMOCKA_LIB)
	$(call msg,WIN-LD,$@)
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) -o $@ $< $(VVUI_IMPLIB) $(WIN_CMOCKA_LIB) $(WIN_LDLIBS)

$(WIN_CMOCKA_LIB): tools/fetch-source.sh vchan-rpc/windows/cmocka/config.h
	$(call msg,WIN-SRC,cmocka)
	$(Q)src=$$(tools/fetch-source.sh $(WIN_CACHE) libcmocka-dev) && \
	mkdir -p $(WIN)/include/cmocka $(WIN)/obj/cmocka $(@D) && \
	cp "$$src/include/cmocka.h" $(WIN)/include/cmocka/ && \
	$(WIN_CC) -std=gnu11 -O2 -g -DHAVE_CONFIG_H -Ivchan-rpc/windows/cmocka \
		-I"$$src/include" -c -o $(WIN)/obj/cmocka/cmocka.o "$$src/src/cmocka.c" && \
	rm -f $@ && $(WIN_AR) rcs $@ $(WIN)/obj/cmocka/cmocka.o

# The window program: a GUI program (no console) on the DLL.
$(VVUI_APP_OBJS): WIN_INCLUDES += -Iappliances/voip/windows/app
$(VVUI_APP_OBJS): | $(call gen-headers-of,$(VOIP_PROTO))
$(VVUI_APP): $(VVUI_APP_OBJS) $(VVUI_DLL)
	$(call msg,WIN-LD,$@)
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) -mwindows -o $@ $(VVUI_APP_OBJS) $(VVUI_IMPLIB) \
		-lcomctl32 -lshell32 $(WIN_LDLIBS)

# The installer (NSIS, Debian's nsis), when makensis is there.
VVUI_SETUP := $(WIN)/vapp-voip-ui-setup.exe
ifneq ($(shell command -v makensis),)
win: $(VVUI_SETUP)
endif
$(VVUI_SETUP): appliances/voip/windows/installer.nsi $(VVUI_APP) $(VVUI_DLL) \
		appliances/voip/windows/vapp_voip_ui.h
	$(call msg,NSIS,$@)
	$(Q)makensis -V2 -DBIN=$(abspath $(WIN)/bin) -DHDR=$(abspath appliances/voip/windows) \
		-DOUT=$(abspath $@) $< >/dev/null
