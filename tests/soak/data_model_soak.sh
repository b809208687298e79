#!/usr/bin/env bash
# Long run of the data-path reference-model stress (issue 10): many seeds,
# more operations and threads than CI, against the build in BUILD_DIR
# (default <repo>/build; a --sanitize build in build-sanitize/ is the best
# target).  Needs root, like the integration suite.
#   tests/soak/data_model_soak.sh [FIRST-LAST seeds (1-40)] [ops per thread (400)] [threads (8)]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
tmp=$(mktemp -d /tmp/efs-model-soak.XXXXXX)
chmod 0755 "$tmp"
export EFS_MODEL_STRICT=${EFS_MODEL_STRICT-1}
export EFS_MODEL_SEEDS=${1:-1-40} EFS_MODEL_OPS=${2:-400} EFS_MODEL_THREADS=${3:-8}
export EFS_FUSE=${EFS_FUSE:-$build/efs-fuse} EFS_FUSE_BUILDDIR=$build BUILD_DIR=$build
export EFS_IT_TMPDIR=$tmp
rc=0
/usr/bin/python3 -m pytest -p no:cacheprovider --timeout=3600 --timeout-method=thread \
	"$top/tests/integration/data/test_data_model.py" </dev/null || rc=$?
[ "$rc" -eq 0 ] && rm -rf "$tmp" || echo "soak: logs kept in $tmp" >&2
exit "$rc"
