# image_boot.sh - what the appliance benchmarks share: an image booted
# straight from its qemu.args (no vappd), and the RAM floor bisected.
#
#   image_args IMG RUN MEM [NAME=VALUE]...
#       fills the array IMAGE_ARGS from IMG/qemu.args: ${IMAGE_DIR} is IMG,
#       ${RUN_DIR} is RUN, ${ACCEL} is tcg, each other ${NAME} the VALUE
#       given, and -m is MEM
#   image_mem IMG         the -m the manifest asks for, in MiB
#   image_ram_floor LO HI FN
#       the least MiB in (LO, HI] at which `FN MIB` succeeds, bisected to
#       8 MiB (HI is taken to succeed); prints a line per try on stderr
image_args() {
	local img=$1 run=$2 mem=$3 i a kv
	shift 3
	mapfile -t IMAGE_ARGS <"$img/qemu.args"
	for i in "${!IMAGE_ARGS[@]}"; do
		a=${IMAGE_ARGS[$i]//'${IMAGE_DIR}'/$img}
		a=${a//'${RUN_DIR}'/$run}
		a=${a//'${ACCEL}'/tcg}
		for kv in "$@"; do a=${a//"\${${kv%%=*}}"/${kv#*=}}; done
		IMAGE_ARGS[$i]=$a
		[ "$a" = -m ] && IMAGE_ARGS[$((i + 1))]=$mem
	done
	return 0
}

image_mem() {
	awk 'prev == "-m" { print; exit } { prev = $0 }' "$1/qemu.args"
}

image_ram_floor() {
	local lo=$1 hi=$2 fn=$3 mid
	while [ $((hi - lo)) -gt 8 ]; do
		mid=$(( (lo + hi) / 2 ))
		if "$fn" "$mid"; then
			echo "  $mid MiB: ready" >&2
			hi=$mid
		else
			echo "  $mid MiB: not ready" >&2
			lo=$mid
		fi
	done
	echo "$hi"
}
