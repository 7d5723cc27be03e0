# shellcheck shell=sh
# inetboot preboot: drivers and network. Sourced by /init (BusyBox ash); defines functions only.

# Loads the driver of every device the kernel has found, by its modalias. Repeated: a PCI
# driver (virtio_pci, a USB host controller) makes new devices appear on another bus
# (virtio, usb) whose drivers are loaded in the next round.
load_drivers() {
	round=0
	while [ "$round" -lt 3 ]; do
		for f in /sys/bus/*/devices/*/modalias; do
			[ -r "$f" ] || continue
			read -r alias <"$f" || continue
			[ -n "$alias" ] && modprobe -q -b "$alias" 2>/dev/null
		done
		round=$((round + 1))
	done
}

interfaces() {
	for d in /sys/class/net/*; do
		n=${d##*/}
		[ "$n" = lo ] && continue
		[ -e "$d" ] && echo "$n"
	done
}

# DHCP on each interface in turn until one gets a lease; bounded by the udhcpc options.
network_up() {
	ip link set lo up
	ifaces=$(interfaces)
	if [ -z "$ifaces" ]; then
		fail "no network interface found: no driver for this machine's network card in the preboot"
	fi
	for i in $ifaces; do
		say "DHCP on $i ..."
		ip link set "$i" up
		# -n: exit if no lease; -q: exit after the lease; -t/-T: tries and seconds between them.
		if udhcpc -i "$i" -n -q -t "$IB_DHCP_TRIES" -T 2 -A 1 -s /etc/udhcpc/default.script >"$IB_RUN/udhcpc.$i.log" 2>&1; then
			addr=$(ip -4 -o addr show dev "$i" | awk '{print $4}')
			say "network: $i has address $addr"
			return 0
		fi
		ip link set "$i" down
	done
	fail "no DHCP lease on any interface ($(echo $ifaces)): check the cable and that the network has a DHCP server"
}

