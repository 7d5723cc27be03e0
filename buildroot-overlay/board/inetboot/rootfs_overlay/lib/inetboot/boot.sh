# shellcheck shell=sh
# inetboot preboot: booting an entry with kexec. Sourced by /init (BusyBox ash); defines functions only.

boot_entry() {
	id=$1
	title=$(read_field "$id" title)
	kernel_url=$(read_field "$id" kernel_url)
	kernel_sha=$(read_field "$id" kernel_sha256)
	initrd_url=$(read_field "$id" initrd_url)
	initrd_sha=$(read_field "$id" initrd_sha256)
	append=$(read_field "$id" append)
	say "entry $id: $title"
	[ -n "$kernel_url" ] || fail "entry $id has no kernel URL"

	fetch "$kernel_url" "$kernel_sha" "$IB_RUN/kernel" || fail "could not get the kernel of entry $id"
	if [ -n "$initrd_url" ]; then
		fetch "$initrd_url" "$initrd_sha" "$IB_RUN/initrd" || fail "could not get the initrd of entry $id"
		set -- --initrd="$IB_RUN/initrd"
	else
		set --
	fi
	say "loading kernel with command line: $append"
	kexec -l "$IB_RUN/kernel" "$@" --command-line="$append" || fail "kexec could not load the kernel of entry $id (is it an x86 bzImage?)"
	say "starting $title"
	kexec -e
	fail "kexec -e returned: the kernel did not start"
}

