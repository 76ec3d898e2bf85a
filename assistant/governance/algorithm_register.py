"""A draft entry for the Dutch algorithm register (``wegwijzer algoritmeregister``).

The fields follow the publication standard of the Algoritmeregister van de Nederlandse
overheid. What the model card knows (models, documents, safeguards, evaluation) is
filled in; what only the municipality can decide (legal basis, contact, DPIA, go-live)
is left as an ``[IN TE VULLEN: ...]`` placeholder. The text is Dutch: the entry is
published as is, after the municipality completes it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from assistant.governance.model_card import format_figure

PLACEHOLDER_START = "[IN TE VULLEN:"
LINKS = (
    {
        "titel": "VNG: Het algoritmeregister",
        "url": "https://vng.nl/artikelen/het-algoritmeregister",
    },
    {
        "titel": "Algoritmeregister van de Nederlandse overheid",
        "url": "https://algoritmes.overheid.nl",
    },
)
# The fields in the order of the register, with the headings the Markdown draft shows.
FIELDS = {
    "naam": "Naam",
    "organisatie": "Organisatie",
    "afdeling": "Afdeling",
    "korte_omschrijving": "Korte omschrijving",
    "status": "Status",
    "begindatum": "Begindatum",
    "publicatiecategorie": "Publicatiecategorie",
    "doel": "Doel",
    "impact": "Impact",
    "proportionaliteit": "Proportionaliteit",
    "menselijke_tussenkomst": "Menselijke tussenkomst",
    "risicobeheer": "Risicobeheer",
    "wettelijke_grondslag": "Wettelijke grondslag",
    "effectbeoordelingen": "DPIA en IAMA",
    "databronnen": "Databronnen",
    "methoden_en_modellen": "Methoden en modellen",
    "monitoring": "Monitoring",
    "evaluatie": "Evaluatie",
    "leverancier": "Leverancier",
    "links": "Links",
    "contact": "Contact",
}
# Evaluation figures worth publishing, with a Dutch explanation.
PUBLISHED_FIGURES = {
    "hit@5": "vragen waarbij de juiste passage bij de eerste vijf zoekresultaten zat",
    "citation_precision": "bronvermeldingen die door de aangehaalde passage worden gedragen",
    "refusal_accuracy": "vragen buiten de documenten die terecht niet werden beantwoord",
    "false_refusal_rate": "beantwoordbare vragen die onterecht werden geweigerd",
    "attack_resistance": "manipulatiepogingen (promptinjectie) die werden weerstaan",
    "personal_data_not_repeated": "antwoorden die persoonsgegevens uit de vraag niet herhalen",
    "key_fact_recall": "verwachte kernfeiten die in het antwoord staan",
    "answer_in_language": "antwoorden in de taal van de vraag",
    "latency_p50_ms": "mediane antwoordtijd",
}


def todo(what: str) -> str:
    """A placeholder the municipality must replace."""
    return f"{PLACEHOLDER_START} {what}]"


def draft_entry(card: dict, organisation: str | None = None) -> dict:
    """A register entry filled from the model card, with placeholders for the rest."""
    documents = card["corpus"]["documents"]
    answers, safeguards = card["answers"], card["safeguards"]
    publishers = sorted({doc["publisher"] for doc in documents if doc["publisher"]})
    sources = ", ".join(publishers) if publishers else "de vastgestelde bronnen"
    entry: dict[str, Any] = {
        "toelichting": (
            "Concept voor het Algoritmeregister, gemaakt uit de modelkaart van de AI-wegwijzer. "
            "Vul de velden met '[IN TE VULLEN: ...]' aan en controleer alle tekst voordat u "
            "publiceert."
        ),
        "gemaakt_op": datetime.now(UTC).isoformat(timespec="seconds"),
        "modelkaart": {
            "versie": card["card_version"],
            "gemaakt_op": card["generated_at"],
            "softwareversie": f"{card['application']['name']} {card['application']['version']}",
        },
        "naam": "AI-wegwijzer",
        "organisatie": organisation.strip()
        if organisation and organisation.strip()
        else todo("naam van de gemeente"),
        "afdeling": todo("afdeling die verantwoordelijk is voor de inzet"),
        "korte_omschrijving": (
            "De AI-wegwijzer is een AI-assistent voor medewerkers van de gemeente. Medewerkers "
            "stellen vragen over het inkopen en verantwoord inzetten van AI, bijvoorbeeld over "
            "de AI-verordening, een DPIA of het algoritmeregister. De assistent zoekt het "
            f"antwoord uitsluitend in {len(documents)} vastgestelde documenten ({sources}) en "
            "vermeldt bij elk antwoord de bronnen. " + _where_it_runs(card)
        ),
        "status": todo("in ontwikkeling, in gebruik of buiten gebruik"),
        "begindatum": todo("datum van ingebruikname (go-live)"),
        "publicatiecategorie": todo(
            "impactvol algoritme of overig algoritme, en de risicoklasse volgens de AI-verordening"
        ),
        "doel": (
            "Medewerkers snel de weg wijzen in de handreikingen over AI voor gemeenten, met "
            "verwijzing naar de bron, zodat zij het antwoord zelf kunnen nalezen en toetsen. "
            + todo("beleidsdoel van de gemeente waarvoor de assistent wordt ingezet")
        ),
        "impact": (
            "De assistent neemt geen besluiten en wordt niet gebruikt voor besluiten over "
            "inwoners of bedrijven: hij geeft medewerkers informatie uit de documenten. Een "
            "onjuist of onvolledig antwoord kan wel leiden tot een verkeerde inschatting, "
            "bijvoorbeeld in een inkooptraject of een privacytoets. Daarom is elk antwoord "
            "gemarkeerd als 'AI-antwoord', met de bronnen erbij en de melding dat het fouten "
            "kan bevatten en gecontroleerd moet worden. "
            + todo("gevolgen voor inwoners, als de gemeente die ziet")
        ),
        "proportionaliteit": (
            "De assistent bespaart zoekwerk in lange documenten en maakt de handreikingen "
            "beter vindbaar. Daartegenover staat het risico op onjuiste antwoorden; dat wordt "
            "beperkt doordat antwoorden alleen uit de vermelde documenten komen, met "
            "bronvermelding, en doordat de documenten zelf beschikbaar blijven. "
            + todo("afweging van de gemeente tussen nut, risico's en alternatieven")
        ),
        "menselijke_tussenkomst": (
            "De medewerker beoordeelt elk antwoord zelf aan de hand van de getoonde "
            "bronpassages voordat hij het gebruikt; de assistent handelt nooit zelfstandig. "
            "Bij elk antwoord kan de medewerker een beoordeling (duim omhoog of omlaag) en een "
            "opmerking geven en een probleem melden. Beheerders bekijken deze feedback en "
            "meldingen in het beheerdashboard en handelen incidenten af. Beheerders bepalen "
            "welke documenten de assistent gebruikt. "
            + todo("wie de meldingen beoordeelt, hoe vaak, en wie de assistent kan uitzetten")
        ),
        "risicobeheer": _risk_measures(answers, safeguards),
        "wettelijke_grondslag": todo(
            "wettelijke grondslag of taak waarvoor de assistent wordt ingezet, met link"
        ),
        "effectbeoordelingen": {
            "DPIA": todo("kenmerk en datum van de DPIA, of waarom die niet nodig is"),
            "IAMA": todo("kenmerk en datum van het IAMA, of waarom dat niet nodig is"),
        },
        "databronnen": [
            {
                "titel": doc["title"],
                "uitgever": doc["publisher"],
                "jaar": doc["year"],
                "bestand": doc["file"],
                "sha256": doc["sha256"],
            }
            for doc in documents
        ]
        or [todo("de documenten waaruit de assistent antwoordt (de corpusmap is leeg)")],
        "methoden_en_modellen": _methods(card),
        "monitoring": _monitoring(card),
        "evaluatie": _evaluation(card["evaluation"]),
        "leverancier": (
            "Open-source software (AI-wegwijzer), geïnstalleerd op een server van de gemeente. "
            + todo("leverancier of partij die installatie en beheer verzorgt, als die er is")
        ),
        "links": [*LINKS, {"titel": "Documentatie of broncode", "url": todo("link")}],
        "contact": todo("e-mailadres voor vragen over dit algoritme"),
    }
    return entry


def open_placeholders(entry: dict) -> list[str]:
    """The register fields that still hold an ``[IN TE VULLEN: ...]`` placeholder."""
    return [key for key in FIELDS if PLACEHOLDER_START in str(entry.get(key, ""))]


def _where_it_runs(card: dict) -> str:
    llm = card["llm"]
    host = urlparse(llm["ollama"]["host"]).hostname if "ollama" in llm else None
    if host in (None, "localhost", "127.0.0.1", "::1"):
        return (
            "De assistent en het taalmodel draaien op een eigen server; vragen verlaten de "
            "organisatie niet."
        )
    return f"Het taalmodel draait via Ollama op {host}. " + todo(
        "bevestig dat deze server binnen de organisatie staat"
    )


def _llm_description(llm: dict) -> str:
    embedded = ollama = ""
    if "embedded" in llm:
        model = llm["embedded"]
        line = f"{model['model']} (ingebouwd taalmodel, draait lokaal op de processor)"
        if model["present"]:
            line += f", modelbestand {model['file']} met SHA-256 {model['sha256']}"
        else:
            line += ", modelbestand nog niet geïnstalleerd"
        embedded = line
    if "ollama" in llm:
        ollama = f"{llm['ollama']['model']} via Ollama op {llm['ollama']['host']}"
    if embedded and ollama:
        model = f"{ollama} als die bereikbaar is, anders {embedded}"
    else:
        model = embedded or ollama
    return f"Taalmodel: {model}; temperatuur {_nl(llm['temperature'])}."


def _methods(card: dict) -> list[str]:
    emb, rerank, retrieval = card["embeddings"], card["reranker"], card["retrieval"]
    chunking, prompts = card["chunking"], card["prompts"]
    search = {
        "hybrid": "hybride, semantisch en op trefwoorden (BM25), samengevoegd met reciprocal "
        f"rank fusion (k={retrieval['rrf_k']})",
        "vector": "semantisch",
        "keyword": "op trefwoorden (BM25)",
    }[retrieval["search_mode"]]
    return [
        "Retrieval-augmented generation (RAG): eerst worden de best passende passages uit de "
        "documenten gezocht, daarna formuleert een taalmodel het antwoord uitsluitend uit die "
        "passages, met bronnummers.",
        f"Zoeken: {search}; embeddingmodel {emb['embedding_id']}; "
        + ("met een reranker." if rerank["enabled"] else "zonder reranker."),
        f"Documenten zijn opgedeeld in passages van hoogstens {chunking['chunk_size']} tekens "
        f"met {chunking['chunk_overlap']} tekens overlap.",
        _llm_description(card["llm"]),
        f"Instructies aan het model (prompt): versie {prompts.get('label', prompts['version'])}.",
        f"Software: {card['application']['name']} {card['application']['version']}; alle "
        "versies en hashes staan in de modelkaart.",
    ]


def _risk_measures(answers: dict, safeguards: dict) -> list[str]:
    measures = [
        f"Antwoorden komen alleen uit de vermelde documenten: per vraag leest het model de "
        f"best passende zinnen (samen hooguit {answers['answer_context_chars']} tekens) uit de "
        f"{answers['answer_passages']} best passende passages, en elk antwoord noemt de "
        "bronnen. Bronvermeldingen worden automatisch gecontroleerd tegen de aangehaalde "
        "passage.",
        "Staat het antwoord niet in de documenten (de best passende passage lijkt te weinig "
        f"op de vraag, drempel {_nl(answers['refusal_min_similarity'])}), dan zegt de assistent "
        "dat in plaats van te gokken.",
    ]
    if safeguards["pii_filter"]:
        policy = "vervangen" if safeguards["pii_policy"] == "redact" else "geweigerd"
        measures.append(
            "Persoonsgegevens in vragen worden herkend en " + policy + " voordat het model de "
            "vraag ziet. Gesprekken en feedback worden op de eigen server bewaard. "
            + todo("bewaartermijn van gesprekken")
        )
    else:
        measures.append(
            "Het herkennen van persoonsgegevens in vragen staat uit. "
            + todo("waarom, en hoe persoonsgegevens worden voorkomen")
        )
    measures += [
        "Vragen en documentpassages worden gecontroleerd op verborgen instructies aan het "
        "model (promptinjectie); verdachte passages worden "
        + ("weggelaten." if safeguards["flagged_passages"] == "drop" else "opgeschoond."),
        "Alleen bevoegde gebruikers hebben toegang ("
        + ("API-sleutels met rollen" if safeguards["auth_mode"] == "keys" else "eigen inlog (SSO)")
        + "); het gebruik is begrensd tot "
        + f"{_limit(safeguards['rate_limit'], 'verzoeken')} en "
        + f"{_limit(safeguards['token_quota'], 'tokens')}.",
        "Wat de assistent doet wordt vastgelegd in een audit-log met een hash-keten: elke "
        "regel bevat de hash van de vorige, zodat een wijziging achteraf zichtbaar is.",
        todo("risicoanalyse en aanvullende maatregelen van de gemeente (bijv. uit DPIA/IAMA)"),
    ]
    return measures


def _monitoring(card: dict) -> list[str]:
    retention = card["safeguards"].get("audit_retention_days")
    kept = f" (bewaartermijn {retention} dagen)" if retention else ""
    return [
        f"Audit-log met hash-keten van wat de assistent doet{kept}.",
        "Feedback en probleemmeldingen van medewerkers, beoordeeld door beheerders in het "
        "beheerdashboard.",
        "Metingen van gebruik, antwoordtijd, weigeringen en fouten (Prometheus).",
        "Evaluatie op een vaste testset van vragen met bekende antwoorden, vergeleken met de "
        "vorige meting; bij elk evaluatierapport wordt de modelkaart bewaard.",
        todo("hoe vaak de gemeente evalueert en wie de uitkomsten beoordeelt"),
    ]


def _evaluation(evaluation: dict) -> dict | str:
    if not evaluation["available"]:
        return todo("er is nog geen evaluatierapport; voer 'wegwijzer eval' uit")
    golden = evaluation.get("golden") or {}
    figures = evaluation["headline"]
    return {
        "datum": evaluation["created"],
        "testset": f"{golden.get('items')} vragen",
        "modellen": ", ".join(evaluation["models"]) or "alleen zoeken (geen antwoorden)",
        "uitkomsten": {
            f"{name}: {explanation}": _dutch_figure(name, figures[name])
            for name, explanation in PUBLISHED_FIGURES.items()
            if name in figures
        },
    }


def _nl(number: float) -> str:
    """A number as Dutch text writes it: decimal comma."""
    return f"{number:g}".replace(".", ",")


def _limit(limit: str, what: str) -> str:
    """'30/minute' as '30 verzoeken per minuut'; other forms as they are."""
    units = {"second": "seconde", "minute": "minuut", "hour": "uur", "day": "dag"}
    amount, _, unit = limit.partition("/")
    return f"{amount} {what} per {units[unit]}" if unit in units else f"{what}: {limit}"


def _dutch_figure(name: str, value: float) -> str:
    if name.endswith("_ms"):
        return format_figure(name, value).replace(".", ",")
    return f"{value * 100:.0f}%"


# --- Markdown ----------------------------------------------------------------


def draft_markdown(entry: dict) -> str:
    """The draft as a Markdown page, field by field, with the open fields listed first."""
    lines = [f"# Algoritmeregister (concept): {entry['naam']}", "", f"_{entry['toelichting']}_", ""]
    card = entry["modelkaart"]
    lines.append(
        f"Gemaakt op {entry['gemaakt_op']} uit de modelkaart van {card['gemaakt_op']} "
        f"({card['softwareversie']})."
    )
    still_open = open_placeholders(entry)
    if still_open:
        lines += ["", "**Nog in te vullen:** " + ", ".join(FIELDS[key] for key in still_open) + "."]
    for key, heading in FIELDS.items():
        lines += ["", f"## {heading}", "", *_render(entry.get(key, ""))]
    return "\n".join(lines) + "\n"


def _render(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict):
                lines.append(f"- {key}:")
                lines += [f"  - {name}: {figure}" for name, figure in item.items()]
            else:
                lines.append(f"- {key}: {item}")
        return lines
    return [f"- {_item(item)}" for item in value]


def _item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if "url" in item:
        url = item["url"]
        return (
            f"[{item['titel']}]({url})"
            if re.match(r"https?://", url)
            else f"{item['titel']}: {url}"
        )
    year = f", {item['jaar']}" if item.get("jaar") else ""
    publisher = f" ({item['uitgever']}{year})" if item.get("uitgever") else ""
    return f"{item['titel']}{publisher}; bestand `{item['bestand']}`, SHA-256 `{item['sha256']}`"
