# Shared helpers for guest cases, installed as /run/lib.sh by run-guest.sh. Cases start with
#   . /run/lib.sh
# and end with `finish`, whose exit code is the number of failed checks. POSIX sh (dash).
#
# Devices: TAPE_LUN (default: the first passed LUN) gives NST (no-rewind node), ST (rewinding
# node) and SG (generic node), through the /dev/by-lun names made by init.sh.
# Expectations come from the environment so the same cases run against other targets:
#   EXPECT_VENDOR (IBM)  EXPECT_PRODUCT (ULT3580-TD8)  EXPECT_DENSITY (0x5e, LTO-8; empty = any)
#   EXPECT_SERIAL (the drive's unit serial number, VPD 80h)

fails=0
checks=0
EXPECT_VENDOR=${EXPECT_VENDOR-IBM}
EXPECT_PRODUCT=${EXPECT_PRODUCT-ULT3580-TD8}
EXPECT_DENSITY=${EXPECT_DENSITY-0x5e}
TAPE_LUN=${TAPE_LUN:-${HARNESS_LUNS%% *}}
NST=/dev/by-lun/$TAPE_LUN.nst
ST=/dev/by-lun/$TAPE_LUN.st
SG=/dev/by-lun/$TAPE_LUN.sg

# run CMD...: show the command, its output and its exit status; returns that status
run() {
  echo "\$ $*"
  "$@"
  _rc=$?
  [ $_rc -eq 0 ] || echo "(exit $_rc)"
  return $_rc
}

# ok DESCRIPTION / bad DESCRIPTION [DETAIL]: record one check
ok() { checks=$((checks + 1)); echo "CHECK OK   $1"; }
bad() {
  checks=$((checks + 1)) fails=$((fails + 1))
  echo "CHECK FAIL $1${2:+ -- $2}"
}

# check DESCRIPTION CMD...: passes when CMD exits 0 (its output is shown)
check() {
  _what=$1
  shift
  if run "$@"; then ok "$_what"; else bad "$_what" "exit $_rc"; fi
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
  if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1" "expected '$2', got '$3'"; fi
}

# check_match DESCRIPTION ERE TEXT: TEXT (multi-line) has a line matching ERE
check_match() {
  if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else bad "$1" "no line matches /$2/"; fi
}

# mt_status: print `mt status` and set FILENO / BLKNO from its "File number=F, block number=B"
mt_status() {
  MT_OUT=$(mt -f "$NST" status 2>&1)
  _rc=$?
  printf '%s\n' "$MT_OUT" | sed 's/^/  | /'
  FILENO=$(printf '%s\n' "$MT_OUT" | sed -n 's/.*File number=\(-\{0,1\}[0-9]*\).*/\1/p')
  BLKNO=$(printf '%s\n' "$MT_OUT" | sed -n 's/.*block number=\(-\{0,1\}[0-9]*\).*/\1/p')
  return $_rc
}

# mt_tell: print `mt tell`, set TELL to the block number ("At block N."), empty on failure
mt_tell() {
  _out=$(mt -f "$NST" tell 2>&1)
  _rc=$?
  echo "  | $_out"
  TELL=$(printf '%s\n' "$_out" | sed -n 's/^At block \([0-9][0-9]*\)\..*/\1/p')
  return $_rc
}

# need_tape: stop the case early (exit 100) when the tape LUN did not show up in the guest
need_tape() {
  if [ ! -e "$NST" ] || [ ! -e "$SG" ]; then
    echo "no tape device for LUN '$TAPE_LUN' (HARNESS_LUNS='$HARNESS_LUNS'):"
    ls -l /dev/by-lun/ 2>&1
    lsscsi -g 2>&1
    exit 100
  fi
  echo "tape LUN $TAPE_LUN: $(readlink "$NST") $(readlink "$ST") $(readlink "$SG")"
}

finish() {
  echo "checks: $checks, failed: $fails"
  exit $fails
}
