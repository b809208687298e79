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
	python3-openssl python3-cryptography
	libnfs-utils iproute2 bind9-dnsutils valgrind procps psmisc attr
	util-linux passwd sqlite3
	# packaging (tests/integration/ops/test_ops_deb.py)
	debhelper dpkg-dev
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
# The project starts nfs-ganesha itself, on loopback, with its own config:
# keep the package from starting the system service (0.0.0.0:2049) on install.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	# shellcheck disable=SC2016 # $1 is policy-rc.d's argument
	printf '#!/bin/sh\ncase "$1" in nfs-ganesha*) exit 101 ;; esac\nexit 0\n' >"$policy"
	chmod 0755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -q -o=Dpkg::Use-Pty=0 </dev/null ||
	{ echo "install-deps: apt-get update failed" >&2; exit 1; }
apt-get install -y -q -o=Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" </dev/null ||
	{ echo "install-deps: apt-get install failed for: ${missing[*]}" >&2; exit 1; }

# Verify: a package that apt silently skipped is a failure.
for p in "${missing[@]}"; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
		{ echo "install-deps: $p is still not installed" >&2; exit 1; }
done
# ... nor at boot, if we just installed it (systemd machines).
if [[ " ${missing[*]} " == *" nfs-ganesha "* ]] && command -v systemctl >/dev/null &&
	systemctl is-enabled --quiet nfs-ganesha 2>/dev/null; then
	echo "install-deps: disabling the system nfs-ganesha service (the project runs its own)"
	systemctl disable --now nfs-ganesha >/dev/null 2>&1 || true
fi
echo "install-deps: done"
