#!/bin/bash
# tgt-vtl.sh - a private tgtd (Debian package "tgt", the Linux SCSI target framework) on
# 127.0.0.1, used only to compare the guest cases against another target (compare-tgt.sh).
#   tid 1  $IQN_TAPE  LUN 1 = SSC tape drive with a data cartridge loaded
#   tid 2  $IQN_VTL   LUN 1 = empty SSC drive, LUN 2 = SMC changer (picker 1, drive 2,
#                     mail slot 10, SLOTS slots from 1000 holding VTL00001...)
# usage: tgt-vtl.sh start|stop|status|show
# env:   PORT (13261)  CN (control port, 74)  DIR (/tmp/iscsi-vtl-e2e-tgt)  SIZE_MB (256)  SLOTS (4)
# Listens on 127.0.0.1 only; stop ends only the tgtd whose PID start recorded.
set -euo pipefail
PORT=${PORT:-13261} CN=${CN:-74} DIR=${DIR:-/tmp/iscsi-vtl-e2e-tgt} SIZE_MB=${SIZE_MB:-256} SLOTS=${SLOTS:-4}
IQN_TAPE=iqn.2026-11.org.iscsi-vtl:tgt-tape
IQN_VTL=iqn.2026-11.org.iscsi-vtl:tgt-vtl
ADM=(tgtadm -C "$CN" --lld iscsi)
say() { printf '[tgt-vtl] %s\n' "$*" >&2; }
lu() { "${ADM[@]}" --mode logicalunit "$@"; }

alive() { # our tgtd, not a zombie and not a recycled PID
  local p
  p=$(cat "$DIR/tgtd.pid" 2>/dev/null) || return 1
  [[ -r /proc/$p/stat && $(awk '{ print $3 }' "/proc/$p/stat") != Z ]] || return 1
  tr '\0' ' ' < "/proc/$p/cmdline" | grep -q "tgtd -f -C $CN "
}

tape() { # tape BARCODE SIZE_MB TYPE
  [[ -f $DIR/tapes/$1 ]] || tgtimg --op new --device-type tape --barcode "$1" --size "$2" \
    --type "$3" --file "$DIR/tapes/$1" >/dev/null
}

start() {
  if ! command -v tgtd >/dev/null; then
    [[ $(id -u) == 0 ]] || { say "tgt is not installed (apt-get install tgt)"; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends tgt >&2
  fi
  if alive; then say "already running (pid $(cat "$DIR/tgtd.pid"))"; return 0; fi
  mkdir -p "$DIR/tapes"
  tape TAPE0001 "$SIZE_MB" data
  tape EMPTY 1 clean
  for i in $(seq "$SLOTS"); do tape "$(printf 'VTL%05d' "$i")" "$SIZE_MB" data; done
  [[ -f $DIR/smc ]] || head -c 1024 /dev/zero > "$DIR/smc"

  setsid tgtd -f -C "$CN" --iscsi "portal=127.0.0.1:$PORT" > "$DIR/tgtd.log" 2>&1 < /dev/null &
  echo $! > "$DIR/tgtd.pid"
  for _ in $(seq 50); do "${ADM[@]}" --mode target --op show >/dev/null 2>&1 && break; sleep 0.1; done
  alive || { say "tgtd did not start (port $PORT or control port $CN busy?)"; tail -5 "$DIR/tgtd.log" >&2; exit 1; }

  "${ADM[@]}" --mode target --op new --tid 1 -T "$IQN_TAPE"
  lu --op new --tid 1 --lun 1 -b "$DIR/tapes/TAPE0001" --device-type=tape
  "${ADM[@]}" --mode target --op bind --tid 1 -I 127.0.0.1

  # library layout after tgt's README.vtl
  "${ADM[@]}" --mode target --op new --tid 2 -T "$IQN_VTL"
  lu --op new --tid 2 --lun 1 -b "$DIR/tapes/EMPTY" --device-type=tape
  lu --op update --tid 2 --lun 1 --params online=0
  lu --op new --tid 2 --lun 2 -b "$DIR/smc" --device-type=changer
  lu --op update --tid 2 --lun 2 --params media_home="$DIR/tapes"
  lu --op update --tid 2 --lun 2 --params element_type=1,start_address=1,quantity=1
  lu --op update --tid 2 --lun 2 --params element_type=4,start_address=2,quantity=1
  lu --op update --tid 2 --lun 2 --params element_type=4,address=2,tid=2,lun=1
  lu --op update --tid 2 --lun 2 --params element_type=3,start_address=10,quantity=1
  lu --op update --tid 2 --lun 2 --params element_type=2,start_address=1000,quantity="$SLOTS"
  for i in $(seq "$SLOTS"); do
    lu --op update --tid 2 --lun 2 --params "element_type=2,address=$((999 + i)),barcode=$(printf 'VTL%05d' "$i"),sides=1"
  done
  "${ADM[@]}" --mode target --op bind --tid 2 -I 127.0.0.1
  say "tgtd pid $(cat "$DIR/tgtd.pid") on 127.0.0.1:$PORT (control port $CN): $IQN_TAPE, $IQN_VTL"
}

stop() {
  if alive; then
    local p
    p=$(cat "$DIR/tgtd.pid")
    # tgtd ignores SIGTERM: go offline, drop the targets, then "delete system" ends it
    tgtadm -C "$CN" --op update --mode sys --name State -v offline >/dev/null 2>&1 || true
    for tid in 1 2; do "${ADM[@]}" --mode target --op delete --force --tid $tid >/dev/null 2>&1 || true; done
    tgtadm -C "$CN" --op delete --mode system >/dev/null 2>&1 || true
    for _ in $(seq 30); do alive || break; sleep 0.1; done
    alive && kill -9 "$p" 2>/dev/null
    say "stopped tgtd pid $p"
    rm -f "/var/run/tgtd/socket.$CN" "/var/run/tgtd/socket.$CN.lock"
  else
    say "not running"
  fi
  rm -f "$DIR/tgtd.pid"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  show) "${ADM[@]}" --mode target --op show ;;
  status) if alive; then echo "running pid $(cat "$DIR/tgtd.pid") on 127.0.0.1:$PORT"; else echo stopped; exit 1; fi ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
