# shellcheck shell=sh
# inetboot preboot: iscripts (the seeds' `iscript=`): a shell script downloaded and run in the
# preboot, with a small helper API (README, "iscript helper API"). Sourced by /init (BusyBox
# ash), by the child that runs a script and by the preboot shell; defines functions only.
#
# The script runs in a child `sh` that sources every lib/inetboot/*.sh and then the script:
# an `exit`, a syntax error or a failing command ends only that child, never PID 1. When the
# child ends without having started a kernel, PID 1 says so and opens the rescue menu.

# --- The helper API (stable names; documented in README.md) ---

# ib_say TEXT...: one line on every console, prefixed "inetboot: ".
ib_say() {
	say "$*"
}

# ib_fetch URL SHA256 DEST: downloads URL to DEST, checked against SHA256 (64 hex digits). An
# empty SHA256 ("") downloads without a check and says so on the console. Returns 1 on failure.
ib_fetch() {
	if [ "$#" -ne 3 ]; then
		say "ERROR: ib_fetch needs 3 arguments: URL SHA256 DEST (SHA256 may be \"\"), got $#"
		return 2
	fi
	case "$3" in */*) mkdir -p "${3%/*}" ;; esac
	fetch "$1" "$2" "$3"
}

# ib_boot_kernel KERNEL INITRD CMDLINE: starts a downloaded kernel (INITRD may be ""). Returns
# 1 when it could not.
ib_boot_kernel() {
	kexec_kernel "$1" "$2" "$3" "${IB_TITLE:-the kernel of the iscript}"
}

# ib_boot_xen XEN XEN_ARGS KERNEL KERNEL_ARGS INITRD: starts Xen (gzip or not) with KERNEL as
# dom0 (INITRD may be ""). Returns 1 when it could not.
ib_boot_xen() {
	kexec_xen "$1" "$2" "$3" "$4" "$5" "${IB_TITLE:-Xen from the iscript}"
}

# ib_cmdline KEY: prints KEY's value from the preboot's kernel command line (what was typed at
# GRUB); returns 1 when KEY is absent.
ib_cmdline() {
	cmdline_get "$1"
}

# --- Running a script (PID 1 side) ---

# iscript_entry ID: the entry's script, verified when the entry pins a sha256.
iscript_entry() {
	fetch_artifact "$1" iscript "$IB_RUN/iscript" || fail "could not get the iscript of entry $1"
	iscript_run "$IB_RUN/iscript" "$1" "$(read_field "$1" title)" "$(read_field "$1" append)"
}

# iscript_typed URL SHA256-or-empty: a script named at GRUB's edit prompt.
iscript_typed() {
	if [ -z "$2" ]; then
		say "WARNING: iscript=$1 has no ib.iscript_sha256=: this script is NOT VERIFIED, and whoever can change it or the traffic to it controls this machine"
	fi
	fetch "$1" "$2" "$IB_RUN/iscript" || fail "could not get the iscript $1"
	iscript_run "$IB_RUN/iscript" '' 'the iscript typed at GRUB' ''
}

# iscript_run SCRIPT ID TITLE APPEND: runs SCRIPT in a child shell with the API. Returns only
# by fail(), when the script ended without starting a kernel.
iscript_run() {
	local rc
	ib_export_env
	rm -rf "$IB_RUN/iscript.d"
	mkdir -p "$IB_RUN/iscript.d"
	say "running the iscript ($(($(wc -c <"$1"))) bytes)"
	IB_ENTRY=$2 IB_TITLE=$3 IB_APPEND=$4 IB_WORK=$IB_RUN/iscript.d IB_ISCRIPT=1 sh -c '
		while IFS= read -r f; do . "$IB_LIB/$f.sh"; done <"$IB_LIB/libs"
		cd "$IB_WORK" || exit 1
		. "$1"' sh "$1"
	rc=$?
	fail "the iscript ended (exit status $rc) without starting a kernel"
}

# The variables the libraries need, for a child shell (iscript, preboot shell). CONSOLES
# travels as IB_CONSOLES: sourcing common.sh in the child empties CONSOLES.
ib_export_env() {
	IB_CONSOLES=$CONSOLES
	export IB_CONSOLES IB_DATA IB_RUN IB_LIB IB_DOWNLOAD_TIMEOUT IB_DHCP_TRIES
}
