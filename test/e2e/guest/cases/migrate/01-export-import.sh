#!/bin/sh
# Cloud migration through the changer (issue 4, QUADStor's trigger): a tar archive written to
# E01001L8, the cartridge moved into a mailslot with `mtx transfer`; the library takes it out
# into the vault (06/28/01 IMPORT OR EXPORT ELEMENT ACCESSED, the mailslot empty again) and
# exports it to the host's rclone sftp remote, deleting the local copy once verified. The case
# then prints "@@VTL-REQUEST import E01001L8": the host waits for the export and runs
# `vtl import E01001L8 --mailslot`; the cartridge shows up in the mailslot, mtx loads it and
# tar reads back the same bytes. Layout from the suite: 4 slots, 2 mailslots (mtx 5-6).
. /run/lib.sh
CH=/dev/by-lun/${CHANGER_LUN:-0}.sg
need_tape
[ -e "$CH" ] || { echo "no changer generic node $CH"; ls -l /dev/by-lun; exit 100; }

status() { STATUS=$(mtx -f "$CH" status 2>&1); printf '%s\n' "$STATUS" | sed 's/^/  | /'; }
wait_ready() { i=0; while [ $i -lt 30 ]; do mt -f "$NST" status >/dev/null 2>&1 && return 0; sleep 1; i=$((i + 1)); done; return 1; }
# TEST UNIT READY on the changer until GOOD; what it reported on the way is in $SEEN.
settle() { SEEN=; i=0; while [ $i -lt 10 ]; do OUT=$(sg_turs -v "$CH" 2>&1) && return 0; SEEN="$SEEN$OUT"; i=$((i + 1)); done; return 1; }

settle
status
check_match "slot 1 holds E01001L8" 'Storage Element 1:Full :VolumeTag=E01001L8' "$STATUS"
check_match "mailslot 5 empty" 'Storage Element 5 IMPORT/EXPORT:Empty' "$STATUS"

mkdir -p data back
dd if=/dev/urandom of=data/one.bin bs=64k count=40 2>/dev/null
dd if=/dev/urandom of=data/two.bin bs=64k count=9 2>/dev/null
(cd data && sha256sum one.bin two.bin) > sums.orig

check "mtx load 1 0" mtx -f "$CH" load 1 0
check "drive ready" wait_ready
check "tar archive on E01001L8" tar -cf "$NST" -b 128 data
check "mtx unload 1 0" mtx -f "$CH" unload 1 0
check "mtx transfer 1 5 (slot to mailslot: the export trigger)" mtx -f "$CH" transfer 1 5

UA=
i=0
while [ $i -lt 30 ]; do
  OUT=$(sg_turs -v "$CH" 2>&1)
  case "$OUT" in *[Ii]mport\ or\ export\ element\ accessed*) UA=$OUT; break ;; esac
  sleep 1
  i=$((i + 1))
done
printf '%s\n' "$UA" | sed 's/^/  | /'
check_match "unit attention: the cartridge left through the mailslot" 'Import or export element accessed' "$UA"
settle
status
check_match "mailslot 5 free again" 'Storage Element 5 IMPORT/EXPORT:Empty' "$STATUS"
check_match "slot 1 empty (the cartridge is in the vault)" 'Storage Element 1:Empty' "$STATUS"

echo "@@VTL-REQUEST import E01001L8"
i=0
while [ $i -lt 120 ]; do
  settle
  S=$(mtx -f "$CH" status 2>&1)
  case "$S" in *"Storage Element 5 IMPORT/EXPORT:Full :VolumeTag=E01001L8"*) break ;; esac
  sleep 1
  i=$((i + 1))
done
settle
status
check_match "E01001L8 imported into mailslot 5" 'Storage Element 5 IMPORT/EXPORT:Full :VolumeTag=E01001L8' "$STATUS"
check "mtx load 5 0 (mailslot to drive)" mtx -f "$CH" load 5 0
check "drive ready" wait_ready
check "mt rewind" mt -f "$NST" rewind
check "tar reads the archive back" tar -xf "$NST" -b 128 -C back
(cd back/data && sha256sum one.bin two.bin) > sums.back
sed 's/^/  | /' sums.back
if cmp -s sums.orig sums.back; then ok "same bytes after export and import (sha256)"; else bad "same bytes after export and import (sha256)" "$(diff sums.orig sums.back | head -3 | tr '\n' ' ')"; fi
# Into a storage slot: back into the mailslot would export it again.
check "mtx unload 1 0" mtx -f "$CH" unload 1 0
finish
