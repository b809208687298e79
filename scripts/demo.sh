#!/usr/bin/env bash
# Demo on one fresh Debian 12 machine (as root): install dependencies, build,
# start nfs-ganesha on loopback as a stand-in for an EFS mount target, mount
# it with efs-fuse, show it working, and leave it mounted to play with.
#
# Env: DEMO_DIR (default /tmp/efs-fuse-demo), DEMO_ADDR (127.0.0.1),
#      DEMO_PORT (2049), DEMO_LEASE (60); EFS_FUSE=binary skips the build.
# Re-running replaces the previous demo.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
demo=${DEMO_DIR:-/tmp/efs-fuse-demo}
addr=${DEMO_ADDR:-127.0.0.1}
port=${DEMO_PORT:-2049}
state=$demo/ganesha
export_dir=$demo/export
mnt=$demo/mnt

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[1;31mdemo: %s\033[0m\n' "$*" >&2; exit 1; }
trap 'die "failed at line $LINENO (see the output above)"' ERR

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0  (nfs-ganesha's FSAL VFS needs root)"
case $addr in 127.*) ;; *) die "DEMO_ADDR must be a loopback address (127.x.y.z)" ;; esac

step "1/5 installing dependencies (scripts/install-deps.sh)"
"$top/scripts/install-deps.sh" || die "installing dependencies failed"

if [ -n "${EFS_FUSE:-}" ]; then
	step "2/5 using EFS_FUSE=$EFS_FUSE (not building)"
	bin=$EFS_FUSE
else
	step "2/5 building (scripts/build.sh)"
	"$top/scripts/build.sh" || die "build failed"
	bin=$top/build/efs-fuse
fi
[ -x "$bin" ] || die "no binary at $bin"

# shellcheck source=scripts/lib/ganesha.sh
. "$top/scripts/lib/ganesha.sh"

step "3/5 starting nfs-ganesha on $addr:$port (state in $state)"
if grep -qs " $(realpath -m "$mnt") " /proc/self/mountinfo; then
	echo "previous demo still mounted: fusermount3 -u $mnt"
	fusermount3 -u "$mnt" || fusermount3 -uz "$mnt" || die "cannot unmount the previous demo at $mnt"
fi
if [ -f "$state/ganesha.shpid" ]; then
	echo "stopping the previous demo's nfs-ganesha (pid $(cat "$state/ganesha.shpid"))"
	ganesha_stop "$state"
fi
mkdir -p "$demo" "$export_dir" "$mnt"
chmod 0755 "$demo"
chmod 1777 "$export_dir"
ganesha_start "$state" "$export_dir" "$addr" "$port" "${DEMO_LEASE:-60}" ||
	die "nfs-ganesha did not start on $addr:$port (port taken? try DEMO_PORT=20490)"
echo "nfs-ganesha pid $GANESHA_PID, exporting $export_dir as /export"

step "4/5 mounting with efs-fuse"
if [ "$port" = 2049 ]; then source="$addr:/export"; else source="$addr:$port:/export"; fi
echo "+ $bin $source $mnt"
"$bin" "$source" "$mnt" || die "efs-fuse failed to mount $source on $mnt"
grep -qs " $(realpath "$mnt") " /proc/self/mountinfo ||
	die "efs-fuse returned success but $mnt is not mounted"
grep " $(realpath "$mnt") " /proc/self/mountinfo | awk '{ for (i = 7; $i != "-"; i++); print "mounted: " $5 " type " $(i+1) " from " $(i+2) }'

step "5/5 using it"
show() { echo "+ $*"; "$@"; }
msg="hello from efs-fuse at $(date -u +%FT%TZ)"
echo "+ echo '$msg' > $mnt/hello.txt"
echo "$msg" >"$mnt/hello.txt" || die "writing $mnt/hello.txt failed"
show mkdir -p "$mnt/dir/sub"
show dd if=/dev/urandom of="$mnt/dir/random.bin" bs=1M count=8 status=none
show ls -l "$mnt" "$mnt/dir"
show cat "$mnt/hello.txt"
[ "$(cat "$mnt/hello.txt")" = "$msg" ] || die "read back differs from what was written"
sum_mnt=$(sha256sum <"$mnt/dir/random.bin")
sum_srv=$(sha256sum <"$export_dir/dir/random.bin")
[ "$sum_mnt" = "$sum_srv" ] || die "the server's copy of dir/random.bin differs"
echo "dir/random.bin: same sha256 through the mount and in the server's export ($export_dir)"
show df -h "$mnt"

daemon='?'
for p in $(pgrep -x efs-fuse || true); do
	tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qx "$mnt" && daemon=$p
done

cat <<EOT

efs-fuse demo is mounted at $mnt (daemon pid $daemon).
  Play:          ls -l $mnt; cp FILE $mnt/; cat $mnt/hello.txt
  Server's view: ls -l $export_dir
  Unmount:       fusermount3 -u $mnt
  Stop server:   kill $GANESHA_PID      # nfs-ganesha (log: $state/ganesha.log)
EOT
