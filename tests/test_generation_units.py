"""Citation checking, structured output parsing, language and extractive answers."""

from __future__ import annotations

import pytest

from assistant.conversations.records import Turn
from assistant.generation.answer_service import usable_rewrite
from assistant.generation.citations import render_answer, verify_citations
from assistant.generation.context import Passage, select_passages
from assistant.generation.evidence import EvidenceRanker
from assistant.generation.extractive import extractive_answer
from assistant.generation.language import detect_language
from assistant.generation.prompts import load_prompts
from assistant.generation.structured import DraftSentence, parse_partial, visible_text
from assistant.retrieval.hits import SearchHit

pytestmark = pytest.mark.unit


LEXICAL = EvidenceRanker(None)  # word overlap only; the embedding scores run in test_answers


def passage(n: int, text: str, section: str = "", question: str = "") -> Passage:
    hit = SearchHit(f"doc:{n}", "doc", "Titel", section, None, n, text, 1.0)
    [ranked] = LEXICAL.rank(question, [hit])
    return Passage(n=n, hit=hit, text=text, sentences=ranked.sentences)


PASSAGES = [
    passage(1, "Een DPIA is verplicht bij verwerking van persoonsgegevens met hoog risico."),
    passage(2, "Publiceer impactvolle algoritmes in het algoritmeregister van de overheid."),
]


def test_supported_citations_are_kept() -> None:
    checked = verify_citations(
        [DraftSentence("Een DPIA is verplicht bij hoog risico.", [1])], PASSAGES, 0.5
    )
    assert checked[0].sources == [1] and checked[0].supported and not checked[0].corrected


def test_a_wrong_number_is_corrected_to_the_supporting_passage() -> None:
    checked = verify_citations(
        [DraftSentence("Publiceer impactvolle algoritmes in het algoritmeregister.", [1])],
        PASSAGES,
        0.5,
    )
    assert checked[0].sources == [2] and checked[0].corrected


def test_numbers_that_were_never_given_are_dropped() -> None:
    checked = verify_citations([DraftSentence("Een DPIA is verplicht.", [7, 1])], PASSAGES, 0.5)
    assert checked[0].sources == [1]


def test_an_unsupported_claim_is_marked_and_a_bare_marker_dropped() -> None:
    checked = verify_citations(
        [
            DraftSentence("De gemeenteraad vergadert elke dinsdag in Zwolle.", [1]),
            DraftSentence("[1]", [1]),
            DraftSentence("Bron:", []),
        ],
        PASSAGES,
        0.5,
    )
    assert len(checked) == 1
    assert checked[0].sources == [] and not checked[0].supported
    text, citations = render_answer(checked, PASSAGES, "[?]")
    assert text.endswith("[?].") and citations == []


PILLARS = passage(3, "Een manier om hiernaar te kijken is: twee pijlers, houding en governance.")


@pytest.mark.parametrize(
    ("sentence", "supported"),
    [  # golden g083: the Dutch term the English answer carries over is its fact
        ("The two pillars of algorithmic governance are houding and governance.", True),
        ("The two pillars of algorithmic governance are trust and speed.", False),
        # "as" and "to" are not facts, although the Dutch analysis keeps them
        ("Algorithmic governance has two pillars, as to the governance.", False),
    ],
)
def test_an_english_sentence_is_supported_by_what_it_adds_to_the_question(
    sentence: str, supported: bool
) -> None:
    from assistant.generation.sentences import word_stems

    asked = word_stems("What are the two pillars of algorithmic governance?")
    draft = [DraftSentence(sentence, [3])]
    assert verify_citations(draft, [PILLARS], 0.5, asked=asked)[0].supported is supported
    assert not verify_citations(draft, [PILLARS], 0.5)[0].supported  # words alone: no


def test_render_renumbers_by_first_use() -> None:
    checked = verify_citations(
        [
            DraftSentence("Publiceer algoritmes in het algoritmeregister.", [2]),
            DraftSentence("Een DPIA is verplicht bij hoog risico.", [1]),
        ],
        PASSAGES,
        0.5,
    )
    text, citations = render_answer(checked, PASSAGES, "[?]")
    assert text == (
        "Publiceer algoritmes in het algoritmeregister [1]. Een DPIA is verplicht bij hoog "
        "risico [2]."
    )
    assert [(c.n, c.passage.n) for c in citations] == [(1, 2), (2, 1)]


def test_partial_json_streams_as_plain_text() -> None:
    raw = '{"sentences": [{"text": "Een DPIA is verplicht", "sour'
    assert visible_text(raw) == "Een DPIA is verplicht"
    final = parse_partial('{"sentences": [{"text": "Zo is het [2].", "sources": [1]}]}')
    assert final[0].text == "Zo is het." and final[0].sources == [1, 2]


def test_free_text_output_is_understood_too() -> None:
    sentences = parse_partial("Een DPIA is verplicht [1]. Registreer het algoritme [2].")
    assert [(s.text, s.sources) for s in sentences] == [
        ("Een DPIA is verplicht.", [1]),
        ("Registreer het algoritme.", [2]),
    ]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Welke drie componenten kun je inkopen bij AI?", "nl"),
        ("Is een DPIA verplicht?", "nl"),
        ("Which three components can a municipality procure?", "en"),
        ("What does the AI Act require from us?", "en"),
        ("Как купить ИИ?", "nl"),
    ],
)
def test_language_detection(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_quotes_cover_each_document_the_passages_come_from() -> None:
    """A question about two documents: the second document's best sentence is quoted
    even where the first document's sentences all score higher."""
    question = "Wat zegt de gids over de DPIA en wat zegt het register over algoritmes?"

    def from_document(n: int, doc: str, text: str) -> Passage:
        hit = SearchHit(f"{doc}:{n}", doc, doc, "", None, n, text, 1.0)
        [ranked] = LEXICAL.rank(question, [hit])
        return Passage(n=n, hit=hit, text=text, sentences=ranked.sentences)

    passages = [
        from_document(
            1,
            "gids",
            "Een DPIA is verplicht bij de gids voor persoonsgegevens. "
            "De gids noemt de DPIA bij elk hoog risico. "
            "Volgens de gids beschrijft een DPIA de risico's van de verwerking.",
        ),
        from_document(2, "register", "Het register is openbaar voor iedereen."),
    ]
    by_score = extractive_answer(passages, 3)
    covering = extractive_answer(passages, 3, per_document=True)
    assert {s.sources[0] for s in by_score} == {1}, "the premise: one document wins on score"
    assert {s.sources[0] for s in covering} == {1, 2} and len(covering) == 3
    one_document = [passages[0]]
    assert extractive_answer(one_document, 3, per_document=True) == extractive_answer(
        one_document, 3
    )


def test_extractive_answer_quotes_the_best_sentences_with_citations() -> None:
    question = "Wanneer is een DPIA verplicht?"
    passages = [passage(p.n, p.text, question=question) for p in PASSAGES]
    sentences = extractive_answer(passages, max_sentences=1)
    assert sentences[0].sources == [1] and "DPIA" in sentences[0].text


def test_a_list_intro_is_quoted_with_its_items() -> None:
    text = "Over iets anders gaat deze zin.\nDe componenten zijn:\n- Data\n- Model\n- Applicatie"
    quoted = extractive_answer([passage(1, text, question="Welke componenten zijn er?")], 1)
    assert quoted[0].text == "De componenten zijn: Data; Model; Applicatie."


FLATTENED_SUB_LIST = (  # a nested slide list as the PDF text layer gives it (golden g020)
    "- Hoe is het model ontwikkeld en getraind?\n"
    "- Wat is de kwaliteit van het model en diens uitkomsten?\n"
    "- Performance\n- Veiligheid en robuustheid\n- Rechtsgelijkheid, bias, discriminatie\n"
    "- Is er ruimte voor menselijk overzicht en hoe kan er controle uitgeoefend worden?"
)


def test_a_question_followed_by_short_items_is_quoted_with_them() -> None:
    question = "Wat is de kwaliteit van het model?"
    [quote] = extractive_answer([passage(1, FLATTENED_SUB_LIST, question=question)], 1)
    assert quote.text == (
        "Wat is de kwaliteit van het model en diens uitkomsten? "
        "Performance; Veiligheid en robuustheid; Rechtsgelijkheid, bias, discriminatie."
    )
    ranked = LEXICAL.rank(
        question, [SearchHit("c0", "d", "T", "S", None, 0, FLATTENED_SUB_LIST, 1)]
    )
    [passage_] = select_passages(ranked, 10_000, len, max_chars=60)
    assert "- Rechtsgelijkheid, bias, discriminatie" in passage_.text
    assert "menselijk overzicht" not in passage_.text  # a long item ends the sub-list


CHATBOT_SOURCES = (
    "Bron: VNG Realisatie – Open Source Chatbots\n"
    "- VNG Realisatie – Open Source Chatbots (2025)\n"
    "Een chatbot vraagt na elk antwoord om feedback van de inwoner"
)


@pytest.mark.parametrize(
    ("text", "question", "quoted"),
    [
        (  # a long list item is quoted on its own, a short one never
            "Stappenplan: van idee tot livegang\n"
            "- Stel governance en monitoring in – Richt een beheerteam in voor toezicht.\n"
            "- Governance",
            "Hoe richt je governance in?",
            [
                "Stappenplan: van idee tot livegang",
                "Stel governance en monitoring in – Richt een beheerteam in voor toezicht.",
            ],
        ),
        (  # neither a source line nor a reference in capitals
            CHATBOT_SOURCES,
            "Open Source Chatbots feedback",
            ["Een chatbot vraagt na elk antwoord om feedback van de inwoner"],
        ),
        (  # a sentence with the examples after its "Denk aan:" line (golden g014)
            "- Multidisciplinair team: Samenwerking met experts zorgt dat alle onderwerpen "
            "worden meegenomen. Denk aan:\ninnovatieteam, bedrijfsarchitect, ethisch expert.",
            "Welke disciplines zitten in een multidisciplinair team?",
            [
                "Multidisciplinair team: Samenwerking met experts zorgt dat alle onderwerpen "
                "worden meegenomen. Denk aan: innovatieteam, bedrijfsarchitect, ethisch expert."
            ],
        ),
        (  # a question the text states is quoted, one it asks is not (golden g012)
            "Een centrale vraag is: wie mag welke data wanneer inzien?\nWie mag de data inzien?",
            "Wie mag welke data inzien?",
            ["Een centrale vraag is: wie mag welke data wanneer inzien?"],
        ),
    ],
)
def test_what_is_quoted(text: str, question: str, quoted: list[str]) -> None:
    quotes = extractive_answer([passage(1, text, question=question)], 3)
    assert [q.text for q in quotes] == quoted


def test_a_source_line_or_reference_ranks_below_what_it_supports() -> None:
    [ranked] = LEXICAL.rank(
        "Wat zegt VNG Realisatie over feedback bij Open Source Chatbots?",
        [SearchHit("c0", "d", "T", "S", None, 0, CHATBOT_SOURCES, 1.0)],
    )
    best = max(ranked.sentences, key=lambda s: s.score)
    assert best.text.startswith("Een chatbot vraagt")
    unpenalised = EvidenceRanker(None, reference_penalty=0.0).rank(
        "Wat zegt VNG Realisatie over feedback bij Open Source Chatbots?",
        [SearchHit("c0", "d", "T", "S", None, 0, CHATBOT_SOURCES, 1.0)],
    )[0]
    assert max(unpenalised.sentences, key=lambda s: s.score).text.startswith("Bron:")


def test_a_quote_without_a_full_stop_gets_one() -> None:
    quotes = extractive_answer([passage(1, CHATBOT_SOURCES, question="feedback")], 1)
    rendered, _ = render_answer(quotes + quotes, [passage(1, CHATBOT_SOURCES)], "[?]")
    assert rendered.count("inwoner [1].") == 2


def test_the_best_sentences_of_all_hits_fit_the_character_and_token_budget() -> None:
    filler = " ".join(f"Zin {i} over iets anders dan de vraag." for i in range(40))
    hits = [
        SearchHit("c0", "d", "T", "S", None, 0, filler, 1.0),
        SearchHit("c1", "d", "T", "S", None, 1, filler + " Het algoritmeregister is er.", 1.0),
        SearchHit("c2", "d", "T", "S", None, 2, filler, 1.0),
    ]
    ranked = LEXICAL.rank("algoritmeregister", hits)
    chosen = select_passages(ranked, 10_000, lambda t: len(t) // 4, max_chars=200)
    assert sum(len(p.text) for p in chosen) <= 200 + len(chosen)
    [found] = [p for p in chosen if "algoritmeregister" in p.text]
    assert found.hit.chunk_id == "c1"
    assert [p.hit.chunk_id for p in chosen] == sorted(p.hit.chunk_id for p in chosen)  # rank
    assert [p.n for p in chosen] == list(range(1, len(chosen) + 1))
    every = select_passages(ranked, 10_000, lambda t: len(t) // 4, max_chars=5000)
    tight = select_passages(ranked, 60, lambda t: len(t) // 4, max_chars=5000)
    assert len(every) == 3 and len(tight) == 1


def test_a_good_sentence_whose_follower_does_not_fit_is_read_alone() -> None:
    # golden g001: the answer's sentence was skipped because the long list item after it
    # (its context) did not fit; smaller, weaker sentences took the budget instead
    text = (
        "De interviews bij de gemeenten waren digitaal.\n"
        "Het onderzoek liep een jaar.\n"
        "Daarna volgde een lange pauze in de zomer, met vakanties en ziekte.\n"
        "Interviews gaven vier gemeenten een stem.\n"
        "- " + "Een lange toelichting op het inkoopproces die niet meer in het budget past. " * 3
    )
    hit = SearchHit("c0", "d", "T", "S", None, 0, text, 1.0)
    ranked = LEXICAL.rank("Bij hoeveel gemeenten waren er interviews?", [hit])
    [passage_] = select_passages(ranked, 10_000, len, max_chars=130)
    assert "vier gemeenten" in passage_.text
    assert "lange toelichting" not in passage_.text


def test_a_question_the_document_asks_ranks_below_a_statement() -> None:
    # golden g049: a list of the document's own questions took the model's budget
    text = (
        "Hoe test ik de output van AI toepassingen?\n"
        "Test de output van AI toepassingen met vooraf gedefinieerde testcases.\n"
        "Wat is de kwaliteit van het model?\n- Accuraatheid\n- Transparantie"
    )
    question = "Hoe test ik de output van AI toepassingen?"
    hits = [SearchHit("c0", "d", "T", "S", None, 0, text, 1.0)]
    [ranked] = LEXICAL.rank(question, hits)
    scores = {s.text: s.score for s in ranked.sentences}
    assert max(scores, key=scores.__getitem__).startswith("Test de output")
    # a question followed by its items is a list intro, not penalised
    intro = "Wat is de kwaliteit van het model?"
    [plain] = EvidenceRanker(None, question_penalty=0.0).rank(question, hits)
    assert {s.text: s.score for s in plain.sentences}[intro] == scores[intro]
    assert max(plain.sentences, key=lambda s: s.score).text == question


def test_a_section_title_or_a_bare_number_ranks_below_what_the_section_says() -> None:
    # a title repeats the question's words ("Toezicht op naleving van afspraken") and took
    # part of the model's 900 characters; a lone "3." was read as a passage (g081)
    text = (
        "1.4 Toezicht op leveranciers\n"
        "Toezicht op naleving van afspraken\n"
        "Gemeenten vragen rapportages van leveranciers op en doen steekproeven.\n"
        "3."
    )
    question = "Hoe houden gemeenten toezicht op de naleving van afspraken met leveranciers?"
    hits = [SearchHit("c0", "d", "T", "Toezicht op naleving van afspraken", None, 0, text, 1.0)]
    [ranked] = LEXICAL.rank(question, hits)
    [plain] = EvidenceRanker(None, heading_penalty=0.0).rank(question, hits)
    scores = {s.text: s.score for s in ranked.sentences}
    before = {s.text: s.score for s in plain.sentences}
    assert max(scores, key=scores.__getitem__).startswith("Gemeenten vragen")
    assert max(before, key=before.__getitem__) == "Toezicht op naleving van afspraken"
    for title in ("1.4 Toezicht op leveranciers", "Toezicht op naleving van afspraken", "3."):
        assert scores[title] < before[title]


def test_a_numbered_finding_is_quoted_but_not_a_bare_title() -> None:
    # golden g063: "Succesfactor 1: Kennis over AI." is the fact asked for
    text = "Succesfactor 1: Kennis over AI.\nKennis Over AI"
    quotes = extractive_answer([passage(1, text, question="Welke succesfactoren?")], 3)
    assert [q.text for q in quotes] == ["Succesfactor 1: Kennis over AI."]


LEANS_ON_THE_ONE_BEFORE = (  # golden g071: "Dit" is what the question asks for
    "De gemeente werkt met een jaarplan voor digitalisering en informatiebeleid.\n"
    "Leveranciers kunnen verplicht worden om op open standaarden te bouwen.\n"
    "Dit voorkomt dat gemeenten afhankelijk worden van één partij.\n"
    "Verder is er aandacht voor scholing."
)


def test_a_sentence_that_refers_back_is_read_with_the_one_before_it() -> None:
    hit = SearchHit("c0", "d", "T", "S", None, 0, LEANS_ON_THE_ONE_BEFORE, 1.0)
    ranked = LEXICAL.rank("Hoe voorkomen gemeenten dat ze afhankelijk worden?", [hit])
    scores = {s.text[:12]: s.score for s in ranked[0].sentences}
    assert scores["Dit voorkomt"] > scores["Leveranciers"]  # ranked alone, it came first
    [passage_] = select_passages(ranked, 10_000, len, max_chars=140)
    assert "open standaarden" in passage_.text and "afhankelijk" in passage_.text
    assert "scholing" not in passage_.text  # instead of the sentence after it


def test_a_sentence_that_refers_back_is_quoted_with_the_one_before_it() -> None:
    question = "Waarom open standaarden voor leveranciers?"
    text = LEANS_ON_THE_ONE_BEFORE
    source = passage(1, text, question=question)
    pair = extractive_answer([source], 1)
    assert [q.text for q in pair] == [
        "Leveranciers kunnen verplicht worden om op open standaarden te bouwen.",
        "Dit voorkomt dat gemeenten afhankelijk worden van één partij.",
    ]  # one quote, at the score of the first sentence, which the question matches best
    rendered, _ = render_answer(pair, [source], "[?]")
    assert rendered.count("[1]") == 2  # each sentence cited, so each can be checked
    quotes = extractive_answer([passage(1, text, question=question)], 3)
    assert sum("open standaarden" in q.text for q in quotes) == 1  # not quoted twice


def test_a_sentence_broken_over_lines_is_read_whole() -> None:
    text = "Gevorderd\nMaak gebruik van een low-code platform\n(e.g. N8N)\n\nExpert\nZelf-lerend."
    ranked = LEXICAL.rank(
        "Welk low-code platform wordt genoemd?",
        [SearchHit("c0", "d", "T", "S", None, 0, text, 1.0)],
    )
    [passage_] = select_passages(ranked, 10_000, len, max_chars=40)
    assert "low-code platform (e.g. N8N)" in passage_.text


def test_prompt_files_carry_the_rules_and_a_version() -> None:
    prompts = load_prompts("v1")
    assert prompts.label.startswith("answer-v1+")
    for rule in (
        "bronpassages",
        "nummers",
        "niet in de documenten",
        "taal van de vraag",
        "instructies",
    ):
        assert rule in prompts.system
    assert "{passages}" in prompts.user and "{question}" in prompts.user


def test_a_list_intro_brings_its_items_into_the_passage() -> None:
    text = (
        "Het team bestaat uit verschillende mensen met elk een eigen rol in het project. "
        "Welke rollen heeft een multidisciplinair team nodig? Denk aan:\n"
        "- projectleider\n- jurist\n- data scientist\n"
        "Verder is er veel aandacht nodig voor de planning van het geheel en de financiering. "
        "Ook de communicatie met inwoners vraagt om een goede aanpak met duidelijke afspraken."
    )
    hit = SearchHit("c0", "d", "T", "S", None, 0, text, 1.0)
    ranked = LEXICAL.rank("Welke rollen heeft een team nodig?", [hit])
    [passage_] = select_passages(ranked, 10_000, len, max_chars=120)
    assert "- projectleider" in passage_.text and "- data scientist" in passage_.text
    assert "financiering" not in passage_.text


def test_missing_evidence_adds_only_what_the_answer_left_out() -> None:
    from assistant.generation.citations import CheckedSentence
    from assistant.generation.extractive import missing_evidence

    question = "Wat kan de gemeente inkopen?"
    passages = [
        passage(
            1,
            "De gemeente koopt data in bij een leverancier. Modellen kunnen los worden "
            "ingekocht door de gemeente.",
            question=question,
        ),
        passage(
            2,
            "Applicaties of diensten met AI kan de gemeente ook als geheel inkopen.",
            "",
            question,
        ),
    ]
    answer = [CheckedSentence("De gemeente koopt data in bij een leverancier.", [1])]
    extra = missing_evidence(passages, answer, question, limit=2)
    assert [s.sources for s in extra] == [[1], [2]]
    assert all("data in" not in s.text for s in extra)
    assert missing_evidence(passages, answer, question, limit=0) == []


def test_an_answer_that_repeats_the_question_has_not_said_the_evidence() -> None:
    from assistant.generation.citations import CheckedSentence
    from assistant.generation.extractive import missing_evidence

    question = "Waarom deden alle negen door de VNG benaderde gemeenten mee aan het onderzoek?"
    evidence = "De VNG heeft negen gemeenten benaderd om deel te nemen aan het onderzoek."
    passages = [passage(1, f"{evidence} Vier gemeenten hebben toegezegd.", question=question)]
    parrot = CheckedSentence("Alle negen door de VNG benaderde gemeenten deden mee.", [1])
    extra = missing_evidence(passages, [parrot], question, limit=2)
    assert [s.text for s in extra] == [evidence, "Vier gemeenten hebben toegezegd."]


@pytest.mark.parametrize(
    ("question", "sentence", "kept"),
    [
        (  # a restated false premise (golden g080) would borrow the passage's citation
            "Algoritmen die buiten de AI act-definitie van AI vallen, hoeven gemeenten toch "
            "niet mee te nemen in hun governance?",
            "Algoritmen die buiten de AI act-definitie van AI vallen, hoeven gemeenten toch "
            "niet mee te nemen in hun governance.",
            False,
        ),
        (  # one word beyond the question is the answer
            "Welk low-code platform wordt genoemd om zelf AI-agents te maken?",
            "Het low-code platform genoemd om zelf AI-agents te maken is N8N.",
            True,
        ),
        ("Waarom organiseert de VNG AI collectief?", "De VNG organiseert AI collectief.", False),
        (  # golden g031: a false premise confirmed with "ja" and "goed" borrowed a citation
            "Klopt het dat een gemeente die net met AI begint het beste eerst een eigen "
            "GenAI-model kan ontwikkelen?",
            "Ja, het is goed dat een gemeente die net met AI begint het beste eerst een eigen "
            "GenAI-model kan ontwikkelen.",
            False,
        ),
    ],
)
def test_a_sentence_that_only_repeats_the_question_is_dropped(
    question: str, sentence: str, kept: bool
) -> None:
    from assistant.generation.citations import CheckedSentence
    from assistant.generation.extractive import without_restatements

    remaining = without_restatements(question, [CheckedSentence(sentence, [1])])
    assert (remaining == [CheckedSentence(sentence, [1])]) is kept


def test_a_rewrite_that_only_repeats_the_earlier_question_is_not_used() -> None:
    # golden g074: the model "rewrote" the follow-up into the previous question
    history = [Turn("Welke gemeenten heeft TNO gesproken?", "Utrecht en Montferland [1].")]
    follow_up = "En met welke daarvan ziet TNO de meest kansrijke samenwerking?"
    repeated = usable_rewrite("welke gemeenten heeft TNO gesproken", follow_up, history)
    assert repeated == f"{history[0].question} {follow_up}"  # the topic carried along
    own = "Met welke gemeente ziet TNO de meest kansrijke samenwerking?"
    assert usable_rewrite(own, follow_up, history) == own
    assert usable_rewrite("", follow_up, history) == f"{history[0].question} {follow_up}"


def test_a_section_title_in_the_chunk_is_not_quoted() -> None:
    # golden g017: "Doel van de opdracht tot uitwerking (OtU) [1]." took a quote's place
    text = (
        "Doel van de opdracht tot uitwerking (OtU)\n"
        "Met deze opdracht vragen we de ALV om steun en mandaat voor de uitwerking.\n"
        "1.4 Leeswijzer\n"
        "Concreet vragen we om instemming met de voorgestelde visie en de scope."
    )
    section = "Opdracht > Doel van de opdracht tot uitwerking (OtU)"
    question = "Waarover moet de ALV besluiten bij de opdracht tot uitwerking?"
    quotes = extractive_answer([passage(1, text, section, question)], 4)
    assert [q.text[:10] for q in quotes] == ["Met deze o", "Concreet v"]
