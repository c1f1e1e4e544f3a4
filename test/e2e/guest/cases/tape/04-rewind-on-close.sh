#!/bin/sh
# The rewinding node: closing /dev/stN after writing writes a filemark and rewinds, and
# closing it after reading rewinds too, so the next open reads the same data again.
. /run/lib.sh
need_tape
dd if=/dev/urandom of=data bs=32k count=5 2>/dev/null
check "mt rewind" mt -f "$NST" rewind
check "mt setblk 0" mt -f "$NST" setblk 0
check "write 5 records through $(readlink "$ST")" dd if=data of="$ST" bs=32k
mt_status
check_match "at BOT after closing the rewinding node (write)" '(^| )BOT( |$)' "$MT_OUT"
check_eq "file number after close" 0 "$FILENO"
check_eq "block number after close" 0 "$BLKNO"
rm -f back
check "read back through $(readlink "$ST")" dd if="$ST" of=back bs=32k
check "data read back identical" cmp -s data back
mt_status
check_match "at BOT after closing the rewinding node (read)" '(^| )BOT( |$)' "$MT_OUT"
rm -f back
check "read again through $(readlink "$ST")" dd if="$ST" of=back bs=32k
check "second read identical" cmp -s data back
check "only the written file: fsf 1 then reading gives EOD" mt -f "$NST" fsf 1
rm -f back
dd if="$NST" of=back bs=32k count=1 2>/dev/null
check_eq "no data after the filemark" 0 "$(wc -c < back 2>/dev/null || echo missing)"
check "mt rewind" mt -f "$NST" rewind
finish
