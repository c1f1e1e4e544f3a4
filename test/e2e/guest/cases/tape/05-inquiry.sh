#!/bin/sh
# Identity and limits through the generic node: INQUIRY, VPD 00h/80h/83h, READ BLOCK
# LIMITS (sg3-utils) and mtx's tapeinfo. EXPECT_VENDOR / EXPECT_PRODUCT hold the strings.
. /run/lib.sh
need_tape
check "mt rewind" mt -f "$NST" rewind

out=$(sg_inq "$SG" 2>&1); rc=$?; echo "$out"
check_eq "sg_inq exit" 0 "$rc"
check_match "peripheral device type tape" 'PDT=1 ' "$out"
check_match "vendor $EXPECT_VENDOR" "Vendor identification: $EXPECT_VENDOR *\$" "$out"
check_match "product $EXPECT_PRODUCT" "Product identification: $EXPECT_PRODUCT *\$" "$out"

out=$(sg_vpd -p 0x00 "$SG" 2>&1); rc=$?; echo "$out"
check_eq "sg_vpd 0x00 exit" 0 "$rc"
check_match "VPD 00h lists the unit serial number page" 'Unit serial number' "$out"
check_match "VPD 00h lists the device identification page" 'Device identification' "$out"

out=$(sg_vpd -p 0x80 "$SG" 2>&1); rc=$?; echo "$out"
check_eq "sg_vpd 0x80 exit" 0 "$rc"
serial=$(printf '%s\n' "$out" | sed -n 's/^ *Unit serial number: *//p' | tr -d ' ')
echo "serial='$serial'"
check_match "unit serial number is printable and not blank" '^[A-Za-z0-9._-]+$' "$serial"

out=$(sg_vpd -p 0x83 "$SG" 2>&1); rc=$?; echo "$out"
check_eq "sg_vpd 0x83 exit" 0 "$rc"
check_match "VPD 83h has a designator" 'designator type' "$out"

out=$(sg_read_block_limits "$SG" 2>&1); rc=$?; echo "$out"
check_eq "sg_read_block_limits exit" 0 "$rc"
max=$(printf '%s\n' "$out" | sed -n 's/.*Maximum block size: *\([0-9]*\).*/\1/p' | head -1)
min=$(printf '%s\n' "$out" | sed -n 's/.*Minimum block size: *\([0-9]*\).*/\1/p' | head -1)
check "maximum block size $max in 64 KiB..16 MiB-1" [ "${max:-0}" -ge 65536 -a "${max:-0}" -le 16777215 ]
check "minimum block size $min <= maximum" [ -n "$min" -a "${min:-1}" -le "${max:-0}" ]

out=$(tapeinfo -f "$SG" 2>&1); rc=$?; echo "$out"
check_eq "tapeinfo exit" 0 "$rc"
check_match "tapeinfo: tape drive" "^Product Type: Tape Drive" "$out"
check_match "tapeinfo: vendor" "^Vendor ID: '$EXPECT_VENDOR *'" "$out"
check_match "tapeinfo: product" "^Product ID: '$EXPECT_PRODUCT *'" "$out"
check_match "tapeinfo: block position 0 at BOT" '^Block Position: 0([^0-9]|$)' "$out"
check_match "tapeinfo: ready" '^Ready: yes' "$out"
finish
