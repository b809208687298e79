"""Fixtures for the POSIX permission and semantics tests (issue 7).

Built on the parent conftest (ganesha, mount_factory, users):

  shared   one allow_other efs-fuse mount (as root) of the session ganesha
           and a fresh world-writable per-test directory in it, used by the
           two test users efsuser1 / efsuser2: shared.m(...) (through the
           mount), shared.s(...) (the same path in the server's export),
           shared.mount (the EfsMount), shared.u1 / shared.u2
  pair2    two allow_other daemons on the same export and one fresh
           directory seen through both: pair2.m1(...), pair2.m2(...),
           pair2.s(...)
"""

import os
import re
import stat

import pytest

from lib import mounts


def _name(request):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:100]


class Shared:
    def __init__(self, mount, name, srv, users):
        self.mount = mount
        self.d = os.path.join(mount.mountpoint, name)
        self.srv = srv
        self.u1, self.u2 = users

    def m(self, *p):
        return os.path.join(self.d, *p)

    def s(self, *p):
        return os.path.join(self.srv, *p)


@pytest.fixture
def shared(ganesha, mount_factory, users, request):
    try:
        m = mount_factory(ganesha.source, options=["allow_other"])
    except mounts.MountError as e:
        pytest.fail(str(e), pytrace=False)
    name = _name(request)
    d = os.path.join(m.mountpoint, name)
    os.mkdir(d)
    os.chmod(d, 0o777)
    srv = ganesha.server_path(name)
    assert os.path.isdir(srv), "mkdir through efs-fuse did not reach the server (%s)" % srv
    assert stat.S_IMODE(os.stat(srv).st_mode) == 0o777
    return Shared(m, name, srv, users)


class Pair2:
    def __init__(self, a, b, name, srv):
        self.mount1, self.mount2 = a, b
        self.d1 = os.path.join(a.mountpoint, name)
        self.d2 = os.path.join(b.mountpoint, name)
        self.srv = srv

    def m1(self, *p):
        return os.path.join(self.d1, *p)

    def m2(self, *p):
        return os.path.join(self.d2, *p)

    def s(self, *p):
        return os.path.join(self.srv, *p)


@pytest.fixture
def pair2(ganesha, mount_factory, request):
    try:
        a = mount_factory(ganesha.source, options=["allow_other"])
        b = mount_factory(ganesha.source, options=["allow_other"])
    except mounts.MountError as e:
        pytest.fail(str(e), pytrace=False)
    assert a.pid != b.pid, "both mounts served by one daemon"
    name = _name(request)
    os.mkdir(os.path.join(a.mountpoint, name))
    os.chmod(os.path.join(a.mountpoint, name), 0o777)
    srv = ganesha.server_path(name)
    assert os.path.isdir(srv)
    p = Pair2(a, b, name, srv)
    assert os.path.isdir(p.d2), "directory made through mount 1 not found through mount 2"
    return p
