# shellcheck shell=bash
# cleanup_under DIR [EFS_FUSE_BINARY]: unmount every FUSE mount below DIR
# (fusermount3 -u, then -uz), stop efs-fuse daemons serving mount points
# below DIR and nfs-ganesha instances whose pid file is below DIR.
# Only touches processes tied to DIR.  Prints what it had to do; returns 1
# when anything was left behind (i.e. the tests did not clean up after
# themselves), 0 when DIR was clean.

_cleanup_kill()
{
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup_under()
{
	local dir=$1 left=0 mp pidf pid exe
	[ -d "$dir" ] || return 0
	dir=$(realpath "$dir")
	# mount points: field 5 of mountinfo, fstype after " - "
	while read -r mp; do
		echo "cleanup: FUSE mount left at $mp" >&2
		left=1
		fusermount3 -u "$mp" 2>/dev/null || fusermount3 -uz "$mp" 2>/dev/null || true
	done < <(awk -v d="$dir/" '{ for (i = 7; $i != "-"; i++); if ($(i+1) ~ /^fuse/ && index($5 "/", d) == 1) print $5 }' /proc/self/mountinfo)
	for exe in /proc/[0-9]*/exe; do
		pid=${exe#/proc/}; pid=${pid%/exe}
		case "$(readlink "$exe" 2>/dev/null)" in
		*/efs-fuse)
			if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^$dir/"; then
				echo "cleanup: efs-fuse pid $pid left running" >&2
				left=1
				_cleanup_kill "$pid"
			fi ;;
		esac
	done
	while read -r pidf; do
		pid=$(cat "$pidf" 2>/dev/null) || continue
		[ -n "$pid" ] || continue
		if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(command -v ganesha.nfsd)" ]; then
			echo "cleanup: ganesha pid $pid left running" >&2
			left=1
			_cleanup_kill "$pid"
		fi
	done < <(find "$dir" -name ganesha.pid 2>/dev/null)
	return $left
}
