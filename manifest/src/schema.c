/*
 * schema.c - the manifest's YAML form as a libcyaml schema. Every key a
 * manifest may hold is listed here and nowhere else: positions.c walks this
 * same table to find unknown keys and to suggest the closest known one.
 * Sizes with units, file modes and paths are strings here; convert.c reads
 * them, so that one bad value does not stop the load of everything else.
 */
#include "manifest_private.h"

#define STR(key, flags, type, member) \
	CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_POINTER | (flags), type, member, 0, CYAML_UNLIMITED)

/* No appliance needs more; a bound keeps a hostile file's checks linear. */
#define SEQ_MAX 256

/* A sequence whose count lives in a member of another name (n_FOO). */
#define SEQ(_key, flags, type, member, count, entry, min) { \
	.key = _key, \
	.data_offset = offsetof(type, member), \
	.count_offset = offsetof(type, count), \
	.count_size = sizeof(((type *)NULL)->count), \
	.value = { CYAML_VALUE_SEQUENCE(CYAML_FLAG_POINTER | (flags), \
				       *(((type *)NULL)->member), entry, min, SEQ_MAX) }, \
}

#define OPT CYAML_FLAG_OPTIONAL

static const cyaml_schema_value_t string_entry = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_strval_t restart_names[] = {
	{ "always", MANIFEST_RESTART_ALWAYS },
	{ "on-failure", MANIFEST_RESTART_ON_FAILURE },
	{ "never", MANIFEST_RESTART_NEVER },
};

static const cyaml_strval_t role_names[] = {
	{ "uplink", MANIFEST_NIC_UPLINK },
	{ "guest", MANIFEST_NIC_GUEST },
};

static const cyaml_strval_t xen_type_names[] = {
	{ "pvh", MANIFEST_XEN_PVH },
	{ "pv", MANIFEST_XEN_PV },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const cyaml_schema_field_t kernel_fields[] = {
	STR("package", OPT, struct raw_kernel, package),
	STR("path", OPT, struct raw_kernel, path),
	STR("tree", OPT, struct raw_kernel, tree),
	STR("cmdline", OPT, struct raw_kernel, cmdline),
	SEQ("modules", OPT, struct raw_kernel, modules, n_modules, &string_entry, 0),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t binary_fields[] = {
	STR("source", 0, struct raw_file, source),
	STR("destination", OPT, struct raw_file, destination),
	STR("mode", OPT, struct raw_file, mode),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t binary_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_file, binary_fields),
};

/* A file has no default place in the image: its destination is required. */
static const cyaml_schema_field_t file_fields[] = {
	STR("source", 0, struct raw_file, source),
	STR("destination", 0, struct raw_file, destination),
	STR("mode", OPT, struct raw_file, mode),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t file_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_file, file_fields),
};

static const cyaml_schema_field_t daemon_fields[] = {
	SEQ("command", 0, struct raw_daemon, command, n_command, &string_entry, 1),
	CYAML_FIELD_ENUM("restart", OPT | CYAML_FLAG_STRICT, struct raw_daemon, restart,
			 restart_names, N(restart_names)),
	CYAML_FIELD_UINT_PTR("restart_delay_ms", OPT, struct raw_daemon, restart_delay_ms),
	SEQ("settings", OPT, struct raw_daemon, settings, n_settings, &string_entry, 0),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t service_fields[] = {
	STR("proto", 0, struct raw_service, proto),
	STR("name", 0, struct raw_service, name),
	STR("channel", 0, struct raw_service, channel),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t service_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_service, service_fields),
};

static const cyaml_schema_field_t nic_fields[] = {
	CYAML_FIELD_ENUM("role", CYAML_FLAG_STRICT, struct raw_nic, role, role_names,
			 N(role_names)),
	STR("name", OPT, struct raw_nic, name),
	STR("mac", OPT, struct raw_nic, mac),
	STR("guest", OPT, struct raw_nic, guest),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t nic_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_nic, nic_fields),
};

static const cyaml_schema_field_t devices_fields[] = {
	SEQ("channels", OPT, struct raw_devices, channels, n_channels, &string_entry, 0),
	SEQ("nics", OPT, struct raw_devices, nics, n_nics, &nic_entry, 0),
	CYAML_FIELD_BOOL("usb", OPT, struct raw_devices, usb),
	CYAML_FIELD_BOOL("sound", OPT, struct raw_devices, sound),
	CYAML_FIELD_BOOL("direct", OPT, struct raw_devices, direct),
	SEQ("pci", OPT, struct raw_devices, pci, n_pci, &string_entry, 0),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t state_fields[] = {
	STR("size", 0, struct raw_state, size),
	STR("mount", OPT, struct raw_state, mount),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t signing_fields[] = {
	STR("key", 0, struct raw_signing, key),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t qemu_fields[] = {
	SEQ("args", OPT, struct raw_qemu, args, n_args, &string_entry, 0),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t xen_fields[] = {
	CYAML_FIELD_ENUM("type", OPT | CYAML_FLAG_STRICT, struct raw_xen, type, xen_type_names,
			 N(xen_type_names)),
	SEQ("extra", OPT, struct raw_xen, extra, n_extra, &string_entry, 0),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t libvirt_fields[] = {
	STR("devices_xml", OPT, struct raw_libvirt, devices_xml),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t hv_fields[] = {
	CYAML_FIELD_MAPPING_PTR("qemu", OPT, struct raw_hv, qemu, qemu_fields),
	CYAML_FIELD_MAPPING_PTR("xen", OPT, struct raw_hv, xen, xen_fields),
	CYAML_FIELD_MAPPING_PTR("libvirt", OPT, struct raw_hv, libvirt, libvirt_fields),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t top_fields[] = {
	STR("name", 0, struct raw_manifest, name),
	STR("version", OPT, struct raw_manifest, version),
	STR("vendor", OPT, struct raw_manifest, vendor),
	STR("description", OPT, struct raw_manifest, description),
	CYAML_FIELD_MAPPING_PTR("kernel", OPT, struct raw_manifest, kernel, kernel_fields),
	CYAML_FIELD_UINT_PTR("vcpus", OPT, struct raw_manifest, vcpus),
	STR("memory", OPT, struct raw_manifest, memory),
	CYAML_FIELD_BOOL_PTR("busybox", OPT, struct raw_manifest, busybox),
	SEQ("binaries", OPT, struct raw_manifest, binaries, n_binaries, &binary_entry, 0),
	SEQ("files", OPT, struct raw_manifest, files, n_files, &file_entry, 0),
	CYAML_FIELD_MAPPING_PTR("daemon", 0, struct raw_manifest, daemon, daemon_fields),
	SEQ("services", OPT, struct raw_manifest, services, n_services, &service_entry, 0),
	CYAML_FIELD_MAPPING_PTR("devices", OPT, struct raw_manifest, devices, devices_fields),
	CYAML_FIELD_MAPPING_PTR("state", OPT, struct raw_manifest, state, state_fields),
	CYAML_FIELD_MAPPING_PTR("signing", OPT, struct raw_manifest, signing, signing_fields),
	CYAML_FIELD_MAPPING_PTR("hypervisor", OPT, struct raw_manifest, hypervisor, hv_fields),
	CYAML_FIELD_END
};

const cyaml_schema_value_t manifest_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_manifest, top_fields),
};

/* Unknown keys are ignored here only because positions.c has already
 * reported every one of them (libcyaml would stop at the first); aliases
 * are refused because a manifest has no use for them and they would let a
 * small file expand into a huge one. */
const cyaml_config_t manifest_cyaml_config = {
	.log_fn = cylog_fn,
	.mem_fn = cyaml_mem,
	.log_level = CYAML_LOG_ERROR,
	.flags = CYAML_CFG_IGNORE_UNKNOWN_KEYS | CYAML_CFG_NO_ALIAS,
};
