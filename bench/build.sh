#!/usr/bin/env bash
# build.sh - compile tapebench (libiscsi client) into bench/.work/tapebench; prints its path.
# Installs libiscsi-dev with apt-get when the header is missing and we are root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/.work/tapebench"
mkdir -p "$here/.work"
if [[ ! -f /usr/include/iscsi/iscsi.h ]]; then
  [[ $(id -u) == 0 ]] || { echo "build.sh: libiscsi-dev is missing (apt-get install libiscsi-dev)" >&2; exit 1; }
  [[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null) ]] || apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libiscsi-dev >&2
fi
if [[ ! -x $out || $here/tapebench.c -nt $out ]]; then
  gcc -O2 -Wall -Wextra -o "$out.tmp" "$here/tapebench.c" -liscsi
  mv "$out.tmp" "$out"
fi
echo "$out"
