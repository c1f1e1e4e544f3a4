#!/bin/sh
# mt status on the no-rewind node of a loaded drive: the st driver attached, the drive is
# online with the cartridge at BOT after a rewind, variable block mode, expected density.
. /run/lib.sh
need_tape
run lsscsi -g
check "mt rewind" mt -f "$NST" rewind
if mt_status; then ok "mt status exits 0"; else bad "mt status exits 0" "exit $_rc"; fi
check_match "drive reports ONLINE" 'ONLINE' "$MT_OUT"
check_match "tape at BOT after rewind" '(^| )BOT( |$)' "$MT_OUT"
check_eq "file number at BOT" 0 "$FILENO"
check_eq "block number at BOT" 0 "$BLKNO"
check "mt setblk 0 (variable block mode)" mt -f "$NST" setblk 0
mt_status
check_match "block size 0 (variable)" 'Tape block size 0 bytes' "$MT_OUT"
if [ -n "$EXPECT_DENSITY" ]; then
  check_match "density code $EXPECT_DENSITY" "Density code $EXPECT_DENSITY" "$MT_OUT"
fi
finish
