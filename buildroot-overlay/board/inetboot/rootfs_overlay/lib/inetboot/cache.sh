# shellcheck shell=sh
# inetboot preboot: the local artifact cache (an inetboot-cache/ folder on a local FAT or
# ext2/3/4 partition). Sourced by /init (BusyBox ash); defines functions only.
#
# Contract used by fetch.sh (only for downloads with a pinned sha256):
#   cache_get SHA256 DEST   -> 0 and DEST holds a verified copy, or 1 (not cached / unusable)
#   cache_put SHA256 FILE   -> stores a verified FILE; never fails the boot (always returns 0)

cache_get() {
	return 1
}

cache_put() {
	return 0
}
