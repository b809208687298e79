"""A granted lock revalidates the file (issue 7): fstat after F_SETLK or
flock sees another client's size at once, cached data is dropped, and two
sqlite3 writers on two mounts of one export keep a sound database."""

import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

LOCKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locker.py")


def _write(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    fd = os.open(path, flags, 0o666)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@pytest.mark.parametrize("how", ["fcntl", "fcntl_wait", "flock", "flock_wait"])
def test_lock_revalidates_size_and_data(pair2, how):
    a, b = pair2.m1("f"), pair2.m2("f")
    _write(a, b"1" * 100)
    fd = os.open(b, os.O_RDWR)
    try:
        assert os.fstat(fd).st_size == 100
        assert os.pread(fd, 1000, 0) == b"1" * 100  # data in the kernel's page cache
        _write(a, b"2" * 300)  # the other client rewrites and grows it (close: on the server)
        assert os.path.getsize(pair2.s("f")) == 300
        if how == "fcntl":
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif how == "fcntl_wait":
            fcntl.lockf(fd, fcntl.LOCK_EX)
        elif how == "flock":
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
        # at once, not after acregmin
        assert os.fstat(fd).st_size == 300
        assert os.pread(fd, 1000, 0) == b"2" * 300
    finally:
        os.close(fd)


def _run_pair(pair2, kind, n, setup):
    a, b = pair2.m1("db"), pair2.m2("db")
    setup(a)
    procs = [subprocess.Popen([sys.executable, LOCKER, p, kind, str(n), tag],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for p, tag in ((a, "one"), (b, "two"))]
    outs = [p.communicate(timeout=540) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, "locker failed: %s %s" % (out, err)
    return a


@pytest.mark.parametrize("kind", ["fcntl", "flock"])
def test_two_mounts_lock_counter(pair2, kind):
    n = 150
    _run_pair(pair2, kind, n, lambda p: _write(p, b"0\n"))
    with open(pair2.s("db"), "rb") as f:
        assert int(f.read()) == 2 * n, "lost updates under %s locks" % kind


def test_two_mounts_sqlite_writers(pair2):
    if not shutil.which("sqlite3"):
        pytest.fail("sqlite3 not installed: run scripts/install-deps.sh", pytrace=False)
    n = 300

    def setup(p):
        db = sqlite3.connect(p, isolation_level=None)
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("CREATE TABLE t(tag TEXT, i INTEGER, pad TEXT)")
        db.execute("CREATE TABLE c(v INTEGER)")
        db.execute("INSERT INTO c VALUES (0)")
        db.close()
    _run_pair(pair2, "sqlite", n, setup)
    # the sqlite3 CLI on the server's copy: sound, and no update lost
    out = subprocess.run(["sqlite3", pair2.s("db"), "PRAGMA integrity_check;",
                          "SELECT count(*) FROM t;", "SELECT v FROM c;",
                          "SELECT count(DISTINCT tag || i) FROM t;"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", str(2 * n), str(2 * n), str(2 * n)], out.stdout
