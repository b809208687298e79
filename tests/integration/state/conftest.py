"""Fixtures for the NFSv4.1 state tests (issue 12).

Built on the parent conftest (ganesha_factory, mount_factory, users):

  procs          child processes of the test; SIGKILLed by pid and reaped at
                 teardown, after the test's mounts are gone (so a child stuck
                 in a hung FUSE request is released first)
  mount_factory  the parent's, torn down before `procs`
  proxy_factory  proxy_factory(server) -> FaultProxy (tests/tools/faultproxy.py)
                 forwarding to that ganesha; .source is the efs-fuse SOURCE
                 through the proxy; every proxy is closed at teardown
  server         a fresh ganesha for this test (lease 60 s, graceless)
"""

import os

import pytest

import statelib
import faultproxy


@pytest.fixture
def procs():
    p = statelib.Procs()
    yield p
    stuck = p.kill_all()
    stuck += statelib.reap_stuck()
    assert not stuck, "children still alive after the mounts were cleaned up: %r" % stuck


@pytest.fixture
def mount_factory(procs, proxy_factory, mount_factory):
    yield mount_factory
    # before the mounts are cleaned up: heal every proxy, so a daemon can
    # still reach its server to unmount cleanly
    for p in proxy_factory.made:
        p.pass_()


class Proxy(faultproxy.FaultProxy):
    @property
    def source(self):
        return "127.0.0.1:%d:/export" % self.port


@pytest.fixture
def proxy_factory():
    made = []

    def make(server):
        p = Proxy((server.addr, server.port)).start()
        made.append(p)
        return p
    make.made = made
    yield make
    for p in made:
        p.close()


@pytest.fixture
def server(ganesha_factory):
    return ganesha_factory()


def mkdir_in(m, name):
    d = os.path.join(m.mountpoint, name)
    os.mkdir(d)
    return d
