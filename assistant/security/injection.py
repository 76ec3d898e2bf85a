"""Prompt-injection screening for questions and document passages (OWASP LLM01/LLM07).

Rules in Dutch, English, German and French, each with a weight; a text's score combines
the weights of the rules it matches (noisy-or: 1 - prod(1 - w)), so one strong signal
or several weak ones cross the threshold. Two kinds of rule:

- phrase rules: a regular expression ("doe alsof je", "<|im_start|>", "ohne Filter");
- word rules: a trigger ("negeer", "ignore", "ignoriere", "oublie", "set aside") and a
  word it acts on ("instructies", "rules", "Anweisungen", "consignes") within a number of
  words of each other in the same sentence, in either order, and where the rule asks
  for it a word that points at the assistant's own instructions ("je", "your",
  "vorherigen", "précédentes", "meegekregen"). A long aside between them does not hide
  an attack, and no pattern has a gap to backtrack over.

Rules match the normal form of ``normalise.matching_form`` (NFKC, default-ignorable
code points removed, confusable letters of other scripts read as Latin, case and
accents folded), with s p a c e d, h-y-p-h-e-n-a-t-e-d and in*ter*rupt*ed words joined
and leetspeak read as letters; text spelled in tag characters, shown reversed by a
right-to-left override, or hidden in base64, hex or ROT13 is decoded and screened too.

A question is screened sentence by sentence: the sentences that carry the attack are
removed and the rest is answered; when nothing is left, the question is refused. A
``KnownAttacks`` (similarity to known attacks, with the app's embedding model) adds a
signal that does not depend on the wording.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from assistant.security.normalise import (
    displayed_order,
    hidden_tag_text,
    matching_form,
    without_ignorables,
)

_I = re.IGNORECASE


def _words(*alternatives: str) -> re.Pattern:
    """A pattern for one whole word (matched with ``fullmatch``)."""
    return re.compile("|".join(alternatives))


class WordRule(NamedTuple):
    """``trigger`` (a pattern over the sentence) and a word matching ``target`` at most
    ``after`` words after it or ``before`` words before it; with ``qualifier``, also a
    word matching it within three words before or eight after the target; with
    ``clause_has``, a match of that pattern in the same clause."""

    name: str
    weight: float
    trigger: re.Pattern
    target: re.Pattern
    qualifier: re.Pattern | None = None
    after: int = 30
    before: int = 6
    clause_has: re.Pattern | None = None


# --- what the word rules are made of (normal form: lower case, no accents) -------------------
_POSSESSIVE = r"your|yours|je|jouw|uw|dein|deine|deinen|deiner|deines|ton|ta|tes|votre|vos"
_EARLIER = (
    r"all|every|previous|prior|above|earlier|preceding|initial|original|foregoing|"
    r"alle|al|vorige|eerdere|voorgaande|bovenstaande|oorspronkelijke|"
    r"samtliche|samtlichen|vorherigen|bisherigen|obigen|vorigen|fruheren|ursprunglichen|"
    r"toutes|tous|precedentes|precedents|anterieures|initiales|originales"
)
_GIVEN = (
    r"gekregen|meegekregen|meegegeven|opgedragen|opgelegd|ingesteld|given|told|received|"
    r"gegeben|erhalten|bekommen|recues|recus|donnees|donnes"
)
_INSTRUCTIONS = _words(
    r"instruc\w*|instruktion(en)?|rules?|prompts?|guidelines?|directives?|directions|"
    r"restrictions?|constraints?|guardrails?|safeguards?|programming|polic(y|ies)|orders|"
    r"commands|configuration|training|filters?|limits|limitations|"
    r"regels?|opdracht(en)?|richtlijn(en)?|beperking(en)?|afspraken|systeemprompt|"
    r"aanwijzing(en)?|voorschrift(en)?|programmering|instellingen|"
    r"anweisung(en)?|regeln|vorgaben?|richtlinien?|befehle?|einschrankung(en)?|"
    r"systemprompt|anordnung(en)?|programmierung|beschrankung(en)?|"
    r"regles?|consignes?|limites|programmation|ordres"
)
_OWN = _words(_POSSESSIVE, _EARLIER, _GIVEN)
_SECRET_TEXT = _words(
    r"instruc\w*|instruktion(en)?|rules|configuration|config|prompt|systemprompt|"
    r"regels|configuratie|systeemprompt|instellingen|"
    r"anweisungen|systemanweisungen|konfiguration|regeln|"
    r"consignes|regles"
)
_SECRET_OWNER = _words(
    _POSSESSIVE,
    r"all|alle|al|toutes|samtliche|system|systeem|hidden|secret|verborgen|geheime|geheimen|"
    r"versteckten|secretes|cachees|initial|original|oorspronkelijke|volledige|full|"
    r"complete|entire|vollstandigen|gesamten|complet|complets|integral\w*",
    _GIVEN,
)
_DETERMINERS = frozenset(
    {"de", "het", "een", "die", "dat", "deze", "the", "a", "an", "der", "das", "den", "dem"}
    | {"des", "ein", "eine", "le", "la", "les", "un", "une"}
)
_AMBIGUOUS_POSSESSIVES = frozenset({"je", "ta"})  # also a subject pronoun / an article

WORD_RULES: list[WordRule] = [
    WordRule(
        "ignore_instructions",
        0.9,
        re.compile(
            r"\b(?:ignore|ignoring|disregard|forget|skip|override|overrule|bypass|circumvent|"
            r"discard|drop|abandon|dismiss|neglect|set aside|put aside|pay no attention to|"
            r"stop (?:following|obeying)|no longer (?:have to )?(?:follow|obey)|"
            r"(?:don't|do not|dont) (?:follow|obey)|never mind|throw (?:out|away)|"
            r"negeer|vergeet|omzeil|schend|overschrijf|veronachtzaam|"
            r"trek (?:je|jij|u) (?:niets|niks) aan|"
            r"(?:let|luister) niet (?:meer )?(?:naar|op)|geen rekening (?:meer )?met|"
            r"niet (?:meer|langer) (?:aan|volgen|opvolgen|gebonden)|"
            r"ignoriere|ignorier|vergiss|vergesst|missachte|ubergehe|umgehe|uberspringe|"
            r"verwirf|verwerfe|"
            r"(?:halte|haltet) dich nicht|nicht (?:mehr )?(?:befolgen|beachten|folgen)|"
            r"ignorez|ignorer|oublie|oubliez|oublier|contourne|contournez|neglige|negligez|"
            r"outrepasse|outrepassez|passe outre|ne tiens (?:plus |pas )?compte|"
            r"fais abstraction|laisse tomber|mets de cote|"
            r"ne (?:respecte|respectez|suis|suivez) (?:plus|pas))\b"
        ),
        _INSTRUCTIONS,
        qualifier=_OWN,
    ),
    WordRule(  # Dutch and German infinitives, participles and particles close the clause
        "ignore_instructions",
        0.9,
        re.compile(
            r"\b(?:negeren|vergeten|omzeilen|schenden|overschrijven|varen|opzij|los|"
            r"ignorieren|vergessen|missachten|ubergehen|umgehen|uberspringen|ausser kraft)\b"
        ),
        _INSTRUCTIONS,
        qualifier=_OWN,
        after=0,
        before=8,
    ),
    WordRule(
        "reveal_instructions",
        0.8,
        re.compile(
            r"\b(?:print|reveal|show|repeat|output|tell|give|list|write|display|translate|"
            r"dump|expose|leak|summari[sz]e|recite|copy|paste|share|disclose|spell out|"
            r"toon|tonen|laat zien|herhaal|geef|noem|schrijf|vertaal|onthul|plak|kopieer|"
            r"deel|citeer|zeig|zeige|gib|wiederhole|nenne|schreib|schreibe|ubersetze|"
            r"verrate|enthulle|kopiere|affiche|montre|revele|repete|donne|ecris|traduis|"
            r"recopie|copie|liste|dis|communique|devoile)\b"
        ),
        _SECRET_TEXT,
        qualifier=_SECRET_OWNER,
        after=12,
        before=4,
    ),
    WordRule(  # "welche Anweisungen hat man dir gegeben?": half a signal
        "asks_for_instructions",
        0.5,
        re.compile(r"\b(?:dir|dich|du|je|jij|u|you|tu|t'a|toi)\b"),
        _SECRET_TEXT,
        qualifier=_words(_GIVEN),
        after=6,
        before=6,
    ),
    WordRule(
        "text_above",
        0.7,
        re.compile(
            r"\b(?:repeat|print|copy|output|write|herhaal|geef|kopieer|schrijf|wiederhole|"
            r"kopiere|gib|repete|recopie|copie)\b"
        ),
        _words(r"above|hierboven|boven|oben|oberhalb|dessus"),
        qualifier=_words(
            r"text|words|everything|tekst|woorden|alles|texte|mots|tout|worter|"
            r"instruc\w*|prompt"
        ),
        after=10,
        before=0,
    ),
    WordRule(
        "rules_disabled",
        0.8,
        re.compile(
            r"\b(?:uitgeschakeld|uitgezet|staan uit|disabled|turned off|switched off|"
            r"deaktiviert|ausgeschaltet|desactivee?s?|"
            r"(?:gelden|geldt) niet (?:meer )?(?:voor (?:jou|je|mij)|hier)|"
            r"(?:niet|geen) (?:meer |langer )?(?:op mij |voor mij )?van toepassing|"
            r"no longer apply|(?:don't|do not|dont) apply to (?:you|me)|"
            r"gelten (?:nicht mehr|fur (?:dich|mich) nicht)|ne s'appliquent (?:plus|pas a moi))\b"
        ),
        _words(
            r"regels|beperkingen|beveiliging\w*|filters?|restrictions|rules|safety|"
            r"guardrails|safeguards|regeln|einschrankungen|sicherheit\w*|beschrankungen|"
            r"regles|securite|filtres|protections?"
        ),
        after=12,
        before=10,
    ),
    WordRule(
        "execute_encoded",
        0.6,
        re.compile(
            r"\b(?:decodeer|decode|decodez|ontcijfer|dekodiere|entschlussele|base64|rot13|"
            r"rot-13|hex)\b"
        ),
        _words(
            r"voer|execute|run|follow|obey|volg|doe|uit|uitvoeren|befolge|befolgen|fuhre|"
            r"ausfuhren|execute|executez|suis|suivez|applique|obeis"
        ),
        after=10,
        before=6,
    ),
    WordRule(
        "send_data_elsewhere",
        0.7,
        re.compile(
            r"\b(?:stuur|mail|verstuur|send|email|e-mail|post|upload|forward|schick|schicke|"
            r"sende|leite|envoie|envoyez|transmets|transmettez)\b"
        ),
        _words(
            r"gegevens|data|gesprekken|conversations?|documenten|documents|wachtwoorden|"
            r"passwords|sleutels|keys|gesprache|daten|donnees|historique|chats?|"
            r"chatverlauf|history|geschiedenis"
        ),
        after=12,
        before=4,
        clause_has=re.compile(r"@|https?:|www\.|\[e-mailadres\]"),
    ),
]

# (name, weight, pattern): phrase rules on the normal form (lower case, no accents)
RULES: list[tuple[str, float, re.Pattern]] = [
    (
        "new_instructions",
        0.6,
        re.compile(
            r"\b(?:new|updated|real|actual|nieuwe|echte|aangepaste|neue|nouvelles?) "
            r"(?:instructions?|rules|task|orders|instructies?|regels|opdracht|taak|"
            r"anweisungen?|regeln|richtlinien?|consignes|regles)\b[^.?!\n:]{0,40}:"
        ),
    ),
    (
        "system_prompt",
        0.3,
        re.compile(r"\b(?:system|systeem)[ -]?(?:prompt|bericht|message)|\bsystemprompt\b"),
    ),
    (
        "hidden_prompt",
        0.7,
        re.compile(
            r"\b(?:initial|hidden|secret|verborgen|geheime?n?|versteckten?|initiale?)[ -]?"
            r"(?:prompt|instructions|instructies|anweisungen|systemanweisungen|consignes|"
            r"systeembericht)\b|\bprompt (?:initial|secret|cache)|"
            r"\b(?:consignes|instructions) (?:secretes|cachees)\b"
        ),
    ),
    (
        "verbatim",
        0.4,
        re.compile(
            r"\b(?:verbatim|word for word|woordelijk|letterlijk|integraal|wort fur wort|"
            r"wortlich|mot pour mot|mot a mot|integralement|textuellement|"
            r"(?:vollstandig|wortgetreu) wieder)\b"
        ),
    ),
    # --- take on another role ------------------------------------------------------------
    (
        "role_play",
        0.6,
        re.compile(
            r"\b(?:you are now|from now on you|pretend (?:to be|you|that you)|"
            r"jij bent nu|je bent nu|vanaf (?:nu|dit moment|heden),? (?:ben|heet|speel) je|"
            r"doe alsof (?:je|jij)|speel (?:de rol|een rol)|neem de rol|"
            r"stel je voor dat (?:je|jij) (?:een |de )?\w+ (?:bent|zou zijn)|"
            r"(?:laten we|let's|let us|lass uns) (?:een |ein )?(?:rollenspel|roleplay|role-play)|"
            r"du bist (?:jetzt|nun|ab jetzt|ab sofort)|ab (?:jetzt|sofort) bist du|"
            r"tu so,? als (?:ob )?(?:du|warst)|spiele? die rolle|"
            r"tu es maintenant|(?:a partir de maintenant|desormais|dorenavant),? tu es|"
            r"fais semblant|joue le role|fais comme si tu)\b"
            r"|(?:^|[.!?:;,]\s*|\bplease\s+|\bnow\s+)act as\b"
        ),
    ),
    ("role_play_word", 0.3, re.compile(r"\b(?:roleplay|role-play|rollenspel|jeu de role)\b")),
    (
        "no_limits_persona",
        0.7,
        re.compile(
            r"\b(?:do anything now|jailbreak\w*|developer mode|debug mode|god mode|admin mode|"
            r"ontwikkelaarsmodus|beheerdersmodus|entwicklermodus|mode developpeur|"
            r"(?:ai|assistent|assistant|bot|model|ontwikkelaar|developer|versie|version|ki|"
            r"systeem|system|jij|you|du|tu|ia) (?:zonder|without|ohne|sans) (?:enige |any |"
            r"jegliche |aucune |aucun )?(?:beperkingen|regels|filters?|censuur|rules|"
            r"restrictions?|limits|censorship|safeguards|einschrankungen|regeln|filtern|"
            r"zensur|grenzen|regles|filtres?|censure|limites)|"
            r"(?:nooit|never|niemals|jamais) (?:nee|no|nein|non)|ne dit jamais non|"
            r"unrestricted|uneingeschrankt|ongecensureerd|ungefiltert|unfiltered|"
            r"ongefilterd|sans filtre|non filtre)\b"
        ),
    ),
    (
        "no_limits",
        0.4,
        re.compile(
            r"\b(?:zonder|without|ohne|sans) (?:enige |any |jegliche |aucune |aucun )?"
            r"(?:beperkingen|censuur|restrictions?|censorship|einschrankungen|zensur|"
            r"censure|filters|filtres)\b"
        ),
    ),
    (
        "authority_claim",
        0.4,
        re.compile(
            r"\b(?:i am|i'm|ik ben|als|ich bin|je suis) (?:the|de|jouw|je|your|dein|der|le|ton)? ?"
            r"(?:developer|ontwikkelaar|admin\w*|beheerder|maker|creator|system administrator|"
            r"systeembeheerder|entwickler|developpeur|administrat\w*)\b"
        ),
    ),
    # --- dictate the output ------------------------------------------------------------------
    (
        "forced_output",
        0.5,
        re.compile(
            r"\b(?:begin|start|eindig|end|beginne|commence) (?:je|jouw|your|deine|ta) "
            r"(?:antwoord|answer|response|reply|antwort|reponse) (?:met|with|mit|par)\b|"
            r"\b(?:antwoord|answer|reply|respond|antworte|reponds|repondez) (?:alleen|only|"
            r"uitsluitend|nur|uniquement|seulement) (?:met|with|mit|par|avec)\b|"
            r"\b(?:zeg|say|sag|dis|dites) (?:alleen|only|nur|seulement)\b|"
            r"\b(?:zeg|say|typ|type|schrijf|write|print|antwoord|answer|sag|sage|schreib|"
            r"antworte|dis|dites|ecris|reponds|confirm|confirme|bestatige|bevestig)"
            r"(?: (?:met|with|mit|avec|par))?\s*:?\s*['\"‘“«„‚]"
        ),
    ),
    # --- fake conversation structure -----------------------------------------------------------
    (
        "fake_role_marker",
        0.7,
        re.compile(
            r"(?:^|\n)[ \t]*(?:system|systeem|assistant|assistent|developer|admin)[ \t]*:|"
            r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?inst\]|<</?sys>>|###\s*(?:system|"
            r"instruction)|</?\s*(?:system|user|assistant|developer)\s*>|"
            r"\[\s*(?:system|systeem|admin|developer)\b|"
            r"\b(?:system|admin|developer|safety|security) override\b"
        ),
    ),
    # --- exfiltration --------------------------------------------------------------------------
    (
        "exfiltration_link",
        0.7,
        re.compile(r"!\[[^\]]*\]\(https?://|https?://\S+\?\S*=\{"),
    ),
]

# on the text as written: upper case only, "dan" is Dutch for "then"
CASED_RULES: list[tuple[str, float, re.Pattern]] = [("dan_persona", 0.7, re.compile(r"\bDAN\b"))]

# four or more single letters, each followed by the same separator: "i-g-n-o-r-e"
_SPACED_LETTERS = re.compile(r"(?<![^\W_])[^\W_]([ .\-_*/|+~·])(?:[^\W_]\1){2,}[^\W_](?![^\W_])")
_SPACED_SEPARATOR = re.compile(r"[ .\-_*/|+~·]")
_INNER_SEPARATOR = re.compile(r"(?<=[^\W_])[\-*_·/|+~](?=[^\W_])")
_LEET = str.maketrans("013457@$", "oieastas")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[ ]?){12,}\b")
_ROT13_CUE = re.compile(r"\brot-?13\b")
# a sentence ends at . ! ? before a space or the end ("evil.example", "1.4" go on)
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=\S))+[.!?]*\n?|\n")
_CLAUSE = re.compile(r"[^.!?;\n]+")
_TOKEN = re.compile(r"[^\W_]+")
SIMILAR_TO_KNOWN_ATTACK = "similar_to_known_attack"
SIMILARITY_WEIGHT = 0.7


class AttackSimilarity(Protocol):
    """Cosine similarity of each sentence to the nearest known attack."""

    threshold: float

    def similarity(self, sentences: list[str]) -> list[float]: ...


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
    """The normal form rules match, with s p a c e d and d.o.t.t.e.d letters joined."""
    folded = matching_form(text)
    return _SPACED_LETTERS.sub(lambda m: _SPACED_SEPARATOR.sub("", m.group()), folded)


def variants(text: str) -> list[str]:
    """Every reading of ``text`` the rules are matched against."""
    sources = [text]
    if displayed_order(text) != text:
        sources.append(displayed_order(text))
    hidden = hidden_tag_text(text)
    if hidden:
        sources.append(hidden)
    found: list[str] = []
    for source in sources:
        plain = normalise(source)
        found += [plain, _INNER_SEPARATOR.sub("", plain), plain.translate(_LEET)]
        if _ROT13_CUE.search(plain):
            found.append(normalise(codecs.encode(source, "rot13")))
        found += [normalise(d) for d in _decoded_blobs(without_ignorables(source))]
    return list(dict.fromkeys(found))


def readable(text: str) -> str:
    """The normal form of what a reader (or a model) takes from ``text``: right-to-left
    runs as displayed, text spelled in tag characters included."""
    hidden = hidden_tag_text(text)
    shown = normalise(displayed_order(text)).strip()
    return f"{shown} {normalise(hidden)}".strip() if hidden else shown


def screen(text: str) -> Screening:
    """Score ``text`` (and whatever it hides) against every rule."""
    return _combined(_signals(text))


def clean_question(
    question: str, threshold: float, known_attacks: AttackSimilarity | None = None
) -> CleanedQuestion:
    """The question as it is displayed (right-to-left runs in reading order), without
    invisible characters and without its attack sentences. When the question as a whole
    scores at or above ``threshold``, every sentence with a signal is removed, and when
    what is left still scores that high, nothing is left. With ``known_attacks``, a
    sentence close to a known attack is a signal too."""
    shown = displayed_order(question)
    sentences = [s for s in _SENTENCE.findall(shown) if s.strip()]
    similar = _similar_sentences(sentences, known_attacks)
    signals = _signals(question)
    if similar:
        signals[SIMILAR_TO_KNOWN_ATTACK] = SIMILARITY_WEIGHT
    whole = _combined(signals)
    if not whole.flagged(threshold):
        return CleanedQuestion(without_ignorables(shown).strip(), whole, [])
    kept, removed = [], []
    for index, sentence in enumerate(sentences):
        if index in similar or screen(sentence).signals:
            removed.append(sentence.strip())
        else:
            kept.append(sentence)
    rest = without_ignorables("".join(kept)).strip()
    if rest and screen(rest).flagged(threshold):
        rest = ""
    return CleanedQuestion(rest, whole, removed)


def neutralise(passage: str, threshold: float) -> str:
    """A passage without the sentences that carry instructions to the model: those that
    score at least half the threshold on their own."""
    sentences = [s for s in _SENTENCE.findall(passage) if s.strip()]
    return "".join(s for s in sentences if screen(s).score < threshold / 2).strip()


def _similar_sentences(sentences: list[str], known_attacks: AttackSimilarity | None) -> set[int]:
    if known_attacks is None or not sentences:
        return set()
    scores = known_attacks.similarity(sentences)
    return {i for i, score in enumerate(scores) if score >= known_attacks.threshold}


def _signals(text: str) -> dict[str, float]:
    """The weight of every rule that ``text`` matches, in any of its readings."""
    readings = variants(text)
    signals = {
        name: weight
        for name, weight, pattern in RULES
        if any(pattern.search(reading) for reading in readings)
    }
    cased = without_ignorables(unicodedata.normalize("NFKC", text))
    signals |= {name: weight for name, weight, pattern in CASED_RULES if pattern.search(cased)}
    for rule in WORD_RULES:
        if any(_word_rule_matches(rule, reading) for reading in readings):
            signals[rule.name] = rule.weight
    if _decoded_blobs(without_ignorables(text)):
        signals.setdefault("encoded_text", 0.2)
    return signals


def _combined(signals: dict[str, float]) -> Screening:
    remaining = 1.0
    for weight in signals.values():
        remaining *= 1.0 - weight
    return Screening(round(1.0 - remaining, 3), sorted(signals))


def _word_rule_matches(rule: WordRule, text: str) -> bool:
    """Whether ``rule`` holds within one clause of ``text``."""
    return any(_holds_in(rule, clause) for clause in _CLAUSE.findall(text))


def _holds_in(rule: WordRule, clause: str) -> bool:
    triggers = list(rule.trigger.finditer(clause))
    if not triggers or (rule.clause_has is not None and not rule.clause_has.search(clause)):
        return False
    tokens = list(_TOKEN.finditer(clause))
    starts = [t.start() for t in tokens]
    words = [t.group() for t in tokens]
    targets = [i for i, w in enumerate(words) if rule.target.fullmatch(w)]
    if not targets:
        return False
    for trigger in triggers:
        first = bisect.bisect_left(starts, trigger.start())
        last = max(first, bisect.bisect_left(starts, trigger.end()) - 1)
        for k in targets:
            if not (first - rule.before <= k <= last + rule.after) or first <= k <= last:
                continue
            if rule.qualifier is None or _qualified(rule.qualifier, words, k):
                return True
    return False


def _qualified(qualifier: re.Pattern, words: list[str], k: int) -> bool:
    """A qualifier within three words before or eight after target ``k`` (a Dutch or
    German participle closes the clause: "die je van de beheerder hebt gekregen"); "je"
    only as a possessive (not followed by an article: "kun je de regels ...")."""
    for q in range(max(0, k - 3), min(len(words), k + 9)):
        if q == k or not qualifier.fullmatch(words[q]):
            continue
        if words[q] in _AMBIGUOUS_POSSESSIVES:
            following = words[q + 1 : k]
            if q > k or len(following) > 1 or any(w in _DETERMINERS for w in following):
                continue
        return True
    return False


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
