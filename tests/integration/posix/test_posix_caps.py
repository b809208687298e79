"""The FUSE capabilities op_init asks for are granted by this kernel and
libfuse (issue 7): the daemon logs, at debug level, what it asked for, what
the kernel offers and what is missing."""

import re

from lib import mounts

import pytest


def test_capabilities_in_effect(ganesha, mount_factory):
    try:
        m = mount_factory(ganesha.source, options=["loglevel=debug"])
    except mounts.MountError as e:
        pytest.fail(str(e), pytrace=False)
    log = m.stderr()
    g = re.search(r"fuse init: capable 0x([0-9a-f]+), libfuse default 0x([0-9a-f]+), "
                  r"asked 0x([0-9a-f]+), missing 0x([0-9a-f]+)", log)
    assert g, "no capability line in the daemon's log:\n" + log[-2000:]
    capable, asked, missing = int(g.group(1), 16), int(g.group(3), 16), int(g.group(4), 16)
    assert missing == 0, "capabilities not offered: 0x%x" % missing
    want = re.search(r"fuse init: proto \d+\.\d+, .*want 0x([0-9a-f]+)", log)
    assert want, log[-2000:]
    granted = int(want.group(1), 16)
    # FUSE_CAP_PARALLEL_DIROPS is (1 << 18) in libfuse 3.14
    assert asked & (1 << 18)
    assert granted & asked == asked, "asked 0x%x, in effect 0x%x" % (asked, granted)
    assert granted & ~capable == 0
