# shellcheck shell=sh
# inetboot preboot: the entry data baked in at build time (etc/inetboot/entries/ID/*). Sourced by /init (BusyBox ash); defines functions only.

# read_field ID FIELD -> prints the field, or nothing when the entry lacks it.
read_field() {
	local f value
	f="$IB_DATA/entries/$1/$2"
	[ -r "$f" ] || return 0
	value=
	IFS= read -r value <"$f"
	printf '%s' "$value"
}

valid_id() {
	case "$1" in
	'' | [._-]* | *[!a-z0-9._-]*) return 1 ;;
	esac
	return 0
}

# The entry to boot: ib.entry= on the kernel command line (GRUB's menu sets it), else the default.
choose_entry() {
	local entry
	entry=$(cmdline_get ib.entry)
	if [ -z "$entry" ] && [ -r "$IB_DATA/default" ]; then
		read -r entry <"$IB_DATA/default"
	fi
	valid_id "$entry" || fail "ib.entry='$entry' is not a valid entry id"
	[ -d "$IB_DATA/entries/$entry" ] || fail "no entry '$entry' on this boot medium (known: $(ls "$IB_DATA/entries" | tr '\n' ' '))"
	ENTRY=$entry
}
