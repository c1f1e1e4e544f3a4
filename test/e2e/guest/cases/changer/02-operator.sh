#!/bin/sh
# What an operator does at the library while mtx is using it, and a cleaning through mtx.
# The host watches the console: on "@@VTL-REQUEST mailslot-insert" it runs
# `vtl mailslot insert V00001L8`; this case then sees the unit attention SMC requires
# (06/28/01 IMPORT OR EXPORT ELEMENT ACCESSED) and the cartridge in the mailslot, imports it with
# mtx, cleans drive 0 with CLN001L1 (slot 21) and prints the final `mtx status` between
# @@MTX-STATUS markers for the host to compare after a server restart.
. /run/lib.sh
CH=/dev/by-lun/${CHANGER_LUN:-0}.sg
[ -e "$CH" ] || { echo "no changer generic node $CH"; exit 100; }

status() { STATUS=$(mtx -f "$CH" status 2>&1); printf '%s\n' "$STATUS" | sed 's/^/  | /'; }

# Clear whatever unit attention is pending on this nexus, then ask the host for the insert.
sg_turs "$CH" >/dev/null 2>&1
sg_turs "$CH" >/dev/null 2>&1
echo "@@VTL-REQUEST mailslot-insert"
UA=
i=0
while [ $i -lt 60 ]; do
  OUT=$(sg_turs -v "$CH" 2>&1)
  case "$OUT" in *[Uu]nit\ [Aa]ttention*) UA=$OUT; break ;; esac
  sleep 1
  i=$((i + 1))
done
printf '%s\n' "$UA" | sed 's/^/  | /'
check_match "unit attention after vtl mailslot insert" 'Import or export element accessed' "$UA"
OUT=$(sg_turs -v "$CH" 2>&1)
_rc=$?
check_eq "the attention is reported once, then the changer is ready" 0 "$_rc"

status
check_match "V00001L8 shows in mailslot 25" 'Storage Element 25 IMPORT/EXPORT:Full :VolumeTag=V00001L8' "$STATUS"
check "mtx transfer 25 22 (import into an empty slot)" mtx -f "$CH" transfer 25 22

check "mtx load 21 0 (the cleaning cartridge)" mtx -f "$CH" load 21 0
# After the load the drive first reports the medium change (28/00), then 30/03 for as long as
# the cleaning cartridge is in it.
for _ in 1 2 3; do OUT=$(sg_turs -v "$SG" 2>&1); done
printf '%s\n' "$OUT" | sed 's/^/  | /'
check_match "the drive reports CLEANING CARTRIDGE INSTALLED" '[Cc]leaning cartridge installed' "$OUT"
check "mtx unload 21 0" mtx -f "$CH" unload 21 0

status
check_match "V00001L8 now in slot 22" 'Storage Element 22:Full :VolumeTag=V00001L8' "$STATUS"
check_match "CLN001L1 back in slot 21" 'Storage Element 21:Full :VolumeTag=CLN001L1' "$STATUS"
check_match "drive 0 empty" '^Data Transfer Element 0:Empty' "$STATUS"
echo "@@MTX-STATUS-BEGIN"
printf '%s\n' "$STATUS"
echo "@@MTX-STATUS-END"
finish
