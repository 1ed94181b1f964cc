/* plugin_badabi.c: a plugin built for a future major ABI; the loader must
 * refuse it before calling any of its code. */
#include "onloan_plugin.h"

const struct onloan_link_plugin onloan_link_plugin = {
    .abi_major = ONLOAN_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "badabi",
};
