#!/bin/bash
# sdk_install.sh - `make install` gives a vendor a working SDK:
#   - the files land under PREFIX (and under DESTDIR when it is set);
#   - libvrpc.so.0 exports exactly the vrpc_* functions the public headers
#     declare, nothing else (nm -D), and has its soname;
#   - each public header compiles on its own, -Werror, as C and as C++;
#   - pkg-config --cflags --libs vapp-sdk works from the installed .pc, and a
#     tiny server and client built with its flags alone (which never name
#     the build tree) and loading the installed libvrpc.so.0 talk over unix:.
set -eu
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
[ "${SAN:-0}" = 1 ] && { echo "the installed SDK is tested in the normal build"; exit 77; }
work=$(mktemp -d /tmp/vapp-sdk-install.XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

prefix=$work/prefix
make -s install PREFIX="$prefix" >/dev/null || fail "make install"
for f in include/vapp/vrpc.h include/vapp/vrpc_json.h include/vapp/vrpc_relay.h \
	lib/libvrpc.a lib/libvrpc.so.0 lib/libvrpc.so lib/pkgconfig/vapp-sdk.pc bin/vapp \
	libexec/vapp/vapp-init share/vapp/template/service.c.in share/doc/vapp/GUIDE.md; do
	[ -e "$prefix/$f" ] || fail "make install did not install $f"
done
echo "installed under $prefix: $(find "$prefix" -type f | wc -l) files"

# DESTDIR: staged, the .pc still names PREFIX.
make -s install PREFIX=/opt/vapp DESTDIR="$work/stage" >/dev/null || fail "make install DESTDIR"
[ -f "$work/stage/opt/vapp/lib/libvrpc.so.0" ] || fail "DESTDIR: no libvrpc.so.0 under the stage"
grep -qx 'prefix=/opt/vapp' "$work/stage/opt/vapp/lib/pkgconfig/vapp-sdk.pc" ||
	fail "DESTDIR: the .pc does not name PREFIX"

# The exported set: every vrpc_ function the headers declare, nothing else.
so=$prefix/lib/libvrpc.so.0
readelf -d "$so" | grep -q 'SONAME.*\[libvrpc.so.0\]' || fail "no soname libvrpc.so.0"
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' | sed 's/@.*//' | sort -u >"$work/exported"
other=$(grep -v '^vrpc_' "$work/exported" || true)
[ -z "$other" ] || fail "libvrpc.so.0 exports more than vrpc_*: $(echo $other | head -c 300)"
# What a Linux program sees declared (the preprocessor drops Windows-only
# declarations such as vrpc_client_handles()).
for h in "$prefix"/include/vapp/vrpc*.h; do
	gcc -E -P -I"$prefix/include/vapp" $(pkg-config --cflags libprotobuf-c 2>/dev/null) -x c "$h"
done | tr -s ' \t\n' ' ' | grep -o 'vrpc_[a-z0-9_]* *(' | sed 's/ *($//' | sort -u >"$work/declared"
missing=$(comm -23 "$work/declared" "$work/exported" | grep -v '_fn$' || true)
[ -z "$missing" ] || fail "declared but not exported: $missing"
echo "libvrpc.so.0 exports $(wc -l <"$work/exported") symbols, all vrpc_*; every declared function among them"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
flags=$(pkg-config --cflags --libs vapp-sdk) || fail "pkg-config vapp-sdk"
echo "pkg-config --cflags --libs vapp-sdk: $flags"
case $flags in *"$PWD"*) fail "the installed .pc points into the source tree" ;; esac

# Each public header on its own, as C and C++.
for h in "$prefix"/include/vapp/*.h; do
	printf '#include <%s>\n#include <%s>\n' "$(basename "$h")" "$(basename "$h")" >"$work/one.c"
	gcc -std=c11 -Wall -Wextra -Werror -pedantic $(pkg-config --cflags vapp-sdk) \
		-fsyntax-only "$work/one.c" || fail "$(basename "$h") does not compile alone (C)"
	if command -v g++ >/dev/null; then
		cp "$work/one.c" "$work/one.cc"
		g++ -Wall -Wextra -Werror $(pkg-config --cflags vapp-sdk) -fsyntax-only \
			"$work/one.cc" || fail "$(basename "$h") does not compile alone (C++)"
	fi
done
echo "each of $(ls "$prefix"/include/vapp/*.h | wc -l) headers compiles alone (C$(command -v g++ >/dev/null && echo ' and C++'))"

# A tiny server and client, built and run with the installed SDK only.
cp examples/hello/hello.proto "$work/"
( cd "$work" && protoc-c --c_out=. hello.proto ) || fail "protoc-c"
sed 's|examples/hello/hello.pb-c.h|hello.pb-c.h|' examples/hello/hello_server.c >"$work/server.c"
sed 's|examples/hello/hello.pb-c.h|hello.pb-c.h|' examples/hello/hello_client.c >"$work/client.c"
# Only the installed .pc's flags: the tree's headers and libraries are
# never named (checked above), and the program must load the installed .so.
for p in server client; do
	gcc -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror -I"$work" -o "$work/$p" \
		"$work/$p.c" "$work/hello.pb-c.c" $(pkg-config --cflags --libs vapp-sdk) \
		-Wl,-rpath,"$prefix/lib" || fail "building the $p against the installed SDK"
done
ldd "$work/server" | grep -q "$prefix/lib/libvrpc.so.0" || fail "the server does not use the installed libvrpc.so.0"
"$work/server" --listen "unix:$work/s.sock" >"$work/server.out" 2>&1 &
srv=$!
for _ in $(seq 100); do grep -q ready "$work/server.out" && break; sleep 0.05; done
out=$("$work/client" "unix:$work/s.sock" sdk 2>&1) || fail "the call failed: $out"
[[ $out == "Hello, sdk!"* ]] || fail "unexpected reply: $out"
echo "a server and client built from the installed SDK: $out"
