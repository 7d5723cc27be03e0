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


# cmdline_get KEY: prints the value of the last KEY=VALUE on the kernel command line
# (IB_CMDLINE_FILE, default /proc/cmdline) and returns 0; returns 1 when KEY is absent.
# Words are split as the kernel's next_arg() splits them: at spaces outside double quotes,
# and the quotes are removed from the value (ib.append="console=ttyS0 quiet").
# A bare KEY (no "=") prints nothing and returns 0. No eval: awk reads the text as data.
cmdline_get() {
	awk -v key="$1" '
	{
		line = line $0 " "
	}
	END {
		found = 0; n = length(line); i = 1
		while (i <= n) {
			while (i <= n && substr(line, i, 1) ~ /[ \t\n]/) i++
			if (i > n) break
			word = ""; inq = 0
			while (i <= n) {
				c = substr(line, i, 1)
				if (c == "\"") { inq = !inq; i++; continue }
				if (!inq && c ~ /[ \t\n]/) break
				word = word c; i++
			}
			eq = index(word, "=")
			k = eq ? substr(word, 1, eq - 1) : word
			if (k == key) { found = 1; val = eq ? substr(word, eq + 1) : "" }
		}
		if (found) { printf "%s", val; exit 0 }
		exit 1
	}' "${IB_CMDLINE_FILE:-/proc/cmdline}"
}
