# The makefiles of inetboot's own packages (BR2_EXTERNAL tree).
include $(sort $(wildcard $(BR2_EXTERNAL_INETBOOT_PATH)/package/*/*.mk))
