/* mount_opts.c - placeholder */
#include "mount_opts.h"
