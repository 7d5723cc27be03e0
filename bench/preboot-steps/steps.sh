# bench/preboot-steps/steps.sh: the iscript of bench/preboot-steps.bench.ts, run by the
# preboot (README, "iscript helper API"). Times, inside the preboot, the steps that a 200 MB
# initrd costs, one "STEP NAME VALUE" line each, then STEPS-DONE ("STEPS-FAILED: WHY" when a
# step could not run); the bench reads them from the console. The entry's append is
# "BASE-URL SHA256-OF-big.img". Times come from /proc/uptime (10 ms steps).
# shellcheck shell=sh
set -- $IB_APPEND
base=$1
want=$2
up() { cut -d' ' -f1 /proc/uptime; }
step() { echo "STEP $1 $2"; }
# took T0 T1: seconds between two readings of up
took() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# cpu_idle_ticks, cpu_all_ticks: from /proc/stat's first line (idle + iowait, and the sum)
cpu_idle_ticks() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }
cpu_all_ticks() { awk '/^cpu / { s = 0; for (i = 2; i <= NF; i++) s += $i; print s }' /proc/stat; }
failed() { echo "STEPS-FAILED: $*"; exit 1; }

dir=/run/steps
mkdir -p "$dir"
wget -q -O "$dir/vmlinuz" "$base/vmlinuz" || failed "download of $base/vmlinuz"

# The download alone (no hash), and how busy the CPU was meanwhile: near 0 % idle means that
# hashing while downloading could not overlap on this one CPU.
i0=$(cpu_idle_ticks)
a0=$(cpu_all_ticks)
t0=$(up)
wget -q -O "$dir/big.img" "$base/big.img" || failed "download of $base/big.img"
t1=$(up)
i1=$(cpu_idle_ticks)
a1=$(cpu_all_ticks)
step download "$(took "$t0" "$t1")"
step download-cpu-idle-percent "$(((i1 - i0) * 100 / (a1 - a0 + 1)))"

# The same download to /dev/null: the network and wget alone, without writing 200 MB into the
# tmpfs (pages the preboot has not used before).
i0=$(cpu_idle_ticks)
a0=$(cpu_all_ticks)
t0=$(up)
wget -q -O /dev/null "$base/big.img" || failed "download of $base/big.img to /dev/null"
t1=$(up)
i1=$(cpu_idle_ticks)
a1=$(cpu_all_ticks)
step download-to-null "$(took "$t0" "$t1")"
step download-to-null-cpu-idle-percent "$(((i1 - i0) * 100 / (a1 - a0 + 1)))"

# sha256_step NAME HASHER: times HASHER (sha256sum's output) on the 200 MB file, whose digest
# must be the one the bench pinned.
sha256_step() {
	local t0 t1 got
	t0=$(up)
	got=$("$2" "$dir/big.img" | cut -d' ' -f1)
	t1=$(up)
	[ "$got" = "$want" ] || failed "$2 printed $got, not $want"
	step "$1" "$(took "$t0" "$t1")"
}
# The two hashers of common.sh's sha256_of: BusyBox's sha256sum (Buildroot's preboot) and the
# checker the debian and kernel-source preboots carry (preboot-tools/inetboot-sha256.c).
sha256_step sha256-busybox sha256sum
[ -x /sbin/inetboot-sha256 ] || failed "this preboot has no /sbin/inetboot-sha256"
sha256_step sha256-inetboot /sbin/inetboot-sha256

# Hashing while downloading: wget into a pipe, the checker reading it (/proc/self/fd/0: the
# preboot has no /dev/stdin). The bench compares it with download-to-null + sha256-inetboot.
t0=$(up)
got=$(wget -q -O - "$base/big.img" | /sbin/inetboot-sha256 /proc/self/fd/0 | cut -d' ' -f1)
t1=$(up)
[ "$got" = "$want" ] || failed "wget | inetboot-sha256 printed $got, not $want"
step sha256-while-downloading "$(took "$t0" "$t1")"

# kexec_load_step NAME [KEXEC-OPTION...]: times kexec -l of the target kernel and the 200 MB
# initrd (-d: where kexec-tools put each segment goes to $dir/kexec.log), then unloads it.
kexec_load_step() {
	local name t0 t1
	name=$1
	shift
	t0=$(up)
	kexec -d -l "$dir/vmlinuz" --initrd="$dir/big.img" --command-line=console=ttyS0 "$@" >"$dir/kexec.log" 2>&1 || {
		tail -n 3 "$dir/kexec.log"
		failed "kexec -l $* ($name)"
	}
	t1=$(up)
	step "$name" "$(took "$t0" "$t1")"
	case " $* " in
	*' -s '*) kexec -u -s ;;
	*) kexec -u ;;
	esac
}
# -i as boot.sh loads (no purgatory sha256; README, "Against iPXE"). The first load also pays
# for the first touch of the RAM the kernel hands to the segments.
kexec_load_step kexec-load-first -i
# Where kexec-tools put the initrd: top-down, below the kernel's initrd_addr_max and RAM's end.
step initrd-destination "$(sed -n 's/^Loaded initrd at \(0x[0-9a-f]*\).*/\1/p' "$dir/kexec.log")"
kexec_load_step kexec-load-again -i
# The same below 512 MiB, where the segments' destinations overlap the pages the kernel hands
# out for the copies, each of which it must then move aside (kimage_alloc_page in
# kernel/kexec_core.c, 6.1).
kexec_load_step kexec-load-below-512MiB -i --mem-max=0x1fffffff
# kexec_file_load: the kernel reads the files itself, but always hashes every segment for
# purgatory (kexec_calculate_store_digests in kernel/kexec_file.c).
kexec_load_step kexec-load-file-syscall -s
echo STEPS-DONE
