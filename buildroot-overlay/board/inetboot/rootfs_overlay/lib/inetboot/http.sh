# shellcheck shell=sh
# inetboot preboot: the one place that runs BusyBox wget (TLS, proxy). Sourced by /init
# (BusyBox ash); defines functions only. fetch.sh and mirrors.sh run ib_wget in a fresh `sh -c`
# that sources only console.sh and this file, so nothing here may rely on another lib file or
# on unexported variables.
#
# How BusyBox wget (Debian busybox-static 1.35) does HTTPS, measured against nginx with a test CA:
#   * It never checks a certificate itself. For https:// it runs
#       openssl s_client -quiet -connect HOST:PORT [-servername HOST] -verify 100
#               -verify_return_error (-verify_hostname HOST | -verify_ip HOST:PORT)
#     found on PATH, and talks HTTP through its stdin/stdout. openssl opens its own connection.
#   * When no openssl is on PATH it falls back to its built-in TLS, which prints "note: TLS
#     certificate validation not implemented" and accepts any certificate (and failed the
#     handshake with nginx 1.22's defaults: alert 40). So the preboot always has our `openssl`
#     wrapper (/usr/libexec/inetboot/openssl) first on wget's PATH: without the real openssl it
#     refuses, it never lets wget fall back.
#   * For an IP-literal URL it passes "-verify_ip 10.0.2.2:8443", port included, which openssl
#     rejects as an invalid IP: every https://IP:PORT/ download failed. The wrapper drops the port.
#   * openssl's stderr (why a certificate was refused) is thrown away and wget only says
#     "error getting response: Connection reset by peer". The wrapper keeps that stderr and
#     ib_wget turns it into one "wget: TLS ..." line (wget_cause, mirrors.sh, reads the last one).
#   * A proxy: for http:// wget honours http_proxy. For https:// it ignores https_proxy (openssl
#     connects by itself), and given http_proxy it sends "GET https://..." in plain text to the
#     proxy. So https:// runs without http_proxy and the wrapper passes the proxy to openssl
#     (-proxy HOST:PORT, an HTTP CONNECT tunnel).
#   * openssl finds its CA certificates through -CAfile: the wrapper names the preboot's bundle
#     (/etc/inetboot/tls/ca.pem: Debian's ca-certificates, or the config's tls.ca_bundle).

IB_TLS_DATA=/etc/inetboot/tls
IB_TLS_BIN=/usr/libexec/inetboot

# ib_wget URL DEST [WGET-OPTION...]: downloads URL to DEST with BusyBox wget, with the given
# extra options (e.g. -c to resume). Callers add their own time limits: wget -T segfaults in
# Debian's build, so they wrap this in `timeout` or watch it. Returns wget's status.
# The proxy comes from ${IB_RUN}/proxy (written by net.sh once the network is up); an
# https:// URL listed in /etc/inetboot/tls/noverify_urls (an entry with tls_verify: false) is
# fetched without checking the certificate, after a warning on the console.
ib_wget() {
	local url dest run proxy verify tlslog rc
	url=$1
	dest=$2
	shift 2
	run=${IB_RUN:-/run/inetboot}
	proxy=
	[ -r "$run/proxy" ] && IFS= read -r proxy <"$run/proxy"
	verify=1
	case "$url" in
	https://*)
		if [ -r "$IB_TLS_DATA/noverify_urls" ] && grep -qxF -- "$url" "$IB_TLS_DATA/noverify_urls"; then
			verify=0
			http_warn_once "$url" "WARNING: NOT checking the TLS certificate of $(url_host "$url") (the entry says tls_verify: false): anyone on the way can read or replace this download"
		fi
		;;
	esac
	tlslog=$(mktemp "$run/tls.XXXXXX" 2>/dev/null) || tlslog=/dev/null
	# http_proxy only for http://: given it, wget sends "GET https://..." in plain text to the proxy.
	case "$url" in
	https://*)
		PATH="$IB_TLS_BIN:$PATH" IB_TLS_VERIFY=$verify IB_TLS_PROXY=$(http_proxy_hostport "$proxy") IB_TLS_LOG=$tlslog \
			http_proxy= wget "$@" -O "$dest" "$url"
		;;
	*) PATH="$IB_TLS_BIN:$PATH" http_proxy=$proxy wget "$@" -O "$dest" "$url" ;;
	esac
	rc=$?
	if [ "$rc" != 0 ] && [ -s "$tlslog" ]; then
		http_tls_cause "$tlslog" >&2
	fi
	[ "$tlslog" = /dev/null ] || rm -f "$tlslog"
	return "$rc"
}

# http_tls_cause LOG: one "wget: ..." line saying why openssl gave up (it goes last on stderr,
# where wget_cause looks).
http_tls_cause() {
	awk '
	/verify error:num=/ { v = $0; sub(/.*verify error:num=[0-9]*:/, "", v) }
	/no openssl/ { n = $0 }
	/Connection refused|errno=111/ { r = 1 }
	/No route to host|errno=113/ { u = 1 }
	END {
		if (n != "") print "wget: " n
		else if (v != "") print "wget: TLS certificate refused: " v
		else if (r) print "wget: connection refused"
		else if (u) print "wget: no route to host"
	}' "$1"
}

# http_proxy_hostport URL: "host:port" of an http:// proxy URL (port 80 when none), for openssl -proxy.
http_proxy_hostport() {
	local p
	p=${1#http://}
	p=${p%%/*}
	[ -z "$p" ] && return 0
	case "$p" in
	*:*) printf '%s' "$p" ;;
	*) printf '%s:80' "$p" ;;
	esac
}

# url_host URL: the host[:port] of a URL, without a user:password@ (the config refuses one, but
# a URL typed at GRUB may have it, and it must not reach the console).
url_host() {
	local h
	h=${1#*://}
	h=${h%%/*}
	h=${h%%\?*}
	printf '%s' "${h##*@}"
}

# http_warn_once KEY TEXT: TEXT on every console, once per KEY per boot.
http_warn_once() {
	local run
	run=${IB_RUN:-/run/inetboot}
	if [ -r "$run/warned" ] && grep -qxF -- "$1" "$run/warned"; then
		return 0
	fi
	printf '%s\n' "$1" >>"$run/warned"
	say "$2"
}
