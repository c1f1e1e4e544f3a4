#!/usr/bin/env bash
# tgt.sh - the comparison target for `npm run bench`: tgtd (Linux SCSI target framework,
# userspace) with one SSC tape LUN on 127.0.0.1, tuned to its best for large blocks.
#   tgt.sh start DIR [PORT] [CONTROL_PORT] [SIZE_MB]   prints the LUN's iscsi:// URL, then
#   tgt.sh stop DIR [CONTROL_PORT]                      ends the tgtd started for DIR
#   tgt.sh pid DIR                                      prints that tgtd's PID
# Defaults: PORT 13270, CONTROL_PORT 77 (tgtd's -C: socket /var/run/tgtd/socket.N), SIZE_MB 20480.
set -euo pipefail
cmd=${1:?usage: tgt.sh start|stop|pid DIR ...} dir=${2:?working directory}
iqn=iqn.2026-11.org.iscsi-vtl:tgt-bench
case $cmd in
start)
  port=${3:-13270} ctl=${4:-77} size=${5:-20480}
  if ! command -v tgtd >/dev/null; then
    [[ $(id -u) == 0 ]] || { echo "tgt.sh: tgt is not installed (apt-get install tgt)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tgt >&2
  fi
  mkdir -p "$dir"
  rm -f "$dir/tape.img"
  tgtimg --op new --device-type tape --barcode TGT001L8 --size "$size" --type data \
    --file "$dir/tape.img" --thin-provisioning >/dev/null
  setsid tgtd -f -C "$ctl" --iscsi "portal=127.0.0.1:$port" >"$dir/tgtd.log" 2>&1 </dev/null &
  echo $! >"$dir/tgtd.pid"
  echo "$ctl" >"$dir/tgtd.ctl"
  adm() { tgtadm -C "$ctl" --lld iscsi "$@"; }
  for _ in $(seq 50); do adm --mode target --op show >/dev/null 2>&1 && break; sleep 0.1; done
  adm --mode target --op new --tid 1 -T "$iqn"
  adm --mode logicalunit --op new --tid 1 --lun 1 --bstype ssc --device-type tape -b "$dir/tape.img"
  # tgt's defaults (8 KiB data segments, InitialR2T=Yes) cost it about 4x on 256 KiB blocks;
  # the bench compares against its best settings instead.
  for kv in MaxRecvDataSegmentLength=262144 MaxXmitDataSegmentLength=262144 FirstBurstLength=262144 \
            MaxBurstLength=16776192 InitialR2T=No ImmediateData=Yes; do
    adm --mode target --op update --tid 1 --name "${kv%%=*}" --value "${kv#*=}"
  done
  adm --mode target --op bind --tid 1 -I 127.0.0.1
  echo "iscsi://127.0.0.1:$port/$iqn/1" ;;
stop)
  ctl=${3:-$(cat "$dir/tgtd.ctl" 2>/dev/null || echo 77)}
  pid=$(cat "$dir/tgtd.pid" 2>/dev/null || true)
  # tgtd ignores SIGTERM; "delete system" is how its own service unit stops it
  tgtadm -C "$ctl" --op delete --mode system >/dev/null 2>&1 || true
  for _ in $(seq 20); do [[ -n $pid && -d /proc/$pid ]] || break; sleep 0.1; done
  if [[ -n $pid && -d /proc/$pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "tgtd -f -C $ctl "; then
    kill -9 "$pid"
  fi
  rm -f "$dir/tgtd.pid" "$dir/tgtd.ctl" "$dir/tape.img" "/var/run/tgtd/socket.$ctl" "/var/run/tgtd/socket.$ctl.lock" ;;
pid) cat "$dir/tgtd.pid" ;;
*) echo "usage: tgt.sh start|stop|pid DIR ..." >&2; exit 2 ;;
esac
