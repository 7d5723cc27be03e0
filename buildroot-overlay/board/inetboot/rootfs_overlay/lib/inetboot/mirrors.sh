# shellcheck shell=sh
# inetboot preboot: measuring the sources of a file and ordering them fastest first.
# Sourced by /init (BusyBox ash); defines functions only. Uses ib_wget (http.sh) and say (common.sh).
#
# A probe is `wget --spider` of the file's own URL: BusyBox sends a GET and closes after the
# headers, so the time measured is connection + first answer of the server that would serve
# the file, and a 404 or a refused connection is known before any byte is downloaded.
# Every probe runs at once in the background, in its own session (setsid) so that a probe
# still waiting at the deadline is killed with its wget (`kill -KILL -PGID`): killing only
# the `sh -c` that runs ib_wget would leave wget behind, holding the connection.
#
# Each server is measured once per boot: what a probe learned about a server (its answer time,
# or that it refused, did not answer or has no address) is kept in $IB_RUN/probes by origin
# (scheme://host[:port]) and reused for the next file from that server, so a silent mirror costs
# ib.probe seconds once, not once per file. An HTTP error is about the file, not the server:
# it is not kept, and the next file's probe asks again.

# Centiseconds since boot (/proc/uptime has 1/100 s resolution; `date +%s` only whole seconds).
# No fork: it runs in loops, and under QEMU/TCG every awk started costs tens of milliseconds of
# the one CPU a download also needs. /proc/uptime prints "SECONDS.CC" (two digits, always).
ib_uptime_cs() {
	local up _
	read -r up _ </proc/uptime
	echo $((${up%.*} * 100 + 1${up#*.} - 100))
}

# ib_secs CENTISECONDS -> "1.23"
ib_secs() {
	awk -v c="$1" 'BEGIN { printf "%.2f", c / 100 }'
}

# ib_human BYTES -> "812 bytes", "300.0 kB", "8.2 MB"
ib_human() {
	awk -v b="$1" 'BEGIN {
		if (b < 1000) printf "%d bytes", b
		else if (b < 1000000) printf "%.1f kB", b / 1000
		else printf "%.1f MB", b / 1000000
	}'
}

# mirror_labels LIST: one label per URL of LIST, in order: host[:port] (url_host, http.sh), or the
# whole URL when two sources share a host (the label must say which source it is).
mirror_labels() {
	local url
	while IFS= read -r url; do
		[ -n "$url" ] && printf '%s\t%s\n' "$(url_host "$url")" "$url"
	done <"$1" | awk -F '\t' '{ n++; host[n] = $1; url[n] = $2; count[$1]++ } END { for (i = 1; i <= n; i++) print (count[host[i]] > 1 ? url[i] : host[i]) }'
}

# ib_rate BYTES CENTISECONDS -> "12.9" (MB/s, 10^6 bytes)
ib_rate() {
	awk -v b="$1" -v c="$2" 'BEGIN { printf "%.1f", (c > 0 ? b / c * 100 : b) / 1000000 }'
}

# wget_cause ERRFILE [STATUS]: why a wget run failed, in a few words, from its stderr.
wget_cause() {
	awk -v rc="${2:-}" '
	/^wget: / { last = $0; sub(/^wget: /, "", last) }
	END {
		c = last
		if (c ~ /^server returned error: /) { sub(/^server returned error: (HTTP\/[0-9.]+ )?/, "", c); c = "HTTP " c }
		else if (c ~ /^can.t connect to remote host/) { sub(/^[^)]*\): /, "", c); c = tolower(c) }
		else if (c ~ /^bad address/) { sub(/^bad address /, "", c); c = "unknown host " c }
		if (c == "") c = (rc == "" ? "wget failed" : "wget failed with status " rc)
		print c
	}' "$1"
}

# url_origin URL: scheme://host[:port] of URL (url_host, http.sh: without a user:password@),
# the key under which a server's probe is kept for the boot.
url_origin() {
	printf '%s://%s\n' "${1%%://*}" "$(url_host "$1")"
}

# mirror_known ORIGINFILE RESULT: keeps RESULT for the origin named in ORIGINFILE for the rest of
# the boot ($IB_RUN/probes, ORIGIN TAB RESULT): "ok CENTISECONDS", or "failed" followed by the
# cause as the console line puts it after the label (": connection refused",
# " did not answer within 3 s"). The first result for an origin is kept.
mirror_known() {
	local o
	read -r o <"$1"
	mirror_probed "$o" >/dev/null || printf '%s\t%s\n' "$o" "$2" >>"$IB_RUN/probes"
}

# mirror_probed ORIGIN: prints what mirror_known kept for ORIGIN this boot; returns 1 if nothing.
mirror_probed() {
	awk -F '\t' -v o="$1" '$1 == o { print $2; f = 1; exit } END { exit f ? 0 : 1 }' "$IB_RUN/probes"
}

# mirror_order NAME LIST OUT: writes LIST's URLs to OUT, best first, and says on the console
# which source was chosen and why. Sources that did not answer, or answered with an error,
# follow in the order listed: every source is still tried, the measurement only orders them.
# ib.mirrors=listed skips the measurement (the order of the config is kept).
mirror_order() {
	local _cs _deadline _dir _e _first _i _j _label _left _list _n _name _new _ok _out _pid _rc _rest _s _url _was _why
	_name=$1
	_list=$2
	_out=$3
	_n=$(grep -c . "$_list")
	if [ "$_n" -le 1 ]; then
		grep . "$_list" >"$_out"
		return 0
	fi
	if [ "$IB_MIRRORS" = listed ]; then
		say "$_name: $_n sources, tried in the order listed (ib.mirrors=listed)"
		grep . "$_list" >"$_out"
		return 0
	fi
	_dir=$IB_RUN/probe.$_name
	rm -rf "$_dir"
	mkdir -p "$_dir"
	touch "$IB_RUN/probes"
	mirror_labels "$_list" >"$_dir/labels"
	_i=0
	_new=0
	while IFS= read -r _url; do
		[ -n "$_url" ] || continue
		_i=$((_i + 1))
		printf '%s\n' "$_url" >"$_dir/$_i.url"
		url_origin "$_url" >"$_dir/$_i.origin"
		# Measured earlier this boot: "ok CENTISECONDS" or "failed CAUSE", no new probe.
		if mirror_probed "$(cat "$_dir/$_i.origin")" >"$_dir/$_i.known"; then
			continue
		fi
		rm -f "$_dir/$_i.known"
		_new=$((_new + 1))
		# Each probe times itself, so a slow fork of the next one does not count against it.
		IB_CONSOLES=$CONSOLES setsid sh -c '
			read -r s _ </proc/uptime
			. "$1/console.sh"
			. "$1/http.sh"
			ib_wget "$2" /dev/null --spider -q 2>"$3.err"
			rc=$?
			read -r e _ </proc/uptime
			echo "$rc $s $e" >"$3.tmp"
			mv "$3.tmp" "$3.done"' sh "$IB_LIB" "$_url" "$_dir/$_i" </dev/null >/dev/null 2>&1 &
		echo "$!" >"$_dir/$_i.pid"
	done <"$_list"
	_deadline=$(($(ib_uptime_cs) + IB_PROBE * 100))
	while [ "$_new" -gt 0 ]; do
		_left=0
		for _j in $(seq 1 "$_i"); do
			[ -e "$_dir/$_j.known" ] || [ -e "$_dir/$_j.done" ] || _left=$((_left + 1))
		done
		[ "$_left" -eq 0 ] && break
		[ "$(ib_uptime_cs)" -ge "$_deadline" ] && break
		sleep 0.1
	done
	: >"$_dir/answered"
	: >"$_dir/failed"
	_ok=0
	for _j in $(seq 1 "$_i"); do
		_label=$(sed -n "${_j}p" "$_dir/labels")
		if [ -e "$_dir/$_j.known" ]; then
			read -r _rc _rest <"$_dir/$_j.known"
			if [ "$_rc" = ok ]; then
				echo "$_rest $_j" >>"$_dir/answered"
				_ok=$((_ok + 1))
			else
				echo "$_j $_label$(cut -c7- "$_dir/$_j.known")" >>"$_dir/failed"
			fi
			continue
		fi
		read -r _pid <"$_dir/$_j.pid"
		if [ -e "$_dir/$_j.done" ]; then
			wait "$_pid" 2>/dev/null
			read -r _rc _s _e <"$_dir/$_j.done"
			if [ "$_rc" = 0 ]; then
				_cs=$(awk -v s="$_s" -v e="$_e" 'BEGIN { printf "%d", (e - s) * 100 + 0.5 }')
				echo "$_cs $_j" >>"$_dir/answered"
				mirror_known "$_dir/$_j.origin" "ok $_cs"
				_ok=$((_ok + 1))
			else
				_rest=$(wget_cause "$_dir/$_j.err" "$_rc")
				echo "$_j $_label: $_rest" >>"$_dir/failed"
				case "$_rest" in
				HTTP\ *) ;;
				*) mirror_known "$_dir/$_j.origin" "failed: $_rest" ;;
				esac
			fi
		else
			kill -KILL -"$_pid" 2>/dev/null
			wait "$_pid" 2>/dev/null
			echo "$_j $_label did not answer within $IB_PROBE s" >>"$_dir/failed"
			mirror_known "$_dir/$_j.origin" "failed did not answer within $IB_PROBE s"
		fi
	done
	# Fastest first; equal times keep the order listed.
	sort -n -k1,1 -k2,2 "$_dir/answered" >"$_dir/answered.sorted"
	: >"$_out"
	_why=
	_first=
	while read -r _cs _j; do
		cat "$_dir/$_j.url" >>"$_out"
		_label=$(sed -n "${_j}p" "$_dir/labels")
		if [ -z "$_first" ]; then
			_first="$_label chosen: answered in $(ib_secs "$_cs") s"
		else
			_why="$_why; $_label in $(ib_secs "$_cs") s"
		fi
	done <"$_dir/answered.sorted"
	while read -r _j _rest; do
		cat "$_dir/$_j.url" >>"$_out"
		_why="$_why; $_rest"
	done <"$_dir/failed"
	# Said when no source was measured anew: the figures are those of an earlier file.
	_was=
	[ "$_new" -eq 0 ] && _was=", as measured earlier this boot"
	if [ -n "$_first" ]; then
		say "$_name: mirror $_first ($_ok of $_n answered$_why$_was)"
	else
		say "$_name: no source answered within $IB_PROBE s (${_why#; }$_was): trying them in the order listed"
	fi
}
