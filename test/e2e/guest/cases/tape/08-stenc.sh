#!/bin/sh
# Hardware encryption with stenc 1.0.7 (SECURITY PROTOCOL IN/OUT, protocol 20h) through the
# generic node: the drive's status, a 256-bit key set with `-e on -a 1` (AES-256-GCM is
# algorithm index 1 here, as on HP drives), a tar archive written and read back with the key,
# DATA PROTECT on reading it with decryption off or with another key, the key set again reads
# it; encryption is left off so the drive is as it was. stenc's own `-g` waits for keystrokes
# on stdin (which is /dev/null here), so the key files are made from /dev/urandom; the format
# is the one `-g` writes: the key in hex on the first line, an optional description after it.
. /run/lib.sh
need_tape
hexkey() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
printf '%s\n%s\n' "$(hexkey)" "vtl e2e key" > key
printf '%s\n' "$(hexkey)" > other.key
chmod 600 key other.key
mkdir -p enc && dd if=/dev/urandom of=enc/data.bin bs=64k count=24 2>/dev/null
echo "encrypted on tape" > enc/note.txt
(find enc -type f | sort | xargs sha256sum) > sums.orig
# read_back DIR: rewind and extract the archive into DIR (its exit status is tar's)
read_back() {
  mt -f "$NST" rewind && rm -rf "$1" && mkdir "$1" && tar -xf "$NST" -b 128 -C "$1"
}
# read6: one READ(6) of up to 64 KiB at the current position, bypassing st, so the sense shows
read6() { sg_raw -r 65536 "$SG" 08 00 01 00 00 00 2>&1; }

# st takes any pending unit attention (SPC-4: a reset's 29h/00h) before stenc's first SPIN
check "mt rewind" mt -f "$NST" rewind
out=$(stenc -f "$SG" --detail 2>&1); rc=$?; echo "$out"
check_eq "stenc --detail exit" 0 "$rc"
check_match "stenc shows the drive's vendor" "^Device Mfg: *$EXPECT_VENDOR" "$out"
check_match "encryption is off at first" '^Drive Encryption: *off' "$out"
check_match "drive output: not decrypting" '^Drive Output: *Not decrypting' "$out"
check_match "drive input: not encrypting" 'Drive Input: *Not encrypting' "$out"

check "mt setblk 0" mt -f "$NST" setblk 0
check "stenc -e on -k key -a 1 (256-bit key)" stenc -f "$SG" -e on -k key -a 1
out=$(stenc -f "$SG" --detail 2>&1); echo "$out"
check_match "encryption on" '^Drive Encryption: *on' "$out"
check_match "drive output: decrypting" '^Drive Output: *Decrypting' "$out"
check_match "drive input: encrypting" 'Drive Input: *Encrypting' "$out"
check_match "key instance counter set" 'Key Instance Counter: *[1-9]' "$out"
check_match "algorithm index 1" 'Encryption Algorithm: *1' "$out"
check_match "the key description is the drive's U-KAD" 'Drive Key Desc.\(uKAD\): *vtl e2e key' "$out"

check "tar write with encryption on" tar -cf "$NST" -b 128 enc
check "mt rewind" mt -f "$NST" rewind
out=$(stenc -f "$SG" --detail 2>&1); echo "$out"
check_match "the first block is encrypted and decryptable" '^Volume Encryption: *Encrypted and able to decrypt' "$out"
check "tar read with the key" read_back r1
(cd r1 && find enc -type f | sort | xargs sha256sum) > sums.back
if cmp -s sums.orig sums.back; then ok "bytes read back with the key identical"; else
  bad "bytes read back with the key identical" "$(diff sums.orig sums.back | head -4 | tr '\n' ' ')"
fi

echo "--- decryption off"
check "stenc -e off" stenc -f "$SG" -e off
out=$(stenc -f "$SG" --detail 2>&1); echo "$out"
check_match "encryption off" '^Drive Encryption: *off' "$out"
check "mt rewind" mt -f "$NST" rewind
check_match "volume encrypted, no key to decrypt it" '^Volume Encryption: *Encrypted, but unable to decrypt' \
  "$(stenc -f "$SG" --detail 2>&1)"
if read_back r2 2>tar.err; then bad "tar read without the key fails" "tar exit 0"; else
  ok "tar read without the key fails ($(head -1 tar.err))"
fi
check "mt rewind" mt -f "$NST" rewind
out=$(read6); echo "$out"
check_match "READ(6) of an encrypted block: DATA PROTECT" 'Sense key: Data Protect' "$out"
check_match "READ(6) of an encrypted block: 74/01" 'Additional sense: Unable to decrypt data' "$out"

echo "--- another key"
check "stenc -e on -k other.key -a 1" stenc -f "$SG" -e on -k other.key -a 1
if read_back r3 2>tar.err; then bad "tar read with another key fails" "tar exit 0"; else
  ok "tar read with another key fails ($(head -1 tar.err))"
fi
check "mt rewind" mt -f "$NST" rewind
out=$(read6); echo "$out"
check_match "READ(6) with another key: DATA PROTECT" 'Sense key: Data Protect' "$out"
check_match "READ(6) with another key: 74/03" 'Additional sense: Incorrect data encryption key' "$out"

echo "--- the key again"
check "stenc -e on -k key -a 1 again" stenc -f "$SG" -e on -k key -a 1
check "tar read with the key again" read_back r4
(cd r4 && find enc -type f | sort | xargs sha256sum) > sums.back4
check "bytes read back identical after setting the key again" cmp -s sums.orig sums.back4

check "stenc -e off (leave the drive as it was)" stenc -f "$SG" -e off
out=$(stenc -f "$SG" --detail 2>&1); echo "$out"
check_match "encryption off at the end" '^Drive Encryption: *off' "$out"
check "mt rewind" mt -f "$NST" rewind
finish
