#!/bin/sh
# Positioning through the st driver: fsf/bsf/eod and the file number mt reports, then a
# tell/seek round trip. Layout written here (64 KiB random records, st adds a filemark
# when the writer closes the no-rewind node):
#   objects 0-2 file 0 | 3 FM | 4-7 file 1 | 8 FM | 9-10 file 2 | 11 FM | EOD
# SSC READ POSITION counts filemarks as logical objects, which is what `mt tell` prints.
. /run/lib.sh
need_tape
dd if=/dev/urandom of=f0.dat bs=64k count=3 2>/dev/null
dd if=/dev/urandom of=f1.dat bs=64k count=4 2>/dev/null
dd if=/dev/urandom of=f2.dat bs=64k count=2 2>/dev/null
want() { dd if="f$1.dat" of=want bs=64k skip="$2" count=1 2>/dev/null; } # want FILE RECORD
read1() { rm -f got; dd if="$NST" of=got bs=64k count=1 2>/dev/null; }   # read one record

check "mt rewind" mt -f "$NST" rewind
check "mt setblk 0" mt -f "$NST" setblk 0
for f in 0 1 2; do check "write file $f" dd if="f$f.dat" of="$NST" bs=64k; done
mt_status
check_eq "file number after writing 3 files" 3 "$FILENO"

echo "--- fsf / bsf"
check "mt rewind" mt -f "$NST" rewind
check "mt fsf 2" mt -f "$NST" fsf 2
mt_status
check_eq "file number after fsf 2" 2 "$FILENO"
check_eq "block number after fsf 2" 0 "$BLKNO"
read1; want 2 0
check "record after fsf 2 is file 2 record 0" cmp -s got want
check "mt bsf 2" mt -f "$NST" bsf 2
mt_status
check_eq "file number after bsf 2" 0 "$FILENO"
check "mt fsf 1" mt -f "$NST" fsf 1
read1; want 1 0
check "bsf 2 + fsf 1 lands on file 1 record 0" cmp -s got want

echo "--- eod"
check "mt eod" mt -f "$NST" eod
mt_status
check_eq "file number at EOD" 3 "$FILENO"
check_match "status flags show EOD" '(^| )EOD( |$)' "$MT_OUT"

echo "--- tell / seek"
check "mt rewind" mt -f "$NST" rewind
mt_tell
check_eq "mt tell at BOT" 0 "$TELL"
check "mt fsf 1" mt -f "$NST" fsf 1
dd if="$NST" of=/dev/null bs=64k count=2 2>/dev/null
if mt_tell; then ok "mt tell exits 0"; else bad "mt tell exits 0" "exit $_rc"; fi
check_eq "mt tell after 3 records, a filemark and 2 records" 6 "$TELL"
read1; want 1 2
check "the record at block 6 is file 1 record 2" cmp -s got want
cp got at6
check "mt rewind" mt -f "$NST" rewind
check "mt seek 6" mt -f "$NST" seek 6
mt_tell
check_eq "mt tell after seek 6" 6 "$TELL"
read1
check "seek back reads the same record" cmp -s got at6
check "mt seek 8 (the filemark after file 1)" mt -f "$NST" seek 8
read1
check_eq "read at the filemark returns 0 bytes" 0 "$(wc -c < got)"
read1; want 2 0
check "the next read is file 2 record 0" cmp -s got want
check "mt seek 2" mt -f "$NST" seek 2
read1; want 0 2
check "seek 2 reads file 0 record 2" cmp -s got want

check "mt rewind" mt -f "$NST" rewind
mt_status
check_match "BOT after rewind" '(^| )BOT( |$)' "$MT_OUT"
check_eq "file number after rewind" 0 "$FILENO"
finish
