"""Prompt-injection screening for questions and document passages (OWASP LLM01/LLM07).

Each rule is a Dutch or English pattern with a weight; a text's score combines the
weights of the rules it matches (noisy-or: 1 - prod(1 - w)), so one strong signal or
several weak ones cross the threshold. Text is normalised first (Unicode NFKC,
zero-width characters removed, s p a c e d letters joined, leetspeak read as
letters), and base64 or hex blobs are decoded and screened as well.

A question is screened sentence by sentence: the sentences that carry the attack
are removed and the rest is answered; when nothing is left, the question is refused.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass, field

_I = re.IGNORECASE

# (name, weight, pattern): patterns are matched on normalised, lower-cased text
RULES: list[tuple[str, float, re.Pattern]] = [
    # --- override the instructions ----------------------------------------------------
    (
        "ignore_instructions",
        0.9,
        re.compile(
            r"\b(ignore|disregard|forget|skip|override|bypass)\b.{0,40}\b(instructions?|rules?|"
            r"prompts?|guidelines|directions|restrictions|constraints|guardrails)\b",
            _I,
        ),
    ),
    (
        "negeer_instructies",
        0.9,
        re.compile(
            r"\b(negeer|vergeet|omzeil|schend|overschrijf|laat)\b.{0,40}\b(instructies?|regels?|"
            r"opdrachten?|prompts?|richtlijnen|beperkingen|afspraken|systeemprompt)\b",
            _I,
        ),
    ),
    (
        "new_instructions",
        0.6,
        re.compile(
            r"\b(new|updated|real|actual) (instructions?|rules|task|orders)\b|"
            r"\b(nieuwe|echte|aangepaste) (instructies?|regels|opdracht|taak)\b",
            _I,
        ),
    ),
    (
        "rules_disabled",
        0.8,
        re.compile(
            r"\b(regels|beperkingen|beveiliging\w*|filters?|restrictions|rules|safety|"
            r"guardrails)\b.{0,40}\b(uitgeschakeld|uitgezet|opgeheven|vervallen|staan uit|"
            r"gelden niet|disabled|lifted|turned off|switched off|no longer apply)\b",
            _I,
        ),
    ),
    # --- extract the system prompt -------------------------------------------------------
    (
        "system_prompt",
        0.7,
        re.compile(
            r"\b(system|systeem|initial|hidden|verborgen|geheime?)[ -]?(prompt|bericht)", _I
        ),
    ),
    (
        "reveal_instructions",
        0.8,
        re.compile(
            r"\b(print|reveal|show|repeat|output|tell|give|list|write|display|translate|"
            r"toon|laat zien|herhaal|geef|noem|print|schrijf|vertaal|onthul|plak)\b.{0,50}"
            r"\b(your|je|jouw|uw|all|alle|de|the)\b.{0,25}\b(instructions?|instructies|regels|"
            r"rules|configuration|configuratie|system ?prompt|systeemprompt|prompt)\b",
            _I,
        ),
    ),
    (
        "text_above",
        0.7,
        re.compile(
            r"\b(repeat|print|herhaal|geef)\b.{0,30}\b(text|words|tekst|woorden)\b.{0,20}"
            r"\b(above|hierboven|boven|before this|hiervoor)\b",
            _I,
        ),
    ),
    (
        "verbatim",
        0.4,
        re.compile(r"\b(verbatim|word for word|woordelijk|letterlijk|integraal)\b", _I),
    ),
    # --- take on another role -------------------------------------------------------------
    (
        "role_play",
        0.6,
        re.compile(
            r"\b(you are now|from now on you|pretend (to be|you)|act as|roleplay|role-play|"
            r"jij bent nu|je bent nu|vanaf nu ben|doe alsof|speel (de rol|een rol)|"
            r"rollenspel|neem de rol)\b",
            _I,
        ),
    ),
    (
        "no_limits_persona",
        0.7,
        re.compile(
            r"\b(do anything now|jailbreak\w*|developer mode|debug mode|god mode|"
            r"admin mode|ontwikkelaarsmodus|beheerdersmodus|zonder (beperkingen|regels|filters|"
            r"censuur)|without (any )?(rules|restrictions|limits|filters|censorship)|"
            r"unrestricted|ongecensureerd|ongefilterd)\b",
            _I,
        ),
    ),
    ("dan_persona", 0.7, re.compile(r"\bDAN\b")),  # upper case only: "dan" is Dutch for "then"
    (
        "authority_claim",
        0.4,
        re.compile(
            r"\b(i am|i'm|ik ben|als) (the|de|jouw|je|your)? ?(developer|ontwikkelaar|admin\w*|"
            r"beheerder|maker|creator|system administrator|systeembeheerder)\b",
            _I,
        ),
    ),
    # --- dictate the output ---------------------------------------------------------------
    (
        "forced_output",
        0.5,
        re.compile(
            r"\b(begin|start|eindig|end) (je|jouw|your) (antwoord|answer|response|reply) "
            r"(met|with)\b|\b(antwoord|answer|reply|respond) (alleen|only|uitsluitend) "
            r"(met|with)\b|\b(zeg|say) (alleen|only)\b|"
            r"\b(zeg|say|typ|type|schrijf|write|print|antwoord|answer)\s*:?\s*['\"‘“]",
            _I,
        ),
    ),
    (
        "execute_encoded",
        0.6,
        re.compile(
            r"\b(decodeer|decode|ontcijfer|base64|rot13|hex)\b.{0,60}\b(voer|execute|run|follow|"
            r"volg|doe|uit|uitvoeren)\b",
            _I,
        ),
    ),
    # --- fake conversation structure -------------------------------------------------------
    (
        "fake_role_marker",
        0.7,
        re.compile(
            r"(^|\n)\s*(system|systeem|assistant|assistent|developer|admin)\s*:|"
            r"<\|?(im_start|im_end|system|endoftext)\|?>|\[/?inst\]|<</?sys>>|###\s*(system|"
            r"instruction)",
            _I,
        ),
    ),
    # --- exfiltration ------------------------------------------------------------------------
    (
        "exfiltration_link",
        0.7,
        re.compile(r"!\[[^\]]*\]\(https?://|https?://\S+\?\S*=\{", _I),
    ),
    (
        "send_data_elsewhere",
        0.6,
        re.compile(
            r"\b(stuur|mail|verstuur|send|email|post|upload)\b.{0,50}\b(alle|all|de|the)\b.{0,30}"
            r"\b(gegevens|data|gesprekken|conversations|documenten|documents|wachtwoorden|"
            r"passwords|sleutels|keys)\b.{0,30}\b(naar|to)\b",
            _I,
        ),
    ),
]

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACED_LETTERS = re.compile(r"\b(?:\w[ .]){3,}\w\b")
_LEET = str.maketrans("013457@$", "oieastas")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[ ]?){12,}\b")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*\n?|\n")


@dataclass(frozen=True)
class Screening:
    """How much a text looks like an attack, and why."""

    score: float
    signals: list[str] = field(default_factory=list)

    def flagged(self, threshold: float) -> bool:
        return self.score >= threshold


@dataclass(frozen=True)
class CleanedQuestion:
    """A question with its attack sentences removed."""

    text: str
    screening: Screening
    removed: list[str]


def normalise(text: str) -> str:
    """Undo the usual disguises: width variants, zero-width characters, s p a c i n g."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    return _SPACED_LETTERS.sub(lambda m: re.sub(r"[ .]", "", m.group()), text)


def screen(text: str) -> Screening:
    """Score ``text`` (and whatever it hides in base64 or hex) against every rule."""
    variants = [normalise(text)]
    variants.append(variants[0].translate(_LEET))
    variants += _decoded_blobs(variants[0])
    signals: dict[str, float] = {}
    for variant in variants:
        for name, weight, pattern in RULES:
            if pattern.search(variant):
                signals[name] = weight
    if len(variants) > 2:
        signals.setdefault("encoded_text", 0.2)
    remaining = 1.0
    for weight in signals.values():
        remaining *= 1.0 - weight
    return Screening(round(1.0 - remaining, 3), sorted(signals))


def clean_question(question: str, threshold: float) -> CleanedQuestion:
    """Remove the sentences that score at or above ``threshold`` on their own; if the
    question as a whole is flagged, also those with any signal."""
    whole = screen(question)
    if not whole.flagged(threshold):
        return CleanedQuestion(question, whole, [])
    kept, removed = [], []
    for sentence in (s for s in _SENTENCE.findall(question) if s.strip()):
        if screen(sentence).signals:
            removed.append(sentence.strip())
        else:
            kept.append(sentence)
    rest = "".join(kept).strip()
    if rest and screen(rest).flagged(threshold):
        rest = ""
    return CleanedQuestion(rest, whole, removed)


def neutralise(passage: str, threshold: float) -> str:
    """A passage without the sentences that carry instructions to the model: those that
    score at least half the threshold on their own."""
    sentences = [s for s in _SENTENCE.findall(passage) if s.strip()]
    return "".join(s for s in sentences if screen(s).score < threshold / 2).strip()


def _decoded_blobs(text: str) -> list[str]:
    decoded = []
    for blob in _BASE64.findall(text):
        try:
            value = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
            decoded.append(value.decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    for blob in _HEX.findall(text):
        try:
            decoded.append(bytes.fromhex(blob.replace(" ", "")).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
    return [d for d in decoded if sum(c.isprintable() for c in d) > 0.9 * len(d)]
