/* plugin_newminor.c: a plugin built against a newer minor ABI than the
 * host's: refused, as a plugin may be older but not newer. */
#include "onloan_plugin.h"

const struct onloan_link_plugin onloan_link_plugin = {
    .abi_major = ONLOAN_PLUGIN_ABI_MAJOR,
    .abi_minor = ONLOAN_PLUGIN_ABI_MINOR + 1,
    .name = "newminor",
};
