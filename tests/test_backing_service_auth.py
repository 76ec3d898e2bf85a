"""Credentials for the backing services (deploy/kubernetes): the app sends the Chroma token, and
the manifests' own Redis command line and Chroma token proxy, run here for real on loopback,
let the app in with the example credentials and nobody without them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import redis
from chromadb.api.shared_system_client import SharedSystemClient

from assistant.conversations import open_conversation_store
from assistant.security.rate_limits import RateLimited, RateLimits
from assistant.settings import Settings
from ingest.store import StoreUnavailable, create_client
from tests.conftest import free_port
from tests.services import CHROMA, stop
from tests.test_deploy_files import (
    BACKING_SECRET,
    container,
    container_env,
    example_secrets,
    expand,
    k8s_docs,
    render_nginx_template,
)

# --- the client sends the token ------------------------------------------------------------


@contextmanager
def recording_chroma() -> Iterator[tuple[int, list[tuple[str, str | None]]]]:
    """A stand-in Chroma server that answers what ``HttpClient`` asks when it connects and
    records each request's path and X-Chroma-Token."""
    seen: list[tuple[str, str | None]] = []
    answers = {
        "/api/v2/heartbeat": {"nanosecond heartbeat": 1},
        "/api/v2/auth/identity": {
            "user_id": "",
            "tenant": "default_tenant",
            "databases": ["default_database"],
        },
        "/api/v2/tenants/default_tenant": {"name": "default_tenant"},
        "/api/v2/tenants/default_tenant/databases/default_database": {
            "id": "00000000-0000-0000-0000-000000000000",
            "name": "default_database",
            "tenant": "default_tenant",
        },
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            seen.append((path, self.headers.get("X-Chroma-Token")))
            answer = answers.get(path)
            body = json.dumps(answer or {"error": "NotFound", "message": path}).encode()
            self.send_response(200 if answer else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.unit
@pytest.mark.parametrize("token", ["geheim-token-1", None])
def test_http_client_sends_the_chroma_token_on_every_request(
    token: str | None, tmp_path: Path
) -> None:
    with recording_chroma() as (port, seen):
        settings = Settings(
            _env_file=None,
            data_dir=tmp_path,
            chroma_mode="http",
            chroma_host="127.0.0.1",
            chroma_port=port,
            chroma_token=token,
        )
        assert create_client(settings).heartbeat() == 1
    assert ("/api/v2/heartbeat", token) in seen
    assert {sent for _, sent in seen} == {token}  # also when connecting (tenant, database)


# --- Redis as redis.yaml starts it -----------------------------------------------------------


@contextmanager
def manifest_redis(workdir: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """redis-server with the command line of redis.yaml (the example password filled in as the
    kubelet does), on a loopback port; yields the port and the container's environment."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: `make test` installs the Debian package")
    docs = k8s_docs()
    env = container_env(docs, "redis", "redis")
    args = [expand(arg, env) for arg in container(docs, "redis", "redis")["args"]]
    port = free_port()
    local = ["--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir)]
    process = subprocess.Popen(
        [binary, *args[1:], *local], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis(host="127.0.0.1", port=port).ping()
            except redis.AuthenticationError:
                break  # up, and it wants a login
            except redis.ConnectionError:
                assert process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
            else:
                pytest.fail("redis-server answers without a login")
        yield port, env
    finally:
        stop(process)


@pytest.mark.integration
def test_manifest_redis_serves_the_app_with_the_password_and_nobody_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = k8s_docs()
    api_env = container_env(docs, "wegwijzer-api", "api")
    with manifest_redis(tmp_path) as (port, redis_env):

        def local(url: str) -> str:  # the Service "redis" is this loopback port here
            assert "@redis:6379/" in url
            return url.replace("@redis:6379/", f"@127.0.0.1:{port}/")

        settings = Settings(
            _env_file=None,
            data_dir=tmp_path,
            conversation_store="redis",
            redis_url=local(api_env["WEGWIJZER_REDIS_URL"]),
            limits_storage_uri=local(api_env["WEGWIJZER_LIMITS_STORAGE_URI"]),
            rate_limit="2/minute",
            token_quota="1000/day",
        )
        # rate limits and token quotas (limits, with its Lua scripts) under the ACL user
        limits = RateLimits(settings)
        limits.count_request("key:k8s")
        limits.count_request("key:k8s")
        with pytest.raises(RateLimited):
            limits.count_request("key:k8s")
        assert limits.reserve_tokens("key:k8s", 600) == 600
        limits.settle_tokens("key:k8s", 600, 100)
        assert limits.tokens_left("key:k8s") == 900

        # conversations, feedback, the answer cache, pruning and the backup's dump
        store = open_conversation_store(settings)
        store.ping()
        conversation = store.create()
        message = store.add_exchange(conversation, "Vraag?", "Vraag?", "Antwoord.", {})
        assert [t.answer for t in store.history(conversation, 3)] == ["Antwoord."]
        feedback = store.add_feedback(message, "down", "klopt niet", True)
        assert [f.id for f in store.feedback()] == [feedback.id]
        store.handle_feedback(feedback.id, "nagekeken", "beheerder")
        store.cache("sleutel", {"answer": "Antwoord."})
        assert store.cached("sleutel") == {"answer": "Antwoord."}
        assert any(record for record in store.dump())
        store.prune(time.time() + 10)
        assert not store.exists(conversation)

        # without the password, with a wrong one, and the commands the user may not run
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=port).ping()
        wrong = settings.redis_url.replace(redis_env["REDIS_PASSWORD"], "fout")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(wrong).ping()
        admin = redis.Redis.from_url(settings.redis_url)
        for command in (("CONFIG", "SET", "dir", "/tmp"), ("FLUSHALL",), ("KEYS", "*")):
            with pytest.raises(redis.exceptions.NoPermissionError):
                admin.execute_command(*command)

        # the probes: readiness logs in (REDISCLI_AUTH) and fails on an error reply
        ready = container(docs, "redis", "redis")["readinessProbe"]["exec"]["command"]
        probe_env = {"PATH": os.environ["PATH"], **redis_env}
        command = [ready[0], "-p", str(port), *ready[1:]]
        assert subprocess.run(command, env=probe_env, capture_output=True).returncode == 0
        probe_env.pop("REDISCLI_AUTH")
        assert subprocess.run(command, env=probe_env, capture_output=True).returncode != 0


# --- Chroma behind the token proxy of chroma.yaml ---------------------------------------------


def wait_for(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert process.poll() is None, f"{what} exited"
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.2)


@pytest.mark.integration
def test_manifest_chroma_proxy_lets_in_only_the_token(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx not installed (make service-deps installs it)")
    docs = k8s_docs()
    token = example_secrets()[BACKING_SECRET]["CHROMA_TOKEN"]
    chroma_port, proxy_port = free_port(), free_port()

    # Chroma with the container's environment: CHROMA_* overrides its /config.yaml
    chroma_env = container_env(docs, "chroma", "chroma")
    assert chroma_env.pop("CHROMA_PORT") == "8001"
    config = tmp_path / "config.yaml"
    config.write_text(f'persist_path: "{tmp_path / "data"}"\n', encoding="utf-8")
    env = {"PATH": os.environ["PATH"], **chroma_env, "CHROMA_PORT": str(chroma_port)}
    processes = [
        subprocess.Popen(
            [str(CHROMA), "run", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        wait_for(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", processes[0], "chroma")
        # its liveness probe, in the container
        liveness = container(docs, "chroma", "chroma")["livenessProbe"]["exec"]["command"]
        liveness = [part.replace("/8001", f"/{chroma_port}") for part in liveness]
        assert subprocess.run(liveness, capture_output=True).returncode == 0

        # the proxy with the ConfigMap's configuration, as the nginx image renders it
        data = docs[("ConfigMap", "chroma-proxy")]["data"]
        conf_d = tmp_path / "conf.d"
        conf_d.mkdir()
        site = render_nginx_template(
            data["chroma.conf.template"], container_env(docs, "chroma", "proxy")
        )
        site = site.replace("listen 8000;", f"listen 127.0.0.1:{proxy_port};")
        site = site.replace("127.0.0.1:8001", f"127.0.0.1:{chroma_port}")
        (conf_d / "chroma.conf").write_text(site, encoding="utf-8")
        main = data["nginx.conf"].replace(" /tmp/", f" {tmp_path}/")
        main = main.replace("/etc/nginx/conf.d/", f"{conf_d}/")
        (tmp_path / "nginx.conf").write_text(main, encoding="utf-8")
        processes.append(
            subprocess.Popen(
                [
                    nginx,
                    "-e",
                    "stderr",
                    "-p",
                    str(tmp_path),
                    "-c",
                    str(tmp_path / "nginx.conf"),
                    "-g",
                    "daemon off;",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        proxy = f"http://127.0.0.1:{proxy_port}"
        wait_for(f"{proxy}/proxy-health", processes[1], "nginx")

        tenant = f"{proxy}/api/v2/tenants/default_tenant"
        assert httpx.get(tenant).status_code == 401
        assert httpx.get(tenant, headers={"X-Chroma-Token": "fout"}).status_code == 401
        assert httpx.get(tenant, headers={"X-Chroma-Token": token.upper()}).status_code == 401
        assert httpx.get(tenant, headers={"X-Chroma-Token": token}).status_code == 200
        assert httpx.get(f"{proxy}/api/v2/heartbeat").status_code == 200  # the probes

        # the app's own client, with the token the API gets from the Secret
        api_env = container_env(docs, "wegwijzer-api", "api")
        settings = Settings(
            _env_file=None,
            data_dir=tmp_path,
            chroma_mode="http",
            chroma_host="127.0.0.1",
            chroma_port=proxy_port,
            chroma_token=api_env["WEGWIJZER_CHROMA_TOKEN"],
        )
        collection = create_client(settings).get_or_create_collection("k8s-proxy")
        collection.add(ids=["a"], documents=["tekst"], embeddings=[[0.1, 0.2, 0.3]])
        assert collection.count() == 1
        SharedSystemClient.clear_system_cache()  # chromadb keeps one client per address
        with pytest.raises(StoreUnavailable, match="401"):
            create_client(settings.model_copy(update={"chroma_token": None}))
    finally:
        for process in reversed(processes):
            stop(process)
