#!/bin/sh
# inetboot preboot: Buildroot post-build script (BR2_ROOTFS_POST_BUILD_SCRIPT).
# Runs after the overlay has been copied into the target directory, before the root
# filesystem image is made. $1 is the target directory.
set -eu

TARGET_DIR=$1

# The overlay's /init is PID 1. BR2_INIT_NONE installs no init of its own, and Buildroot's
# cpio step keeps an existing /init; make sure ours is there and executable.
if [ ! -f "$TARGET_DIR/init" ]; then
	echo "post-build.sh: $TARGET_DIR/init is missing: BR2_ROOTFS_OVERLAY must name board/inetboot/rootfs_overlay" >&2
	exit 1
fi
chmod 0755 "$TARGET_DIR/init"

# Every library the init sources (the list lib/inetboot/libs, which /init reads) must be in the
# image: a missing one leaves the preboot in its internal-error shell at boot, so fail the
# build instead.
if [ ! -r "$TARGET_DIR/lib/inetboot/libs" ]; then
	echo "post-build.sh: $TARGET_DIR/lib/inetboot/libs is missing: BR2_ROOTFS_OVERLAY must name board/inetboot/rootfs_overlay" >&2
	exit 1
fi
while IFS= read -r f; do
	if [ ! -r "$TARGET_DIR/lib/inetboot/$f.sh" ]; then
		echo "post-build.sh: /init sources lib/inetboot/$f.sh, which is not in the image" >&2
		exit 1
	fi
done <"$TARGET_DIR/lib/inetboot/libs"

# Mount points the init uses; entry data is appended by inetboot at ISO time under etc/inetboot.
mkdir -p "$TARGET_DIR/proc" "$TARGET_DIR/sys" "$TARGET_DIR/dev" "$TARGET_DIR/run" "$TARGET_DIR/tmp" "$TARGET_DIR/etc/inetboot"

# Nothing in the preboot reads these; they only make the image bigger.
rm -rf "$TARGET_DIR/usr/share/man" "$TARGET_DIR/usr/share/doc" "$TARGET_DIR/usr/share/locale"
