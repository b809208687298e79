/* tls.c - placeholder until the TLS transport lands (issue 4). */
#include <stdio.h>
#include "net/transport.h"

struct transport *tls_connect(const struct transport_cfg *cfg, char *err, size_t errlen)
{
	snprintf(err, errlen, "TLS is not built yet");
	return NULL;
}
