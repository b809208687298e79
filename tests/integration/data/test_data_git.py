"""`git clone` of a local repository with default settings onto the mount
(issue 10): index-pack's threads reopen the pack being written, which needs
a second open to see the cached size.  Then `git fsck` must be clean."""

import os
import subprocess

from datalib import need


def _git(args, cwd=None):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=cwd or os.getcwd(),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    p = subprocess.run(["git"] + args, cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, "git %s: %s%s" % (" ".join(args), p.stdout, p.stderr)
    return p.stdout


def _make_repo(path):
    """A repository whose pack holds many deltas (index-pack resolves them
    with threads, re-reading the pack it is writing)."""
    os.makedirs(path)
    _git(["init", "-q", "-b", "main", path], cwd=path)
    base = [bytearray(os.urandom(20000 + 1000 * i)) for i in range(80)]
    for c in range(12):
        for i, b in enumerate(base):
            b[(c * 7919 + i * 31) % len(b)] ^= 0xFF  # a small change: a delta
            b.extend(os.urandom(200))
            d = os.path.join(path, "d%02d" % (i % 7))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "f%03d.bin" % i), "wb") as f:
                f.write(b)
        _git(["add", "-A"], cwd=path)
        _git(["commit", "-q", "-m", "commit %d" % c], cwd=path)
    _git(["gc", "-q"], cwd=path)


def test_git_clone_default_settings(it_tmp, ganesha, mount_factory):
    need("git")
    m = mount_factory(ganesha.source)
    src = os.path.join(it_tmp, "git-src-%d" % os.getpid())
    _make_repo(src)
    dst = os.path.join(m.mountpoint, "clone")
    # file:// makes git transfer a pack (index-pack with threads), as from a server
    _git(["clone", "-q", "file://" + src, dst], cwd=it_tmp)
    _git(["fsck", "--full", "--strict"], cwd=dst)
    assert _git(["rev-parse", "HEAD"], cwd=dst) == _git(["rev-parse", "HEAD"], cwd=src)
    assert _git(["status", "--porcelain"], cwd=dst) == ""
