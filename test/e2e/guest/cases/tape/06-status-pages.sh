#!/bin/sh
# Status pages as sg3-utils and mtx read them through the generic node: VPD 80h/83h (sg_inq),
# every log page (sg_logs -a) and the lifetime write counter growing after a tar write, the cartridge
# memory (sg_read_attr) and tapeinfo. EXPECT_SERIAL is the drive's unit serial number.
. /run/lib.sh
need_tape
check "mt rewind" mt -f "$NST" rewind

out=$(sg_inq -p 0x80 "$SG" 2>&1); rc=$?; echo "$out"
check_eq "sg_inq -p 0x80 exit" 0 "$rc"
serial=$(printf '%s\n' "$out" | sed -n 's/^ *Unit serial number: *//p' | tr -d ' ')
check_eq "unit serial number" "$EXPECT_SERIAL" "$serial"

out=$(sg_inq -p 0x83 "$SG" 2>&1); rc=$?; echo "$out"
check_eq "sg_inq -p 0x83 exit" 0 "$rc"
check_match "VPD 83h has an NAA 5 designator" 'NAA 5' "$out"

out=$(sg_logs -a "$SG" 2>&1); rc=$?; echo "$out" | head -150
check_eq "sg_logs -a exit" 0 "$rc"
check_match "sg_logs decodes 0Ch sequential access" 'Sequential access device page' "$out"
check_match "sg_logs decodes 11h DT device status" 'DT device status page' "$out"
check_match "sg_logs decodes 17h volume statistics" 'Volume statistics page' "$out"
check_match "sg_logs decodes 2Eh TapeAlert" 'Tape alert page' "$out"

# volume statistics (17h) lifetime megabytes written, before and after a tar write of 2 MiB
written() { sg_logs -p 0x17 "$SG" 2>/dev/null | sed -n 's/^ *Lifetime megabytes written: *\([0-9]*\).*/\1/p'; }
before=$(written)
mkdir -p w && dd if=/dev/urandom of=w/data bs=64k count=32 2>/dev/null
check "tar write 2 MiB" tar -cf "$NST" -b 128 w
after=$(written)
if [ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) -ge 2 ]; then
  ok "lifetime megabytes written grew by 2 ($before -> $after)"
else
  bad "lifetime megabytes written grew by 2" "before '$before', after '$after'"
fi
check "mt rewind" mt -f "$NST" rewind

out=$(sg_read_attr "$SG" 2>&1); rc=$?; echo "$out"
check_eq "sg_read_attr exit" 0 "$rc"
check_match "MAM volume identifier" 'Volume identifier: *E01001L8' "$out"
check_match "MAM remaining capacity" 'Remaining capacity in partition.*: *[1-9][0-9]*' "$out"
check_match "MAM maximum capacity" 'Maximum capacity in partition.*: *[1-9][0-9]*' "$out"
check_match "MAM load count" 'Load count: *[1-9][0-9]*' "$out"

out=$(tapeinfo -f "$SG" 2>&1); rc=$?; echo "$out"
check_eq "tapeinfo exit" 0 "$rc"
check_match "tapeinfo: product type" "^Product Type: Tape Drive" "$out"
check_match "tapeinfo: vendor ID" "^Vendor ID: '$EXPECT_VENDOR *'" "$out"
check_match "tapeinfo: product ID" "^Product ID: '$EXPECT_PRODUCT *'" "$out"
check_match "tapeinfo: serial number" "^SerialNumber: '$EXPECT_SERIAL'" "$out"
check_match "tapeinfo: block limits" '^MinBlock: *1$' "$out"
check_match "tapeinfo: maximum block" '^MaxBlock: *[1-9][0-9]{5,}$' "$out"
finish
