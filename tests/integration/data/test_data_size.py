"""The local size (issue 10): cached writes count in the size this client
gives the file; no attribute refresh shrinks it below data not yet written;
O_APPEND writes at the local end of file."""

import os
import subprocess
import threading

from datalib import MiB, read_file, srv_dir, wait_for, write_all


def test_append_listdir_append(ganesha, mount_factory):
    """A logger plus `ls -l`: READDIRPLUS between two appends must not make
    the second one overwrite the first."""
    m = mount_factory(ganesha.source, foreground=True)
    d, srv = srv_dir(ganesha, m, "append-ls")
    path = os.path.join(d, "log")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, b"0123456789")
        assert "log" in os.listdir(d)
        assert os.stat(path).st_size == 10
        subprocess.run(["ls", "-l", d], check=True, capture_output=True)
        os.write(fd, b"abcdefghij")
        assert os.fstat(fd).st_size == 20
    finally:
        os.close(fd)
    assert read_file(os.path.join(srv, "log")) == b"0123456789abcdefghij"
    assert read_file(path) == b"0123456789abcdefghij"


def test_appenders_interleave_whole_writes(ganesha, mount_factory):
    """Eight threads, each with its own O_APPEND descriptor, one mount:
    every record lands whole, none is overwritten."""
    m = mount_factory(ganesha.source)
    d, srv = srv_dir(ganesha, m, "append-many")
    path = os.path.join(d, "log")
    open(path, "wb").close()
    n_threads, n_recs = 8, 200

    def appender(t):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            for i in range(n_recs):
                rec = ("%02d:%05d:" % (t, i)).encode() + bytes([65 + t]) * (50 + i % 70) + b"\n"
                assert os.write(fd, rec) == len(rec)
                if i % 50 == 0:
                    os.listdir(d)  # attribute refreshes in between
        finally:
            os.close(fd)
    threads = [threading.Thread(target=appender, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    data = read_file(os.path.join(srv, "log"))
    lines = data.split(b"\n")
    assert lines[-1] == b""
    seen = {}
    for ln in lines[:-1]:
        t, i, body = int(ln[0:2]), int(ln[3:8]), ln[9:]
        assert body == bytes([65 + t]) * (50 + i % 70), "torn record %r" % ln[:40]
        assert (t, i) not in seen, "record %d:%d twice" % (t, i)
        seen[(t, i)] = True
        assert seen.get((t, i - 1), i == 0), "record %d:%d before %d" % (t, i, i - 1)
    assert len(seen) == n_threads * n_recs


def test_second_open_sees_cached_size(ganesha, mount_factory):
    """Write 100 KiB, open the file again before any stat, fsync or close:
    fstat and pread see it on both descriptors, stat after the close too
    (what git's index-pack does with the pack being written)."""
    m = mount_factory(ganesha.source)
    d, srv = srv_dir(ganesha, m, "second-open")
    path = os.path.join(d, "pack")
    data = os.urandom(100 * 1024)
    w = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(w, data)
        r = os.open(path, os.O_RDONLY)
        try:
            assert os.fstat(w).st_size == len(data)
            assert os.fstat(r).st_size == len(data)
            assert os.pread(r, len(data) + 10, 0) == data
            assert os.pread(w, 4096, 50000) == data[50000:54096]
        finally:
            os.close(r)
    finally:
        os.close(w)
    assert os.stat(path).st_size == len(data)
    assert os.stat(os.path.join(srv, "pack")).st_size == len(data)


def test_truncate_lowers_local_size(ganesha, mount_factory):
    m = mount_factory(ganesha.source)
    d, srv = srv_dir(ganesha, m, "truncate")
    path = os.path.join(d, "f")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        write_all(fd, b"x" * 300000)
        os.ftruncate(fd, 1000)
        assert os.fstat(fd).st_size == 1000
        os.write(fd, b"tail")
        assert os.fstat(fd).st_size == 1004
    finally:
        os.close(fd)
    assert read_file(os.path.join(srv, "f")) == b"x" * 1000 + b"tail"


def test_unlinked_file_survives_child(ganesha, mount_factory):
    """Open, unlink, write, run a subprocess: pread and write on the
    descriptor still work (the open state lives as long as the fd)."""
    m = mount_factory(ganesha.source)
    d, srv = srv_dir(ganesha, m, "unlinked")
    path = os.path.join(d, "tmp")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.unlink(path)
        write_all(fd, b"before" * 1000)
        assert subprocess.run(["true"]).returncode == 0
        assert os.pread(fd, 6, 0) == b"before"
        os.pwrite(fd, b"after", 6000)
        os.fsync(fd)
        assert subprocess.run(["true"]).returncode == 0
        assert os.pread(fd, 5, 6000) == b"after"
        assert os.fstat(fd).st_size == 6005
    finally:
        os.close(fd)
    assert not os.path.exists(path)
