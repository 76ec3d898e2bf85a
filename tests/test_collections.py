"""Multi-tenancy: collections per municipality, keys bound to the collections they may
read, through the real CLI and a real HTTP server. A key of one collection never
retrieves another's chunks.

Answers are refused unless retrieval is near certain (WEGWIJZER_REFUSAL_MIN_SIMILARITY
=0.99), so /api/chat shows what retrieval returned without the model generating.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from assistant.settings import Settings
from tests.conftest import make_settings, write_small_corpus
from tests.test_api import server_env, start_server, stop
from tests.test_cli import wegwijzer

pytestmark = pytest.mark.integration

UTRECHT_QUESTION = "Hoe vaak controleert de gemeente Utrecht de parkeerscanauto?"


def _cli(env: dict[str, str], *args: str) -> str:
    """Run a command that must succeed; its last line of output (stdout, else stderr)."""
    done = wegwijzer(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr


@pytest.fixture(scope="module")
def tenants(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, str], Settings]]:
    tmp = tmp_path_factory.mktemp("collections")
    shared = write_small_corpus(tmp / "shared")
    local = tmp / "utrecht"
    local.mkdir()
    (local / "parkeren.md").write_text(
        "# Parkeerscanauto Utrecht\n\nDe gemeente Utrecht controleert met de parkeerscanauto "
        "elke werkdag alle betaalde parkeerplaatsen in het centrum. Het algoritme staat in "
        "het algoritmeregister van Utrecht.\n",
        encoding="utf-8",
    )
    settings = make_settings(tmp, shared)
    env = server_env(settings, WEGWIJZER_REFUSAL_MIN_SIMILARITY="0.99", WEGWIJZER_AUTH_MODE="keys")
    assert "collection algemeen" in _cli(env, "ingest")
    assert "collection utrecht" in _cli(
        env, "ingest", "--collection", "utrecht", "--corpus-dir", str(local)
    )
    keys = {
        "utrecht": _cli(env, "keys", "create", "--name", "utrecht", "--collection", "utrecht"),
        "algemeen": _cli(env, "keys", "create", "--name", "vng", "--collection", "algemeen"),
        "beheer": _cli(env, "keys", "create", "--name", "beheer", "--role", "admin"),
        "beheer-utrecht": _cli(
            env,
            "keys",
            "create",
            "--name",
            "beheer-utrecht",
            "--role",
            "admin",
            "--collection",
            "utrecht",
        ),
        "los": _cli(env, "keys", "create", "--name", "los"),
    }
    listed = wegwijzer(env, "keys", "list").stdout.splitlines()
    scopes = {line.split("\t")[-1]: line.split("\t")[3] for line in listed}
    assert scopes == {
        "utrecht": "utrecht",
        "vng": "algemeen",
        "beheer": "*",
        "beheer-utrecht": "utrecht",
        "los": "*",
    }
    process, base = start_server(env)
    yield base, keys, settings
    stop(process)


def _search(base: str, key: str, query: str, **body: object) -> httpx.Response:
    return httpx.post(
        f"{base}/api/search",
        json={"query": query, "k": 10, **body},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def test_a_key_searches_only_its_own_collections(tenants) -> None:
    base, keys, _ = tenants
    own = _search(base, keys["utrecht"], UTRECHT_QUESTION)
    assert own.status_code == 200, own.text
    results = own.json()["results"]
    assert results[0]["doc_id"] == "parkeren"
    assert {r["collection"] for r in results} == {"utrecht"}

    other = _search(base, keys["algemeen"], UTRECHT_QUESTION)
    assert other.status_code == 200
    assert other.json()["results"], "the shared collection still answers the search"
    assert {r["collection"] for r in other.json()["results"]} == {"algemeen"}
    assert all(r["doc_id"] != "parkeren" for r in other.json()["results"])


def test_naming_a_collection_the_key_may_not_read_is_refused(tenants) -> None:
    base, keys, _ = tenants
    refused = _search(base, keys["algemeen"], UTRECHT_QUESTION, collections=["utrecht"])
    assert refused.status_code == 403
    assert "geen toegang" in refused.json()["detail"]
    refused = _search(base, keys["utrecht"], "DPIA", collections=["utrecht", "algemeen"])
    assert refused.status_code == 403
    unknown = _search(base, keys["beheer"], "DPIA", collections=["amersfoort"])
    assert unknown.status_code == 422
    assert "amersfoort" in unknown.json()["detail"]
    invalid = _search(base, keys["beheer"], "DPIA", collections=["Den Haag"])
    assert invalid.status_code == 422


def test_an_unbound_key_may_search_several_collections_at_once(tenants) -> None:
    base, keys, _ = tenants
    both = _search(base, keys["beheer"], UTRECHT_QUESTION, collections=["algemeen", "utrecht"])
    assert both.status_code == 200
    results = both.json()["results"]
    assert results[0]["doc_id"] == "parkeren"
    assert {r["collection"] for r in results} == {"algemeen", "utrecht"}
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))
    default = _search(base, keys["beheer"], UTRECHT_QUESTION).json()["results"]
    assert {r["collection"] for r in default} == {"algemeen"}, "unbound: the shared one"


def test_answers_retrieve_only_from_the_keys_collections(tenants) -> None:
    base, keys, _ = tenants
    chunk_ids = {}
    for name in ("utrecht", "algemeen"):
        response = httpx.post(
            f"{base}/api/chat",
            json={"message": UTRECHT_QUESTION},
            headers={"Authorization": f"Bearer {keys[name]}"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["collections"] == [name]
        chunk_ids[name] = set(body["retrieved"])
    assert chunk_ids["utrecht"] and chunk_ids["algemeen"]
    assert all(c.startswith("parkeren") for c in chunk_ids["utrecht"])
    assert not any(c.startswith("parkeren") for c in chunk_ids["algemeen"])
    refused = httpx.post(
        f"{base}/api/chat",
        json={"message": UTRECHT_QUESTION, "collections": ["utrecht"]},
        headers={"Authorization": f"Bearer {keys['algemeen']}"},
        timeout=60,
    )
    assert refused.status_code == 403


def test_documents_of_a_collection_only_for_its_readers(tenants) -> None:
    base, keys, _ = tenants
    public = httpx.get(f"{base}/api/documents").json()
    assert {d["doc_id"] for d in public} == {"inkoop", "privacy", "register"}

    def documents(key: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(f"{base}/api/documents?collection=utrecht", headers=headers)

    assert [d["doc_id"] for d in documents(keys["utrecht"]).json()] == ["parkeren"]
    assert documents(keys["algemeen"]).status_code == 404
    assert documents(None).status_code == 401
    page = httpx.get(
        f"{base}/documents/parkeren?collection=utrecht",
        headers={"Authorization": f"Bearer {keys['utrecht']}"},
    )
    assert page.status_code == 200 and "parkeerscanauto" in page.text
    hidden = httpx.get(
        f"{base}/documents/parkeren?collection=utrecht",
        headers={"Authorization": f"Bearer {keys['algemeen']}"},
    )
    assert hidden.status_code == 404
    assert httpx.get(f"{base}/documents/parkeren").status_code == 404, "not in the shared one"


def _get(base: str, key: str, path: str, **params: object) -> httpx.Response:
    return httpx.get(
        f"{base}{path}", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )


def test_an_admin_bound_to_a_collection_sees_only_its_questions(tenants) -> None:
    """Before, an admin key bound to one collection read every tenant's questions in
    /api/admin/*; the platform's unbound admin still does."""
    base, keys, _ = tenants
    asked = {}
    for name, question in (("utrecht", UTRECHT_QUESTION), ("algemeen", "Wat zegt de VNG?")):
        response = httpx.post(
            f"{base}/api/chat",
            json={"message": question},
            headers={"Authorization": f"Bearer {keys[name]}"},
            timeout=120,
        )
        asked[name] = response.json()
        rated = httpx.post(
            f"{base}/api/feedback",
            json={"message_id": asked[name]["message_id"], "rating": "down"},
            headers={"Authorization": f"Bearer {keys[name]}"},
        )
        assert rated.status_code == 201, rated.text

    def seen(key: str) -> tuple[set[str], set[str], str]:
        audit = _get(base, key, "/api/admin/audit/export").text
        questions = {json.loads(line)["details"].get("question", "") for line in audit.splitlines()}
        feedback = {item["question"] for item in _get(base, key, "/api/admin/feedback").json()}
        dashboard = _get(base, key, "/api/admin/dashboard", days=1)
        assert dashboard.status_code == 200
        return questions, feedback, json.dumps(dashboard.json()["content_gaps"])

    questions, feedback, gaps = seen(keys["beheer-utrecht"])
    assert UTRECHT_QUESTION in questions and "Wat zegt de VNG?" not in questions
    assert feedback == {UTRECHT_QUESTION}
    assert "VNG" not in gaps
    questions, feedback, _ = seen(keys["beheer"])
    assert {UTRECHT_QUESTION, "Wat zegt de VNG?"} <= questions
    assert {UTRECHT_QUESTION, "Wat zegt de VNG?"} <= feedback


def test_with_tenant_isolation_an_unbound_user_key_reads_only_the_shared_collection(
    tenants,
) -> None:
    """Without it (the default, for one municipality) an unbound key reads every
    collection; a shared install turns it on, and such a key is denied the others."""
    base, keys, settings = tenants
    utrecht = {"collections": ["utrecht"]}
    assert _search(base, keys["los"], UTRECHT_QUESTION, **utrecht).status_code == 200
    env = server_env(
        settings,
        WEGWIJZER_REFUSAL_MIN_SIMILARITY="0.99",
        WEGWIJZER_AUTH_MODE="keys",
        WEGWIJZER_TENANT_ISOLATION="true",
    )
    process, isolated = start_server(env)
    try:
        denied = _search(isolated, keys["los"], UTRECHT_QUESTION, **utrecht)
        shared = _search(isolated, keys["los"], "DPIA")
        platform = _search(isolated, keys["beheer"], UTRECHT_QUESTION, **utrecht)
    finally:
        stop(process)
    assert denied.status_code == 403
    assert shared.status_code == 200
    assert {r["collection"] for r in shared.json()["results"]} == {"algemeen"}
    assert platform.status_code == 200
