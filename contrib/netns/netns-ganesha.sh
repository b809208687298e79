#!/usr/bin/env bash
# nfs-ganesha in a private network namespace, with EFS-like latency on its
# loopback.  Root only.  Everything it makes is undone by `stop`.
#
#   netns-ganesha.sh start NAME STATE EXPORT [DELAY_US]
#       ip netns add NAME; lo up; ganesha (contrib/ganesha/ganesha.conf.in)
#       on 127.0.0.1:2049 inside it, exporting EXPORT as /export.
#       DELAY_US > 0 adds that one-way delay to every packet on the
#       namespace's lo (RTT = 2 x DELAY_US): `tc netem` when the kernel has
#       sch_netem, else contrib/netns/delay-proxy.py on 127.0.0.1:2050.
#       Prints `PORT=N` (where clients connect) and `DELAY=netem|proxy|none`.
#   netns-ganesha.sh stop NAME STATE
#       stops ganesha and the proxy by their pids, deletes the namespace.
#
# Clients run in the namespace with nsenter, NOT `ip netns exec` (that also
# switches the mount namespace and hides a FUSE mount from the host):
#   nsenter --net=/run/netns/NAME -- efs-fuse 127.0.0.1:$PORT:/export MNT
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/lib/ganesha.sh
. "$top/scripts/lib/ganesha.sh"   # ganesha_plugins_dir

die() { echo "netns-ganesha: $*" >&2; exit 1; }

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }

# Wait up to 15 s until something listens on 127.0.0.1:PORT inside the namespace.
wait_listen() {
	local ns=$1 port=$2 pid=$3 i
	for ((i = 0; i < 300; i++)); do
		in_ns "$ns" ss -Hltn "src 127.0.0.1:$port" 2>/dev/null | grep -q . && return 0
		alive "$pid" || return 1
		sleep 0.05
	done
	return 1
}

start() {
	local ns=$1 state=$2 export=$3 delay=${4:-0} plugins pid port=2049 mode=none
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	command -v ganesha.nfsd >/dev/null || die "ganesha.nfsd not installed"
	[ -e "/run/netns/$ns" ] && die "network namespace $ns exists already"
	plugins=$(ganesha_plugins_dir)
	mkdir -p "$state/recov" "$export"
	ip netns add "$ns"
	echo "$ns" >"$state/netns"
	ip -n "$ns" link set lo up
	# ganesha resolves Bind_addr with AI_ADDRCONFIG, which wants a
	# non-loopback address in the namespace: a ULA on lo does.
	ip -n "$ns" addr add fd00::1/128 dev lo
	if [ "$delay" -gt 0 ]; then
		if tc -n "$ns" qdisc add dev lo root netem delay "${delay}us" 2>"$state/tc.err"; then
			mode=netem
		else
			mode=proxy
			port=2050
		fi
	fi
	sed -e "s|@ADDR@|127.0.0.1|g" -e "s|@PORT@|2049|g" -e "s|@STATE@|$state|g" \
	    -e "s|@EXPORT@|$export|g" -e "s|@LEASE@|60|g" -e "s|@GRACELESS@|true|g" \
	    -e "s|@GRACE@|5|g" -e "s|@PLUGINS@|$plugins|g" \
	    "$top/contrib/ganesha/ganesha.conf.in" >"$state/ganesha.conf"
	: >"$state/ganesha.log"
	nsenter --net="/run/netns/$ns" -- ganesha.nfsd -F -f "$state/ganesha.conf" -L "$state/ganesha.log" \
		-p "$state/ganesha.pid" -N NIV_EVENT </dev/null >>"$state/ganesha.out" 2>&1 &
	pid=$!
	echo "$pid" >"$state/ganesha.shpid"
	wait_listen "$ns" 2049 "$pid" ||
		{ tail -n 20 "$state/ganesha.log" >&2; stop "$ns" "$state"; die "ganesha did not start"; }
	if grep -E 'CRIT.*Config|Config.*CRIT' "$state/ganesha.log" >&2; then
		stop "$ns" "$state"
		die "ganesha configuration errors (above)"
	fi
	if [ "$mode" = proxy ]; then
		nsenter --net="/run/netns/$ns" -- python3 "$here/delay-proxy.py" --listen 127.0.0.1:2050 \
			--connect 127.0.0.1:2049 --delay-us "$delay" </dev/null \
			>>"$state/proxy.out" 2>&1 &
		pid=$!
		echo "$pid" >"$state/proxy.pid"
		wait_listen "$ns" 2050 "$pid" ||
			{ cat "$state/proxy.out" >&2; stop "$ns" "$state"; die "delay proxy did not start"; }
	fi
	echo "PORT=$port"
	echo "DELAY=$mode"
}

# Running and not a zombie (an orphan may wait a moment for its reaper).
alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

stop_pid() {
	local f=$1 pid i
	pid=$(cat "$f" 2>/dev/null) || return 0
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do
			alive "$pid" || break
			sleep 0.05
		done
		if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$f"
}

stop() {
	local ns=$1 state=$2
	stop_pid "$state/proxy.pid"
	stop_pid "$state/ganesha.shpid"
	if [ -e "/run/netns/$ns" ]; then
		ip netns del "$ns"
	fi
	rm -f "$state/netns"
}

case "${1:-}" in
start) shift; [ $# -ge 3 ] || die "usage: $0 start NAME STATE EXPORT [DELAY_US]"; start "$@" ;;
stop) shift; [ $# -eq 2 ] || die "usage: $0 stop NAME STATE"; stop "$@" ;;
*) die "usage: $0 start NAME STATE EXPORT [DELAY_US] | stop NAME STATE" ;;
esac
