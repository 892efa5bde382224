#!/bin/bash
# vappd_run.sh - vappd runs real appliances under QEMU (TCG), end to end:
#   - vapp build examples/hello; vapp run it; vapp ps shows it running;
#   - hello-client calls Greeter through the appliance's channel socket
#     (direct: vappd --release-channel; the broker comes later);
#   - SIGKILL to its QEMU: vappd restarts it (restarts 1), the next call
#     works, and the state volume is found again (vapp-init reuses it);
#   - vapp logs shows the console; vapp stop ends it and ps forgets it;
#   - the image's unmeasured files are hostile (a qemu.args whose first
#     lines are /bin/sh -c 'touch FILE', monitors on TCP, -pidfile, tftp=/;
#     xl.cfg and libvirt.xml the same): the appliance runs from its measured
#     manifest, FILE never appears and QEMU's argv holds none of it;
#   - a copy of the image with one byte flipped in the kernel, or a
#     manifest.yaml edited after signing, is refused before it boots, the
#     message naming the file;
#   - an appliance whose daemon never answers fails at the boot timeout
#     with the console's last lines in the error, and its VM is gone.
# Bounded by $VAPPD_TEST_LIMIT seconds (default 400); everything it started
# is killed on exit.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
limit=${VAPPD_TEST_LIMIT:-400}
start=$(date +%s)
vapp=$BUILD/bin/vapp
. tests/lib/vappd.sh
vappd=$BUILD/bin/vappd
client=$BUILD/bin/hello-client

left() { local l=$(( limit - ($(date +%s) - start) )); echo $(( l > 0 ? l : 1 )); }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; exit 77; }
for f in "$vapp" "$vappd" "$client"; do
	[ -x "$f" ] || { echo "FAIL: build $f first (make)"; exit 1; }
done

work=$(mktemp -d /tmp/vappd-test.XXXXXX)
chmod 711 "$work" # vappd runs QEMU as vapp-qemu, who must reach the run folder
VAPPD_PID=
cleanup() {
	if [ -n "$VAPPD_PID" ] && kill -0 "$VAPPD_PID" 2>/dev/null; then
		kill "$VAPPD_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$VAPPD_PID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$VAPPD_PID" 2>/dev/null
	fi
	# QEMU dies with vappd (PR_SET_PDEATHSIG); make sure of it by pid.
	for p in $(cat "$work"/qemu.pids 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	[ -n "${VAPPD_TEST_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- vappd log (last 40 lines) ---"
	tail -n 40 "$work/vappd.log" 2>/dev/null
	exit 1
}

export VAPPD_SOCKET=$work/vappd.sock
ps_field() { # NAME COLUMN(1-based)
	"$vapp" ps 2>/dev/null | awk -v n="$1" -v c="$2" '$1 == n { print $c }'
}
remember_pid() { local p; p=$(ps_field "$1" 6); [ "$p" != "-" ] && [ -n "$p" ] && echo "$p" >>"$work/qemu.pids"; echo "$p"; }

# No vappd yet: the CLI says so and how to start it.
out=$("$vapp" ps 2>&1) && fail "vapp ps without vappd succeeded"
case $out in *"vappd is not running at $VAPPD_SOCKET (start it with: vappd)"*) ;;
*) fail "vapp ps without vappd: $out" ;; esac

img=$work/hello
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" examples/hello/manifest.yaml -o "$img" \
	>"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "vapp build examples/hello"; }

"$vappd" --foreground --socket "$VAPPD_SOCKET" --run-dir "$work/run" \
	--state-dir "$work/state" --trust-image-key --accel tcg --release-channel \
	--boot-timeout 60 >"$work/vappd.log" 2>&1 &
VAPPD_PID=$!
for _ in $(seq 50); do [ -S "$VAPPD_SOCKET" ] && break; sleep 0.1; done
[ -S "$VAPPD_SOCKET" ] || fail "vappd did not make its socket"
[ "$(stat -c %a "$VAPPD_SOCKET")" = 660 ] || fail "socket mode $(stat -c %a "$VAPPD_SOCKET"), not 660"

# The files vappd must never read, made hostile in the image it runs.
pwned=$work/pwned
printf '%s\n' /bin/sh -c "touch $pwned" -pidfile "$pwned.pid" -monitor tcp:0.0.0.0:4444,server,nowait \
	-qmp tcp:0.0.0.0:4445,server,nowait -netdev user,id=u,tftp=/ >"$img/qemu.args"
printf 'bootloader = "/bin/sh -c touch %s"\n' "$pwned" >"$img/xl.cfg"
printf '<domain><devices><emulator>/bin/sh</emulator></devices></domain>\n' >"$img/libvirt.xml"

# 1. run, ps, call
t0=$(date +%s%N)
out=$(timeout "$(left)" "$vapp" run "$img" 2>&1) || fail "vapp run: $out"
echo "$out" | head -1
echo "vapp run returned after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
[ "$(ps_field hello 2)" = running ] || fail "vapp ps does not show hello running: $("$vapp" ps)"
pid1=$(remember_pid hello)
qargv=$(tr '\0' '\n' <"/proc/$pid1/cmdline")
[ -e "$pwned" ] || [ -e "$pwned.pid" ] && fail "the image's qemu.args ran: $pwned exists"
for bad in /bin/sh -pidfile -monitor -qmp tftp= 4444; do
	grep -qF -- "$bad" <<<"$qargv" && fail "QEMU's argv holds '$bad' from the image's qemu.args"
done
for f in qemu.args xl.cfg libvirt.xml; do
	[ -e "$work/run/hello/image/$f" ] && fail "vappd copied the unmeasured $f"
done
grep -qx -- "-append" <<<"$qargv" || fail "QEMU's argv has no -append"
grep -qF -- "tsc_early_khz=2000000" <<<"$qargv" || fail "TCG boot without the measured cmdline.tcg"
echo "hostile qemu.args, xl.cfg, libvirt.xml: ignored (argv from the measured manifest)"
# QEMU: its own user, no capabilities (hello has no NICs), its seccomp filter.
st=/proc/$pid1/status
[ "$(awk '/^Uid:/ { print $2 }' "$st")" = "$(id -u vapp-qemu)" ] || fail "QEMU does not run as vapp-qemu: $(grep ^Uid "$st")"
[ "$(awk '/^Uid:/ { print $3 }' "$st")" = "$(id -u vapp-qemu)" ] || fail "QEMU's effective uid: $(grep ^Uid "$st")"
[ "$(awk '/^CapEff:/ { print $2 }' "$st")" = 0000000000000000 ] || fail "QEMU has capabilities: $(grep ^Cap "$st")"
[ "$(awk '/^Seccomp:/ { print $2 }' "$st")" = 2 ] || fail "QEMU runs without its seccomp filter"
grep -qx -- "-sandbox" <<<"$qargv" || fail "QEMU's argv has no -sandbox"
[ "$(stat -c %U:%G:%a "$work/run/hello/image/kernel")" = root:vapp-qemu:640 ] ||
	fail "the boot copy is not root's, read-only to QEMU: $(stat -c %U:%G:%a "$work/run/hello/image/kernel")"
echo "QEMU runs as vapp-qemu, no capabilities, seccomp on"
chan=$work/run/hello/vapp.rpc.sock
out=$(timeout 20 "$client" "serial:$chan" first 2>&1) || fail "call 1: $out"
case $out in "Hello, first!"*) echo "call 1: $out" ;; *) fail "call 1 answered: $out" ;; esac
grep -q 'new state volume .*ext4 with a journal' "$work/vappd.log" ||
	fail "vappd did not make the new state volume's journaled filesystem"
grep -aq 'state: reusing the existing filesystem' "$work/run/hello/console.log" ||
	fail "the new state volume's filesystem was not mounted on the first boot"
grep -aq 'making an ext2' "$work/run/hello/console.log" &&
	fail "the appliance formatted the state volume vappd had made"

# 2. kill QEMU: vappd restarts it, the call works, the state survives
kill -9 "$pid1"
t0=$(date +%s)
l=$(left)
vappd_wait_restarted hello "$pid1" $(( l < 90 ? l : 90 )) >/dev/null ||
	fail "hello was not restarted and ready within 90 s: $("$vapp" ps)"
pid2=$(remember_pid hello)
[ "$pid2" != "$pid1" ] || fail "the same QEMU pid after a restart"
echo "restarted: QEMU $pid1 -> $pid2 in $(( $(date +%s) - t0 )) s, restarts $(ps_field hello 4)"
out=$(timeout 20 "$client" "serial:$chan" second 2>&1) || fail "call after restart: $out"
case $out in "Hello, second!"*) echo "call 2: $out" ;; *) fail "call 2 answered: $out" ;; esac
grep -aq 'state: reusing the existing filesystem' "$work/run/hello/console.log" ||
	fail "the state volume was not found again after the restart"
echo "state volume kept across the restart"

# 3. logs, stop
"$vapp" logs -n 5 hello >"$work/logs.out" 2>&1 || fail "vapp logs: $(cat "$work/logs.out")"
[ "$(wc -l <"$work/logs.out")" -eq 5 ] || fail "vapp logs -n 5 printed $(wc -l <"$work/logs.out") lines"
"$vapp" logs hello | grep -q 'vapp-init: starting' || fail "vapp logs lacks vapp-init's start line"
# A follower is still streaming when the appliance stops: its stream ends
# by itself (with what the console said last), and vapp logs exits 0.
timeout 60 "$vapp" logs --follow -n 1 hello >"$work/follow.out" 2>&1 &
follow_pid=$!
sleep 1
out=$(timeout 40 "$vapp" stop hello 2>&1) || fail "vapp stop: $out"
for _ in $(seq 50); do kill -0 "$follow_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$follow_pid" 2>/dev/null && fail "vapp logs --follow did not end when hello stopped"
wait "$follow_pid" || fail "vapp logs --follow failed: $(cat "$work/follow.out")"
[ -s "$work/follow.out" ] || fail "vapp logs --follow printed nothing"
kill -0 "$pid2" 2>/dev/null && fail "QEMU $pid2 still runs after vapp stop"
[ -z "$(ps_field hello 1)" ] || fail "vapp ps still lists hello after stop"
grep -q 'poweroff sent on vapp.ctl' "$work/vappd.log" || fail "stop did not use vapp.ctl"
echo "stopped cleanly"

# 4. one byte flipped: refused before it boots, naming the part
bad=$work/hello-bad
cp -r "$img" "$bad"
off=$(( $(stat -c %s "$bad/kernel") / 2 ))
b=$(od -An -tu1 -j "$off" -N1 "$bad/kernel" | tr -d ' ')
printf "$(printf '\\%03o' $(( b ^ 1 )))" | dd of="$bad/kernel" bs=1 seek="$off" conv=notrunc status=none
out=$(timeout 30 "$vapp" run --name bad "$bad" 2>&1) && fail "a flipped byte was run: $out"
case $out in *"refused before boot"*kernel*) echo "flipped byte: $out" ;;
*) fail "flipped byte: unexpected message: $out" ;; esac
[ ! -e "$work/run/bad/console.log" ] || fail "the flipped image booted (it has a console)"
# The manifest decides memory, devices and services: edited after signing,
# the image is refused just the same.
rm -rf "$bad"
cp -r "$img" "$bad"
sed -i 's/^memory: .*/memory: 4096/' "$bad/manifest.yaml"
cmp -s "$img/manifest.yaml" "$bad/manifest.yaml" && fail "the manifest edit changed nothing"
out=$(timeout 30 "$vapp" run --name bad "$bad" 2>&1) && fail "an edited manifest was run: $out"
case $out in *"refused before boot"*manifest.yaml*) echo "edited manifest: refused" ;;
*) fail "edited manifest: unexpected message: $out" ;; esac

# 5. a daemon that never answers: fails at the boot timeout, console tail
broken=$work/broken
timeout "$(left)" "$vapp" build -D "BUILD=$BUILD" tests/vappd/broken/manifest.yaml -o "$broken" \
	>"$work/build2.log" 2>&1 || { cat "$work/build2.log"; fail "vapp build broken"; }
t0=$(date +%s)
out=$(timeout "$(left)" "$vapp" run --boot-timeout 25 "$broken" 2>&1) && fail "broken became ready"
took=$(( $(date +%s) - t0 ))
echo "broken: failed after $took s"
echo "$out" | head -3
[ "$took" -le 40 ] || fail "broken took $took s to fail (boot timeout 25 s)"
case $out in *"not ready within 25000 ms"*"console lines"*"vapp-init"*) ;;
*) fail "broken: the error lacks the timeout or the console tail: $out" ;; esac
[ "$(ps_field broken 2)" = failed ] || fail "broken is not listed as failed"
[ "$(ps_field broken 6)" = - ] || fail "broken's VM still runs"
"$vapp" stop broken >/dev/null || fail "vapp stop of a failed appliance"

# 6. vappd exits cleanly and takes nothing with it
kill "$VAPPD_PID"
for _ in $(seq 100); do kill -0 "$VAPPD_PID" 2>/dev/null || break; sleep 0.2; done
kill -0 "$VAPPD_PID" 2>/dev/null && fail "vappd still runs 20 s after SIGTERM"
wait "$VAPPD_PID" || fail "vappd exited with status $?"
VAPPD_PID=
[ ! -S "$VAPPD_SOCKET" ] || fail "vappd left its socket behind"
echo "vappd_run: all checks passed in $(( $(date +%s) - start )) s"
