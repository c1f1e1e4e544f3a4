#!/bin/sh
# The changer through mtx (SCSI generic node of LUN 0) and the drive through st: mtx status
# with barcodes, load/unload/transfer, a tar archive on each of two cartridges swapped by the
# robot, both read back after swapping again. Layout from the suite: 24 slots with
# E01001L8..E01020L8 and CLN001L1, 4 mailslots (mtx numbers them 25-28), drive 0 = LUN 1.
. /run/lib.sh
CH=/dev/by-lun/${CHANGER_LUN:-0}.sg
need_tape
[ -e "$CH" ] || { echo "no changer generic node $CH"; ls -l /dev/by-lun; exit 100; }

status() { STATUS=$(mtx -f "$CH" status 2>&1); printf '%s\n' "$STATUS" | sed 's/^/  | /'; }
wait_ready() { i=0; while [ $i -lt 30 ]; do mt -f "$NST" status >/dev/null 2>&1 && return 0; sleep 1; i=$((i + 1)); done; return 1; }

status
check_match "mtx status: 2 drives, 28 slots, 4 import/export" 'Storage Changer .*:2 Drives, 28 Slots \( 4 Import/Export \)' "$STATUS"
check_match "drive 0 empty" '^Data Transfer Element 0:Empty' "$STATUS"
check_match "slot 1 holds E01001L8" 'Storage Element 1:Full :VolumeTag=E01001L8' "$STATUS"
check_match "slot 21 holds the cleaning cartridge" 'Storage Element 21:Full :VolumeTag=CLN001L1' "$STATUS"
check_match "slot 22 empty" 'Storage Element 22:Empty' "$STATUS"
check_match "mailslot 25 listed as import/export" 'Storage Element 25 IMPORT/EXPORT:Empty' "$STATUS"

mkdir -p a b ra rb
dd if=/dev/urandom of=a/one.bin bs=64k count=16 2>/dev/null
dd if=/dev/urandom of=b/two.bin bs=64k count=8 2>/dev/null
(find a b -type f | sort | xargs sha256sum) > sums.orig

check "mtx load 1 0" mtx -f "$CH" load 1 0
status
check_match "drive 0 full, loaded from slot 1" 'Data Transfer Element 0:Full \(Storage Element 1 Loaded\):VolumeTag = E01001L8' "$STATUS"
check "drive ready after load" wait_ready
check "tar archive A on E01001L8" tar -cf "$NST" -b 128 a
check "mtx unload 1 0 (no eject first, as mtx-changer does)" mtx -f "$CH" unload 1 0
check "mtx load 2 0" mtx -f "$CH" load 2 0
check "drive ready after swap" wait_ready
check "tar archive B on E01002L8" tar -cf "$NST" -b 128 b
check "mtx unload 2 0" mtx -f "$CH" unload 2 0

check "mtx load 1 0 again" mtx -f "$CH" load 1 0
check "drive ready" wait_ready
check "mt rewind" mt -f "$NST" rewind
check "read archive A back" tar -xf "$NST" -b 128 -C ra
check "mtx unload 1 0" mtx -f "$CH" unload 1 0
check "mtx load 2 0" mtx -f "$CH" load 2 0
check "drive ready" wait_ready
check "mt rewind" mt -f "$NST" rewind
check "read archive B back" tar -xf "$NST" -b 128 -C rb
check "mtx unload 2 0" mtx -f "$CH" unload 2 0
( (cd ra && find a -type f | sort | xargs sha256sum); (cd rb && find b -type f | sort | xargs sha256sum) ) > sums.back
if cmp -s sums.orig sums.back; then ok "both archives read back identical"; else bad "both archives read back identical" "$(diff sums.orig sums.back | head -3 | tr '\n' ' ')"; fi

check "mtx transfer 3 25 (slot to mailslot)" mtx -f "$CH" transfer 3 25
status
check_match "E01003L8 in the mailslot" 'Storage Element 25 IMPORT/EXPORT:Full :VolumeTag=E01003L8' "$STATUS"
check_match "slot 3 empty" 'Storage Element 3:Empty' "$STATUS"
check "mtx transfer 25 3 (back)" mtx -f "$CH" transfer 25 3
run mtx -f "$CH" load 22 0
[ $_rc -ne 0 ] && ok "load from an empty slot is refused" || bad "load from an empty slot is refused" "exit 0"
finish
