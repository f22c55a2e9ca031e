"""The web server's own lines in propdesk's log format (core.logs): gunicorn's logger class
(`--logger-class`, processes.gunicorn_argv). Gunicorn's start-up and error lines go through the
same handler as the application's; each request's access line is a record of the
`gunicorn.access` logger, its message the method, with its request id and actor (left in the
WSGI environ by core.request_ids) and its figures as fields: path, status, duration_ms, bytes,
remote, user_agent. The path is a field, not part of the message: the formatter quotes and
escapes a field's value, so that a path such as `/x%20actor=staff:1` reads as the path it is.
The query string is left out (it may carry a token); so is the referrer."""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any

from gunicorn import glogging

from propdesk.core import logs
from propdesk.core.request_ids import ENVIRON_ACTOR, ENVIRON_REQUEST_ID, HEADER


class GunicornLogger(glogging.Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # The same configuration as Django's LOGGING (the master loads no settings; a worker
        # applies LOGGING again when it loads the site, to the same effect).
        logging.config.dictConfig(logs.logging_setting(os.environ))
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True
        # gunicorn holds its access logger at INFO: the probes' DEBUG lines would never show,
        # even with PROPDESK_LOG_LEVEL=DEBUG. It takes the level asked for instead.
        self.access_log.setLevel(logs.log_level(os.environ))

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        try:
            fields = access_fields(resp, environ, request_time)
            level = access_level(fields["path"], fields["status"])
            self.access_log.log(level, "%s", environ.get("REQUEST_METHOD"), extra=fields)
        except Exception:
            self.error_log.exception("the access line could not be written")


# Asked every few seconds by a load balancer or Prometheus: their answers that went well are
# DEBUG lines, so that they do not bury the requests of people.
PROBES = {"/healthz", "/readyz", "/metrics"}


def access_level(path: str | None, status: Any) -> int:
    if path in PROBES and isinstance(status, int) and status < 400:
        return logging.DEBUG
    return logging.INFO


def access_fields(resp: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
    status = resp.status
    if isinstance(status, str):
        status = status.split(None, 1)[0]
    request_id = environ.get(ENVIRON_REQUEST_ID) or _header(resp, HEADER)
    return {
        "request_id": request_id,
        "actor": environ.get(ENVIRON_ACTOR),
        "path": environ.get("PATH_INFO"),
        "status": int(status) if str(status).isascii() and str(status).isdigit() else status,
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
        "bytes": getattr(resp, "sent", None),
        "remote": environ.get("REMOTE_ADDR"),
        "user_agent": environ.get("HTTP_USER_AGENT"),
    }


def _header(resp: Any, name: str) -> str | None:
    for key, value in getattr(resp, "headers", None) or []:
        if key.lower() == name.lower():
            return str(value)
    return None
