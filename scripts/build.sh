#!/usr/bin/env bash
# Build efs-fuse out of tree in build/ (gitignored): ./bootstrap && ../configure && make.
# Idempotent: bootstrap and configure run only when their outputs are missing
# (make itself re-runs automake/configure when Makefile.am or configure.ac change).
# Env: BUILD_DIR (default <repo>/build), JOBS (default 2), CONFIGURE_FLAGS.
#
#   scripts/build.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer
#                                 build in build-sanitize/ (BUILD_DIR overrides);
#                                 a UBSan finding aborts like an ASan one.  Run
#                                 the tests against it with BUILD_DIR set, e.g.
#     scripts/build.sh --sanitize && BUILD_DIR=$PWD/build-sanitize \
#         EFS_FUSE=$PWD/build-sanitize/efs-fuse scripts/test-all.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
sanitize=0
for a in "$@"; do
	case $a in
	--sanitize) sanitize=1 ;;
	*) echo "build: unknown argument $a (only --sanitize)" >&2; exit 2 ;;
	esac
done
if [ "$sanitize" -eq 1 ]; then
	build=${BUILD_DIR:-$top/build-sanitize}
	san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
	CONFIGURE_FLAGS="${CONFIGURE_FLAGS:-} CFLAGS=\"-g -O1 $san\" LDFLAGS=\"$san\""
else
	build=${BUILD_DIR:-$top/build}
fi
jobs=${JOBS:-2}

if [ -f "$top/config.status" ]; then
	echo "build: $top is configured in-tree; out-of-tree build impossible." >&2
	echo "build: run 'make distclean' in $top first" >&2
	exit 1
fi

if [ ! -x "$top/configure" ] || [ ! -f "$top/Makefile.in" ]; then
	echo "build: bootstrapping (autoreconf)"
	"$top/bootstrap" || { echo "build: ./bootstrap failed" >&2; exit 1; }
fi

mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
	echo "build: configuring in $build"
	# shellcheck disable=SC2086
	eval "\"\$top/configure\" -q ${CONFIGURE_FLAGS:-}" ||
		{ echo "build: configure failed (see $build/config.log)" >&2; exit 1; }
fi

echo "build: make -j$jobs in $build"
make -j"$jobs" || { echo "build: make failed" >&2; exit 1; }
test -x "$build/efs-fuse" || { echo "build: $build/efs-fuse was not produced" >&2; exit 1; }
echo "build: $build/efs-fuse"
