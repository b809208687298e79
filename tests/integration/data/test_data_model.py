"""The reference-model stress (model_stress.py) with fixed seeds: threads on
two mounts against an in-memory model of POSIX plus close-to-open.

CI runs seeds 1 and 2 with 60 operations per thread; the soak
(tests/soak/data_model_soak.sh) sets EFS_MODEL_SEEDS=FIRST-LAST,
EFS_MODEL_OPS and EFS_MODEL_THREADS for a longer run, and EFS_MODEL_STRICT
(stale kernel pages fail too; see model_stress.py)."""

import os

import pytest

import model_stress
from datalib import srv_dir


def _seeds():
    spec = os.environ.get("EFS_MODEL_SEEDS", "1-2")
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


@pytest.mark.parametrize("seed", _seeds())
def test_model_two_mounts(ganesha, mount_factory, seed):
    # foreground: a sanitizer report lands in the mount's stderr file
    a = mount_factory(ganesha.source, foreground=True)
    b = mount_factory(ganesha.source, foreground=True)
    da, srv = srv_dir(ganesha, a, "model-%d" % seed)
    db = os.path.join(b.mountpoint, "model-%d" % seed)
    assert os.path.isdir(db)
    fail = model_stress.run(da, db, seed=seed, ops=int(os.environ.get("EFS_MODEL_OPS", "60")),
                            threads=int(os.environ.get("EFS_MODEL_THREADS", "6")), srv=srv)
    assert not fail, "\n".join(fail)
