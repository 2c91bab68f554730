"""Production settings for measuring on one machine over plain HTTP (benchmarks, the race gate,
Lighthouse). Everything is production except what a loopback measurement cannot have:

- no HTTPS redirect and no TLS-proxy header (there is no TLS terminator on 127.0.0.1);
- throttles raised far above any benchmark's rate, so a figure measures the booking path, not
  the throttle (`CLINIC_BENCH_THROTTLE`, default 1,000,000/minute);
- the cache is the database table of production unless `CACHE_URL` says otherwise.

Never deploy with it: it exists so that measurements say exactly which settings they ran under.
"""

from .production import *  # noqa: F403
from .production import env

SECURE_SSL_REDIRECT = False
SECURE_PROXY_SSL_HEADER = None

_RATE = env("CLINIC_BENCH_THROTTLE", default="1000000/minute")
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], _RATE),  # noqa: F405
}
