"""Unprivileged test users, running code as them, and the host settings an
unprivileged FUSE mount needs (/dev/fuse mode, user_allow_other).

Every change to the host is undone by the matching restore function; the
users themselves are created once and left in place (fixed uids, harmless).
"""

import os
import pickle
import pwd
import grp
import stat
import subprocess
import traceback

USERS = {"efsuser1": 2001, "efsuser2": 2002}
FUSE_CONF = "/etc/fuse.conf"
DEV_FUSE = "/dev/fuse"


class User:
    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid

    def __repr__(self):
        return "User(%s, uid=%d)" % (self.name, self.uid)

    def cmd(self, argv):
        """argv prefixed to run as this user (exec, so the pid is kept)."""
        return ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                "--init-groups", "--reset-env", "--"] + list(argv)

    def run(self, fn, *args, **kwargs):
        """Run fn(*args) in a forked child with this user's credentials.
        Returns its result or re-raises its exception (OSError keeps errno)."""
        return run_as(self.uid, self.gid, fn, *args, **kwargs)


def ensure_user(name, uid):
    """Create name with uid/gid == uid if missing; fail if the uid is taken."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        pw = None
    if pw is not None:
        assert pw.pw_uid == uid, "user %s exists with uid %d, tests need %d" % (
            name, pw.pw_uid, uid)
        return User(name)
    try:
        other = pwd.getpwuid(uid)
        raise AssertionError("uid %d is taken by %s; tests need it for %s" % (
            uid, other.pw_name, name))
    except KeyError:
        pass
    try:
        grp.getgrgid(uid)
    except KeyError:
        subprocess.run(["groupadd", "-g", str(uid), name], check=True)
    subprocess.run(["useradd", "-M", "-N", "-u", str(uid), "-g", str(uid),
                    "-d", "/nonexistent", "-s", "/usr/sbin/nologin", name], check=True)
    return User(name)


def ensure_users():
    return [ensure_user(n, u) for n, u in sorted(USERS.items(), key=lambda x: x[1])]


def run_as(uid, gid, fn, *args, **kwargs):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            try:
                os.setgroups([gid])
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
                res = ("ok", fn(*args, **kwargs))
            except BaseException as e:  # noqa: B902 - shipped to the parent
                e.__traceback__ = None
                res = ("err", e, traceback.format_exc())
            try:
                data = pickle.dumps(res)
            except Exception as e:  # unpicklable result
                data = pickle.dumps(("err", RuntimeError(repr(e)), ""))
            with os.fdopen(w, "wb") as f:
                f.write(data)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    if not data:
        raise RuntimeError("run_as child for uid %d died without a result" % uid)
    res = pickle.loads(data)
    if res[0] == "ok":
        return res[1]
    raise res[1]


class HostFuseSettings:
    """/dev/fuse 0666 and user_allow_other in /etc/fuse.conf while in use;
    restore() puts back exactly what was there."""

    def __init__(self):
        self._dev_mode = None
        self._conf = None
        self._applied = False

    def apply(self):
        assert not self._applied, "HostFuseSettings applied twice"
        st = os.stat(DEV_FUSE)
        assert stat.S_ISCHR(st.st_mode), "%s is not a character device" % DEV_FUSE
        try:
            with open(FUSE_CONF) as f:
                conf = f.read()
        except FileNotFoundError:
            conf = None
        # Originals recorded: from here on restore() undoes whatever happened.
        self._dev_mode, self._conf, self._applied = stat.S_IMODE(st.st_mode), conf, True
        if self._dev_mode & 0o666 != 0o666:
            os.chmod(DEV_FUSE, self._dev_mode | 0o666)
        if "user_allow_other" not in [l.strip() for l in (conf or "").splitlines()]:
            with open(FUSE_CONF, "a") as f:
                if conf and not conf.endswith("\n"):
                    f.write("\n")
                f.write("user_allow_other\n")
        return self

    def restore(self):
        if not self._applied:
            return
        self._applied = False
        if self._dev_mode is not None:
            os.chmod(DEV_FUSE, self._dev_mode)
            self._dev_mode = None
        if self._conf is None:
            if os.path.exists(FUSE_CONF):
                os.unlink(FUSE_CONF)
        else:
            with open(FUSE_CONF, "w") as f:
                f.write(self._conf)
        self._conf = None
