#!/bin/sh
# GNU tar round trip: two archives (300 small files + a few MiB of random data, then a
# second smaller set) written with 64 KiB records, a filemark, rewind, both read back and
# every file's sha256 compared.
. /run/lib.sh
need_tape
NFILES=${TAR_FILES:-300}
RANDOM_MB=${TAR_RANDOM_MB:-4}

mkdir -p a/small b
i=0
while [ $i -lt "$NFILES" ]; do
  echo "file $i of $NFILES: the quick brown fox $i jumps over $((i * 7919)) lazy dogs" > "a/small/f$i.txt"
  i=$((i + 1))
done
dd if=/dev/urandom of=a/random.bin bs=1M count="$RANDOM_MB" 2>/dev/null
dd if=/dev/urandom of=b/second.bin bs=64k count=5 2>/dev/null
cp /usr/bin/tar b/tar.copy
echo "second archive" > b/note.txt
find a b -type f | sort | xargs sha256sum > sums.orig
echo "test data: $(wc -l < sums.orig) files, $(du -sk a | cut -f1) KiB + $(du -sk b | cut -f1) KiB"

check "mt rewind" mt -f "$NST" rewind
check "mt setblk 0" mt -f "$NST" setblk 0
check "tar write archive 1 (-b 128)" tar -cf "$NST" -b 128 a
check "tar write archive 2 (-b 128)" tar -cf "$NST" -b 128 b
check "mt weof" mt -f "$NST" weof
mt_status
check_eq "file number after two archives and weof" 3 "$FILENO"
check "mt rewind" mt -f "$NST" rewind

mkdir r1 r2
check "tar read archive 1" tar -xf "$NST" -b 128 -C r1
check "mt rewind" mt -f "$NST" rewind
check "mt fsf 1" mt -f "$NST" fsf 1
check "tar read archive 2" tar -xf "$NST" -b 128 -C r2
(cd r1 && find a -type f | sort | xargs sha256sum) > sums.back
(cd r2 && find b -type f | sort | xargs sha256sum) >> sums.back
check_eq "files read back" "$(wc -l < sums.orig)" "$(wc -l < sums.back)"
if cmp -s sums.orig sums.back; then ok "sha256 of every file identical"; else
  bad "sha256 of every file identical" "$(diff sums.orig sums.back | head -5 | tr '\n' ' ')"
fi
check "mt rewind" mt -f "$NST" rewind
finish
