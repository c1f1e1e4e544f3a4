#!/bin/sh
# Guest /init (installed by build-guest.sh): load the SCSI modules, mount the pseudo file
# systems, wait for the passed-through LUNs, then run every case in /run/cases in order and
# power off. The console protocol parsed by run-guest.sh and test/e2e/support/guest.ts:
#   ===GUEST BEGIN cases=N===
#   ===CASE <name> BEGIN===   ... case output (stdout and stderr) ...   ===CASE <name> END rc=<rc>===
#   ===GUEST END failed=<number of cases with rc != 0>===
# run-guest.sh puts each case at /run/cases/<NNN>_<name> (NNN gives the order), the shared
# helpers at /run/lib.sh and the environment at /run/harness.env.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs -o size=75% tmpfs /tmp
exec </dev/null >/dev/console 2>&1

karg() { # karg NAME DEFAULT: value of NAME=... on the kernel command line
  for kv in $(cat /proc/cmdline); do
    case $kv in "$1"=*) echo "${kv#*=}"; return;; esac
  done
  echo "$2"
}
KV=$(uname -r)
for m in $(cat /etc/modules.load); do
  insmod "/lib/modules/$KV/$m" 2>/tmp/insmod.err || grep -q 'File exists' /tmp/insmod.err \
    || { echo "[init] insmod $m failed: $(cat /tmp/insmod.err)"; }
done

# wait until every passed LUN is a SCSI device (harness.ndev=N), at most harness.scanwait s
want=$(karg harness.ndev 0)
limit=$(( $(karg harness.scanwait 60) * 10 ))
i=0
while n=$(ls /sys/class/scsi_device 2>/dev/null | wc -l); [ "$n" -lt "$want" ]; do
  i=$((i + 1))
  [ $i -lt $limit ] || { echo "[init] only $n of $want SCSI devices appeared"; break; }
  sleep 0.1
done
sleep 0.3 # devtmpfs creates the st/sg/ch nodes asynchronously

# /dev/by-lun/<LUN>.{st,nst,sg,sch}: run-guest.sh puts iSCSI LUN N at SCSI address 0:0:N:0
mkdir -p /dev/by-lun
for d in /sys/bus/scsi/devices/*:*:*:*; do
  [ -d "$d" ] || continue
  lun=$(basename "$d" | cut -d: -f3)
  for c in "$d"/scsi_generic/* "$d"/scsi_tape/* "$d"/scsi_changer/*; do
    [ -e "$c" ] || continue
    dev=$(basename "$c")
    case $dev in
      sg[0-9]*) ln -sf "/dev/$dev" "/dev/by-lun/$lun.sg" ;;
      nst[0-9]*[!0-9]* | st[0-9]*[!0-9]*) ;; # mode variants st0l, nst0a, ...
      nst[0-9]*) ln -sf "/dev/$dev" "/dev/by-lun/$lun.nst" ;;
      st[0-9]*) ln -sf "/dev/$dev" "/dev/by-lun/$lun.st" ;;
      sch[0-9]*) ln -sf "/dev/$dev" "/dev/by-lun/$lun.sch" ;;
    esac
  done
done
echo "[init] kernel $KV, $n SCSI device(s) ready at $(cut -d' ' -f1 /proc/uptime)s"
# keep kernel messages off the console while cases run (harness.printk=7 shows them)
echo "$(karg harness.printk 1)" > /proc/sys/kernel/printk

[ -f /run/harness.env ] && { set -a; . /run/harness.env; set +a; }
casetimeout=$(karg harness.casetimeout 0)
total=$(ls /run/cases 2>/dev/null | wc -l)
failed=0
echo "===GUEST BEGIN cases=$total==="
for f in $(ls /run/cases 2>/dev/null | sort); do
  name=${f#*_}
  work=/tmp/case-$name
  mkdir -p "$work"
  chmod 755 "/run/cases/$f"
  # a shebang picks the interpreter (#!/bin/bash); without one the case runs under dash
  if head -c2 "/run/cases/$f" | grep -q '^#!'; then set -- "/run/cases/$f"; else set -- /bin/sh "/run/cases/$f"; fi
  [ "$casetimeout" -gt 0 ] && set -- timeout -s KILL "$casetimeout" "$@"
  echo "===CASE $name BEGIN==="
  (cd "$work" && CASE_NAME=$name CASE_WORK=$work "$@")
  rc=$?
  echo "===CASE $name END rc=$rc==="
  [ $rc -eq 0 ] || failed=$((failed + 1))
  rm -rf "$work"
done
echo "===GUEST END failed=$failed==="
sync
poweroff -f
