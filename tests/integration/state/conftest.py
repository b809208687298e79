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
import signal
import time

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
    """The parent's mount_factory, with a teardown that copes with a hung
    daemon: heal every proxy, SIGKILL the test's children, and SIGKILL the
    daemon of any mount that no longer answers a stat (or still has a child
    stuck in it), so that the parent's cleanup (which stats the mount point)
    cannot hang on it."""
    made = []

    def make(*a, **kw):
        m = mount_factory(*a, **kw)
        made.append(m)
        return m
    yield make
    for p in proxy_factory.made:
        p.pass_()
    stuck = procs.kill_all(wait=3) + statelib.stuck_children(wait=3)
    for m in made:
        if m.pid is None or not statelib.pid_alive(m.pid):
            continue
        r = statelib.py_op("stat", 5, path=m.mountpoint)
        if stuck or r.hung:
            try:
                os.kill(m.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            statelib.wait_gone(m.pid, 10)
            # the aborted connection releases the stuck children; the mount stays busy
            # until they are gone
            end = time.monotonic() + 10
            while any(statelib.pid_alive(p) for p in stuck) and time.monotonic() < end:
                time.sleep(0.05)


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
