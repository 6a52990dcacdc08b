"""Loaded by the tokens benchmark inside klaviyo-mcp-server's own Python (via PYTHONPATH) so that
Klaviyo's server runs offline against the local simulator, unchanged otherwise:

- the one request it makes at import time, for Klaviyo's OpenAPI document, is answered from the
  file named by KLAVIYO_OAS_FILE (the copy vendored in tools/vendor/klaviyo/);
- the klaviyo-api SDK's host becomes KLAVIYO_BENCH_API (the simulator on 127.0.0.1);
- any connection to a non-loopback address fails, so nothing can reach the internet.
"""

import json
import os
import socket

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_connect = socket.socket.connect


def _loopback_only(self, address):
    if isinstance(address, tuple) and address[0] not in _LOOPBACK:
        raise OSError(f"offline benchmark: no network access ({address[0]})")
    return _connect(self, address)


socket.socket.connect = _loopback_only

try:
    import requests
except ImportError:  # not klaviyo-mcp-server's environment: nothing else to do
    requests = None

if requests is not None:
    _real_get = requests.get

    class _Answer:
        status_code = 200

        def __init__(self, data):
            self._data = data

        def raise_for_status(self):
            return None

        def json(self):
            return self._data

    def _get(url, *args, **kwargs):
        if "raw.githubusercontent.com/klaviyo/openapi" in str(url):
            with open(os.environ["KLAVIYO_OAS_FILE"], encoding="utf-8") as spec:
                return _Answer(json.load(spec))
        return _real_get(url, *args, **kwargs)

    requests.get = _get

_api = os.environ.get("KLAVIYO_BENCH_API")
if _api:
    try:
        from openapi_client import configuration
    except ImportError:
        configuration = None
    if configuration is not None:
        configuration.Configuration.get_host_settings = lambda self: [
            {"url": _api, "description": "local simulator"}
        ]
