"""`tipoff` as a real process, as an operator runs it: a clean environment, a source's
write key from the CLI, and `tipoff serve` on a loopback port it binds itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

# uvicorn's line once it listens, naming the port it bound.
_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def tipoff_env(**settings: str) -> dict[str, str]:
    """The test process's environment without any Tipoff or Slack setting, plus `settings`."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "TIPOFF_", "DATABASE_URL"))
    }
    return {**clean, **settings}


def add_source(cwd: Path, env: dict[str, str], name: str = "app") -> str:
    """Creates a source with `tipoff sources add` and returns the write key it printed."""
    added = subprocess.run(
        [sys.executable, "-m", "tipoff", "sources", "add", name],
        cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return added.stdout.splitlines()[1].strip()


class Server:
    """`tipoff serve` on a loopback port it binds itself (`--port 0`: a port picked here
    and bound later could be taken meanwhile by another process, whose /healthz would then
    answer for it); ready (GET /healthz answered 200) once constructed."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env
        self.log = cwd / f"serve-{uuid.uuid4().hex[:8]}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tipoff", "serve", "--port", "0"],
                cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while (found := _LISTENING.search(self.log.read_text())) is None:
            assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)
        self.port = int(found[1])
        self.url = f"http://127.0.0.1:{self.port}"
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, then the exit status (uvicorn re-raises the signal after a graceful
        shutdown, so −SIGTERM is a clean end too)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)
