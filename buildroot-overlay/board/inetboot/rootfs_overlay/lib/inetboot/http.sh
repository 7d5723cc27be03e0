# shellcheck shell=sh
# inetboot preboot: the one place that runs BusyBox wget (TLS, proxy). Sourced by /init
# (BusyBox ash); defines functions only.

# ib_wget URL DEST [WGET-OPTION...]: downloads URL to DEST with BusyBox wget, with the given
# extra options (e.g. -c to resume). Callers add their own time limits: wget -T segfaults in
# Debian's build, so they wrap this in `timeout` or watch it. Returns wget's status.
ib_wget() {
	_url=$1
	_dest=$2
	shift 2
	wget "$@" -O "$_dest" "$_url"
}
