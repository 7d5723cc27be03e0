# shellcheck shell=sh
# inetboot preboot: console messages, mounts, the kernel command line. Sourced by /init (BusyBox ash); defines functions only.

# Messages go to every active console (with console=tty0 console=ttyS0 the kernel makes only the
# last one /dev/console, yet a person may be looking at the screen).
CONSOLES=
say() {
	if [ -z "$CONSOLES" ]; then
		echo "inetboot: $*"
		return
	fi
	for c in $CONSOLES; do
		echo "inetboot: $*" >"/dev/$c" 2>/dev/null
	done
}

find_consoles() {
	CONSOLES=
	active=
	[ -r /sys/class/tty/console/active ] && read -r active </sys/class/tty/console/active
	for c in $active; do
		# tty0 means "the current virtual terminal": write there through tty1's twin.
		[ "$c" = tty0 ] && c=tty1
		[ -c "/dev/$c" ] && CONSOLES="$CONSOLES $c"
	done
}

# rescue() and fail() (every failure ends there) live in rescue.sh.

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


# The kernel's way of splitting a command line (lib/cmdline.c next_arg(), kernel/params.c
# parse_args()), in awk, shared by cmdline_get and cmdline_add: words end at spaces outside
# double quotes; quotes are removed from the value (ib.append="console=ttyS0 quiet"); a bare
# "--" (also written "--" in quotes) ends the kernel's parameters, and what follows it goes to
# init as arguments. No eval anywhere: awk reads the text as data. For each kernel parameter
# the program calls param(key, value, has_value, start), start being the offset of the word
# in the line; at a "--" it calls init_args(start).
CMDLINE_AWK='
function split_line(line,    n, i, start, word, raw, inq, c, eq, k) {
	n = length(line); i = 1
	while (i <= n) {
		while (i <= n && substr(line, i, 1) ~ /[ \t\n]/) i++
		if (i > n) break
		start = i; word = ""; inq = 0
		while (i <= n) {
			c = substr(line, i, 1)
			if (c == "\"") { inq = !inq; i++; continue }
			if (!inq && c ~ /[ \t\n]/) break
			word = word c; i++
		}
		raw = substr(line, start, i - start)
		if (raw == "--" || raw == "\"--\"") { init_args(start); return }
		eq = index(word, "=")
		k = eq ? substr(word, 1, eq - 1) : word
		param(k, eq ? substr(word, eq + 1) : "", eq > 0, start)
	}
}
'

# cmdline_get KEY: prints the value of the last KEY=VALUE among the kernel parameters of the
# command line (IB_CMDLINE_FILE, default /proc/cmdline) and returns 0; returns 1 when KEY is
# absent. A bare KEY (no "=") prints nothing and returns 0. Words after "--" are init's.
cmdline_get() {
	awk -v key="$1" "$CMDLINE_AWK"'
	function param(k, v, has, start) { if (k == key) { found = 1; val = v } }
	function init_args(start) {}
	{ line = line $0 " " }
	END {
		split_line(line)
		if (found) { printf "%s", val; exit 0 }
		exit 1
	}' "${IB_CMDLINE_FILE:-/proc/cmdline}"
}

# cmdline_add LINE KEY PARAM: prints LINE with PARAM added as its last kernel parameter, that is
# before a bare "--" (after which the kernel hands the words to init), unless a kernel parameter
# KEY is set already (then LINE as it is). PARAM is read from the environment, not as an awk
# string, so that no escape in it is interpreted.
cmdline_add() {
	printf '%s\n' "$1" | IB_CMDLINE_ADD=$3 awk -v key="$2" "$CMDLINE_AWK"'
	function param(k, v, has, start) { if (k == key) found = 1 }
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
