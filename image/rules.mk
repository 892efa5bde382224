# image/: libvapp-image, the appliance image and its trust: the measurement
# chain, Ed25519 signing and verification, the deterministic cpio writer and
# reader. The builder writes images with it; vappd verifies them with it and
# links nothing of the builder (no kernel fetching, no apt).
IMAGE_SRCS := $(sort $(wildcard image/src/*.c))
IMAGE_OBJS := $(call objs-of,$(IMAGE_SRCS))
IMAGE_LIB := $(BUILD)/lib/libvapp-image.a
# What a program linking the image library adds to its link line.
IMAGE_LDLIBS := $(IMAGE_LIB) $(UTIL_LIB) $(CRYPTO_LIBS) $(ZSTD_LIBS) $(JSON_C_LIBS)

INCLUDES += -Iimage/include $(CRYPTO_CFLAGS) $(JSON_C_CFLAGS)
LIBS += $(IMAGE_LIB)
VAPP_CLI_LIBS := $(IMAGE_LIB) $(VAPP_CLI_LIBS)
VAPP_CLI_LDLIBS += $(CRYPTO_LIBS) $(ZSTD_LIBS) $(JSON_C_LIBS)
VAPP_CLI_SRCS += $(sort $(wildcard image/cli/*.c))

$(IMAGE_OBJS): INCLUDES += -Iimage/src

$(IMAGE_LIB): $(IMAGE_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Its unit tests and fuzz target link the library (tests/rules.mk links libvrpc only).
IMAGE_TESTS := $(BUILD)/tests/unit/test_measure $(BUILD)/tests/unit/test_cpio $(BUILD)/tests/unit/test_oci \
	$(BUILD)/tests/fuzz/fuzz_measurement $(BUILD)/tests/fuzz/fuzz_oci
$(IMAGE_TESTS): $(IMAGE_LIB) $(UTIL_LIB)
$(IMAGE_TESTS): TEST_COMMON_OBJS += $(IMAGE_LDLIBS)
