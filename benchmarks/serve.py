"""Start gunicorn on 127.0.0.1 for a measurement or a gate, and stop it again.

Used by the booking benchmark, the Lighthouse run and the HTTP race gate in the test suite, so
that all of them run the same server the same way: `clinic_site.wsgi` under the benchmark settings
(production, minus TLS and throttles: see `clinic_site/settings/benchmark.py`), sync workers, a
database named by URL.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "clinic_site.settings.benchmark"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    pid: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def collectstatic(static_root: Path, env: dict[str, str]) -> None:
    """Production settings serve hashed, compressed files through WhiteNoise: collect them."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**env, "DJANGO_STATIC_ROOT": str(static_root)},
        check=True,
    )


def _wait_ready(server: Server, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{server.log.read_text()}")
        try:
            conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
            conn.request("GET", "/api/v1/specialties/")
            status = conn.getresponse().status
            conn.close()
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{server.log.read_text()}")


@contextmanager
def gunicorn(
    *,
    database_url: str,
    workers: int = 2,
    secret_key: str | None = None,
    env: dict[str, str] | None = None,
    static_root: Path | None = None,
    preload: bool = False,
    timeout: float = 60,
) -> Iterator[Server]:
    """Run `workers` sync workers against `database_url` until the block ends.

    `static_root`: run collectstatic into it first (pages with static files; the API needs none).
    `secret_key`: share one with the caller to mint tokens it will send (a random one otherwise).
    """
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])
    server_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": secret_key or secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    if static_root is not None:
        collectstatic(static_root, server_env)
        server_env["DJANGO_STATIC_ROOT"] = str(static_root)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "clinic_site.wsgi",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--backlog",
        "2048",
        "--timeout",
        "120",
        "--error-logfile",
        "-",
    ]
    if preload:
        command.append("--preload")
    with log.open("w") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("127.0.0.1", port, proc.pid, log)
    try:
        _wait_ready(server, proc, timeout)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
