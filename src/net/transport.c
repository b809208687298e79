/* transport.c - pick TCP or TLS for a connection; see net/transport.h. */
#include "net/transport.h"

struct transport *transport_connect(const struct transport_cfg *cfg, char *err, size_t errlen)
{
	return cfg->tls ? tls_connect(cfg, err, errlen) : tcp_connect(cfg, err, errlen);
}
