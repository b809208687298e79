#!/bin/sh
# efs-fuse-rootless.sh - mount an EFS file system (or any NFSv4.1 export)
# inside a rootless "container": a new user and mount namespace made by an
# ordinary user, with no privilege on the host.  Then run a command in it.
#
#   efs-fuse-rootless.sh SOURCE MOUNTPOINT [-o OPTS] -- COMMAND [ARGS...]
#   efs-fuse-rootless.sh fs-12345678 /tmp/efs -- sh -c 'ls /tmp/efs'
#
# Inside the namespace the caller is uid 0, but to the server AUTH_SYS would
# say "uid 0", i.e. root.  efs-fuse refuses that (userns_root=refuse), so we
# send the caller's real uid and gid instead (-o uid=,gid=).  The host needs
# /dev/fuse readable and writable by the caller (the container runtimes'
# --device /dev/fuse), and unprivileged user namespaces.
#
# The same inside podman/docker: run efs-fuse in the container with
# --device /dev/fuse --cap-add SYS_ADMIN (or rootless podman as here) and
# -o uid=N,gid=N for the identity the server should see.
set -eu

usage() { echo "usage: $0 SOURCE MOUNTPOINT [-o OPTS] -- COMMAND [ARGS...]" >&2; exit 1; }
[ $# -ge 4 ] || usage
src=$1 mp=$2
shift 2
opts=""
if [ "$1" = "-o" ]; then
	opts=",$2"
	shift 2
fi
[ "$1" = "--" ] || usage
shift
efs_fuse=${EFS_FUSE:-efs-fuse}
uid=$(id -u) gid=$(id -g)

# In the new namespaces: mount (the daemon detaches once the mount works),
# run the command, unmount (the daemon then exits).
exec unshare --user --map-root-user --mount --propagation private sh -c '
	efs_fuse=$1 src=$2 mp=$3 opts=$4
	shift 4
	"$efs_fuse" "$src" "$mp" -o "uid='"$uid"',gid='"$gid"'$opts" || exit 32
	rc=0
	"$@" || rc=$?
	umount "$mp" || rc=$?
	exit $rc
' sh "$efs_fuse" "$src" "$mp" "$opts" "$@"
