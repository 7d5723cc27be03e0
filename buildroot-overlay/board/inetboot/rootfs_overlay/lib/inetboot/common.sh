# shellcheck shell=sh
# inetboot preboot: mounts, paths, the kernel command line. Sourced by /init (BusyBox ash); defines
# functions only. Messages (say) are in console.sh.

# rescue() and fail() (every failure ends there) live in rescue.sh.

# glob_paths PATTERN: the existing paths PATTERN matches, one per line. Lists elsewhere are
# split with globbing off (`local -; set -f`: an interface or a name server named "*" stays
# "*"); this is where a pattern is meant to expand.
glob_paths() {
	local - p
	set +f
	for p in $1; do
		[ -e "$p" ] && printf '%s\n' "$p"
	done
	return 0
}

# sha256_of FILE: the sha256 of FILE (64 lower-case hex digits), or nothing when it cannot be
# read (the hasher says why on stderr). /sbin/inetboot-sha256 (preboot-tools/inetboot-sha256.c:
# OpenSSL's SHA-256, which uses the CPU's SHA instructions where it has them; about 6 times
# BusyBox's speed on such a CPU, 1.4 times under QEMU/TCG) where the preboot carries it, as the
# debian and kernel-source backends' do; else BusyBox's sha256sum (Buildroot's preboot).
# IB_SHA256 names the checker: init sets it; the host tests of these scripts name another.
sha256_of() {
	local tool=${IB_SHA256:-/sbin/inetboot-sha256}
	[ -x "$tool" ] || tool=sha256sum
	"$tool" "$1" | cut -d' ' -f1
}

mount_basics() {
	mkdir -p /proc /sys /dev /run /tmp
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
	mkdir -p /dev/pts
	mount -t devpts devpts /dev/pts
	mount -t tmpfs -o mode=0755 tmpfs /run
	mkdir -p "$IB_RUN"
}


# The kernel's way of reading a command line, in awk, shared by cmdline_get and cmdline_add: a
# port of lib/cmdline.c next_arg() and kernel/params.c parse_args(), as src/quote.ts nextArg()
# is (test/hostile/properties.test.ts checks the two against each other). Words end at spaces
# outside double quotes; a word that starts with a quote loses it, and its last character when
# that is a quote; the key ends at the first "=" after the first character; a value that starts
# with a quote loses it and the word's last quote; other quotes stay. A bare "--" ends the
# kernel's parameters, and what follows it goes to init as arguments. No eval anywhere: awk
# reads the text as data. For each kernel parameter the program calls param(key, value,
# has_value, start), start being the offset of the word in the line; at a "--" it calls
# init_args(start). Keys and added text reach awk through the environment (ENVIRON), never as
# -v values, whose backslash escapes awk would interpret.
CMDLINE_AWK='
function split_line(line,    n, i, start, s, inq, c, quoted, eq, k, v, cut) {
	n = length(line); i = 1
	while (i <= n) {
		while (i <= n && substr(line, i, 1) ~ /[ \t\n]/) i++
		if (i > n) break
		start = i; inq = 0
		while (i <= n) {
			c = substr(line, i, 1)
			if (!inq && c ~ /[ \t\n]/) break
			if (c == "\"") inq = !inq
			i++
		}
		s = substr(line, start, i - start)
		quoted = substr(s, 1, 1) == "\""
		if (quoted) s = substr(s, 2)
		eq = index(substr(s, 2), "="); if (eq) eq++
		cut = 0
		if (eq) {
			k = substr(s, 1, eq - 1); v = substr(s, eq + 1)
			if (substr(v, 1, 1) == "\"") {
				v = substr(v, 2)
				if (length(s) > eq + 1 && substr(s, length(s), 1) == "\"") { v = substr(v, 1, length(v) - 1); cut = 1 }
				else if (length(s) == eq + 1) cut = 1
			}
			if (quoted && !cut && length(v) > 0 && substr(v, length(v), 1) == "\"") v = substr(v, 1, length(v) - 1)
		} else {
			k = s; v = ""
			if (quoted && length(k) > 0 && substr(k, length(k), 1) == "\"") k = substr(k, 1, length(k) - 1)
			if (k == "--") { init_args(start); return }
		}
		param(k, v, eq > 0, start)
	}
}
'

# cmdline_get KEY: prints the value of the last KEY=VALUE among the kernel parameters of the
# command line (IB_CMDLINE_FILE, default /proc/cmdline) and returns 0; returns 1 when KEY is
# absent. A bare KEY (no "=") prints nothing and returns 0. Words after "--" are init's.
#
# Most keys a boot asks for (about twenty) are absent: when KEY's text is nowhere in the file,
# the answer is "absent" without starting awk, whose start costs milliseconds under QEMU/TCG.
# Every key the parser finds is a part of the line's text, so this never hides one.
cmdline_get() {
	local line all
	all=
	while IFS= read -r line || [ -n "$line" ]; do
		all="$all $line"
	done <"${IB_CMDLINE_FILE:-/proc/cmdline}" || return 1
	case "$all" in
	*"$1"*) ;;
	*) return 1 ;;
	esac
	IB_CMDLINE_KEY=$1 awk "$CMDLINE_AWK"'
	function param(k, v, has, start) { if (k == ENVIRON["IB_CMDLINE_KEY"]) { found = 1; val = v } }
	function init_args(start) {}
	# /proc/cmdline ends in a newline the kernel never parsed: lines are joined, nothing added.
	{ line = (NR == 1 ? "" : line " ") $0 }
	END {
		split_line(line)
		if (found) { printf "%s", val; exit 0 }
		exit 1
	}' "${IB_CMDLINE_FILE:-/proc/cmdline}"
}

# cmdline_add LINE KEY PARAM: prints LINE with PARAM added as its last kernel parameter, that is
# before a bare "--" (after which the kernel hands the words to init), unless a kernel parameter
# KEY is set already (then LINE as it is). LINE must have balanced double quotes (the config
# refuses others); an unbalanced one would swallow PARAM, as it does in the kernel.
cmdline_add() {
	printf '%s\n' "$1" | IB_CMDLINE_KEY=$2 IB_CMDLINE_ADD=$3 awk "$CMDLINE_AWK"'
	function param(k, v, has, start) { if (k == ENVIRON["IB_CMDLINE_KEY"]) found = 1 }
	function init_args(start) { at = start }
	{ line = line $0 }
	END {
		split_line(line)
		add = ENVIRON["IB_CMDLINE_ADD"]
		if (found) printf "%s", line
		else if (at) printf "%s%s %s", substr(line, 1, at - 1), add, substr(line, at)
		else printf "%s%s%s", line, (line == "" ? "" : " "), add
	}'
}

# Loads the driver of every device the kernel has found, by its modalias. Repeated: a PCI
# driver (virtio_pci, a USB host controller) makes new devices appear on another bus
# (virtio, usb) whose drivers are loaded in the next round. Each round looks only at devices
# it has not seen, and asks one `modprobe -a` for all their aliases: BusyBox's modprobe reads
# modules.dep and modules.alias at every start, and one process per device and round cost the
# debian backend seconds under QEMU/TCG (issue 11's stage budget: "NIC drivers"). An alias no
# module claims is normal (bridges, ACPI devices): -q, and the others are still loaded.
load_drivers() {
	# A kernel with its drivers built in (the tiny profile) has no modules to load: running
	# modprobe for every device would only cost seconds. The preboot and the miniroot
	# (miniroot/init) both call this.
	local round f alias
	[ -d "/lib/modules/$(uname -r)" ] || return 0
	# BusyBox grep -v -f with an empty pattern file prints nothing: start it with a line that
	# is no path.
	echo '#' >"$IB_RUN/modaliases.seen"
	round=0
	while [ "$round" -lt 3 ]; do
		glob_paths '/sys/bus/*/devices/*/modalias' | grep -vxF -f "$IB_RUN/modaliases.seen" >"$IB_RUN/modaliases"
		cat "$IB_RUN/modaliases" >>"$IB_RUN/modaliases.seen"
		while IFS= read -r f; do
			read -r alias <"$f" && [ -n "$alias" ] && printf '%s\n' "$alias"
		done <"$IB_RUN/modaliases" >"$IB_RUN/aliases"
		# One argument per line: no splitting at spaces, no globbing.
		[ -s "$IB_RUN/aliases" ] && (
			set -f
			IFS='
'
			modprobe -q -b -a $(cat "$IB_RUN/aliases")
		) 2>/dev/null
		round=$((round + 1))
	done
	return 0
}
