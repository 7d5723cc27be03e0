################################################################################
#
# inetboot-ca-bundle
#
################################################################################

# No source to download: the bundle is a file on the build machine, named in the config.
INETBOOT_CA_BUNDLE_VERSION = 1
INETBOOT_CA_BUNDLE_SITE = $(BR2_EXTERNAL_INETBOOT_PATH)/package/inetboot-ca-bundle/src
INETBOOT_CA_BUNDLE_SITE_METHOD = local
INETBOOT_CA_BUNDLE_LICENSE = GPL-2.0+
INETBOOT_CA_BUNDLE_FILE = $(call qstrip,$(BR2_PACKAGE_INETBOOT_CA_BUNDLE_FILE))

define INETBOOT_CA_BUNDLE_INSTALL_TARGET_CMDS
	test -s "$(INETBOOT_CA_BUNDLE_FILE)" || \
		{ echo "inetboot-ca-bundle: $(INETBOOT_CA_BUNDLE_FILE) is missing or empty (BR2_PACKAGE_INETBOOT_CA_BUNDLE_FILE)"; exit 1; }
	$(INSTALL) -D -m 0644 "$(INETBOOT_CA_BUNDLE_FILE)" $(TARGET_DIR)/etc/ssl/certs/ca-certificates.crt
endef

$(eval $(generic-package))
