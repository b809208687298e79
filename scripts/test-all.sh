#!/usr/bin/env bash
# Everything CI runs, on a fresh Debian 12 machine, as root:
#   install dependencies, build, unit tests (make check), integration tests
#   (pytest against nfs-ganesha on loopback).  Exits non-zero on any failure.
# Extra arguments go to pytest, e.g. scripts/test-all.sh -k lease
# Then the same unit and integration tests once more against an ASan+UBSan
# build (scripts/build.sh --sanitize, build-sanitize/; about 10 more minutes).
# --no-sanitize (first argument) skips that second pass.
set -euo pipefail
sanitize=1
if [ "${1:-}" = "--no-sanitize" ]; then
	sanitize=0
	shift
elif [ "${1:-}" = "--sanitize" ]; then
	shift # the default; accepted for older callers
fi

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		exec sudo -n -E "$0" "$@"
	fi
	echo "test-all: must run as root (nfs-ganesha FSAL VFS, test users, /dev/fuse)" >&2
	exit 1
fi

step() { printf '\n==== %s ====\n' "$*"; }
start=$(date +%s)

step "install dependencies"
scripts/install-deps.sh

step "build"
scripts/build.sh
build=${BUILD_DIR:-$top/build}

step "unit tests (make check)"
if ! make -C "$build" -j2 check; then
	# automake's test-suite.log holds the logs of the failing programs
	[ -f "$build/test-suite.log" ] && cat "$build/test-suite.log" >&2
	echo "test-all: make check failed" >&2
	exit 1
fi

step "integration tests (pytest)"
# shellcheck source=scripts/lib/cleanup.sh
. "$top/scripts/lib/cleanup.sh"
EFS_IT_TMPDIR=$(mktemp -d /tmp/efs-fuse-test-all.XXXXXX)
chmod 0755 "$EFS_IT_TMPDIR"
export EFS_IT_TMPDIR
# Where the tests find the daemon and the test tools that `make check` built.
export EFS_FUSE=${EFS_FUSE:-$build/efs-fuse}
export BUILD_DIR=$build EFS_FUSE_BUILDDIR=$build
rc=0
# Debian's python explicitly: it has pytest and botocore (a pyenv python may not).
/usr/bin/python3 -m pytest -v -p no:cacheprovider \
	--timeout="${PYTEST_TIMEOUT:-600}" --timeout-method=thread \
	tests/integration "$@" </dev/null || rc=$?
# The tests clean up after themselves; this is the safety net after a crash
# or a timeout, and leftovers are a failure.
if ! cleanup_under "$EFS_IT_TMPDIR"; then
	echo "test-all: the tests left mounts or processes behind (cleaned up now)" >&2
	[ "$rc" -ne 0 ] || rc=1
fi
if [ "$rc" -eq 0 ]; then
	rm -rf "$EFS_IT_TMPDIR"
else
	echo "test-all: logs kept in $EFS_IT_TMPDIR" >&2
fi

if [ "$sanitize" -eq 1 ] && [ "$rc" -eq 0 ]; then
	step "sanitizer build (ASan+UBSan)"
	sbuild=$top/build-sanitize
	# BUILD_DIR (exported above for the first run) would point it at build/
	BUILD_DIR=$sbuild scripts/build.sh --sanitize
	step "unit tests under ASan+UBSan"
	make -C "$sbuild" -j2 check || { cat "$sbuild/test-suite.log" >&2; rc=1; }
	step "integration tests under ASan+UBSan"
	EFS_IT_TMPDIR=$(mktemp -d /tmp/efs-fuse-test-all.XXXXXX)
	chmod 0755 "$EFS_IT_TMPDIR"
	# The RSS-under-the-cap test measures ASan's shadow memory, not the cache.
	EFS_FUSE=$sbuild/efs-fuse BUILD_DIR=$sbuild EFS_FUSE_BUILDDIR=$sbuild \
		/usr/bin/python3 -m pytest -v -p no:cacheprovider \
		--timeout="${PYTEST_TIMEOUT:-900}" --timeout-method=thread \
		-k "not test_rss_stays_below_cache_cap" tests/integration "$@" </dev/null || rc=$?
	if ! cleanup_under "$EFS_IT_TMPDIR"; then
		echo "test-all: the sanitizer tests left mounts or processes behind" >&2
		[ "$rc" -ne 0 ] || rc=1
	fi
	[ "$rc" -eq 0 ] && rm -rf "$EFS_IT_TMPDIR"
fi

step "done in $(($(date +%s) - start)) s: $([ "$rc" -eq 0 ] && echo PASS || echo "FAIL (pytest exit $rc)")"
exit "$rc"
