# shellcheck shell=sh
# inetboot preboot: downloads and verification. Sourced by /init (BusyBox ash); defines functions only.

# fetch URL SHA256-or-empty DEST: download to DEST.part, verify, rename. Returns 1 on failure.
fetch() {
	url=$1
	want=$2
	dest=$3
	rm -f "$dest" "$dest.part"
	say "downloading $url"
	if ! timeout -s KILL "$IB_DOWNLOAD_TIMEOUT" sh -c '. /lib/inetboot/http.sh; ib_wget "$1" "$2"' sh "$url" "$dest.part"; then
		rm -f "$dest.part"
		say "ERROR: download failed: $url (see wget's message above)"
		return 1
	fi
	size=$(wc -c <"$dest.part")
	if [ -n "$want" ]; then
		got=$(sha256sum "$dest.part" | cut -d' ' -f1)
		if [ "$got" != "$want" ]; then
			rm -f "$dest.part"
			say "ERROR: sha256 mismatch for $url"
			say "  expected $want"
			say "  got      $got"
			say "  refusing to boot an unverified file"
			return 1
		fi
		say "verified sha256 of $url ($size bytes)"
	else
		say "WARNING: no sha256 pinned for $url ($size bytes): not verified"
	fi
	mv "$dest.part" "$dest"
}

