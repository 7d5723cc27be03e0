# shellcheck shell=sh
# inetboot preboot: booting a root published with `inetboot publish` (README, "Publishing a
# root"). Sourced by /init (BusyBox ash); defines functions only. Uses fetch_artifact and
# fetch_sources (fetch.sh), kexec_kernel (boot.sh), say (console.sh).
#
#   entry root: -> ROOT/root.json (the manifest, pinned by the entry's sha256)
#              -> kernel/SHA, miniroot/SHA from the same sources, each checked against the
#                 manifest's sha256 and size (fetch_sources: mirrors, cache disk, resumes)
#              -> kexec the root's own kernel with the miniroot, and appended to it a small
#                 newc archive of etc/inetboot/root/* (what the miniroot's init reads,
#                 miniroot/init): the sources, the index's (and boot profile's) sha256 and
#                 size, and this preboot's network (MAC, address, gateway, DNS, proxy) for
#                 the miniroot to take over,
#                 ib.cache=off|readonly when typed, plus the CA bundle when a source is
#                 https://.
#
# The data goes in an archive, not on the command line: the kernel's holds 2047 bytes, and 16
# source URLs alone can be more. The kernel unpacks every archive of an initrd in turn; an
# uncompressed one must start at an offset that is a multiple of 4 (measured: else "Initramfs
# unpacking failed: invalid magic at start of compressed archive"), so the miniroot is padded
# with zeros to that.

IB_ROOT_MAX_MANIFEST=4096
# The most a kernel or miniroot of a manifest may be: the preboot holds both in RAM.
IB_ROOT_MAX_FILE=536870912

# boot_root_entry ID TITLE: boots entry ID's published root. Never returns.
boot_root_entry() {
	local sha
	sha=$(read_field "$1" root_sha256)
	[ -n "$sha" ] || root_unverified_warning "entry $1 says root_unverified: true"
	fetch_artifact "$1" root "$IB_RUN/root.json" || fail "could not get the manifest of entry $1's root"
	root_boot "$IB_RUN/root.urls" "$IB_RUN/root.json" "$(read_field "$1" append)" "$2"
}

# boot_typed_root: ib.root=URL [ib.root_sha256=HEX] [ib.append=...], or the seeds' httpfuse=URL,
# typed at GRUB's edit prompt. A URL ending in "/" means its root.json. Returns 0 when neither
# was typed; otherwise never returns.
boot_typed_root() {
	local url param sha append
	param=ib.root
	url=$(typed_url ib.root) || fail "cannot use ib.root= as typed at GRUB (see above)"
	if [ -z "$url" ]; then
		param=httpfuse
		url=$(typed_url httpfuse) || fail "cannot use httpfuse= as typed at GRUB (see above)"
	fi
	[ -n "$url" ] || return 0
	case "$url" in
	*/) url=${url}root.json ;;
	esac
	sha=$(typed_sha ib.root_sha256) || fail "cannot use ib.root_sha256= as typed at GRUB (see above)"
	say "$param=$url was typed at GRUB: booting that root instead of an entry of the menu"
	[ -n "$sha" ] || root_unverified_warning "no ib.root_sha256= was typed"
	append=$(cmdline_get ib.append) || append=
	mkdir -p "$IB_RUN"
	printf '%s\n' "$url" >"$IB_RUN/root.urls"
	fetch_sources root "$IB_RUN/root.urls" "$sha" "" "$IB_RUN/root.json" || fail "could not get the root manifest typed at GRUB ($param=$url)"
	root_boot "$IB_RUN/root.urls" "$IB_RUN/root.json" "$append" "the root typed at GRUB"
}

root_unverified_warning() {
	say "WARNING: $1: the root's manifest is NOT verified, and so neither is anything it names"
	say "WARNING: (kernel, miniroot, every block of the root): anyone on the way can replace this system"
}

# root_boot URLS MANIFEST APPEND TITLE: MANIFEST was fetched from the URLS (one per line);
# fetches and checks what it names from the same sources and kexecs it. Never returns.
root_boot() {
	local sources f
	root_manifest "$2" "$IB_RUN/root.fields" || fail "the root's manifest cannot be used (see above)"
	sources=$IB_RUN/root.sources
	root_sources "$1" >"$sources"
	grep -q . "$sources" || fail "the root's manifest URL has no directory part to take the other files from"
	for f in kernel miniroot; do
		sed "s|\$|$(root_field "$f" path)|" "$sources" >"$IB_RUN/root.$f.urls"
		fetch_sources "$f" "$IB_RUN/root.$f.urls" "$(root_field "$f" sha256)" "$(root_field "$f" size)" "$IB_RUN/root.$f" ||
			fail "could not get the root's $f"
	done
	root_measured_order "$sources"
	root_initrd "$sources" "$IB_RUN/root.miniroot" || fail "could not make the miniroot's initrd"
	kexec_kernel "$IB_RUN/root.kernel" "$IB_RUN/root.miniroot" "$3" "$4" || fail "could not start the root's kernel"
}

# root_manifest FILE OUT: checks FILE, untrusted, against the one layout `inetboot publish`
# writes (src/pipeline/publish/manifest.ts, renderManifest; parseManifest there is the same
# check in TypeScript) and writes OUT: one "KEY FIELD VALUE" line per value (root_field reads
# it). Returns 1 after saying what is wrong. Every number is bounded, and every path is
# KEY/SHA256 of that file's own sha256, so no name can leave the published tree.
root_manifest() {
	local size
	IB_ROOT_FIELDS=$2
	size=$(file_size "$1")
	if [ "$size" -gt "$IB_ROOT_MAX_MANIFEST" ]; then
		say "ERROR: the root's manifest is $size bytes, more than a manifest can be ($IB_ROOT_MAX_MANIFEST)"
		return 1
	fi
	# awk takes a last line without its newline as a line: publish always writes one.
	if [ "$size" -gt 0 ] && [ -n "$(tail -c 1 "$1")" ]; then
		say "ERROR: the root manifest does not end with a line break: it is not what inetboot publish writes"
		return 1
	fi
	awk -v maxfile="$IB_ROOT_MAX_FILE" '
	function bad(why) { print "ERROR: the root manifest, line " NR ": " why > "/dev/stderr"; failed = 1; exit 1 }
	function number(key, max,   v) {
		if ($0 !~ ("^  \"" key "\": [1-9][0-9]*,$")) bad("is not \"" key "\": a whole number");
		v = $0; sub(/^[^:]*: /, "", v); sub(/,$/, "", v)
		if (length(v) > 16 || v + 0 > max) bad("\"" key "\" is more than " max);
		print "manifest " key " " v
		return v + 0
	}
	# max: the most bytes the file may have (0: only the 12 digits of any size).
	function file(key, last, max,   re, v, n, f) {
		re = "^  \"" key "\": [{]\"path\": \"" key "/[0-9a-f]{64}\", \"sha256\": \"[0-9a-f]{64}\", \"size\": [1-9][0-9]*[}]" (last ? "" : ",") "$"
		if ($0 !~ re) bad("is not \"" key "\": {\"path\": \"" key "/SHA256\", \"sha256\": \"SHA256\", \"size\": BYTES}");
		v = $0; gsub(/[{}",:]/, " ", v)
		n = split(v, f, " ")
		# f: key path P sha256 S size N
		if (n != 7 || f[3] != key "/" f[5]) bad("the path of \"" key "\" is not " key "/ and its own sha256");
		if (length(f[7]) > 12) bad("\"" key "\" is more than 12 digits of bytes");
		if (max && f[7] + 0 > max) bad("\"" key "\" is " f[7] " bytes, more than the preboot can hold (" max ")");
		print key " path " f[3]
		print key " sha256 " f[5]
		print key " size " f[7]
		return f[7] + 0
	}
	NR == 1 { if ($0 != "{") bad("is not \"{\": the manifest does not have the layout inetboot publish writes"); next }
	NR == 2 { if ($0 != "  \"format\": \"inetboot-root-2\",") bad("the format is not \"inetboot-root-2\" (made by another inetboot version?)"); next }
	NR == 3 { image = number("image_bytes", 70368744177664); next }
	NR == 4 { bs = number("block_size", 1048576); next }
	NR == 5 { blocks = number("blocks", 16777216); next }
	NR == 6 { file("kernel", 0, maxfile); next }
	NR == 7 { file("miniroot", 0, maxfile); next }
	NR == 8 { isize = file("index", 0, 0); next }
	NR == 9 { if ($0 != "  \"profile\": null") psize = file("profile", 1, 0); next }
	NR == 10 { if ($0 != "}") bad("is not \"}\""); next }
	{ bad("is one line too many") }
	END {
		if (failed) exit 1
		if (NR != 10) { print "ERROR: the root manifest ends early: it has " NR " lines, not 10" > "/dev/stderr"; exit 1 }
		if (isize != 32 + 48 * blocks) { print "ERROR: the root manifest: the index size does not match the block count" > "/dev/stderr"; exit 1 }
		if (blocks > image || image > blocks * 4194304) { print "ERROR: the root manifest: the block count does not match the image size" > "/dev/stderr"; exit 1 }
		if (psize && (psize < 20 || psize > 16 + 4 * blocks || (psize - 16) % 4 != 0)) { print "ERROR: the root manifest: the profile size is not 16 bytes and 4 for each of 1 to \"blocks\" blocks" > "/dev/stderr"; exit 1 }
	}' "$1" >"$2" 2>"$2.err"
	size=$?
	[ -s "$2.err" ] && while IFS= read -r f; do say "$f"; done <"$2.err"
	[ "$size" = 0 ] || return 1
	say "root: $(root_field manifest image_bytes) bytes in $(root_field manifest blocks) blocks of $(root_field manifest block_size) on average$([ -n "$(root_field profile size)" ] && printf ', with a boot profile')"
}

# root_field KEY FIELD: one value root_manifest wrote.
root_field() {
	awk -v k="$1" -v f="$2" '$1 == k && $2 == f { print $3; exit }' "${IB_ROOT_FIELDS:-$IB_RUN/root.fields}"
}

# root_sources URLS: each manifest URL without its last name (and query): the base URL every
# other file of the root is named relative to. One per line, each ending in "/".
root_sources() {
	local url
	while IFS= read -r url; do
		[ -n "$url" ] || continue
		url=${url%%\?*}
		url=${url%/*}
		case "$url" in
		http://?*/* | https://?*/* | http://?* | https://?*) printf '%s/\n' "$url" ;;
		esac
	done <"$1"
}

# root_measured_order SOURCES: rewrites SOURCES (one directory URL per line) best first, in the
# order mirrors.sh measured when it fetched the miniroot ($IB_RUN/miniroot.order: the same
# sources with miniroot/SHA256 after them), so that the block daemon asks the best source first.
# Left as it is when nothing was measured (the miniroot came from the cache disk).
root_measured_order() {
	local path
	[ -s "$IB_RUN/miniroot.order" ] || return 0
	path=$(root_field miniroot path)
	awk -v path="$path" '
		NR == FNR { want[$0] = 1; n++; next }
		{ u = $0; if (substr(u, length(u) - length(path) + 1) != path) { bad = 1; exit }
		  u = substr(u, 1, length(u) - length(path)); if (!(u in want) || (u in seen)) { bad = 1; exit }
		  seen[u] = 1; out[++m] = u }
		END { if (bad || m != n) exit 1; for (i = 1; i <= m; i++) print out[i] }
	' "$1" "$IB_RUN/miniroot.order" >"$1.measured" && mv "$1.measured" "$1"
	rm -f "$1.measured"
}

# root_initrd SOURCES MINIROOT: appends to MINIROOT (verified already, and in the cache disk if
# there is one) zeros to the next multiple of 4 bytes and the archive of what the miniroot's
# init needs (see the top of this file). In place, not a copy: kexec needs the kernel's and the
# initrd's size twice over in RAM, and a machine with less RAM than the image has little.
root_initrd() {
	local dir data iface mac pad
	dir=$IB_RUN/root.data
	rm -rf "$dir"
	data=$dir/etc/inetboot/root
	mkdir -p "$data"
	cp "$1" "$data/sources"
	root_field index sha256 >"$data/index_sha256"
	root_field index size >"$data/index_size"
	if [ -n "$(root_field profile sha256)" ]; then
		root_field profile sha256 >"$data/profile_sha256"
		root_field profile size >"$data/profile_size"
	fi
	iface=
	[ -r "$IB_RUN/net/interface" ] && read -r iface <"$IB_RUN/net/interface"
	mac=
	[ -n "$iface" ] && [ -r "/sys/class/net/$iface/address" ] && read -r mac <"/sys/class/net/$iface/address"
	if [ -z "$mac" ] || [ ! -r "$IB_RUN/net/address" ]; then
		say "ERROR: this preboot's network is not known (no interface or address in $IB_RUN/net)"
		return 1
	fi
	printf '%s\n' "$mac" >"$data/mac"
	cp "$IB_RUN/net/address" "$data/address"
	cp "$IB_RUN/net/gateway" "$data/gateway" 2>/dev/null
	cp "$IB_RUN/net/dns" "$data/dns" 2>/dev/null
	[ -r "$IB_RUN/proxy" ] && cp "$IB_RUN/proxy" "$data/proxy"
	# What was typed at GRUB about the cache disk holds for the block daemon's cache too.
	case "$(cmdline_get ib.cache)" in
	off | readonly) cmdline_get ib.cache >"$data/cache" ;;
	esac
	if grep -q '^https://' "$1"; then
		if [ ! -r "$IB_TLS_DATA/ca.pem" ]; then
			say "ERROR: the root is served over https://, and this preboot has no CA bundle ($IB_TLS_DATA/ca.pem) to hand to its block daemon"
			return 1
		fi
		mkdir -p "$dir/etc/inetboot/tls"
		cp "$IB_TLS_DATA/ca.pem" "$dir/etc/inetboot/tls/ca.pem"
	fi
	pad=$(((4 - $(file_size "$2") % 4) % 4))
	{
		dd if=/dev/zero bs=1 count="$pad" 2>/dev/null &&
			(cd "$dir" && find etc | sort | cpio -o -H newc 2>/dev/null)
	} >>"$2" || return 1
	say "root: handing the network ($iface $mac, $(cat "$data/address")) and $(grep -c . "$1") source(s) to the miniroot"
}
