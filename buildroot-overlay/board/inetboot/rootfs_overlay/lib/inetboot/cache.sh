# shellcheck shell=sh
# inetboot preboot: the local artifact cache (an inetboot-cache/ folder on a local FAT or
# ext2/3/4 file system: a whole disk or a partition). Sourced by /init (BusyBox ash); defines
# functions only.
#
# Contract used by fetch.sh (only for downloads with a pinned sha256):
#   cache_get SHA256 DEST   -> 0 and DEST holds a verified copy, or 1 (not cached / unusable)
#   cache_put SHA256 FILE   -> stores a verified FILE; never fails the boot (always returns 0)
#
# Layout: inetboot-cache/<sha256, 64 lower-case hex digits>, one file per artifact, named by
# what it must hash to. A file is written as inetboot-cache/.<sha256>.part and renamed once
# complete, so a power cut leaves no file under its final name that is not whole.
# Why the file system is mounted for each operation and unmounted after: kexec does not unmount
# anything, and a FAT volume left mounted is marked dirty (the next mount warns "Volume was not
# properly unmounted"). Unmounting also flushes the writes before the target starts.
# ib.cache=off on the kernel command line turns the cache off for one boot; ib.cache=readonly
# uses it without writing to it. The miniroot of a published root uses cache_find too
# (miniroot/init, open_cache), and keeps the disk mounted for its block daemon.
#
# Where the cache may be is an explicit allow-list, IB_CACHE_DEVICES: "block" (every block
# device of the machine, whole disks and partitions: what /init sets), or a list of device or
# image-file paths (a test gives a cache-disk image made by make-cache-disk: mount loops a
# file). Unset, there is no cache: these functions also run on build and test machines
# (test/integration/fetch-shell.test.ts), whose disks they must never mount, and in an
# iscript's child shell, which does not get the variable.

IB_CACHE_FOLDER=inetboot-cache
CACHE_STATE=
CACHE_DEV=
CACHE_FS=

# cache_devices: the candidates of IB_CACHE_DEVICES, one per line.
cache_devices() {
	local - b name d
	set -f
	if [ "${IB_CACHE_DEVICES:-}" != block ]; then
		for d in ${IB_CACHE_DEVICES:-}; do printf '%s\n' "$d"; done
		return 0
	fi
	glob_paths '/sys/class/block/*' | while IFS= read -r b; do
		name=${b##*/}
		case "$name" in
		loop* | ram* | sr* | zram* | fd*) continue ;;
		esac
		[ -b "/dev/$name" ] && printf '/dev/%s\n' "$name"
	done
}

# wait_usb_storage: a USB stick appears late, and in steps: the host controller's driver
# (loaded by modalias) enumerates the devices behind it over a few hundred milliseconds, the
# interfaces that appear need their own driver (usb-storage or uas, by modalias again), and
# usb-storage waits delay_use (1 s) before it scans, after which sd adds the disk. Looking for
# the cache before that finds nothing (the disk is simply not there yet). So: while the list of
# USB devices still changes, or a mass-storage interface (class 08) has no disk yet, load the
# drivers of what appeared and wait; at most 10 s, and not at all without a USB controller.
wait_usb_storage() {
	local n stable seen now i alias pending
	[ -n "$(glob_paths '/sys/bus/usb/devices/usb*')" ] || return 0
	n=0 stable=0 seen=
	while [ "$n" -lt 40 ]; do
		now=$(glob_paths '/sys/bus/usb/devices/*')
		pending=0
		# New USB interfaces and the SCSI disks behind them (sd_mod) get their drivers.
		for i in $(glob_paths '/sys/bus/usb/devices/*:*/modalias') $(glob_paths '/sys/bus/scsi/devices/*/modalias'); do
			[ -e "${i%/modalias}/driver" ] && continue
			read -r alias <"$i" && modprobe -q -b "$alias" 2>/dev/null
		done
		for i in $(glob_paths '/sys/bus/usb/devices/*:*'); do
			[ "$(cat "$i/bInterfaceClass" 2>/dev/null)" = 08 ] || continue
			[ -n "$(glob_paths "$i/host*/target*/*/block/*")" ] || pending=1
		done
		if [ "$now" = "$seen" ] && [ "$pending" = 0 ]; then
			stable=$((stable + 1))
			[ "$stable" -ge 4 ] && return 0
		else
			stable=0
		fi
		seen=$now
		sleep 0.25
		n=$((n + 1))
	done
	[ "$pending" = 0 ] || say "WARNING: cache: a USB storage device still has no disk after 10 s: looking for the cache without it"
	return 0
}

# cache_find: finds the first allowed device (whole disk, partition or image file) whose FAT or
# ext2/3/4 file system has an inetboot-cache/ folder, once per boot. Returns 1 when there is none.
cache_find() {
	local dev fs mnt m
	case "$CACHE_STATE" in
	found) return 0 ;;
	none) return 1 ;;
	esac
	CACHE_STATE=none
	[ -n "${IB_CACHE_DEVICES:-}" ] || return 1
	case "$(cmdline_get ib.cache)" in
	off)
		say "cache: off (ib.cache=off)"
		return 1
		;;
	readonly) say "cache: read-only (ib.cache=readonly): nothing is stored this boot" ;;
	'' | on) ;;
	*) say "WARNING: ib.cache=$(cmdline_get ib.cache) is not off, readonly or on: using the cache as usual" ;;
	esac
	# vfat mounts with codepage 437 and iocharset ascii by default (Debian's kernel config);
	# ext4 also mounts ext2 and ext3. The block drivers came with load_drivers (modalias).
	for m in vfat nls_cp437 nls_ascii nls_iso8859-1 ext4 crc32c_generic; do
		modprobe -q "$m" 2>/dev/null
	done
	[ "${IB_CACHE_DEVICES:-}" = block ] && wait_usb_storage
	mnt=$IB_RUN/cache-mnt
	mkdir -p "$mnt"
	cache_devices >"$IB_RUN/cache-devices"
	while IFS= read -r dev; do
		for fs in vfat ext4; do
			mount -t "$fs" -o ro "$dev" "$mnt" 2>/dev/null || continue
			if [ -d "$mnt/$IB_CACHE_FOLDER" ]; then
				umount "$mnt"
				CACHE_DEV=$dev
				CACHE_FS=$fs
				CACHE_STATE=found
				say "cache: using $IB_CACHE_FOLDER/ on $dev ($fs)"
				return 0
			fi
			umount "$mnt"
		done
	done <"$IB_RUN/cache-devices"
	return 1
}

cache_mount() {
	mount -t "$CACHE_FS" -o rw,noatime "$CACHE_DEV" "$IB_RUN/cache-mnt" 2>"$IB_RUN/cache-mount.err" && return 0
	say "WARNING: cache: could not mount $CACHE_DEV: $(head -n 1 "$IB_RUN/cache-mount.err")"
	return 1
}

cache_umount() {
	sync
	umount "$IB_RUN/cache-mnt" 2>/dev/null
}

# cache_open: finds the cache and mounts it read-write; sets CACHE_DIR to its folder. Returns 1
# when there is none or it cannot be mounted. Every cache_open is followed by cache_umount.
cache_open() {
	cache_find && cache_mount || return 1
	CACHE_DIR=$IB_RUN/cache-mnt/$IB_CACHE_FOLDER
}

cache_get() {
	local sha dest file got
	sha=$1 dest=$2
	cache_open || return 1
	file=$CACHE_DIR/$sha
	if [ ! -f "$file" ]; then
		cache_umount
		return 1
	fi
	# The copy, not the cached file, is what gets checked and booted.
	rm -f "$dest.part"
	if cp "$file" "$dest.part" 2>/dev/null; then
		got=$(sha256_of "$dest.part")
	else
		got="unreadable"
	fi
	if [ "$got" = "$sha" ]; then
		mv "$dest.part" "$dest"
		cache_umount
		return 0
	fi
	rm -f "$dest.part" "$file"
	say "cache: the cached copy of $sha on $CACHE_DEV is corrupt (sha256 $got): removed it; downloading it again"
	cache_umount
	return 1
}

cache_put() {
	local sha file dir err
	sha=$1 file=$2
	[ "$(cmdline_get ib.cache)" = readonly ] && return 0
	cache_open || return 0
	dir=$CACHE_DIR
	if [ -f "$dir/$sha" ]; then
		cache_umount
		return 0
	fi
	err=$IB_RUN/cache-put.err
	if cp "$file" "$dir/.$sha.part" 2>"$err" && sync && mv "$dir/.$sha.part" "$dir/$sha" 2>>"$err"; then
		say "cache: stored $sha ($(stat -c %s "$file") bytes) on $CACHE_DEV"
	else
		rm -f "$dir/.$sha.part"
		say "WARNING: cache: could not store $sha on $CACHE_DEV ($(sed -n '1{s/^cp: //;p}' "$err")): booting without caching it"
	fi
	cache_umount
	return 0
}
