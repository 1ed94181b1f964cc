/* plugin_nodesc.c: a shared object without the descriptor, whose symbol
 * of that name is a function: the loader must refuse it unloaded. */
#include "onloan_plugin.h"

int onloan_link_plugin(void);

int onloan_link_plugin(void)
{
    return ONLOAN_PLUGIN_ABI_MAJOR;
}
