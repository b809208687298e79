"""Docs in step (issue 8): the README's efs-utils migration table names every
efs-utils option the daemon accepts, the README has the supported / not yet
table and the stats screen, and the man pages are the ones make installs.
(The option table vs --help vs efs-fuse(8) is checked by
tests/unit/test_mount_opts.c, config keys vs efs-fuse.conf(5) by
tests/unit/test_config_compat.c.)"""

import os
import subprocess

from lib import ganesha as ganesha_lib

REPO = ganesha_lib.REPO
EFS_UTILS_OPTIONS = ["tls", "tlsport", "verify", "ocsp", "noocsp", "stunnel", "netns",
                     "awscredsuri", "rolearn", "jwtpath", "crossaccount", "iam", "accesspoint",
                     "mounttargetip", "az", "region", "awsprofile", "nconnect", "sync", "async"]


def _readme():
    with open(os.path.join(REPO, "README.md")) as f:
        return f.read()


def test_readme_migration_table():
    text = _readme()
    table = text[text.index("## Moving from efs-utils"):]
    table = table[:table.index("\n## ")]
    for opt in EFS_UTILS_OPTIONS:
        assert "`%s" % opt in table, "README migration table lacks %s" % opt


def test_efs_utils_options_accepted_by_the_daemon(efs_fuse_bin):
    # the names the README promises are the ones -h lists
    out = subprocess.run([efs_fuse_bin, "-h"], capture_output=True, text=True,
                         check=True).stdout
    for opt in EFS_UTILS_OPTIONS:
        assert opt in out, "-h lacks %s" % opt


def test_readme_sections():
    text = _readme()
    for want in ("### What is supported, and what is not (yet)", "NFSv4.0", "Kerberos",
                 "delegations", "nconnect", "IAM", "efs-fuse stats /mnt/efs  ",
                 "NFS operations", "### Identity: AUTH_SYS trusts the client",
                 "Exit status: 0 mounted, 1 bad command line, 32 mount failure"):
        assert want in text, "README lacks %r" % want


def test_man_pages_installed_by_make():
    with open(os.path.join(REPO, "man", "Makefile.inc")) as f:
        inc = f.read()
    for page in ("man/efs-fuse.8", "man/efs-fuse.1", "man/efs-fuse.conf.5"):
        assert page in inc
    with open(os.path.join(REPO, "man", "efs-fuse.1")) as f:
        assert f.read().strip() == ".so man8/efs-fuse.8"
    # the pages render without warnings
    for page in ("efs-fuse.8", "efs-fuse.conf.5"):
        p = subprocess.run(["man", "--warnings", "-l", "-Tutf8", os.path.join(REPO, "man", page)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stdout, p.stderr
        assert not p.stderr.strip(), "%s: %s" % (page, p.stderr)
