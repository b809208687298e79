"""The reference-model stress (model_stress.py) with fixed seeds: threads on
two mounts against an in-memory model of POSIX plus close-to-open."""

import os

import pytest

import model_stress
from datalib import srv_dir


@pytest.mark.parametrize("seed", [1, 2])
def test_model_two_mounts(ganesha, mount_factory, seed):
    # foreground: a sanitizer report lands in the mount's stderr file
    a = mount_factory(ganesha.source, foreground=True)
    b = mount_factory(ganesha.source, foreground=True)
    da, srv = srv_dir(ganesha, a, "model-%d" % seed)
    db = os.path.join(b.mountpoint, "model-%d" % seed)
    assert os.path.isdir(db)
    fail = model_stress.run(da, db, seed=seed, ops=60, threads=6, srv=srv)
    assert not fail, "\n".join(fail)
