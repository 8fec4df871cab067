"""Rate limits on the doors abuse comes through: login, register, notifying, socket attempts.

Built on the `limits` library (the engine of flask-limiter) with one limiter per
app, so each app (and each test server) has its own settings. RATELIMIT_STORAGE_URI
picks the counters' storage: `memory://` for one process, or a shared store
(`redis://...`, `mongodb://...`) so that several instances count together.
"""

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app import metrics
from app.errors import HeraldError

EXTENSION = "herald.ratelimit"


class TooManyRequests(HeraldError):
    status_code = 429


class RateLimits:
    def __init__(self, config):
        self.enabled = config["RATELIMIT_ENABLED"]
        self.rules = {name: parse(value) for name, value in config["RATELIMITS"].items()}
        self.limiter = MovingWindowRateLimiter(storage_from_string(config["RATELIMIT_STORAGE_URI"]))

    def hit(self, rule, *identifiers):
        """Count one attempt against `rule` for `identifiers`; 429 once over the limit."""
        if not self.enabled:
            return
        limit = self.rules[rule]
        if self.limiter.hit(limit, rule, *identifiers):
            return
        metrics.RATE_LIMITED.labels(rule).inc()
        reset_at = self.limiter.get_window_stats(limit, rule, *identifiers).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"Too many requests ({limit}); try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )


def init_app(app):
    app.extensions[EXTENSION] = RateLimits(app.config)


def hit(app, rule, *identifiers):
    """Count a request of `app` against `rule` (a key of RATELIMITS)."""
    app.extensions[EXTENSION].hit(rule, *identifiers)
