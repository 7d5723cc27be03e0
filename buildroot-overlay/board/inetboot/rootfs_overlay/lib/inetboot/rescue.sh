# shellcheck shell=sh
# inetboot preboot: what happens when a boot fails (the rescue menu) and the preboot shell.
# Sourced by /init (BusyBox ash); defines functions only.
#
# The menu is printed on every console and read from every console at once: with
# `console=tty0 console=ttyS0` a person may be at the screen or at the serial line. One reader
# per console runs in the background; the first answer wins and the readers are killed. The
# choice is carried out by PID 1 itself, so PID 1 never exits and never waits on a dead child.
# Keys typed before a reader starts are not lost: PID 1 holds /dev/console open, so the tty's
# line discipline keeps them until the next read (the boot tests type on the serial line as
# soon as the menu is printed).

# fail TEXT: says "ERROR: TEXT" and opens the rescue menu. Never returns in PID 1.
fail() {
	rescue "ERROR: $*"
}

# rescue TEXT: says TEXT, then offers: retry, boot another entry, open a shell. Never returns
# in PID 1. In a child (an iscript, the preboot shell) it ends that child instead.
rescue() {
	say "$*"
	if [ -n "${IB_ISCRIPT:-}" ]; then
		exit 1
	fi
	say "boot stopped. The lines above say why."
	while :; do
		rescue_menu
		case "$RESCUE_CHOICE" in
		retry)
			say "retrying"
			rescue_retry
			;;
		shell) rescue_shell "$RESCUE_TTY" ;;
		*) boot_id "$RESCUE_CHOICE" ;;
		esac
	done
}

# rescue_menu: prints the choices and reads one; sets RESCUE_CHOICE (retry, shell or an entry
# id) and RESCUE_TTY (the console that answered).
rescue_menu() {
	local n id list
	list=$IB_DATA/entries.list
	[ -r "$list" ] || list=/dev/null
	while :; do
		say "What now? Type a choice and press Enter:"
		say "  r  retry${ENTRY:+ (entry $ENTRY)}"
		n=0
		while IFS= read -r id; do
			[ -n "$id" ] || continue
			n=$((n + 1))
			say "  $n  boot $(read_field "$id" title) ($id)"
		done <"$list"
		say "  s  open a shell (type 'exit' to come back to this menu)"
		rescue_ask
		case "$RESCUE_ANSWER" in
		r | R)
			RESCUE_CHOICE=retry
			return 0
			;;
		s | S)
			RESCUE_CHOICE=shell
			return 0
			;;
		[1-9] | [1-9][0-9] | [1-9][0-9][0-9])
			id=$(grep . "$list" | sed -n "${RESCUE_ANSWER}p")
			if [ -n "$id" ]; then
				RESCUE_CHOICE=$id
				return 0
			fi
			;;
		esac
		say "'$RESCUE_ANSWER' is not one of the choices"
	done
}

# rescue_ask: one line from whichever console answers first -> RESCUE_ANSWER, RESCUE_TTY.
rescue_ask() {
	local - c answer
	set -f
	answer=$IB_RUN/rescue.answer
	rm -f "$answer"
	set --
	for c in ${CONSOLES:-console}; do
		(
			# A read that fails (end of input) is tried again: the reader waits for a person.
			while ! IFS= read -r line <"/dev/$c"; do sleep 1; done
			printf '%s %s\n' "$c" "$line" >"$answer.$c"
			mv "$answer.$c" "$answer"
		) &
		set -- "$@" "$!"
	done
	while [ ! -e "$answer" ]; do
		sleep 0.2
	done
	kill -KILL "$@" 2>/dev/null
	for c in "$@"; do
		wait "$c" 2>/dev/null
	done
	RESCUE_TTY=
	RESCUE_ANSWER=
	read -r RESCUE_TTY RESCUE_ANSWER <"$answer"
}

# rescue_retry: the network again if it has no address, then what GRUB asked for.
rescue_retry() {
	if ! ip -4 -o addr show | grep -v ' lo ' | grep -q inet; then
		load_drivers
		network_up
	fi
	[ -n "${ENTRY:-}" ] || choose_entry
	boot_entry "$ENTRY"
}

# ib_shell_env: the environment of the preboot shell: started by setsid in its own
# session (so the tty becomes its controlling terminal and Ctrl-C works), with the helpers of
# the iscript API defined (ENV is read by an interactive ash).
ib_shell_env() {
	ib_export_env
	IB_ISCRIPT=1
	ENV=$IB_LIB/shellrc
	PS1='preboot# '
	export IB_ISCRIPT ENV PS1
}

# shell_on TTY: a login shell on /dev/TTY in a session of its own, with ib_shell_env; returns
# when it exits.
shell_on() {
	(
		ib_shell_env
		setsid sh -c 'exec sh -l <"$1" >"$1" 2>&1' sh "/dev/$1"
	)
}

# rescue_shell TTY: a shell on /dev/TTY; returns when it exits.
rescue_shell() {
	say "shell on $1: type 'exit' to come back to the menu, 'reboot -f' to restart"
	shell_on "$1"
}

# shell_entry: the preboot shell (the seeds' "BuildRoot Shell") on every console, started
# again when it exits. Never returns.
shell_entry() {
	local - c
	set -f
	c=${CONSOLES:-console}
	say "preboot shell on ${c# }: the network is up ($(ip -4 -o addr show | awk '$2 != "lo" { printf "%s%s %s", (n++ ? ", " : ""), $2, $4 }'))"
	say "the iscript helpers work here: ib_fetch URL SHA256 DEST, ib_boot_kernel KERNEL INITRD CMDLINE, ib_boot_xen ...; 'reboot -f' restarts"
	for c in ${CONSOLES:-console}; do
		(
			while :; do
				shell_on "$c"
				sleep 1
			done
		) &
	done
	while :; do
		wait
		sleep 60
	done
}
