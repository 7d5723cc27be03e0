# shellcheck shell=sh
# inetboot preboot: messages on the consoles. Sourced by /init (BusyBox ash), by every child
# shell that sources the libraries, and by the `sh -c` that runs one wget (with http.sh);
# defines functions only and needs no other file.
#
# Messages go to every active console (with console=tty0 console=ttyS0 the kernel makes only the
# last one /dev/console, yet a person may be looking at the screen). PID 1 finds them once
# (find_consoles); a child gets them as IB_CONSOLES in its environment. Where there are none
# (the libraries run on a build or test machine), messages go to standard output.

CONSOLES=

# say TEXT...: "inetboot: TEXT" on every console.
say() {
	local - c
	set -f
	[ -n "$CONSOLES" ] || CONSOLES=${IB_CONSOLES:-}
	if [ -z "$CONSOLES" ]; then
		echo "inetboot: $*"
		return
	fi
	for c in $CONSOLES; do
		echo "inetboot: $*" >"/dev/$c" 2>/dev/null
	done
}

find_consoles() {
	local - active c
	set -f
	CONSOLES=
	active=
	[ -r /sys/class/tty/console/active ] && read -r active </sys/class/tty/console/active
	for c in $active; do
		# tty0 means "the current virtual terminal": write there through tty1's twin.
		[ "$c" = tty0 ] && c=tty1
		[ -c "/dev/$c" ] && CONSOLES="$CONSOLES $c"
	done
	IB_CONSOLES=$CONSOLES
	export IB_CONSOLES
}
