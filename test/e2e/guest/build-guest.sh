#!/bin/bash
# build-guest.sh - build the tape-test guest (kernel + initramfs) for run-guest.sh.
#
# Output, under test/e2e/.cache/guest/ (git-ignored):
#   out/vmlinuz            the Debian kernel behind linux-image-amd64 (6.1.x on Debian 12)
#   out/initramfs.cpio.gz  busybox, dash, bash, GNU tar, mt-st, mtx, sg3-utils, lsscsi, stenc, the
#                          virtio_scsi/st/ch/sg modules and init.sh as /init
#   out/MANIFEST           package versions and module load order
# Idempotent: when the package list and versions (the .deb names), this script and init.sh are
# unchanged it only checks and exits (a few seconds); adding a package changes both, so every
# cache (CI and local) rebuilds. Assumes a Debian 12 (bookworm) amd64 host: guest tools take
# their shared libraries from the host through ldd.
#
# env: FORCE=1           rebuild the initramfs even when it looks up to date
#      NO_APT_INSTALL=1  never apt-get install host packages; fail naming the missing ones
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$(cd "$HERE/.." && pwd)/.cache/guest"
DEBS="$CACHE/debs" XT="$CACHE/extract" ROOT="$CACHE/rootfs" OUT="$CACHE/out"
mkdir -p "$DEBS" "$XT" "$OUT"
say() { printf '[build-guest] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- host packages: qemu with its libiscsi block driver, cpio/kmod to assemble
need=()
for p in qemu-system-x86 qemu-block-extra libiscsi7 cpio gzip tar kmod; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  [[ ${NO_APT_INSTALL:-0} != 1 ]] || die "missing host packages: ${need[*]} (NO_APT_INSTALL=1)"
  [[ $(id -u) == 0 ]] || die "missing host packages: ${need[*]}; run as root or: sudo apt-get install ${need[*]}"
  say "apt-get install ${need[*]}"
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -print -quit 2>/dev/null) ]]; then
    apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends "${need[@]}" >&2
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found after install"
ls /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so >/dev/null 2>&1 \
  || die "QEMU's iSCSI block driver (block-iscsi.so, package qemu-block-extra) is missing"

# ---- guest packages, fetched with apt-get download and unpacked with dpkg -x
dep_of() { apt-cache depends "$1" 2>/dev/null | awk -v re="$2" '$1 == "Depends:" && $2 ~ re { print $2; exit }'; }
KPKG="$(dep_of linux-image-amd64 '^linux-image-[0-9]')"
SGLIB="$(dep_of sg3-utils '^libsgutils2')"
[[ -n $KPKG && -n $SGLIB ]] || die "apt-cache cannot resolve linux-image-amd64 / sg3-utils (run apt-get update)"
PKGS=("$KPKG" busybox-static mt-st mtx sg3-utils "$SGLIB" lsscsi stenc)
declare -A DEB=()
for p in "${PKGS[@]}"; do
  v="$(apt-cache policy "$p" | awk '$1 == "Candidate:" { print $2 }')"
  [[ -n $v && $v != "(none)" ]] || die "no installable version of $p"
  pat="$DEBS/${p}_${v//:/%3a}_"
  f="$(compgen -G "${pat}*.deb" | head -1 || true)"
  if [[ -z $f ]]; then
    say "apt-get download $p=$v"
    (cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "$p=$v" >&2)
    f="$(compgen -G "${pat}*.deb" | head -1)" || die "download of $p failed"
  fi
  DEB[$p]=$f
  if [[ $(cat "$XT/$p/.from" 2>/dev/null) != "$(basename "$f")" ]]; then
    rm -rf "${XT:?}/$p" && mkdir -p "$XT/$p" && dpkg -x "$f" "$XT/$p"
    basename "$f" > "$XT/$p/.from"
  fi
done
KDIR="$XT/$KPKG"
KVER="$(ls "$KDIR/lib/modules")"
[[ -f $KDIR/boot/vmlinuz-$KVER ]] || die "no vmlinuz in $KPKG"

# ---- up to date? (package files, this script, init.sh, host tools copied in)
SIG="$( { for p in "${PKGS[@]}"; do basename "${DEB[$p]}"; done
          sha256sum "$HERE/build-guest.sh" "$HERE/init.sh" | cut -d' ' -f1
          dpkg-query -W tar dash bash libc6; } | sha256sum | cut -d' ' -f1)"
if [[ ${FORCE:-0} != 1 && -f $OUT/initramfs.cpio.gz && -f $OUT/vmlinuz \
      && $(cat "$OUT/.sig" 2>/dev/null) == "$SIG" ]]; then
  say "up to date: $OUT (kernel $KVER)"
  exit 0
fi

say "assembling rootfs for kernel $KVER"
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,lib/x86_64-linux-gnu,lib64,etc,proc,sys,dev,tmp,run,root}
ln -s ../lib "$ROOT/usr/lib"

# ---- busybox for the basics; every applet linked unless a real tool takes the name later
install -m755 "$XT/busybox-static/bin/busybox" "$ROOT/bin/busybox"
for a in $("$ROOT/bin/busybox" --list); do
  [[ $a == busybox || -e $ROOT/bin/$a ]] || ln -s busybox "$ROOT/bin/$a"
done

# ---- kernel modules: the wanted set plus dependencies, dependencies first
MD="$KDIR/lib/modules/$KVER"
# the .deb leaves modules.dep to its postinst, so generate it inside the cache
[[ -s $MD/modules.dep && ! $MD/modules.dep -ot $MD/modules.order ]] || depmod -b "$KDIR" "$KVER"
declare -A DONE=()
LOAD=()
dep_line() { awk -F': *' -v p="$1" '$1 == p { print $2; exit }' "$MD/modules.dep"; }
add_mod() {
  [[ -n ${DONE[$1]:-} ]] && return 0
  DONE[$1]=1
  local d
  for d in $(dep_line "$1"); do add_mod "$d"; done
  LOAD+=("$1")
}
for m in virtio_pci virtio_scsi scsi_mod st ch sg; do
  rel="$(awk -F: -v m="$m" '{ b = $1; sub(/.*\//, "", b); sub(/\.ko.*$/, "", b); gsub(/-/, "_", b)
                              if (b == m) { print $1; exit } }' "$MD/modules.dep")"
  if [[ -z $rel ]]; then
    grep -qE "/${m//_/[-_]}\.ko\$" "$MD/modules.builtin" && continue
    die "kernel module $m not found"
  fi
  add_mod "$rel"
done
mkdir -p "$ROOT/lib/modules/$KVER"
: > "$ROOT/etc/modules.load"
for rel in "${LOAD[@]}"; do
  b="$(basename "$rel")"
  case $b in
    *.xz) xz -dc "$MD/$rel" > "$ROOT/lib/modules/$KVER/${b%.xz}"; b=${b%.xz};;
    *.zst) zstd -qdc "$MD/$rel" > "$ROOT/lib/modules/$KVER/${b%.zst}"; b=${b%.zst};;
    *) cp "$MD/$rel" "$ROOT/lib/modules/$KVER/$b";;
  esac
  echo "$b" >> "$ROOT/etc/modules.load"
done

# ---- tools. ELF files are listed so their libraries can be resolved afterwards.
ELFS=()
put() { install -D -m755 "$1" "$ROOT$2"; ELFS+=("$1"); }
for f in "$XT"/sg3-utils/usr/bin/* "$XT"/lsscsi/usr/bin/* "$XT"/stenc/usr/{bin,sbin}/*; do
  [[ -f $f ]] && put "$f" "/usr/bin/$(basename "$f")"
done
for f in "$XT"/mtx/usr/{bin,sbin}/* "$XT"/mt-st/{bin,sbin,usr/bin,usr/sbin}/*; do
  [[ -f $f ]] && put "$f" "/usr/sbin/$(basename "$f")"
done
put /bin/tar /usr/bin/tar
put /bin/dash /bin/dash
put /bin/bash /bin/bash
# Debian's busybox-static prefers its own applets inside its shell, so /bin/sh is dash, and
# busybox links that shadow a real tool (mt, tar, lsscsi, ...) are removed.
ln -sfn dash "$ROOT/bin/sh"
ln -sfn /usr/sbin/mt-st "$ROOT/usr/bin/mt"
for f in "$ROOT"/usr/bin/* "$ROOT"/usr/sbin/*; do
  b="$(basename "$f")"
  [[ $(readlink "$ROOT/bin/$b" 2>/dev/null) == busybox ]] && rm -f "$ROOT/bin/$b"
done
cp -a "$XT/$SGLIB"/usr/lib/x86_64-linux-gnu/libsgutils2*.so* "$ROOT/lib/x86_64-linux-gnu/"

declare -A LIBS=()
for e in "${ELFS[@]}"; do
  while read -r l; do LIBS[$l]=1; done < <(
    LD_LIBRARY_PATH="$XT/$SGLIB/usr/lib/x86_64-linux-gnu" ldd "$e" 2>/dev/null \
      | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/lib64\// { print $1 }')
done
for l in "${!LIBS[@]}"; do
  [[ $l == "$XT"/* ]] && continue
  if [[ $l == /lib64/* ]]; then cp -L "$l" "$ROOT/lib64/"; else cp -L "$l" "$ROOT/lib/x86_64-linux-gnu/"; fi
done
[[ -e $ROOT/lib64/ld-linux-x86-64.so.2 ]] || cp -L /lib64/ld-linux-x86-64.so.2 "$ROOT/lib64/"

# every main tool must at least start inside the rootfs (127 = a library or loader missing)
for t in /usr/sbin/mt-st /usr/sbin/mtx /usr/sbin/tapeinfo /usr/bin/sg_inq /usr/bin/lsscsi /usr/bin/stenc \
  /usr/bin/tar /bin/bash; do
  rc=0
  chroot "$ROOT" "$t" --version >/dev/null 2>&1 || rc=$?
  [[ $rc != 127 ]] || die "$t does not start inside the guest rootfs (missing library?)"
done

printf 'root:x:0:0:root:/root:/bin/sh\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\ntape:x:26:\n' > "$ROOT/etc/group"
install -m755 "$HERE/init.sh" "$ROOT/init"

say "packing initramfs"
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
  | gzip -6 > "$OUT/initramfs.cpio.gz.part"
mv "$OUT/initramfs.cpio.gz.part" "$OUT/initramfs.cpio.gz"
cp "$KDIR/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
{
  echo "kernel $KPKG ($KVER)"
  for p in "${PKGS[@]}"; do echo "deb $(basename "${DEB[$p]}")"; done
  echo "host tar $(dpkg-query -W -f='${Version}' tar)"
  echo "modules $(tr '\n' ' ' < "$ROOT/etc/modules.load")"
  echo "initramfs $(du -h "$OUT/initramfs.cpio.gz" | cut -f1)"
} > "$OUT/MANIFEST"
echo "$SIG" > "$OUT/.sig"
say "built $OUT"
sed 's/^/  /' "$OUT/MANIFEST" >&2
