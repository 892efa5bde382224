# vappd.sh - what the tests that run appliances under vappd ask of it,
# through `vapp ps` (VAPPD_SOCKET names the daemon; $vapp is the CLI):
#
#   vappd_qemu_pid NAME              the appliance's QEMU pid now
#   vappd_teardown PID QEMU_PIDS_FILE
#                                    a test's clean-up: vappd PID stopped
#                                    (SIGTERM, SIGKILL after 10 s), then
#                                    every QEMU pid listed in the file killed
#   vappd_wait_restarted NAME PID SECONDS
#                                    waits until NAME runs again after its
#                                    first restart, in another QEMU than PID;
#                                    prints the new pid, or returns 1
vappd_qemu_pid() {
	"$vapp" ps 2>/dev/null | awk -v n="$1" '$1 == n { print $6 }'
}

vappd_teardown() {
	local p
	if [ -n "$1" ]; then
		kill "$1" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$1" 2>/dev/null
	fi
	for p in $(cat "$2" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
}

vappd_wait_restarted() {
	local name=$1 old=$2 st rs p
	for _ in $(seq $(($3 * 5))); do
		# One ps for all fields: state, restarts and pid must agree.
		read -r _ st _ rs _ p _ < <("$vapp" ps 2>/dev/null | awk -v n="$name" '$1 == n')
		if [ "${st:-}" = running ] && [ "${rs:-}" = 1 ] && [ "${p:-}" != "$old" ]; then
			echo "$p"
			return 0
		fi
		sleep 0.2
	done
	return 1
}
