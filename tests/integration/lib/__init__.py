"""Helpers for the efs-fuse integration tests: nfs-ganesha servers on
loopback (ganesha.py), efs-fuse mounts (mounts.py), test users and running
code as them (users.py)."""
