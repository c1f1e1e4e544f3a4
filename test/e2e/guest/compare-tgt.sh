#!/bin/bash
# compare-tgt.sh - run the tape cases against tgt (tgt-vtl.sh) instead of iscsi-vtl, to see
# which checks another target passes. Prints each case's rc and its failed checks; the full
# guest output goes to $OUT (default /tmp/iscsi-vtl-e2e-tgt.txt). tgt's identity strings
# differ from ours, so the expectations are set to tgt's.
# env: PORT / CN / DIR as for tgt-vtl.sh; OUT
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PORT=${PORT:-13261} CN=${CN:-74}
OUT=${OUT:-/tmp/iscsi-vtl-e2e-tgt.txt}
"$HERE/build-guest.sh" || exit 1
"$HERE/tgt-vtl.sh" stop >/dev/null 2>&1
"$HERE/tgt-vtl.sh" start || exit 1
trap '"$HERE/tgt-vtl.sh" stop' EXIT
"$HERE/run-guest.sh" -q -p "127.0.0.1:$PORT" -t iqn.2026-11.org.iscsi-vtl:tgt-tape -l 1 -C 240 \
  -e EXPECT_VENDOR=IET -e EXPECT_PRODUCT=VIRTUAL-TAPE -e EXPECT_DENSITY=0x0 \
  "$HERE/cases/tape" > "$OUT"
rc=$?
grep -aE '^(===CASE .* END|CHECK FAIL)' "$OUT"
echo "compare-tgt: run-guest exit $rc; full output in $OUT"
exit $rc
