# wine.sh - run the project's Windows programs under wine (wine64 from
# Debian), sourced by the tests that do:
#
#   wine_init || exit 77     the prefix build/win/wineprefix (made on first
#                            use, its creation time printed, kept for the
#                            next run); exit 77 without mingw-w64 or wine64
#   "$wine" PROGRAM.exe ...  run one
#   wine_stop                this prefix's wineserver and every wine process
#                            of it (call it from the test's exit trap)
#
# No Mono or Gecko: the programs need neither, and asking for them would
# only slow the prefix's creation.
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver

wine_init() {
	if ! command -v x86_64-w64-mingw32-gcc >/dev/null || [ ! -x "$wine" ]; then
		echo "mingw-w64 or wine64 missing (tools/debian-packages.txt)"
		return 77
	fi
	export WINEPREFIX=${TOP:-$PWD}/build/win/wineprefix
	export WINEDEBUG=-all
	export WINEDLLOVERRIDES="mscoree,mshtml="
	if [ ! -f "$WINEPREFIX/system.reg" ]; then
		local start=$(date +%s%N)
		timeout -k 5 120 "$wine" cmd /c exit >/dev/null 2>&1
		"$wineserver" -w 2>/dev/null
		[ -f "$WINEPREFIX/system.reg" ] || { echo "FAIL: wine could not create $WINEPREFIX"; return 1; }
		echo "wine prefix created in $(( ($(date +%s%N) - start) / 1000000 )) ms"
	fi
}

wine_stop() {
	"$wineserver" -k 2>/dev/null
	"$wineserver" -w 2>/dev/null
}
