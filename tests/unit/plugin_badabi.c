/* plugin_badabi.c: a plugin built for a future major ABI, with a
 * constructor; the loader must refuse it before any of its code runs: the
 * constructor would set ONLOAN_BADABI_RAN in the environment. */
#include <stdlib.h>

#include "onloan_plugin.h"

__attribute__((constructor)) static void badabi_constructor(void)
{
    setenv("ONLOAN_BADABI_RAN", "1", 1);
}

const struct onloan_link_plugin onloan_link_plugin = {
    .abi_major = ONLOAN_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "badabi",
};
