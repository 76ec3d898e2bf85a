"""Real servers some tests need, started on loopback and stopped afterwards:
``redis-server`` (installed by `make test`) and ``chroma run`` (from chromadb)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import free_port

CHROMA = Path(sys.executable).with_name("chroma")


def stop(process: subprocess.Popen) -> None:
    """Terminate a server process, killing it if it does not stop within 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def running_redis(workdir: Path) -> Iterator[str]:
    """A Redis server without persistence; yields its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: `make test` installs the Debian package")
    port = free_port()
    arguments = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [binary, *arguments, "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop(process)


@contextmanager
def running_chroma(path: Path) -> Iterator[int]:
    """``chroma run`` on a fresh directory; yields its port."""
    port = free_port()
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "chroma run exited"
                assert time.monotonic() < deadline, "chroma run did not start"
                time.sleep(0.3)
        yield port
    finally:
        stop(process)
