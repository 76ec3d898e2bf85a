"""Who is asking: an API key, a user named by a trusted SSO proxy, or, in single-user
mode (an explicit setting, loopback only), the one local user, with the role ``user``."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from fastapi import HTTPException, Request, status

from assistant.security.api_keys import KeyStore, Role
from assistant.settings import Settings

NEEDS_KEY = (
    "Deze dienst vraagt een API-sleutel. Stuur die mee als 'Authorization: Bearer <sleutel>'; "
    "een beheerder maakt sleutels aan met 'wegwijzer keys create'."
)
WRONG_KEY = "Deze API-sleutel is onbekend of ingetrokken."
NOT_VIA_PROXY = "Deze dienst is alleen bereikbaar via de inlogproxy van de gemeente."
NO_PROXY_USER = "De inlogproxy gaf geen gebruiker door; log opnieuw in."
ADMINS_ONLY = "Dit deel is alleen voor beheerders."


@dataclass(frozen=True)
class Principal:
    """The caller: ``identity`` is what limits count against."""

    identity: str
    role: Role
    name: str
    collections: tuple[str, ...] | None = None  # None: every collection

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_read(self, collection: str) -> bool:
        if self.role == "metrics":  # a metrics key reads /metrics only
            return False
        return self.collections is None or collection in self.collections


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SINGLE_USER = Principal("single-user", "user", "lokale gebruiker")


def client_address(peer: str, forwarded_for: str | None, trusted: list[str]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the nearest
    address in its X-Forwarded-For that is not itself a trusted proxy (the left part of
    the header is the client's own to write, so it is read from the right)."""
    if peer not in trusted or not forwarded_for:
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if hop in trusted:
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return peer
    return peer


def open_bind_problem(settings: Settings, keys: KeyStore) -> str | None:
    """Why the server must not start as configured, or None when it may start.

    Single-user mode lets every caller in without a key, so it is for loopback only;
    an API-key server without keys lets nobody in, which is closed, not open. Proxy
    mode believes user headers only from proxies named explicitly."""
    if settings.auth_mode == "proxy" and not settings.trusted_proxies:
        return (
            "Proxy mode needs WEGWIJZER_TRUSTED_PROXIES: the addresses of the reverse "
            "proxies whose user headers are believed, e.g. '[\"127.0.0.1\"]' for nginx on "
            "this host. Without it any process that can connect could claim any user."
        )
    if settings.auth_mode != "single_user" or is_loopback(settings.host):
        return None
    return (
        f"Refusing to listen on {settings.host} in single-user mode: anyone on the network "
        "could use the assistant. Bind to 127.0.0.1, or use API keys "
        "(WEGWIJZER_AUTH_MODE=keys, 'wegwijzer keys create --name <who>') or an SSO proxy "
        "(WEGWIJZER_AUTH_MODE=proxy)."
    )


def warn_about_access(settings: Settings, keys: KeyStore) -> None:
    """Log, at start-up, a mode that lets everyone in, or nobody."""
    log = logging.getLogger(__name__)
    if settings.auth_mode == "single_user":
        log.warning(
            "Single-user mode (WEGWIJZER_AUTH_MODE=single_user): every request to %s:%s is "
            "answered without a key, as the local user (role 'user'; the admin pages need "
            "an admin key). Use API keys or an SSO proxy when others can reach this port, "
            "including through a reverse proxy.",
            settings.host,
            settings.port,
        )
    elif settings.auth_mode == "keys" and keys.active_count() == 0:
        log.warning(
            "No active API keys: every request is refused until one is created with "
            "'wegwijzer keys create --name <who>'."
        )


class Access:
    """Identifies the caller of a request under the configured mode."""

    def __init__(self, settings: Settings, keys: KeyStore) -> None:
        self._settings = settings
        self._keys = keys

    def identify(self, request: Request) -> Principal:
        """The caller, or an HTTP 401/403 with a Dutch explanation. In single-user mode a
        presented key still counts (an administrator's key opens the admin pages)."""
        client = request.client.host if request.client else "unknown"
        if self._settings.auth_mode == "proxy":
            return self._from_proxy(request, client)
        presented = _presented_key(request)
        if presented is None:
            if self._settings.auth_mode == "single_user":
                return SINGLE_USER
            raise _unauthorized(NEEDS_KEY)
        key = self._keys.check(presented)
        if key is None:
            raise _unauthorized(WRONG_KEY)
        return Principal(
            f"key:{key.id}", key.role, key.name, self._bound(key.role, key.collections)
        )

    def _bound(self, role: Role, collections: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """The collections a caller may read: its own; with tenant isolation, a user bound
        to none reads only the shared collection (an unbound admin runs the platform)."""
        if collections or role == "admin" or not self._settings.tenant_isolation:
            return collections or None
        return (self._settings.default_collection,)

    def _from_proxy(self, request: Request, client: str) -> Principal:
        if client not in self._settings.trusted_proxies:
            raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VIA_PROXY)
        user = request.headers.get(self._settings.proxy_user_header, "").strip()
        if not user:
            raise _unauthorized(NO_PROXY_USER)
        groups = request.headers.get(self._settings.proxy_groups_header, "")
        names = {g.strip() for g in groups.replace(";", ",").replace(" ", ",").split(",")}
        role: Role = "admin" if self._settings.proxy_admin_group in names else "user"
        prefix = self._settings.proxy_collection_group_prefix
        collections = tuple(
            sorted(n[len(prefix) :] for n in names if prefix and n.startswith(prefix))
        )
        return Principal(f"user:{user}", role, user, self._bound(role, collections))


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key") or None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )
