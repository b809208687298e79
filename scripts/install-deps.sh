#!/usr/bin/env bash
# Install every package needed to build, test and demo efs-fuse on Debian 12.
# Idempotent: does nothing (not even `apt-get update`) when all are present.
# Needs root. Non-interactive.
set -euo pipefail

PACKAGES=(
	# build
	build-essential autoconf automake libtool pkg-config
	libfuse3-dev fuse3 libcurl4-openssl-dev libc-ares-dev libssl-dev
	libcmocka-dev
	# mount targets and their surroundings (tests, demo)
	nfs-ganesha nfs-ganesha-vfs dnsmasq-base stunnel4 openssl
	# tests and benchmarks
	python3 python3-pytest python3-pytest-timeout python3-botocore awscli fio stress-ng
	libnfs-utils iproute2 bind9-dnsutils valgrind procps psmisc attr
	util-linux passwd
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (sudo $0) to install them" >&2
	exit 1
fi

echo "install-deps: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q -o=Dpkg::Use-Pty=0 </dev/null ||
	{ echo "install-deps: apt-get update failed" >&2; exit 1; }
apt-get install -y -q -o=Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" </dev/null ||
	{ echo "install-deps: apt-get install failed for: ${missing[*]}" >&2; exit 1; }

# Verify: a package that apt silently skipped is a failure.
for p in "${missing[@]}"; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
		{ echo "install-deps: $p is still not installed" >&2; exit 1; }
done
echo "install-deps: done"
