################################################################################
#
# inetboot-blockd: the block daemon of a lazily fetched root, from ../daemon of
# this repository (daemon/Makefile; README, "Publishing a root")
#
################################################################################

INETBOOT_BLOCKD_VERSION = local
INETBOOT_BLOCKD_SITE = $(BR2_EXTERNAL_INETBOOT_PATH)/../daemon
INETBOOT_BLOCKD_SITE_METHOD = local
INETBOOT_BLOCKD_LICENSE = GPL-2.0+
INETBOOT_BLOCKD_DEPENDENCIES = host-pkgconf libfuse3 libcurl openssl zstd

define INETBOOT_BLOCKD_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) OUT=$(@D)/build \
		CC="$(TARGET_CC)" CFLAGS="$(TARGET_CFLAGS)" \
		PKG_CONFIG="$(PKG_CONFIG_HOST_BINARY)" $(@D)/build/inetboot-blockd
endef

# Installed as /sbin/@inetboot-blockd too: started by that name, systemd spares it at shutdown.
define INETBOOT_BLOCKD_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/build/inetboot-blockd $(TARGET_DIR)/usr/sbin/inetboot-blockd
	ln -sf inetboot-blockd $(TARGET_DIR)/usr/sbin/@inetboot-blockd
endef

$(eval $(generic-package))
