#!/usr/bin/env bash
# Fetches the two C++ runtime libraries the official Node binary needs (libstdc++.so.6, libgcc_s.so.1)
# from Debian bullseye (glibc 2.31 baseline: they load on Velero's jammy- and noble-based images alike),
# plus, for the packaging test, bullseye's libc6 (a glibc-only root filesystem like Velero's image), and
# a statically linked busybox, the plugin image's copier (no shell, no libc needed).
# Uses apt with a private configuration (no change to the machine's apt sources) and caches the
# extracted files in ${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts/debian-bullseye-<hash>/.
# Prints that directory as the last line on stdout.
set -euo pipefail
PACKAGES="libstdc++6=10.2.1-6 libgcc-s1=10.2.1-6 libc6=2.31-13+deb11u11 busybox-static=1:1.30.1-6+b3"
root=${KVP_TOOLS_CACHE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts}
key=$(printf '%s' "$PACKAGES" | sha256sum | cut -c1-12)
out=$root/debian-bullseye-$key
log() { printf 'fetch-runtime-libs: %s\n' "$*" >&2; }
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main" >"$work/sources.list"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main" >>"$work/sources.list"
APT=(apt-get -q -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
log "apt update (bullseye, private lists)"
"${APT[@]}" update >&2
cd "$work/debs"
# The exact versions pinned above may have left the archive; fall back to what bullseye serves.
for spec in $PACKAGES; do
  name=${spec%%=*}
  "${APT[@]}" download "$spec" >&2 2>&1 || { log "$spec not served, taking bullseye's current $name"; "${APT[@]}" download "$name" >&2; }
done
rm -rf "$out.tmp" && mkdir -p "$out.tmp/extract"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$out.tmp/extract"
  dpkg-deb -f "$deb" Package Version | paste -sd' ' >>"$out.tmp/packages.txt"
done
mkdir -p "$out.tmp/lib"
cp -L "$out.tmp/extract/usr/lib/x86_64-linux-gnu/libstdc++.so.6" "$out.tmp/lib/"
cp -L "$out.tmp/extract/lib/x86_64-linux-gnu/libgcc_s.so.1" "$out.tmp/lib/"
chmod 0644 "$out.tmp/lib/"*
mkdir -p "$out.tmp/bin"
cp "$out.tmp/extract/bin/busybox" "$out.tmp/bin/busybox"
chmod 0755 "$out.tmp/bin/busybox"
# glibc only (the libc6 package alone, without its dependencies), as Velero's tiny run images ship it.
mkdir -p "$out.tmp/glibc-rootfs"
dpkg-deb -x "$(ls "$work"/debs/libc6_*.deb)" "$out.tmp/glibc-rootfs"
rm -rf "$out.tmp/extract" "$out"
touch "$out.tmp/.complete"
mv "$out.tmp" "$out"
log "$(tr '\n' ';' <"$out/packages.txt")"
echo "$out"
