# kernel/rules.mk - the appliances' small kernel: `make kernel` runs
# kernel/build.sh when a fragment or the script changed. `make test` needs
# it (the firewall's manifests name its tree). One build serves every BUILD:
# it is made in build/kernels/small, and another BUILD (build/san) gets a
# link to it, for the kernel does not change with the sanitizers.
KERNEL_TREE := build/kernels/small
KERNEL_INPUTS := kernel/build.sh $(sort $(wildcard kernel/*.config kernel/patches/*.patch))

$(KERNEL_TREE)/vmlinuz: $(KERNEL_INPUTS) | $(CONFIG)
	$(call msg,KERNEL,$(KERNEL_TREE))
	$(Q)BUILD=build kernel/build.sh

ifneq ($(BUILD),build)
$(BUILD)/kernels/small/vmlinuz: $(KERNEL_TREE)/vmlinuz
	$(Q)mkdir -p $(BUILD)/kernels
	$(Q)ln -sfn $(TOP)/$(KERNEL_TREE) $(BUILD)/kernels/small
endif

kernel: $(BUILD)/kernels/small/vmlinuz

.PHONY: kernel
