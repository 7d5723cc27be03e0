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
# ib.cache=off on the kernel command line turns the cache off for one boot.

IB_CACHE_FOLDER=inetboot-cache
CACHE_STATE=
CACHE_DEV=
CACHE_FS=

# cache_find: finds the first block device (whole disk or partition) whose FAT or ext2/3/4 file
# system has an inetboot-cache/ folder, once per boot. Returns 1 when there is none.
cache_find() {
	local b name dev fs mnt m
	case "$CACHE_STATE" in
	found) return 0 ;;
	none) return 1 ;;
	esac
	CACHE_STATE=none
	# Only the preboot's PID 1 (and its subshells) looks at block devices: the same functions
	# also run on a build or test machine (test/integration/fetch-shell.test.ts), whose disks
	# they must never mount. An iscript's child shell therefore does not use the cache either.
	[ "$$" = 1 ] || return 1
	if [ "$(cmdline_get ib.cache)" = off ]; then
		say "cache: off (ib.cache=off)"
		return 1
	fi
	# vfat mounts with codepage 437 and iocharset ascii by default (Debian's kernel config);
	# ext4 also mounts ext2 and ext3. The block drivers came with load_drivers (modalias).
	for m in vfat nls_cp437 nls_ascii nls_iso8859-1 ext4 crc32c_generic; do
		modprobe -q "$m" 2>/dev/null
	done
	mnt=$IB_RUN/cache-mnt
	mkdir -p "$mnt"
	for b in /sys/class/block/*; do
		name=${b##*/}
		case "$name" in
		loop* | ram* | sr* | zram* | fd*) continue ;;
		esac
		dev=/dev/$name
		[ -b "$dev" ] || continue
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
	done
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

cache_get() {
	local sha dest file got
	sha=$1
	dest=$2
	cache_find || return 1
	cache_mount || return 1
	file=$IB_RUN/cache-mnt/$IB_CACHE_FOLDER/$sha
	if [ ! -f "$file" ]; then
		cache_umount
		return 1
	fi
	# The copy, not the cached file, is what gets checked and booted.
	rm -f "$dest.part"
	if cp "$file" "$dest.part" 2>/dev/null; then
		got=$(sha256sum "$dest.part" | cut -d' ' -f1)
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
	sha=$1
	file=$2
	cache_find || return 0
	cache_mount || return 0
	dir=$IB_RUN/cache-mnt/$IB_CACHE_FOLDER
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
