# shellcheck shell=bash
# Start and stop one nfs-ganesha instance (NFSv4 only, FSAL VFS, loopback).
# Source this file; needs root (FSAL VFS uses open_by_handle_at).
#
#   ganesha_start STATE EXPORT ADDR PORT [LEASE]   -> sets GANESHA_PID, 0 or 1
#   ganesha_stop STATE                             -> SIGTERM, wait, SIGKILL
#
# STATE holds ganesha.conf, ganesha.log, ganesha.pid and recov/; EXPORT is
# served as /export.  The config comes from contrib/ganesha/ganesha.conf.in.

_ganesha_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

ganesha_plugins_dir()
{
	local so
	for so in /usr/lib/*/ganesha/libfsalvfs.so /usr/lib/ganesha/libfsalvfs.so; do
		if [ -e "$so" ]; then dirname "$so"; return 0; fi
	done
	echo "ganesha: libfsalvfs.so not found (apt-get install nfs-ganesha-vfs)" >&2
	return 1
}

# Is something listening on ADDR:PORT (TCP)?
_ganesha_listening()
{
	ss -Hltn "src $1:$2" 2>/dev/null | grep -q .
}

ganesha_start()
{
	local state=$1 export=$2 addr=$3 port=$4 lease=${5:-60}
	local plugins pid i

	command -v ganesha.nfsd >/dev/null ||
		{ echo "ganesha: ganesha.nfsd not installed (scripts/install-deps.sh)" >&2; return 1; }
	plugins=$(ganesha_plugins_dir) || return 1
	if _ganesha_listening "$addr" "$port"; then
		echo "ganesha: $addr:$port is already in use" >&2
		return 1
	fi
	mkdir -p "$state/recov" "$export" || return 1
	sed -e "s|@ADDR@|$addr|g" -e "s|@PORT@|$port|g" -e "s|@STATE@|$state|g" \
	    -e "s|@EXPORT@|$export|g" -e "s|@LEASE@|$lease|g" -e "s|@GRACELESS@|true|g" \
	    -e "s|@GRACE@|5|g" -e "s|@PLUGINS@|$plugins|g" \
	    "$_ganesha_top/contrib/ganesha/ganesha.conf.in" >"$state/ganesha.conf" || return 1
	: >"$state/ganesha.log"
	ganesha.nfsd -F -f "$state/ganesha.conf" -L "$state/ganesha.log" \
		-p "$state/ganesha.pid" -N NIV_EVENT </dev/null >>"$state/ganesha.out" 2>&1 &
	pid=$!
	echo "$pid" >"$state/ganesha.shpid"
	# shellcheck disable=SC2034 # for the caller
	GANESHA_PID=$pid
	# Wait (up to 15 s) for the port to accept.
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "ganesha: exited during start-up; log $state/ganesha.log:" >&2
			tail -n 20 "$state/ganesha.log" "$state/ganesha.out" >&2
			return 1
		fi
		_ganesha_listening "$addr" "$port" && break
		sleep 0.05
	done
	if ! _ganesha_listening "$addr" "$port"; then
		echo "ganesha: not listening on $addr:$port after 15 s; log $state/ganesha.log" >&2
		ganesha_stop "$state"
		return 1
	fi
	# A bad config is not fatal to ganesha: it starts with no exports.
	if grep -E 'CRIT.*Config|Config.*CRIT' "$state/ganesha.log" >&2; then
		echo "ganesha: configuration errors (above); log $state/ganesha.log" >&2
		ganesha_stop "$state"
		return 1
	fi
	return 0
}

ganesha_stop()
{
	local state=$1 pid i
	pid=$(cat "$state/ganesha.shpid" 2>/dev/null) || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "ganesha: pid $pid ignored SIGTERM for 10 s; SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$state/ganesha.shpid"
}
