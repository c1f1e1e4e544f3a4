#!/bin/bash
# run-guest.sh - boot the guest built by build-guest.sh with iSCSI LUNs passed through
# (QEMU's libiscsi block driver, one scsi-generic device per LUN), run one or more case
# scripts in it in a single boot, and exit with their result.
#
# usage: run-guest.sh -t IQN -l LUN[,LUN...] [options] CASE...
#   CASE          a script, or a directory whose *.sh files are taken in name order. The
#                 case name is the file name without ".sh" and without a leading "NN-".
#   -p HOST:PORT  iSCSI portal (default 127.0.0.1:3260)
#   -t IQN        target name (required with -l)
#   -l LUNS       iSCSI LUNs, comma or space separated; LUN N is guest SCSI address 0:0:N:0
#                 and /dev/by-lun/N.{st,nst,sg,sch}
#   -I IQN        initiator name (default iqn.2008-11.org.linux-kvm:iscsi-vtl-e2e)
#   -T SECONDS    timeout for the whole run including boot (default 600)
#   -C SECONDS    per-case timeout inside the guest, SIGKILL (default 0 = none)
#   -e NAME=VALUE exported to every case (repeatable)
#   -f DIR        copied into the guest as /run/files (it lives in guest RAM)
#   -m MB         guest memory (default 512)        -c N   vCPUs (default 1)
#   -A MODE       accelerator auto|kvm|tcg (default auto: KVM only if a probe boot prints
#                 within 10 s; the verdict is cached per host boot)
#   -k ARGS       extra kernel command line, e.g. harness.printk=7 for kernel messages
#   -o FILE       save the raw console log         -q  print only the guest's case output
#   -n            print the qemu command line and exit
# Console markers (see init.sh): ===CASE <name> BEGIN=== / ===CASE <name> END rc=N===.
# exit: with one case its rc, with several 0 when all passed and 1 otherwise; 124 timeout;
#       125 the guest never finished (boot failure, qemu refused the LUNs); 2 usage.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$(cd "$HERE/.." && pwd)/.cache/guest"
OUT="$CACHE/out"
PORTAL=127.0.0.1:3260 TARGET="" LUNS="" INITIATOR=iqn.2008-11.org.linux-kvm:iscsi-vtl-e2e
TIMEOUT=600 CASETIMEOUT=0 FILES="" MEM=512 CPUS=1 ACCEL=auto KARGS="" LOG="" QUIET=0 DRY=0
ENVS=()
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
fail() { echo "run-guest: $*" >&2; exit 2; }
while getopts "p:t:l:I:T:C:e:f:m:c:A:k:o:qnh" o; do
  case $o in
    p) PORTAL=$OPTARG ;; t) TARGET=$OPTARG ;; l) LUNS=${OPTARG//,/ } ;; I) INITIATOR=$OPTARG ;;
    T) TIMEOUT=$OPTARG ;; C) CASETIMEOUT=$OPTARG ;; e) ENVS+=("$OPTARG") ;; f) FILES=$OPTARG ;;
    m) MEM=$OPTARG ;; c) CPUS=$OPTARG ;; A) ACCEL=$OPTARG ;; k) KARGS=$OPTARG ;; o) LOG=$OPTARG ;;
    q) QUIET=1 ;; n) DRY=1 ;; *) usage ;;
  esac
done
shift $((OPTIND - 1))
(($# > 0)) || usage
[[ -z ${LUNS// /} || -n $TARGET ]] || fail "-t IQN is required with -l"
[[ $TIMEOUT =~ ^[0-9]+$ && $CASETIMEOUT =~ ^[0-9]+$ ]] || fail "-T and -C take whole seconds"
[[ -f $OUT/vmlinuz && -f $OUT/initramfs.cpio.gz ]] || fail "guest not built; run $HERE/build-guest.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found (apt-get install qemu-system-x86 qemu-block-extra)"

# ---- collect cases in order
CASES=()
for a in "$@"; do
  if [[ -d $a ]]; then
    for f in "$a"/*.sh; do [[ -f $f ]] && CASES+=("$f"); done
  elif [[ -f $a ]]; then CASES+=("$a")
  else fail "no such case script or directory: $a"; fi
done
((${#CASES[@]} > 0)) || fail "no case scripts in: $*"

WORK="$(mktemp -d /tmp/run-guest.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# ---- per-run overlay appended to the cached initramfs: the kernel unpacks concatenated
# cpio archives in order, so no disk image and no rebuild is needed per run.
mkdir -p "$WORK/ov/run/cases"
declare -A SEEN=()
i=0
for f in "${CASES[@]}"; do
  name="$(basename "$f")"; name="${name%.sh}"; name="${name#[0-9][0-9]-}"
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || fail "case name '$name' ($f): use letters, digits, . _ -"
  [[ -z ${SEEN[$name]:-} ]] || fail "two cases named '$name'"
  SEEN[$name]=1
  i=$((i + 1))
  install -m755 "$f" "$WORK/ov/run/cases/$(printf '%03d' "$i")_$name"
done
install -m644 "$HERE/lib.sh" "$WORK/ov/run/lib.sh"
[[ -z $FILES ]] || cp -a "$FILES" "$WORK/ov/run/files"
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # single-quote for dash
{
  echo "HARNESS_PORTAL=$(sq "$PORTAL")"
  echo "HARNESS_TARGET=$(sq "$TARGET")"
  echo "HARNESS_LUNS=$(sq "$(echo $LUNS)")"
  for kv in "${ENVS[@]}"; do
    [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || fail "bad -e '$kv' (want NAME=VALUE)"
    echo "${kv%%=*}=$(sq "${kv#*=}")"
  done
} > "$WORK/ov/run/harness.env"
(cd "$WORK/ov" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$WORK/ov.cpio.gz"
cat "$OUT/initramfs.cpio.gz" "$WORK/ov.cpio.gz" > "$WORK/initrd"

# ---- accelerator. /dev/kvm may open fine yet hang the guest (nested virtualisation without
# VMX), so "auto" boots the bare kernel under KVM once and keeps KVM only if it prints.
kvm_works() {
  [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
  local log="$WORK/kvm-probe" pid t
  qemu-system-x86_64 -accel kvm -cpu host -m 128 -nodefaults -display none -monitor none \
    -serial "file:$log" -no-reboot -kernel "$OUT/vmlinuz" -append "console=ttyS0 panic=-1 rdinit=/none" \
    </dev/null >/dev/null 2>&1 &
  pid=$!
  for ((t = 0; t < 100; t++)); do
    if grep -q 'Linux version' "$log" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  return 1
}
if [[ $ACCEL == auto ]]; then
  verdict="$CACHE/accel.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)"
  if [[ -f $verdict ]]; then ACCEL=$(cat "$verdict")
  elif ((DRY)); then ACCEL=tcg
  else
    if kvm_works 2>/dev/null; then ACCEL=kvm; else ACCEL=tcg; fi
    echo "$ACCEL" > "$verdict"
  fi
fi
case $ACCEL in
  kvm) ACC=(-accel kvm -cpu host) ;;
  tcg) ACC=(-accel tcg -cpu max) ;;
  *) fail "bad -A '$ACCEL' (auto, kvm or tcg)" ;;
esac

# ---- qemu command line: one virtio-scsi controller, one scsi-generic device per LUN (QEMU
# forces tape and changer LUNs to scsi-generic; scsi-hd/scsi-block refuse them)
Q=(qemu-system-x86_64 "${ACC[@]}" -m "$MEM" -smp "$CPUS" -nodefaults -nographic
   -serial stdio -monitor none -no-reboot -kernel "$OUT/vmlinuz" -initrd "$WORK/initrd")
n=0
if [[ -n ${LUNS// /} ]]; then
  Q+=(-device virtio-scsi-pci,id=vscsi0)
  for l in $LUNS; do
    [[ $l =~ ^[0-9]+$ && $l -le 255 ]] || fail "bad LUN '$l' (0..255)"
    Q+=(-drive "driver=iscsi,transport=tcp,portal=$PORTAL,target=$TARGET,lun=$l,initiator-name=$INITIATOR,if=none,id=lun$l"
        -device "scsi-generic,drive=lun$l,bus=vscsi0.0,channel=0,scsi-id=$l,lun=0")
    n=$((n + 1))
  done
fi
Q+=(-append "console=ttyS0 panic=-1 mitigations=off harness.ndev=$n harness.casetimeout=$CASETIMEOUT $KARGS")
if ((DRY)); then printf '%q ' "${Q[@]}"; echo; exit 0; fi

# ---- run: the console streams live (CR and NUL stripped); -q keeps only the case output
RAW="$WORK/console"
start=$(date +%s%N)
set +e
# Every stage passes lines on as they come (sed -u; not tr or mawk, which buffer in a pipe), so
# a caller can act on a line the guest prints while the guest waits for it.
show() { if ((QUIET)); then sed -u -n '/^===GUEST BEGIN/,/^===GUEST END/p'; else cat; fi; }
timeout -k 5 "$TIMEOUT" "${Q[@]}" </dev/null 2> >(tee "$WORK/qemu.err" >&2) | sed -u 's/[\r\x00]//g' | tee "$RAW" | show
qrc=${PIPESTATUS[0]}
set -e
secs=$(( ($(date +%s%N) - start) / 100000000 ))
secs="$((secs / 10)).$((secs % 10))"
[[ -z $LOG ]] || cp "$RAW" "$LOG"

summary="wall ${secs}s, accel=$ACCEL, luns=[$(echo $LUNS)]"
failed=$(sed -n 's/^===GUEST END failed=\([0-9]*\)===.*/\1/p' "$RAW" | tail -1)
if [[ -z $failed ]]; then
  if ((QUIET)); then echo "run-guest: last console lines:" >&2; tail -n 40 "$RAW" | sed 's/^/  | /' >&2; fi
  if [[ $qrc == 124 || $qrc == 137 ]]; then echo "run-guest: TIMEOUT after ${TIMEOUT}s ($summary)" >&2; exit 124; fi
  echo "run-guest: the guest did not finish (qemu exit $qrc, $summary)" >&2
  exit 125
fi
if ((${#CASES[@]} == 1)); then
  rc=$(sed -n 's/^===CASE .* END rc=\([0-9]*\)===.*/\1/p' "$RAW" | tail -1)
  echo "run-guest: case rc=$rc, $summary" >&2
  exit "$rc"
fi
echo "run-guest: ${#CASES[@]} cases, $failed failed, $summary" >&2
((failed == 0))
