# shellcheck shell=sh
# inetboot preboot: downloads and verification. Sourced by /init (BusyBox ash); defines functions only.
# Uses ib_wget (http.sh, the one place that runs wget), cache_get/cache_put (cache.sh),
# mirror_order and the helpers of mirrors.sh, say (common.sh).
#
#   fetch_artifact ID NAME DEST   the entry's NAME (kernel, initrd) from its sources -> DEST
#   fetch URL SHA256-or-empty DEST   one URL -> DEST
#
# Each download goes to DEST.part, is checked (size, sha256), then renamed to DEST: nothing
# unverified reaches DEST when a sha256 is pinned. How a download is watched, and why:
#   * BusyBox wget -T segfaults and -t is ignored: time limits, stall detection and retries
#     are ours. wget runs in the background in its own session; we watch DEST.part grow and
#     kill the whole session (`kill -KILL -PGID`, which also reaches wget under `sh -c`) when
#     it stops growing for ib.stall seconds or runs past IB_DOWNLOAD_TIMEOUT.
#   * wget -S writes the response headers to stderr: we read the status, Content-Length and
#     Accept-Ranges from there, and show only the one line that says why a run failed.
#   * A truncated body WITH Content-Length makes wget fail; WITHOUT it wget exits 0 and only a
#     pinned size or sha256 can tell. An unpinned file is booted with a warning that says so.
#   * A transfer that broke off is resumed (wget -c) only on the same URL and only when that
#     server said "Accept-Ranges: bytes": another mirror may hold different bytes.

# Kernel command-line settings (documented in README.md, "Mirrors and downloads").
fetch_settings() {
	[ -n "${IB_FETCH_SETTINGS:-}" ] && return 0
	IB_STALL=$(fetch_number ib.stall 15 1 3600)
	IB_PROBE=$(fetch_number ib.probe 3 1 60)
	IB_RETRIES=$(fetch_number ib.retries 1 0 10)
	# Seconds between progress lines of a long download (an environment knob for tests).
	IB_PROGRESS=${IB_PROGRESS:-5}
	IB_MIRRORS=$(cmdline_get ib.mirrors) || IB_MIRRORS=measure
	case "$IB_MIRRORS" in
	measure | listed) ;;
	*)
		say "WARNING: ib.mirrors=$IB_MIRRORS is not measure or listed: using measure"
		IB_MIRRORS=measure
		;;
	esac
	IB_FETCH_SETTINGS=1
}

# fetch_number KEY DEFAULT MIN MAX: a whole number from the kernel command line, or DEFAULT.
fetch_number() {
	local v
	v=$(cmdline_get "$1") || v=
	case "$v" in
	'') v=$2 ;;
	*[!0-9]*)
		say "WARNING: $1=$v is not a whole number: using $2" >&2
		v=$2
		;;
	esac
	if [ "$v" -lt "$3" ] || [ "$v" -gt "$4" ]; then
		say "WARNING: $1=$v is outside $3..$4: using $2" >&2
		v=$2
	fi
	echo "$v"
}

file_size() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

# fetch_artifact ID NAME DEST: NAME (kernel, initrd) of entry ID, from the sources baked into
# etc/inetboot/entries/ID/NAME_urls (one URL per line), checked against NAME_sha256 and
# NAME_size when present. Returns 1 after saying why every source failed.
fetch_artifact() {
	local dir list want size
	dir=$IB_DATA/entries/$1
	list=$IB_RUN/$2.urls
	if [ -r "$dir/$2_urls" ]; then
		grep . "$dir/$2_urls" >"$list"
	else
		read_field "$1" "$2_url" >"$list"
		echo >>"$list"
	fi
	if ! grep -q . "$list"; then
		say "ERROR: entry $1 has no $2 URL"
		return 1
	fi
	want=$(read_field "$1" "$2_sha256")
	size=$(read_field "$1" "$2_size")
	fetch_sources "$2" "$list" "$want" "$size" "$3"
}

# fetch URL SHA256-or-empty DEST: one URL, no size.
fetch() {
	mkdir -p "$IB_RUN"
	printf '%s\n' "$1" >"$IB_RUN/fetch.urls"
	fetch_sources "${3##*/}" "$IB_RUN/fetch.urls" "$2" "" "$3"
}

# fetch_sources NAME LIST SHA256 SIZE DEST: tries LIST's URLs best first (mirrors.sh), in up to
# 1 + ib.retries rounds with a growing pause between them. A source that answered with an
# HTTP 4xx or delivered wrong bytes is not tried again.
fetch_sources() {
	local name list want size dest order causes bad round tried url delay
	name=$1 list=$2 want=$3 size=$4 dest=$5
	fetch_settings
	rm -f "$dest" "$dest.part"
	if [ -n "$want" ] && cache_get "$want" "$dest"; then
		say "$name: from the local cache (sha256 $want)"
		return 0
	fi
	order=$IB_RUN/$name.order
	causes=$IB_RUN/$name.causes
	bad=$IB_RUN/$name.bad
	: >"$causes"
	: >"$bad"
	mirror_order "$name" "$list" "$order"
	round=0
	while :; do
		tried=0
		# fd 3: the commands in the loop must not read the list from stdin.
		while IFS= read -r url <&3; do
			[ -n "$url" ] || continue
			grep -qxF "$url" "$bad" && continue
			tried=1
			if fetch_one "$name" "$url" "$want" "$size" "$dest"; then
				[ -n "$want" ] && cache_put "$want" "$dest"
				return 0
			fi
			printf '%s\t%s\n' "$url" "$FETCH_CAUSE" >>"$causes"
			[ "$FETCH_FINAL" = 1 ] && printf '%s\n' "$url" >>"$bad"
		done 3<"$order"
		[ "$tried" = 1 ] && [ "$round" -lt "$IB_RETRIES" ] || break
		round=$((round + 1))
		delay=$((2 << (round - 1)))
		say "$name: every source failed; trying again in $delay s (round $((round + 1)) of $((IB_RETRIES + 1)))"
		sleep "$delay"
	done
	say "ERROR: no source delivered $name:"
	# The last cause of each source, in the order they were tried.
	awk -F '\t' '!($1 in c) { n++; u[n] = $1 } { c[$1] = $2 } END { for (i = 1; i <= n; i++) print u[i] "\t" c[u[i]] }' "$causes" |
		while IFS="$(printf '\t')" read -r url cause; do
			say "  $url: $cause"
		done
	return 1
}

# fetch_one NAME URL SHA256 SIZE DEST: one source, resumed on the same URL when it broke off and
# the server takes ranges. Sets FETCH_CAUSE (why it failed) and FETCH_FINAL=1 when trying this
# URL again cannot help (HTTP 4xx, wrong bytes).
fetch_one() {
	local name url want size dest part resumes got got_sha t0 cs took
	name=$1 url=$2 want=$3 size=$4 dest=$5
	part=$dest.part
	FETCH_FINAL=0
	resumes=0
	rm -f "$part"
	say "downloading $url"
	t0=$(ib_uptime_cs)
	while :; do
		if [ -s "$part" ]; then
			say "$name: resuming at $(file_size "$part") bytes (the server takes ranges)"
			fetch_run "$name" "$url" "$part" "$size" -c
		else
			fetch_run "$name" "$url" "$part" "$size"
		fi
		[ -z "$FETCH_CAUSE" ] && break
		if [ "$RUN_RANGES" = 1 ] && [ "$resumes" -lt 2 ] && [ -s "$part" ] && fetch_broke_off "$FETCH_CAUSE"; then
			say "$name: $url: $FETCH_CAUSE"
			resumes=$((resumes + 1))
			continue
		fi
		case "$FETCH_CAUSE" in
		'HTTP 4'*) FETCH_FINAL=1 ;;
		esac
		say "ERROR: download failed: $url: $FETCH_CAUSE"
		rm -f "$part"
		return 1
	done
	got=$(file_size "$part")
	if [ -n "$size" ] && [ "$got" != "$size" ]; then
		if [ "$got" -lt "$size" ]; then
			FETCH_CAUSE="truncated: $got of $size bytes"
		else
			FETCH_CAUSE="wrong size: $got bytes, expected $size"
			FETCH_FINAL=1
		fi
		say "ERROR: download failed: $url: $FETCH_CAUSE"
		rm -f "$part"
		return 1
	fi
	if [ -n "$want" ]; then
		# Said before the hash: on a slow CPU a large file takes seconds (200 MB: 2 s under
		# QEMU/TCG), and bench/ipxe.bench.ts ends its download stage here.
		say "checking the sha256 of $url"
		got_sha=$(sha256_of "$part")
		if [ "$got_sha" != "$want" ]; then
			rm -f "$part"
			say "ERROR: sha256 mismatch for $url"
			say "  expected $want"
			say "  got      $got_sha"
			say "  refusing to boot an unverified file"
			FETCH_CAUSE="sha256 mismatch ($got bytes, sha256 $got_sha)"
			FETCH_FINAL=1
			return 1
		fi
		say "verified sha256 of $url ($got bytes)"
	elif [ -n "$size" ]; then
		say "WARNING: no sha256 pinned for $url ($got bytes): only its size was checked"
	elif [ -z "$RUN_LENGTH" ]; then
		say "WARNING: no sha256 pinned for $url ($got bytes): not verified, and the server sent no Content-Length, so a truncated file cannot be told from a whole one"
	else
		say "WARNING: no sha256 pinned for $url ($got bytes): not verified"
	fi
	cs=$(($(ib_uptime_cs) - t0))
	took=$(ib_secs "$cs")
	say "$name: $(ib_human "$got") in $took s ($(ib_rate "$got" "$cs") MB/s) from $(url_host "$url")"
	mv "$part" "$dest"
}

# fetch_run NAME URL PART SIZE [WGET-OPTION...]: one watched wget run. Sets FETCH_CAUSE (empty
# on success), RUN_RANGES=1 when the server said Accept-Ranges: bytes, RUN_LENGTH to the
# Content-Length of the last response (empty when it sent none).
# This shell waits for wget itself (`wait`), so a finished download goes on at once; a watcher
# in the background (fetch_watch) looks at the file's growth twice a second, prints progress,
# and ends a stalled or endless run. Polling from here instead cost a quarter second per file
# and, under QEMU/TCG, the CPU of its forks four times a second, taken from wget.
fetch_run() {
	local name url part size err fin cause pid wpid got total rc
	name=$1
	url=$2
	part=$3
	size=$4
	shift 4
	err=$IB_RUN/wget.err
	fin=$IB_RUN/wget.done
	cause=$IB_RUN/wget.cause
	rm -f "$fin" "$err" "$cause"
	IB_CONSOLES=$CONSOLES setsid sh -c '
		. "$1/console.sh"
		. "$1/http.sh"
		err=$2
		fin=$3
		shift 3
		ib_wget "$@" 2>"$err"
		echo "$?" >"$fin.tmp"
		mv "$fin.tmp" "$fin"' sh "$IB_LIB" "$err" "$fin" "$url" "$part" -q -S "$@" </dev/null >/dev/null 2>&1 &
	pid=$!
	fetch_watch "$name" "$part" "$size" "$err" "$pid" "$fin" "$cause" &
	wpid=$!
	wait "$pid" 2>/dev/null
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	FETCH_CAUSE=
	fetch_headers "$err"
	# The watcher kills the whole session, the writer of $fin included: no $fin, its cause.
	if [ ! -e "$fin" ]; then
		FETCH_CAUSE=$(cat "$cause" 2>/dev/null)
		[ -n "$FETCH_CAUSE" ] || FETCH_CAUSE="wget ended without a status"
		return 0
	fi
	read -r rc <"$fin"
	[ "$rc" = 0 ] && return 0
	FETCH_CAUSE=$(wget_cause "$err" "$rc")
	case "$FETCH_CAUSE" in
	*'closed prematurely'*)
		got=$(file_size "$part")
		total=$(fetch_total "$err")
		FETCH_CAUSE="truncated: the server closed the connection after $got${total:+ of $total} bytes"
		;;
	esac
	return 0
}

# fetch_watch NAME PART SIZE ERRFILE PID FIN CAUSEFILE: fetch_run's watcher, in the background.
# Writes why to CAUSEFILE and kills wget's session (`kill -KILL -PID`) when PART stops growing
# for ib.stall seconds, the run passes IB_DOWNLOAD_TIMEOUT, or PART grows past SIZE; says a
# progress line every IB_PROGRESS seconds. Ends when FIN appears (or fetch_run kills it).
fetch_watch() {
	local name part size err pid fin causefile start now quiet_since last got next report total why
	name=$1 part=$2 size=$3 err=$4 pid=$5 fin=$6 causefile=$7
	start=$(ib_uptime_cs)
	quiet_since=$start
	last=-1
	next=$((start + IB_PROGRESS * 100))
	while [ ! -e "$fin" ]; do
		sleep 0.5
		now=$(ib_uptime_cs)
		got=$(file_size "$part")
		if [ "$got" -gt "$last" ]; then
			last=$got
			quiet_since=$now
		fi
		why=
		if [ $((now - quiet_since)) -ge $((IB_STALL * 100)) ]; then
			why="stalled: no data for $IB_STALL s after $got bytes (ib.stall=$IB_STALL)"
		elif [ $((now - start)) -ge $((IB_DOWNLOAD_TIMEOUT * 100)) ]; then
			why="not finished after $IB_DOWNLOAD_TIMEOUT s ($got bytes)"
		elif [ -n "$size" ] && [ "$got" -gt "$size" ]; then
			why="more than the $size bytes of size:"
		fi
		if [ -n "$why" ]; then
			[ -e "$fin" ] && return 0
			echo "$why" >"$causefile"
			kill -KILL -"$pid" 2>/dev/null
			return 0
		fi
		if [ "$now" -ge "$next" ]; then
			total=${size:-$(fetch_total "$err" "$part")}
			report="$(ib_human "$got")"
			[ -n "$total" ] && report="$report of $(ib_human "$total") ($((got * 100 / total))%)"
			say "$name: $report, $(ib_rate "$got" "$((now - start))") MB/s"
			next=$((now + IB_PROGRESS * 100))
		fi
	done
	return 0
}

# fetch_broke_off CAUSE: true when the transfer started and stopped early (worth resuming).
fetch_broke_off() {
	case "$1" in
	stalled:* | 'not finished after'* | *closed* | *short* | *reset* | *timed*) return 0 ;;
	esac
	return 1
}

# fetch_headers ERRFILE: RUN_RANGES and RUN_LENGTH from the headers wget -S printed.
fetch_headers() {
	RUN_RANGES=0
	grep -qi '^  accept-ranges: *bytes' "$1" 2>/dev/null && RUN_RANGES=1
	RUN_LENGTH=$(awk 'tolower($1) == "content-length:" { n = $2 } END { sub(/\r$/, "", n); print n }' "$1" 2>/dev/null)
}

# fetch_total ERRFILE PART: the whole file's size if the headers tell it (for progress lines).
fetch_total() {
	awk 'tolower($1) == "content-range:" { r = $3; sub(/.*\//, "", r); sub(/\r$/, "", r) }
	     tolower($1) == "content-length:" { n = $2; sub(/\r$/, "", n) }
	     END { print (r != "" && r != "*") ? r : n }' "$1" 2>/dev/null
}
