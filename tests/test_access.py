"""Access, limits and HTTP hardening through a real server: API keys made with the CLI,
roles, the SSO-proxy mode, refusing an open non-loopback bind, security headers, CORS,
body limits and rate limits."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from assistant.settings import Settings
from tests.conftest import REPO, free_port
from tests.test_api import server_env, start_server, stop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keyed(ingested: Settings, tmp_path_factory) -> Iterator[tuple[str, dict[str, str], Settings]]:
    """A server over the real index whose keys live in their own file."""
    keys_file = tmp_path_factory.mktemp("keys") / "api_keys.sqlite"
    settings = ingested.model_copy(update={"api_keys_file": keys_file})
    env = server_env(settings, WEGWIJZER_API_KEYS_FILE=str(keys_file), WEGWIJZER_AUTH_MODE="keys")
    keys = {}
    for name, role in (("medewerker", "user"), ("beheer", "admin"), ("oud", "user")):
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "assistant.cli",
                "keys",
                "create",
                "--name",
                name,
                "--role",
                role,
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        keys[name] = made.stdout.strip().splitlines()[-1]
    listed = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "keys", "list"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert listed.count("active") == 3 and keys["beheer"].split("_", 2)[2] not in listed
    old_id = keys["oud"].split("_")[1]
    subprocess.run(
        [sys.executable, "-m", "assistant.cli", "keys", "revoke", old_id],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    process, base = start_server(env)
    yield base, keys, settings
    stop(process)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_and_roles(keyed) -> None:
    base, keys, _ = keyed
    query = {"query": "algoritmeregister"}
    anonymous = httpx.post(f"{base}/api/search", json=query, timeout=60)
    assert anonymous.status_code == 401
    assert "API-sleutel" in anonymous.json()["detail"]
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert (
        httpx.post(f"{base}/api/search", json=query, headers=_bearer(keys["oud"])).status_code
        == 401
    )
    assert (
        httpx.post(
            f"{base}/api/search", json=query, headers={"X-API-Key": keys["medewerker"]}, timeout=60
        ).status_code
        == 200
    )

    admin_page = f"{base}/api/admin/feedback"
    forbidden = httpx.get(admin_page, headers=_bearer(keys["medewerker"]))
    assert forbidden.status_code == 403 and "beheerders" in forbidden.json()["detail"]
    allowed = httpx.get(admin_page, headers=_bearer(keys["beheer"]))
    assert allowed.status_code == 200 and isinstance(allowed.json(), list)
    # the health check and the chat page stay reachable for monitoring and sign-in
    assert httpx.get(f"{base}/api/health").status_code == 200
    assert httpx.get(f"{base}/").status_code == 200


def test_security_headers_and_no_cors_by_default(keyed) -> None:
    base, keys, _ = keyed
    response = httpx.post(
        f"{base}/api/search",
        json={"query": "DPIA"},
        headers=_bearer(keys["medewerker"]) | {"Origin": "https://evil.example"},
        timeout=60,
    )
    assert response.status_code == 200
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert "access-control-allow-origin" not in headers
    preflight = httpx.options(
        f"{base}/api/search",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    page = httpx.get(f"{base}/")
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_oversized_bodies_are_refused_before_parsing(keyed) -> None:
    base, keys, _ = keyed
    big = {"query": "x" * 200_000}
    declared = httpx.post(f"{base}/api/search", json=big, headers=_bearer(keys["medewerker"]))
    assert declared.status_code == 413 and "te groot" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        yield b'{"query": "'
        for _ in range(100):
            yield b"x" * 2000
        yield b'"}'

    streamed = httpx.post(
        f"{base}/api/search",
        content=chunks(),
        headers=_bearer(keys["medewerker"]) | {"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413 and "te groot" in streamed.json()["detail"]


def test_rate_limit_gives_429_with_retry_after(ingested: Settings, tmp_path) -> None:
    env = server_env(
        ingested, WEGWIJZER_RATE_LIMIT="3/minute", WEGWIJZER_API_KEYS_FILE=str(tmp_path / "k.db")
    )
    process, base = start_server(env)
    try:
        statuses = [
            httpx.post(f"{base}/api/search", json={"query": "DPIA"}, timeout=60) for _ in range(4)
        ]
    finally:
        stop(process)
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    limited = statuses[-1]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "te veel vragen" in limited.json()["detail"]


def test_proxy_mode_believes_only_the_trusted_proxy(ingested: Settings, tmp_path) -> None:
    def behind_proxy(trusted: str) -> dict[str, str]:
        return server_env(
            ingested,
            WEGWIJZER_AUTH_MODE="proxy",
            WEGWIJZER_API_KEYS_FILE=str(tmp_path / "k.db"),
            WEGWIJZER_TRUSTED_PROXIES=f'["{trusted}"]',
        )

    process, base = start_server(behind_proxy("127.0.0.1"))
    try:
        user = {"X-Forwarded-User": "a.devries@gemeente.nl", "X-Forwarded-Groups": "medewerkers"}
        admin = {"X-Forwarded-User": "beheer@gemeente.nl", "X-Forwarded-Groups": "wegwijzer-admin"}
        no_user = httpx.post(f"{base}/api/search", json={"query": "DPIA"}, timeout=60)
        as_user = httpx.post(f"{base}/api/search", json={"query": "DPIA"}, headers=user, timeout=60)
        # a proxy on the same host adds the end user's address: the peer is still the proxy
        relayed = httpx.post(
            f"{base}/api/search",
            json={"query": "DPIA"},
            headers=user | {"X-Forwarded-For": "203.0.113.7"},
            timeout=60,
        )
        user_admin = httpx.get(f"{base}/api/admin/feedback", headers=user)
        as_admin = httpx.get(f"{base}/api/admin/feedback", headers=admin)
    finally:
        stop(process)
    assert no_user.status_code == 401 and "inlogproxy" in no_user.json()["detail"]
    assert as_user.status_code == 200
    assert relayed.status_code == 200, relayed.text
    assert user_admin.status_code == 403
    assert as_admin.status_code == 200

    process, base = start_server(behind_proxy("10.0.0.1"))
    try:
        forged = httpx.post(f"{base}/api/search", json={"query": "DPIA"}, headers=user, timeout=60)
        # nor does claiming to come from the trusted proxy make it so
        claimed = httpx.post(
            f"{base}/api/search",
            json={"query": "DPIA"},
            headers=user | {"X-Forwarded-For": "10.0.0.1"},
            timeout=60,
        )
    finally:
        stop(process)
    assert forged.status_code == 403
    assert claimed.status_code == 403


def test_single_user_mode_refuses_a_network_address(ingested: Settings, tmp_path) -> None:
    env = server_env(ingested, WEGWIJZER_API_KEYS_FILE=str(tmp_path / "none.db"))
    assert env["WEGWIJZER_AUTH_MODE"] == "single_user"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "single-user mode" in result.stdout + result.stderr


def test_single_user_mode_is_a_user_and_says_so_at_start(ingested: Settings, tmp_path) -> None:
    """The local user of single-user mode is never an administrator; an admin key still
    opens the admin pages, and the server warns in its log that it runs without keys."""
    from assistant.security.api_keys import KeyStore

    keys_file = tmp_path / "keys.db"
    _, admin_key = KeyStore(keys_file).create("beheer", "admin")
    process, base = start_server(server_env(ingested, WEGWIJZER_API_KEYS_FILE=str(keys_file)))
    try:
        search = httpx.post(f"{base}/api/search", json={"query": "DPIA"}, timeout=60)
        anonymous_admin = httpx.get(f"{base}/api/admin/feedback", timeout=30)
        keyed_admin = httpx.get(
            f"{base}/api/admin/feedback", headers=_bearer(admin_key), timeout=30
        )
    finally:
        stop(process)
    log = process.stderr.read().decode() if process.stderr else ""
    assert search.status_code == 200
    assert anonymous_admin.status_code == 403
    assert keyed_admin.status_code == 200
    assert "Single-user mode" in log


def test_without_keys_nobody_gets_in_and_revoking_the_last_key_keeps_it_closed(
    ingested: Settings, tmp_path
) -> None:
    """API-key mode on loopback with no (or no more) keys is closed, not open."""
    from assistant.security.api_keys import KeyStore

    keys = KeyStore(tmp_path / "keys.db")
    env = server_env(
        ingested, WEGWIJZER_API_KEYS_FILE=str(tmp_path / "keys.db"), WEGWIJZER_AUTH_MODE="keys"
    )
    process, base = start_server(env)
    try:
        before = httpx.get(f"{base}/api/admin/feedback", timeout=30)
        made, key = keys.create("enige", "admin")
        with_key = httpx.get(f"{base}/api/admin/feedback", headers=_bearer(key), timeout=30)
        keys.revoke(made.id)
        after = httpx.post(f"{base}/api/search", json={"query": "DPIA"}, timeout=60)
        admin_after = httpx.get(f"{base}/api/admin/feedback", timeout=30)
    finally:
        stop(process)
    assert before.status_code == 401 and "API-sleutel" in before.json()["detail"]
    assert with_key.status_code == 200
    assert after.status_code == 401
    assert admin_after.status_code == 401
    log = process.stderr.read().decode() if process.stderr else ""
    assert "No active API keys" in log


def _cli_create_key(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """`wegwijzer keys create ARGS` against the key file of ``settings``."""
    env = server_env(settings, WEGWIJZER_API_KEYS_FILE=str(settings.api_keys_path))
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "keys", "create", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def metrics_key(keyed) -> str:
    """A metrics key made with the CLI in the running keyed server's key file."""
    _, _, settings = keyed
    made = _cli_create_key(settings, "--name", "prometheus", "--role", "metrics")
    assert made.returncode == 0, made.stderr
    assert "(metrics, /metrics only)" in made.stderr
    return made.stdout.strip().splitlines()[-1]


def test_a_metrics_key_reads_metrics_and_nothing_else(keyed, metrics_key: str) -> None:
    from assistant.api.access import Principal

    base, keys, settings = keyed
    scraped = httpx.get(f"{base}/metrics", headers=_bearer(metrics_key), timeout=60)
    assert scraped.status_code == 200
    assert "wegwijzer_http_requests_total" in scraped.text
    assert httpx.get(f"{base}/metrics", headers=_bearer(keys["beheer"])).status_code == 200
    as_user = httpx.get(f"{base}/metrics", headers=_bearer(keys["medewerker"]))
    assert as_user.status_code == 403

    refused = {
        "search": httpx.post(
            f"{base}/api/search", json={"query": "DPIA"}, headers=_bearer(metrics_key)
        ),
        "chat": httpx.post(
            f"{base}/api/chat", json={"message": "Wat is een DPIA?"}, headers=_bearer(metrics_key)
        ),
        "feedback": httpx.post(
            f"{base}/api/feedback",
            json={"message_id": "x", "rating": "up"},
            headers=_bearer(metrics_key),
        ),
        "admin": httpx.get(f"{base}/api/admin/feedback", headers=_bearer(metrics_key)),
        "dashboard": httpx.get(f"{base}/api/admin/dashboard", headers=_bearer(metrics_key)),
    }
    for what, response in refused.items():
        assert response.status_code == 403, what
        assert "/metrics" in response.json()["detail"], what
    # nor does it read a collection where a page checks that itself (document pages)
    assert not Principal("key:p", "metrics", "prometheus").may_read("algemeen")

    bound = _cli_create_key(
        settings, "--name", "p2", "--role", "metrics", "--collection", "algemeen"
    )
    assert bound.returncode == 2 and "metrics key reads no collection" in bound.stderr


def test_metrics_role_in_a_key_file_made_before_it(tmp_path) -> None:
    """A key file whose table allowed only user and admin takes a metrics key, and its
    keys keep working."""
    import hashlib
    import sqlite3

    from assistant.security.api_keys import KeyStore

    path = tmp_path / "old.sqlite"
    secret = "s" * 43
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL "
            "CHECK (role IN ('user', 'admin')), secret_sha256 TEXT NOT NULL, "
            "created_at REAL NOT NULL, revoked_at REAL)"
        )
        db.execute(
            "INSERT INTO api_keys VALUES ('0123456789ab', 'beheer', 'admin', ?, 1.0, NULL)",
            (hashlib.sha256(secret.encode()).hexdigest(),),
        )
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE api_keys SET role = 'metrics'")  # what the old CHECK refused

    store = KeyStore(path)
    old = store.check(f"wgw_0123456789ab_{secret}")
    assert old is not None and old.role == "admin" and old.name == "beheer"
    made, plain = store.create("prometheus", "metrics")
    checked = store.check(plain)
    assert checked is not None and checked.role == "metrics" and checked.id == made.id
    assert [key.role for key in KeyStore(path).list()] == ["admin", "metrics"]
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
    assert "api_keys_before_roles" not in tables
