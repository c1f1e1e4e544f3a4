#!/bin/sh
# Partitions through the st driver: with can-partitions set, `mt mkpartition` (st sends LOAD,
# MODE SENSE/SELECT page 11h and FORMAT MEDIUM because the drive reports POFM), `mt
# setpartition` (LOCATE with CP), a tar archive on each partition read back after seeking to
# the start of each, `mt status` showing the partition; then back to one partition.
. /run/lib.sh
need_tape
part() { printf '%s\n' "$MT_OUT" | sed -n 's/.*partition=\([0-9]*\).*/\1/p'; }
mkdir -p p0 p1
dd if=/dev/urandom of=p0/zero.bin bs=64k count=8 2>/dev/null
dd if=/dev/urandom of=p1/one.bin bs=64k count=40 2>/dev/null
(find p0 p1 -type f | sort | xargs sha256sum) > sums.orig

check "mt stsetoptions can-partitions" mt -f "$NST" stsetoptions can-partitions
check "mt mkpartition 100 (partition 1 of 100 MB)" mt -f "$NST" mkpartition 100
mt_status
check_eq "partition after mkpartition" 0 "$(part)"
check "mt setpartition 1" mt -f "$NST" setpartition 1
mt_status
check_eq "mt status shows partition 1" 1 "$(part)"
check "tar write on partition 1" tar -cf "$NST" -b 128 p1
# the drive's own view: volume statistics list two partitions, partition 1 holding the archive
out=$(sg_logs -p 0x17 "$SG" 2>&1); echo "$out" | sed -n '/partition(s)/,$p'
used=$(printf '%s\n' "$out" | sed -n '/Used native capacity partition/,/Remaining native/p')
check_match "the drive has partition 1" 'partition number: 1,' "$out"
check_match "partition 1 holds the 2.5 MB archive" 'partition number: 1, partition record data counter: [1-9]' "$used"
check "mt setpartition 0" mt -f "$NST" setpartition 0
check "tar write on partition 0" tar -cf "$NST" -b 128 p0
mt_status
check_eq "mt status shows partition 0" 0 "$(part)"
check_eq "file number on partition 0 after one archive" 1 "$FILENO"

mkdir r
check "mt setpartition 1" mt -f "$NST" setpartition 1
check "mt seek 0 (start of partition 1)" mt -f "$NST" seek 0
check "tar read from partition 1" tar -xf "$NST" -b 128 -C r
check "mt setpartition 0" mt -f "$NST" setpartition 0
check "mt seek 0 (start of partition 0)" mt -f "$NST" seek 0
check "tar read from partition 0" tar -xf "$NST" -b 128 -C r
(cd r && find p0 p1 -type f | sort | xargs sha256sum) > sums.back
if cmp -s sums.orig sums.back; then ok "both archives read back identical"; else
  bad "both archives read back identical" "$(diff sums.orig sums.back | head -4 | tr '\n' ' ')"
fi

check "mt mkpartition 0 (one partition again)" mt -f "$NST" mkpartition 0
if mt -f "$NST" setpartition 1 2>/dev/null; then bad "setpartition 1 refused on one partition"; else
  ok "setpartition 1 refused on one partition"
fi
check "mt rewind" mt -f "$NST" rewind
finish
