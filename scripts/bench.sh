#!/bin/bash
# Preboot and ISO sizes of the debian backend and the tiny profile (kernel-source backend),
# side by side with their ratios; with --boot, also the time from power-on (QEMU, TCG; BIOS and
# UEFI) until the preboot has a DHCP lease ("inetboot: network:" on the console).
#
#   bash scripts/bench.sh [--boot] [--kernel-source DIR|TARBALL]
#   bash scripts/bench.sh root [--memory]
#   bash scripts/bench.sh root-cache
#   bash scripts/bench.sh ipxe                  (npm run bench)
#   bash scripts/bench.sh ipxe --memory
#   bash scripts/bench.sh preboot-steps
#
# `root`: a published Debian 12 root booted three ways side by side, lazily over HTTP, after
# downloading the whole image, and from a local disk (bench/root.bench.ts says how): seconds to
# login:, bytes and requests served, and with --memory the smallest -m each way boots with
# (many more boots: about half an hour). Needs root (debootstrap, FUSE), as the tests do.
# `root-cache`: the same root with blocks of 64 KiB, 256 KiB and 1 MiB, each booted with an
# empty USB cache stick without and with a boot profile, again with the stick filled, and by
# whole-image download, at 0 and at 50 ms per request, 3 rounds, medians
# (bench/root-cache.bench.ts; 72 boots and 6 publishes, about an hour;
# INETBOOT_BENCH_ROUNDS=1 for a quicker look).
#
# `ipxe`: inetboot (debian and tiny backends) against Debian's iPXE, side by side: the same
# target kernel and marker initrd (about 1 MB, and 200 MB of incompressible bytes) from the same
# nginx, BIOS and UEFI, and the 200 MB initrd on BIOS with 50 ms added to every round trip
# (bench/delayed-link.ts), seconds to the target's marker, medians of 3 interleaved rounds
# (INETBOOT_BENCH_ROUNDS), ratios, the initrd's throughput, a per-stage budget from the console
# lines' times, and the media's sizes (bench/ipxe.bench.ts; 15 boots a round, about 25 minutes
# for 3; the first run also builds passt, bench/passt.ts, about a minute). Writes
# test-output/bench/ipxe.{md,json} and prints the tables.
# INETBOOT_BENCH_ROWS (e.g. small-bios-0ms,200MB-uefi-0ms) and INETBOOT_BENCH_WAYS (e.g.
# ipxe,tiny) take a subset, for a quicker look.
# `ipxe --memory`: the smallest -m with which each way reaches the first screen of Debian 12's
# network installer (debian-installer-12-netboot-amd64, unmodified), by binary search over -m
# (bench/ipxe-memory.bench.ts; about 8 boots a way). Writes test-output/bench/ipxe-memory.{md,json}.
# `preboot-steps`: inside the debian and tiny preboots, BIOS and UEFI, the steps that a 200 MB
# initrd costs, each timed by the guest's clock: the download (to the tmpfs and to /dev/null) and
# the CPU's idle share during it, the sha256 by BusyBox, by the preboot's inetboot-sha256 and
# while downloading, and kexec's load four ways; each on QEMU's lazily backed RAM (as every
# other bench runs) and on RAM preallocated with -mem-prealloc, which shows what the host's
# page faults on the guest's first use of its RAM cost each step (bench/preboot-steps.bench.ts;
# 8 boots a round, 3 rounds, about 15 minutes; INETBOOT_BENCH_RAM=lazy for half). Writes
# test-output/bench/preboot-steps.{md,json}.
#
# The kernel-source backend builds its kernel once (about 5 minutes on 2 cores) and reuses it
# from ~/.cache/inetboot afterwards. Everything it writes stays in test-output/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."

# vitest_bench NAME RESULT [VAR=VALUE...]: runs bench/NAME.bench.ts (with the variables set)
# and prints the table it wrote, test-output/bench/RESULT.
vitest_bench() {
	local name=$1 result=$2
	shift 2
	npx tsc -p tsconfig.json
	env "$@" npx vitest run --config bench/vitest.config.ts "bench/$name.bench.ts"
	cat "test-output/bench/$result"
}

# Modes with one optional flag: MODE [FLAG] -> 1 when FLAG was given, 0 without; usage otherwise.
flag() {
	local mode=$1 want=$2 given=${3:-}
	case "$given" in
	"$want") echo 1 ;;
	'') echo 0 ;;
	*) echo "usage: $0 $mode [$want]" >&2; return 2 ;;
	esac
}

case "${1:-}" in
root)
	memory=$(flag root --memory "${2:-}") || exit 2
	vitest_bench root root.txt INETBOOT_BENCH_MEMORY="$memory"
	exit 0
	;;
root-cache)
	vitest_bench root-cache root-cache.txt
	exit 0
	;;
ipxe)
	if [ "${2:-}" = --memory ]; then
		vitest_bench ipxe-memory ipxe-memory.md
		exit 0
	fi
	[ -z "${2:-}" ] || { echo "usage: $0 ipxe [--memory]" >&2; exit 2; }
	vitest_bench ipxe ipxe.md
	exit 0
	;;
preboot-steps)
	[ -z "${2:-}" ] || { echo "usage: $0 preboot-steps" >&2; exit 2; }
	vitest_bench preboot-steps preboot-steps.md
	exit 0
	;;
esac

boot=no
kernel_source=/usr/src/linux-source-6.1.tar.xz
while [ $# -gt 0 ]; do
	case $1 in
	--boot) boot=yes ;;
	--kernel-source) kernel_source=$2; shift ;;
	*) echo "usage: $0 [--boot] [--kernel-source DIR|TARBALL]" >&2; exit 2 ;;
	esac
	shift
done

out=test-output/bench
mkdir -p "$out"
npx tsc -p tsconfig.json
# One entry on the QEMU host address; no GRUB timeout, so that boot times compare the preboots.
cat >"$out/bench.yaml" <<'YAML'
timeout: 0
entries:
  - id: bench
    title: Benchmark entry
    kernel: http://10.0.2.2:8080/vmlinuz
YAML

# Seconds from QEMU's start to the DHCP lease, as `inetboot smoke` reports them, or "failed".
boot_seconds() {
	local line
	line=$(node bin/inetboot.js smoke "$1" --expect 'inetboot: network:' --timeout 300 --log "$2" "${@:3}" 2>&1 | grep -o 'marker found after [0-9.]* s' || true)
	echo "$line" | grep -o '[0-9.]\+' || echo failed
}

declare -A kernel initramfs iso bios uefi
for b in debian kernel-source; do
	echo "==> $b backend" >&2
	node bin/inetboot.js -q build-preboot -c "$out/bench.yaml" --backend "$b" --kernel-source "$kernel_source" -o "$out/$b" >/dev/null
	node bin/inetboot.js -q build-iso -c "$out/bench.yaml" --preboot-backend "$b" --kernel-source "$kernel_source" -o "$out/$b.iso" >/dev/null
	kernel[$b]=$(stat -c %s "$out/$b/vmlinuz")
	initramfs[$b]=$(stat -c %s "$out/$b/preboot.img")
	iso[$b]=$(stat -c %s "$out/$b.iso")
	bios[$b]=-
	uefi[$b]=-
	if [ "$boot" = yes ]; then
		bios[$b]=$(boot_seconds "$out/$b.iso" "$out/$b.bios.console.log")
		uefi[$b]=$(boot_seconds "$out/$b.iso" "$out/$b.uefi.console.log" --uefi)
	fi
done

row() { # name, debian value, tiny value, unit divisor
	awk -v n="$1" -v d="$2" -v t="$3" -v div="$4" 'BEGIN {
		if (d == "-" || t == "-" || d == "failed" || t == "failed") { printf "%-22s %12s %12s %8s\n", n, d, t, "-"; exit }
		printf "%-22s %12.2f %12.2f %7.2fx\n", n, d / div, t / div, d / t }'
}
printf '%-22s %12s %12s %8s\n' '' 'debian' 'tiny' 'ratio'
row 'kernel (MB)' "${kernel[debian]}" "${kernel[kernel-source]}" 1000000
row 'initramfs (MB)' "${initramfs[debian]}" "${initramfs[kernel-source]}" 1000000
row 'hybrid ISO (MB)' "${iso[debian]}" "${iso[kernel-source]}" 1000000
row 'BIOS: to DHCP (s)' "${bios[debian]}" "${bios[kernel-source]}" 1
row 'UEFI: to DHCP (s)' "${uefi[debian]}" "${uefi[kernel-source]}" 1
echo "targets of the tiny profile: kernel <= 2.5 MB, initramfs <= 1.5 MB, ISO <= 5.4 MB (MB = 10^6 bytes)"
