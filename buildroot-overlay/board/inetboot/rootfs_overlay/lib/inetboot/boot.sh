# shellcheck shell=sh
# inetboot preboot: booting an entry with kexec, by its kind (kernel, xen, iscript, shell), or
# what a person typed at GRUB's edit prompt (iscript=, ib.kernel=). Sourced by /init (BusyBox
# ash) and by the child shell that runs an iscript; defines functions only.
#
# Functions that an iscript may call (kexec_kernel, kexec_xen) return 1 after saying why they
# failed; only the entry functions, which run in PID 1, turn a failure into fail().

# boot_entry ID: boots what GRUB asked for: a kernel or iscript typed on the command line when
# there is one (README, "Preboot command-line parameters"), else entry ID.
boot_entry() {
	boot_typed
	boot_id "$1"
}

# boot_id ID: boots entry ID by its kind. Never returns: success is kexec, failure is fail().
boot_id() {
	local id kind title
	id=$1
	kind=$(read_field "$id" kind)
	title=$(read_field "$id" title)
	say "entry $id: $title"
	case "$kind" in
	kernel | '') boot_kernel_entry "$id" "$title" ;;
	xen) boot_xen_entry "$id" "$title" ;;
	iscript) iscript_entry "$id" ;;
	root) boot_root_entry "$id" "$title" ;;
	shell) shell_entry ;;
	*) fail "entry $id is of kind '$kind', which this preboot does not know (built by another inetboot version?)" ;;
	esac
	fail "internal error: entry $id ($kind) did not boot"
}

# has_artifact ID NAME: true when entry ID names a source for NAME (kernel, initrd, ...).
has_artifact() {
	[ -s "$IB_DATA/entries/$1/$2_urls" ] || [ -n "$(read_field "$1" "$2_url")" ]
}

boot_kernel_entry() {
	has_artifact "$1" kernel || fail "entry $1 has no kernel URL"
	fetch_kernel_and_initrd "$1"
	kexec_kernel "$IB_RUN/kernel" "$INITRD" "$(read_field "$1" append)" "$2" || fail "could not start the kernel of entry $1"
}

boot_xen_entry() {
	fetch_artifact "$1" hypervisor "$IB_RUN/xen" || fail "could not get the hypervisor of entry $1"
	fetch_kernel_and_initrd "$1"
	kexec_xen "$IB_RUN/xen" "$(read_field "$1" hypervisor_append)" "$IB_RUN/kernel" "$(read_field "$1" append)" "$INITRD" "$2" ||
		fail "could not start Xen for entry $1"
}

# fetch_kernel_and_initrd ID: entry ID's kernel to $IB_RUN/kernel, and its initrd, if it has
# one, to $IB_RUN/initrd; sets INITRD to that path or to nothing. Never returns on failure.
fetch_kernel_and_initrd() {
	fetch_artifact "$1" kernel "$IB_RUN/kernel" || fail "could not get the kernel of entry $1"
	INITRD=
	if has_artifact "$1" initrd; then
		fetch_artifact "$1" initrd "$IB_RUN/initrd" || fail "could not get the initrd of entry $1"
		INITRD=$IB_RUN/initrd
	fi
}

# kexec_kernel KERNEL INITRD-or-empty CMDLINE [TITLE]: loads and starts a Linux kernel.
# Returns 1 after saying why when it could not.
kexec_kernel() {
	local kernel initrd cmdline title
	kernel=$1
	initrd=$2
	title=${4:-the kernel}
	# pass_network: true adds ip=... with the preboot's address (net.sh).
	cmdline=$(net_target_cmdline "$3")
	say "loading kernel with command line: $cmdline"
	set -- -l "$kernel" --command-line="$cmdline"
	[ -n "$initrd" ] && set -- "$@" --initrd="$initrd"
	kexec_load_start "$title" "kexec could not load $kernel (is it an x86 bzImage?)" "$@"
}

# kexec_xen XEN XEN-ARGS KERNEL KERNEL-ARGS INITRD-or-empty [TITLE]: loads Xen with kexec's
# multiboot2 loader, the dom0 kernel and initrd as its modules, and starts it.
#   * kexec-tools 2.0.25 refuses a gzip hypervisor ("Cannot determine the file type"), and
#     Debian ships xen-*.gz: a gzip file is decompressed first.
#   * A module is one string, "PATH ARGS": kexec splits it at the first space and hands the
#     rest to Xen as that module's command line (dom0's: console=hvc0 ...). The args are one
#     line (the config refuses line breaks) and go through a variable, never eval.
kexec_xen() {
	local given xen xen_args kernel kernel_args initrd size title
	given=$1
	xen=$1
	xen_args=$2
	kernel=$3
	kernel_args=$4
	initrd=$5
	title=${6:-Xen}
	if gunzip -c "$xen" >"$xen.raw" 2>/dev/null; then
		size=$(wc -c <"$xen")
		say "hypervisor: decompressed gzip: $((size)) -> $(($(wc -c <"$xen.raw"))) bytes"
		xen=$xen.raw
	else
		rm -f "$xen.raw"
	fi
	say "loading Xen with command line: $xen_args"
	say "  dom0 kernel command line: $kernel_args"
	set -- -l -t multiboot2-x86 "$xen" --command-line="$xen_args" --module="$kernel $kernel_args"
	[ -n "$initrd" ] && set -- "$@" --module="$initrd"
	kexec_load_start "$title" "kexec could not load the hypervisor $given (is it a multiboot2 Xen hypervisor?)" "$@"
}

# kexec_load_start TITLE WHY-IT-FAILED KEXEC-ARGUMENT...: kexec -l with the arguments, then
# kexec -e. Returns 1 after saying why when either fails.
# `-i` (--no-checks): without it kexec-tools makes purgatory hash every segment (sha256) before
# it jumps, to catch memory that changed between load and start: 1.3 s of the hand-off under
# QEMU/TCG (issue 11's stage budget). Every file loaded here was checked already (its pinned
# sha256, fetch.sh) and the load is followed at once by the start, so the second hash buys nothing.
kexec_load_start() {
	local title why
	title=$1 why=$2
	shift 2
	if ! kexec -i "$@"; then
		say "ERROR: $why"
		return 1
	fi
	say "starting $title"
	kexec -e
	say "ERROR: kexec -e returned: $title did not start"
	return 1
}

# typed_url PARAM: the http(s) URL given as PARAM=URL on the kernel command line, or nothing.
# Returns 1 (after saying why) when the value is not an http:// or https:// URL.
typed_url() {
	local url
	url=$(cmdline_get "$1") || return 0
	case "$url" in
	'') return 0 ;;
	http://?* | https://?*) printf '%s' "$url" ;;
	*)
		say "ERROR: $1=$url is not an http:// or https:// URL"
		return 1
		;;
	esac
}

# typed_sha PARAM: the sha256 given as PARAM=HEX, lower-cased, or nothing. Returns 1 (after
# saying why) when it is not 64 hexadecimal digits.
typed_sha() {
	local sha
	sha=$(cmdline_get "$1") || return 0
	[ -n "$sha" ] || return 0
	case "$sha" in
	*[!0-9a-fA-F]*) ;;
	*)
		if [ "${#sha}" -eq 64 ]; then
			printf '%s' "$sha" | tr A-F a-f
			return 0
		fi
		;;
	esac
	say "ERROR: $1=$sha is not a sha256 (64 hexadecimal digits, the output of sha256sum)"
	return 1
}

# boot_typed: boots what was typed at GRUB's edit prompt, in this order:
#   iscript=URL [ib.iscript_sha256=HEX]   runs the script (iscript.sh)
#   ib.root=URL or httpfuse=URL [ib.root_sha256=HEX] [ib.append="..."]   a published root (root.sh)
#   ib.kernel=URL [ib.initrd=URL] [ib.append="..."] [ib.kernel_sha256=HEX] [ib.initrd_sha256=HEX]
# Returns 0 when nothing was typed; otherwise never returns.
boot_typed() {
	local url sha kernel initrd initrd_sha append
	url=$(typed_url iscript) || fail "cannot use iscript= as typed at GRUB (see above)"
	if [ -n "$url" ]; then
		sha=$(typed_sha ib.iscript_sha256) || fail "cannot use ib.iscript_sha256= as typed at GRUB (see above)"
		say "iscript=$url was typed at GRUB: running it instead of an entry of the menu"
		iscript_typed "$url" "$sha"
	fi
	boot_typed_root
	kernel=$(typed_url ib.kernel) || fail "cannot use ib.kernel= as typed at GRUB (see above)"
	if [ -z "$kernel" ]; then
		cmdline_get ib.initrd >/dev/null && say "WARNING: ib.initrd= is ignored without ib.kernel="
		return 0
	fi
	sha=$(typed_sha ib.kernel_sha256) || fail "cannot use ib.kernel_sha256= as typed at GRUB (see above)"
	initrd=$(typed_url ib.initrd) || fail "cannot use ib.initrd= as typed at GRUB (see above)"
	initrd_sha=$(typed_sha ib.initrd_sha256) || fail "cannot use ib.initrd_sha256= as typed at GRUB (see above)"
	append=$(cmdline_get ib.append) || append=
	say "ib.kernel=$kernel was typed at GRUB: booting it instead of an entry of the menu"
	[ -n "$sha" ] || say "WARNING: no ib.kernel_sha256= typed: the kernel will NOT be verified"
	fetch "$kernel" "$sha" "$IB_RUN/kernel" || fail "could not get the kernel typed at GRUB (ib.kernel=$kernel)"
	if [ -n "$initrd" ]; then
		[ -n "$initrd_sha" ] || say "WARNING: no ib.initrd_sha256= typed: the initrd will NOT be verified"
		fetch "$initrd" "$initrd_sha" "$IB_RUN/initrd" || fail "could not get the initrd typed at GRUB (ib.initrd=$initrd)"
		initrd=$IB_RUN/initrd
	fi
	kexec_kernel "$IB_RUN/kernel" "$initrd" "$append" "the kernel typed at GRUB" || fail "could not start the kernel typed at GRUB"
}
