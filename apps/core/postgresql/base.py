"""Django's PostgreSQL backend, with the connection health check at most once a second.

With CONN_HEALTH_CHECKS Django runs `SELECT 1` before the first query of every request, so that
a persistent connection the server dropped (a restart, a failover) is replaced instead of failing
the request. Under load that is one more round trip per API call, and about a twentieth of a
validation's CPU. Here a connection checked less than `HEALTH_CHECK_INTERVAL` seconds ago is
taken as healthy: a busy worker checks once a second, an idle one before its next request.
"""

import time

from django.db.backends.postgresql import base

HEALTH_CHECK_INTERVAL = 1.0  # seconds


class DatabaseWrapper(base.DatabaseWrapper):
    checked_at = float("-inf")  # time.monotonic() of this connection's last health check

    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        now = time.monotonic()
        if now - self.checked_at < HEALTH_CHECK_INTERVAL:
            self.health_check_done = True
            return
        self.checked_at = now
        super().close_if_health_check_failed()
