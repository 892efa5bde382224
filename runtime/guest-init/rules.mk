# runtime/guest-init: vapp-init, the appliance's PID 1 (the image's /init).
#
# Linked statically so the image needs no loader for it, against musl when
# musl-gcc is there (Debian musl-tools): 67 KB, 33 KB gzipped, against 700 KB
# and 300 KB with glibc, in an image whose budget is 16 MiB with a 13.5 MiB
# kernel. glibc works too (no NSS is used). Never sanitized: ASan/UBSan
# runtimes do not link statically and have no place in PID 1. Its objects
# therefore go to their own folder with their own compiler and flags;
# initconf.c (the pure half) is also compiled the normal way for the unit
# test and the fuzz target below, which is where the sanitizers check it.
VAPP_INIT := $(BUILD)/bin/vapp-init
VAPP_INIT_CC ?= $(if $(shell command -v musl-gcc),musl-gcc,$(CC))
VAPP_INIT_CC := $(VAPP_INIT_CC)
VAPP_INIT_SRCS := $(sort $(wildcard runtime/guest-init/*.c))
VAPP_INIT_OBJS := $(patsubst %.c,$(BUILD)/obj/init-static/%.o,$(VAPP_INIT_SRCS))
VAPP_INIT_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -ffunction-sections \
	-fdata-sections -MMD -MP
PROGRAMS += $(VAPP_INIT)

$(BUILD)/obj/init-static/%.o: %.c | $(CONFIG)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(VAPP_INIT_CC) $(VAPP_INIT_CFLAGS) -c -o $@ $<

# Stripped: it is copied into every image, and its size counts there.
$(VAPP_INIT): $(VAPP_INIT_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(VAPP_INIT_CC) -static -s -Wl,--gc-sections $(LDFLAGS) -o $@ $(VAPP_INIT_OBJS)

# The unit test and the fuzz target link the pure half, built the normal way
# (sanitized with SAN=1, instrumented with FUZZ=1).
VAPP_INIT_PURE := $(call objs-of,runtime/guest-init/initconf.c runtime/guest-init/initconf_settings.c \
	runtime/guest-init/initconf_direct.c)
$(BUILD)/tests/unit/test_vapp_init: $(VAPP_INIT_PURE)
$(BUILD)/tests/unit/test_vapp_init: TEST_COMMON_OBJS += $(VAPP_INIT_PURE)
$(BUILD)/obj/tests/unit/test_vapp_init.o: INCLUDES += -Iruntime/guest-init
$(BUILD)/tests/fuzz/fuzz_vapp_init: $(VAPP_INIT_PURE)
$(BUILD)/tests/fuzz/fuzz_vapp_init: TEST_COMMON_OBJS += $(VAPP_INIT_PURE)
$(BUILD)/obj/tests/fuzz/fuzz_vapp_init.o: INCLUDES += -Iruntime/guest-init
