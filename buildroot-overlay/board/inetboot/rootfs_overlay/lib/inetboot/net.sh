# shellcheck shell=sh
# inetboot preboot: drivers and network. Sourced by /init (BusyBox ash); defines functions only.
#
# Where the network setting comes from, first match wins (README, "Network"):
#   1. ip= typed at GRUB, in the kernel's nfsroot syntax:
#        ip=dhcp  |  ip=CLIENT:SERVER:GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF:DNS0:DNS1
#      (Debian's kernel is built without CONFIG_IP_PNP, so the kernel itself ignores it.)
#   2. the config's network: (baked into /etc/inetboot/net/: mode, address, gateway, dns, interface)
#   3. DHCP on every interface at once; the first lease wins.
# The proxy: ib.proxy=URL or ib.proxy=none (or http_proxy=URL) typed at GRUB, else the config's proxy:
# (/etc/inetboot/net/proxy). It is written to $IB_RUN/proxy, where ib_wget (http.sh) reads it.
# What was set up is kept in $IB_RUN/net/ for pass_network: (net_target_cmdline).

IB_NET_DATA=/etc/inetboot/net

interfaces() {
	local d
	glob_paths '/sys/class/net/*' | while IFS= read -r d; do
		[ "${d##*/}" = lo ] || echo "${d##*/}"
	done
}

# net_data FIELD: one value baked in by the build (empty when absent).
net_data() {
	local v
	v=
	[ -r "$IB_NET_DATA/$1" ] && IFS= read -r v <"$IB_NET_DATA/$1"
	printf '%s' "$v"
}

network_up() {
	local ifaces ipv
	ip link set lo up
	# Every connection starts with a 4 MiB receive buffer (the kernel's default starts at 128 KiB
	# and grows as the reader keeps up): across a long round trip the window sets a download's
	# speed, and under load that growth can stall. Measured by bench/ipxe.bench.ts at +50 ms
	# (QEMU/TCG): without it, one tiny-preboot boot in three held at 3.6 MB/s for the whole 200 MB
	# initrd; with it, none in three (14 to 21 MB/s).
	echo "4096 4194304 16777216" >/proc/sys/net/ipv4/tcp_rmem 2>/dev/null || true
	ifaces=$(interfaces)
	if [ -z "$ifaces" ]; then
		fail "no network interface found: no driver for this machine's network card in the preboot"
	fi
	mkdir -p "$IB_RUN/net"
	if ipv=$(cmdline_get ip) && [ -n "$ipv" ]; then
		net_from_ip_param "$ipv" "$ifaces"
	elif [ "$(net_data mode)" = static ]; then
		net_static "$(net_data address)" "$(net_data gateway)" "$(cat "$IB_NET_DATA/dns" 2>/dev/null)" "$(net_data interface)" "the config" "$ifaces"
	else
		net_dhcp "$ifaces"
	fi
	net_proxy
}

# net_dhcp IFACES: DHCP on every interface at once; the first lease wins. Bounded by udhcpc's
# options: IB_DHCP_TRIES discover packets 2 s apart on each interface, all in parallel, so a
# machine with a dead port costs no more time than one with a single NIC. udhcpc runs with
# lib/inetboot/udhcpc-lease, which only writes the lease down; the winner is configured here.
# Each udhcpc's subshell names its interface on a FIFO when udhcpc ends (with -q, right after
# the lease), and the loop below sleeps in `read` until then: polling every 0.2 s cost the boot
# 0.1 s on average (bench/ipxe.bench.ts, stage "DHCP").
net_dhcp() {
	local - i dir left winner n pids
	set -f
	dir=$IB_RUN/dhcp
	rm -rf "$dir"
	mkdir -p "$dir"
	# Read-write on fd 4, so that neither side blocks in open(2); it stays open until every
	# subshell has been waited for (a writer opening a FIFO that has no reader waits forever).
	# `command exec`: a failed redirection of a plain `exec` ends the shell, and this is PID 1.
	mkfifo "$dir/ended" && command exec 4<>"$dir/ended" || fail "network: cannot make $dir/ended"
	say "DHCP on $(echo $1) ..."
	pids=
	left=0
	for i in $1; do
		ip link set "$i" up
		# -n: exit if no lease; -q: exit after the lease; -t/-T: tries and seconds between them.
		(
			IB_RUN=$IB_RUN udhcpc -i "$i" -n -q -t "$IB_DHCP_TRIES" -T 2 -A 1 -p "$dir/$i.pid" \
				-s "$IB_LIB/udhcpc-lease" >"$IB_RUN/udhcpc.$i.log" 2>&1
			echo "$i" >"$dir/ended"
		) &
		pids="$pids $!"
		left=$((left + 1))
	done
	winner=
	while [ -z "$winner" ] && [ "$left" -gt 0 ] && read -r i <&4; do
		left=$((left - 1))
		[ -s "$dir/$i/ip" ] && winner=$i
	done
	for i in $1; do
		[ -r "$dir/$i.pid" ] && read -r n <"$dir/$i.pid" && kill "$n" 2>/dev/null
	done
	# Only these: PID 1 may have other children.
	for n in $pids; do wait "$n"; done
	command exec 4<&-
	if [ -z "$winner" ]; then
		for i in $1; do ip link set "$i" down; done
		fail "no DHCP lease on any interface ($(echo $1)): check the cable and that the network has a DHCP server"
	fi
	for i in $1; do [ "$i" = "$winner" ] || ip link set "$i" down; done
	read -r n <"$dir/$winner/ip"
	net_apply "$winner" "$n/$(mask_prefix "$(cat "$dir/$winner/subnet")")" "$(sed -n 1p "$dir/$winner/router")" "$(cat "$dir/$winner/dns")" ||
		fail "network: could not configure $winner with the lease for $n"
	say "network: $winner has address $n/$(mask_prefix "$(cat "$dir/$winner/subnet")")"
}

# net_apply DEV ADDRESS/PREFIX GATEWAY-or-empty DNS-LINES: configures DEV; says why and returns
# 1 when it cannot.
net_apply() {
	local - d
	set -f
	ip link set "$1" up
	ip -4 addr flush dev "$1"
	if ! ip addr add "$2" dev "$1"; then
		say "ERROR: could not give $1 the address $2"
		return 1
	fi
	if [ -n "$3" ] && ! ip route add default via "$3" dev "$1"; then
		say "ERROR: could not add the default route via $3 on $1 (is the gateway inside $2?)"
		return 1
	fi
	: >/etc/resolv.conf
	for d in $4; do
		echo "nameserver $d" >>/etc/resolv.conf
	done
	net_remember "$1" "$2" "$3" "$4"
}

# net_from_ip_param VALUE IFACES: ip= typed at GRUB.
net_from_ip_param() {
	local client server gw mask host dev auto dns0 dns1 rest prefix
	case "$1" in
	dhcp | on | any | both | bootp)
		say "network: ip=$1 on the command line: DHCP"
		net_dhcp "$2"
		return 0
		;;
	off | none)
		say "WARNING: ip=$1 on the command line: the preboot needs a network; using DHCP"
		net_dhcp "$2"
		return 0
		;;
	esac
	IFS=: read -r client server gw mask host dev auto dns0 dns1 rest <<EOF
$1
EOF
	case "$auto" in
	'' | off | none | static) ;;
	*)
		if [ -z "$client" ]; then
			say "network: ip=$1 on the command line: DHCP${dev:+ on $dev}"
			net_dhcp "${dev:-$2}"
			return 0
		fi
		;;
	esac
	if ! ip4_valid "$client"; then
		fail "ip=$1: '$client' is not an IPv4 address: write ip=ADDRESS::GATEWAY:NETMASK::DEVICE:off:DNS (e.g. ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3) or ip=dhcp"
	fi
	prefix=$(mask_prefix "${mask:-255.255.255.0}") ||
		fail "ip=$1: netmask '$mask' is not a netmask such as 255.255.255.0 (or a prefix length such as 24)"
	net_static "$client/$prefix" "$gw" "$(printf '%s\n%s\n' "$dns0" "$dns1")" "$dev" "ip= on the command line" "$2"
}

# net_static ADDRESS/PREFIX GATEWAY DNS-LINES INTERFACE-or-empty SOURCE IFACES
net_static() {
	local - addr gw dnslist dev src d have
	set -f
	addr=$1
	gw=$2
	dnslist=$3
	dev=$4
	src=$5
	for d in $dnslist $gw; do
		ip4_valid "$d" || fail "network ($src): '$d' is not an IPv4 address"
	done
	if [ -n "$dev" ]; then
		have=
		for d in $6; do [ "$d" = "$dev" ] && have=1; done
		[ -n "$have" ] || fail "network ($src): no interface $dev (this machine has: $(echo $6))"
	else
		dev=$(net_pick_interface "$6")
	fi
	net_apply "$dev" "$addr" "$gw" "$dnslist" || fail "network ($src): could not configure $dev"
	say "network: $dev has address $addr (static, from $src)${gw:+, gateway $gw}$(net_dns_words "$dnslist")"
}

net_dns_words() {
	local - d out
	set -f
	out=
	for d in $1; do out="$out${out:+ }$d"; done
	[ -n "$out" ] && printf ', dns %s' "$out"
}

# net_pick_interface IFACES: the first interface that reports a link (carrier) within 3 s of
# being brought up, else the first one.
net_pick_interface() {
	local - i n
	set -f
	for i in $1; do ip link set "$i" up; done
	n=0
	while [ "$n" -lt 12 ]; do
		for i in $1; do
			if [ "$(cat "/sys/class/net/$i/carrier" 2>/dev/null)" = 1 ]; then
				echo "$i"
				return 0
			fi
		done
		sleep 0.25
		n=$((n + 1))
	done
	set -- $1
	echo "$1"
}

# ip4_valid TEXT: a dotted-quad IPv4 address.
ip4_valid() {
	printf '%s\n' "$1" | awk -F. 'NF == 4 && $0 ~ /^[0-9.]+$/ { for (i = 1; i <= 4; i++) if ($i == "" || $i > 255 || ($i ~ /^0./)) exit 1; exit 0 } { exit 1 }'
}

# mask_prefix NETMASK-or-PREFIX: prints the prefix length of a netmask (255.255.255.0 -> 24).
mask_prefix() {
	case "$1" in
	[0-9] | [12][0-9] | 3[0-2])
		echo "$1"
		return 0
		;;
	esac
	ip4_valid "$1" || return 1
	printf '%s\n' "$1" | awk -F. '{
		n = 0; seen0 = 0
		for (i = 1; i <= 4; i++) for (b = 128; b >= 1; b /= 2) {
			if (int($i / b) % 2) { if (seen0) exit 1; n++ } else seen0 = 1
		}
		print n
	}'
}

# prefix_mask PREFIX: 24 -> 255.255.255.0
prefix_mask() {
	local m
	m=$(((0xffffffff << (32 - $1)) & 0xffffffff))
	echo "$((m >> 24 & 255)).$((m >> 16 & 255)).$((m >> 8 & 255)).$((m & 255))"
}

# net_remember DEV ADDR/PREFIX GATEWAY DNS-LINES: what pass_network: hands on.
net_remember() {
	local -
	set -f
	printf '%s\n' "$1" >"$IB_RUN/net/interface"
	printf '%s\n' "$2" >"$IB_RUN/net/address"
	printf '%s\n' "$3" >"$IB_RUN/net/gateway"
	printf '%s\n' $4 >"$IB_RUN/net/dns"
}

# net_proxy: the proxy every download goes through (ib_wget reads $IB_RUN/proxy).
net_proxy() {
	local p src
	src="the config"
	if p=$(cmdline_get ib.proxy); then
		src="ib.proxy on the command line"
	elif p=$(cmdline_get http_proxy); then
		# The usual name, typed at GRUB: ib_wget sets http_proxy itself, so it is read here.
		src="http_proxy on the command line"
	else
		p=$(net_data proxy)
	fi
	case "$p" in
	'' | none | off)
		rm -f "$IB_RUN/proxy"
		[ -n "$p" ] && say "network: no proxy (ib.proxy=$p)"
		return 0
		;;
	http://*) ;;
	*)
		say "WARNING: ib.proxy=$p is not an http:// URL: no proxy"
		rm -f "$IB_RUN/proxy"
		return 0
		;;
	esac
	printf '%s\n' "$p" >"$IB_RUN/proxy"
	say "network: downloads go through the proxy $p (from $src)"
}

# net_target_cmdline CMDLINE: CMDLINE, plus the preboot's network as ip=... when the config says
# pass_network: true and CMDLINE has no kernel parameter ip= of its own. The format is the
# kernel's nfsroot one (initramfs-tools reads it too): ip=ADDRESS::GATEWAY:NETMASK::DEVICE:off:DNS0:DNS1
# (src/config/cmdline-rules.ts ipParam writes the same, to check the length). DEVICE is left
# empty: the target may name its interfaces differently (eth0 here, enp0s3 there). It goes
# before a "--" in CMDLINE: the words after that are init's arguments.
net_target_cmdline() {
	local addr gw dns0 dns1 p
	if [ "$(net_data pass_network)" != yes ] || [ ! -r "$IB_RUN/net/address" ]; then
		printf '%s' "$1"
		return 0
	fi
	read -r addr <"$IB_RUN/net/address"
	read -r gw <"$IB_RUN/net/gateway"
	dns0=$(sed -n 1p "$IB_RUN/net/dns")
	dns1=$(sed -n 2p "$IB_RUN/net/dns")
	p="ip=${addr%/*}::${gw}:$(prefix_mask "${addr#*/}"):::off${dns0:+:$dns0}${dns1:+:$dns1}"
	cmdline_add "$1" ip "$p"
}
