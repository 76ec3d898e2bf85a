"""The path of a question, top to bottom.

    message ─► screened (personal data redacted, injection sentences removed)
            ─► the caller's own conversation (history screened again)
            ─► standalone question (screened too) ─► cache? ─► retrieval (with the previous
               question, for a follow-up; with the model's Dutch version, for another
               language; without placeholders; part by part) ─► confident?
        no  ─► refusal, without asking the model
        yes ─► passages screened for planted instructions; their sentences scored
               against the question, the best within a character and token budget
               ─► do they state what is asked (answerability)?
        no  ─► refusal "not in the documents", the closest sentences apart (``related``)
        yes ─► quote (the default): the best sentences, verbatim and cited [translated
               into the question's language]
            or write: prompt ─► model (JSON sentences, streamed; bounded queue, timeout)
               ─► citation check ─► prompt-leak check ─► [quotes, when nothing the model
               wrote is supported]
               ─► answer (what was shown, when the client left halfway)
               ─► stored in the conversation (screened), cached

``stream`` yields events as they happen (``token`` deltas, then ``citations``,
then ``done``); ``answer`` runs the same path and returns the final result.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from assistant.conversations import ConversationStore, Turn, UnknownConversation
from assistant.generation.answerability import AnswerabilityJudge, Verdict
from assistant.generation.citations import (
    CheckedSentence,
    Citation,
    rendered_sentences,
    verify_citations,
)
from assistant.generation.context import Passage, select_passages
from assistant.generation.evidence import EvidenceRanker
from assistant.generation.extractive import (
    best_quotes,
    drop_non_answers,
    extractive_answer,
    without_restatements,
)
from assistant.generation.language import detect_language
from assistant.generation.list_reference import (
    joined,
    list_reference,
    referenced_item,
    with_item,
)
from assistant.generation.prompts import PromptSet, load_prompts
from assistant.generation.sentences import question_key, word_stems
from assistant.generation.structured import (
    ANSWER_SCHEMA,
    DraftSentence,
    parse_partial,
    visible_text,
)
from assistant.generation.translation import Complete, Translator
from assistant.llm.factory import ChatModel, LLMUnavailable
from assistant.llm.gate import GenerationGate, ModelBusy
from assistant.llm.model_file import ModelFileError
from assistant.llm.provider import LLMProvider
from assistant.retrieval.hits import SearchHit
from assistant.retrieval.library import Library
from assistant.retrieval.question_parts import question_parts
from assistant.security.injection import AttackSimilarity, neutralise, screen
from assistant.security.leaks import PromptLeakCheck
from assistant.security.pii import KIND_LABELS, without_placeholders
from assistant.security.question_screen import ScreenedQuestion, screen_question
from assistant.settings import Settings

PROMPT_OVERHEAD_TOKENS = 450  # system prompt, worked example and question, measured
CONDENSE_MAX_TOKENS = 80
QUESTION_GROUP = 0  # passages are numbered from 1
ANSWER_CODE_VERSION = 13  # raise when a code change changes answers: cached ones are not replayed
_OPEN_QUESTION = re.compile(
    r"^\W*(why|what|which|how|who|when|where|waarom|wat|welke?|hoe|wie|wanneer|waar)\b",
    re.IGNORECASE,
)
_MODEL_SAYS_NOT_FOUND = re.compile(
    r"(niet|geen)\b.{0,40}\b(in de|uit de)\s+(documenten|passages|bronnen)|"
    r"not\b.{0,40}\b(in the)\s+(documents|passages|sources)",
    re.IGNORECASE,
)


class InvalidMessage(ValueError):
    """The message cannot be answered as it is; the text is for the user (Dutch)."""


@dataclass
class AnswerResult:
    """The /api/chat response body."""

    conversation_id: str
    message_id: str
    answer: str
    refused: bool
    citations: list[dict]
    model: str
    usage: dict[str, int]
    timings_ms: dict[str, int]
    standalone_question: str = ""
    search_query: str = ""  # what retrieval read
    search_parts: list[str] = field(default_factory=list)  # and the parts searched too
    language: str = "nl"
    refusal_reason: str | None = None
    fallback: str | None = None
    cached: bool = False
    prompt_version: str = ""
    unsupported_sentences: int = 0
    screening: dict = field(default_factory=dict)
    question: str = ""  # as stored and logged: personal data redacted
    retrieved: list[str] = field(default_factory=list)  # chunk ids retrieval returned
    corpus_version: str | None = None
    collections: list[str] = field(default_factory=list)
    # a refusal's closest passages: about the subject, not an answer (never citations)
    related: list[dict] = field(default_factory=list)
    answer_mode: str = "quote"
    answerability: dict = field(default_factory=dict)  # the signals and the decision

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AnswerEvent:
    """One streamed event: ``token`` (text delta), ``citations``, ``done``."""

    kind: str
    data: object = None


@dataclass
class _ModelUse:
    """Tokens of the short model calls around the answer (follow-up rewrite, translations):
    they count in ``usage``, and so in token quotas, like the answer's own."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, chat: ChatModel, prompt: str, reply: BaseMessage) -> None:
        usage = getattr(reply, "usage_metadata", None) or {}
        self.prompt_tokens += usage.get("input_tokens") or chat.count_tokens(prompt)
        self.completion_tokens += usage.get("output_tokens") or chat.count_tokens(
            str(reply.content)
        )


@dataclass(frozen=True)
class QueryPlan:
    """The question as each step reads it: answered (standalone), searched, judged
    (whether the passages state its answer: in the documents' language), the answer's
    language, and the language the retrieval gate judges the query in."""

    question: str
    search_query: str
    judged: str
    language: str
    searched_in: str
    parts: tuple[str, ...] = ()  # of a compound question, each searched too


@dataclass
class _Draft:
    """What generation produced before it becomes an ``AnswerResult``."""

    sentences: list[CheckedSentence] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    refusal_reason: str | None = None
    fallback: str | None = None
    prompt_tokens: int = 0  # the answer's own generation
    completion_tokens: int = 0
    side_calls: _ModelUse = field(default_factory=_ModelUse)
    flagged_passages: int = 0
    timed_out: bool = False
    shown_when_cancelled: str | None = None  # the client left: what it had been shown
    translated: int = 0  # quotes put into the question's language
    streamed: bool = False  # the answer's text went out as token events already
    related: list[dict] = field(default_factory=list)
    answerability: dict = field(default_factory=dict)
    model: str | None = None  # the model that wrote, when one was loaded to write


class AnswerService:
    """Answers questions from the documents with verified citations."""

    def __init__(
        self,
        settings: Settings,
        search: Library,
        llm: LLMProvider,
        conversations: ConversationStore,
        evidence: EvidenceRanker,
        known_attacks: AttackSimilarity | None = None,
    ) -> None:
        self._settings = settings
        self._search = search
        self._evidence = evidence
        self._known_attacks = known_attacks
        self._llm = llm
        self._conversations = conversations
        self._prompts: PromptSet = load_prompts(settings.prompt_version)
        # one generation at a time per model, a bounded number waiting
        self._gate = GenerationGate(settings.llm_queue_size, settings.llm_queue_wait_s)
        self._leak_check = PromptLeakCheck(self._prompts.secret_texts())
        self._answerability = AnswerabilityJudge(
            settings.answerability_min_score,
            settings.answerability_min_coverage,
            typed=settings.answerability_typed,
        )
        self._translator = Translator(
            self._prompts.translate_question,
            self._prompts.translate_sentence,
            evidence,
            settings.citation_cross_language_threshold,
        )

    @property
    def prompts(self) -> PromptSet:
        return self._prompts

    def answer(
        self,
        message: str,
        conversation_id: str | None = None,
        collections: list[str] | None = None,
    ) -> AnswerResult:
        """The final answer, without streaming."""
        result = None
        for event in self.stream(message, conversation_id, collections=collections):
            if event.kind == "done":
                result = event.data
        assert isinstance(result, AnswerResult)
        return result

    @property
    def gate(self) -> GenerationGate:
        """The queue in front of the model (for its metrics)."""
        return self._gate

    def stream(
        self,
        message: str,
        conversation_id: str | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        collections: list[str] | None = None,
        owner: str = "local",
    ) -> Iterator[AnswerEvent]:
        """Answer ``message`` from ``collections`` (default: the shared one) for ``owner``
        (the caller's identity: only they may continue the conversation); raises
        ``InvalidMessage``, ``UnknownConversation``, ``UnknownCollection``,
        ``IndexNotReady``, ``LLMUnavailable`` or ``ModelBusy`` before the first event."""
        started = time.perf_counter()
        scope = list(dict.fromkeys(collections or [self._search.default_collection]))
        self._search.check(scope)
        screened = self._screened(self._validated(message))
        question = screened.text  # what is answered; what is stored: original_redacted
        if conversation_id is not None:
            history = self._history(conversation_id, owner)
        else:
            history, conversation_id = [], self._conversations.create(owner, scope)
        language = detect_language(question or screened.original_redacted)
        draft = _Draft()
        if screened.is_attack_only:
            standalone = ""
        elif history:
            standalone = self._pointed_into_list(question, history, scope) or self._standalone(
                question, history, draft.side_calls
            )
        else:
            standalone = question
        # the small model's rewrite often loses what "daarbij" pointed at: retrieval and
        # sentence scoring also read the previous question, which names the topic; the
        # placeholders of redacted personal data would only pull in unrelated passages
        search_query = without_placeholders(_with_topic(standalone, history))
        model_name = self._llm.active_name()  # the model is loaded only if it must answer

        corpus_version = self._search.corpus_version(scope)
        # keyed on what retrieval reads too: a follow-up's query carries the previous
        # question, so its answer is never replayed for the same words asked alone
        key = self._cache_key(
            [standalone, search_query], language, model_name, corpus_version, scope
        )
        use_cache = self._settings.answer_cache and not screened.is_attack_only
        cached = self._conversations.cached(key) if use_cache else None
        if cached is not None:
            yield from self._replay(
                cached, screened, standalone, conversation_id, started, draft.side_calls
            )
            return

        plan = QueryPlan(standalone, search_query, standalone, language, language)
        if not screened.is_attack_only:  # not timed as retrieval
            plan = _with_parts(self._in_documents_language(plan, draft.side_calls))
        search_query, searched_in = plan.search_query, plan.searched_in
        retrieval_started = time.perf_counter()
        retrieval = None
        if not screened.is_attack_only:
            retrieval = self._search.retrieve(
                search_query, self._settings.answer_passages, collections=scope, parts=plan.parts
            )
        retrieval_ms = _ms(retrieval_started)
        generation_started = time.perf_counter()
        if retrieval is None:
            draft.refusal_reason = "prompt_injection"
        elif not retrieval.hits or retrieval.top_similarity < self._min_similarity(searched_in):
            draft.refusal_reason = "retrieval_not_confident"
        else:
            yield from self._generate(plan, retrieval.hits, draft, cancelled)
            model_name = draft.model or model_name
        generation_ms = _ms(generation_started)

        if draft.refusal_reason:
            pieces = [
                self._refusal_text(language, draft.refusal_reason, standalone, bool(draft.related))
            ]
            citations = []
        elif draft.shown_when_cancelled is not None:
            pieces, citations = [draft.shown_when_cancelled], []
        else:
            pieces, citations = rendered_sentences(
                draft.sentences, draft.passages, self._prompts.text(language, "unsupported_marker")
            )
            lead_key = "translated_quotes_lead" if draft.translated else "quotes_lead"
            if self._settings.answer_mode == "quote":  # quotes by design, not for want of better
                lead_key = lead_key.replace("quotes_lead", "quoted_lead")
            lead = self._prompts.text(language, lead_key)
            if draft.fallback == "extractive" and lead:
                pieces = [f"{lead}\n", *pieces]  # quotes of Dutch documents
        answer_text = _joined_pieces(pieces)
        citation_dicts = [_citation_dict(c) for c in citations]
        result = AnswerResult(
            conversation_id=conversation_id,
            message_id="",
            answer=answer_text,
            refused=draft.refusal_reason is not None,
            citations=citation_dicts,
            model=model_name,
            usage={
                "prompt_tokens": draft.prompt_tokens + draft.side_calls.prompt_tokens,
                "completion_tokens": draft.completion_tokens + draft.side_calls.completion_tokens,
            },
            timings_ms={
                "retrieval": retrieval_ms,
                "generation": generation_ms,
                "total": _ms(started),
            },
            standalone_question=standalone,
            search_query=search_query,
            search_parts=list(plan.parts),
            language=language,
            refusal_reason=draft.refusal_reason,
            fallback=(
                "timeout"
                if draft.timed_out
                else "cancelled"
                if draft.shown_when_cancelled is not None
                else draft.fallback
            ),
            prompt_version=self._prompts.label,
            unsupported_sentences=sum(1 for s in draft.sentences if not s.supported),
            screening=screened.report() | {"passages_flagged": draft.flagged_passages},
            question=screened.original_redacted,
            retrieved=[hit.chunk_id for hit in retrieval.hits] if retrieval else [],
            corpus_version=corpus_version,
            collections=scope,
            related=draft.related if draft.refusal_reason == "not_in_documents" else [],
            answer_mode=self._settings.answer_mode,
            answerability=draft.answerability,
        )
        result.message_id = self._store(result, screened.text)
        if use_cache and not (cancelled() or draft.timed_out):
            self._conversations.cache(key, result.to_dict())
        if draft.refusal_reason or not draft.streamed:
            # quotes (and a refusal) go out a sentence at a time, as a written answer does
            for delta in _deltas(pieces) or [""]:
                yield AnswerEvent("token", delta)
        yield AnswerEvent("citations", citation_dicts)
        yield AnswerEvent("done", result)

    def search_plan(self, query: str) -> QueryPlan:
        """How a question asked on its own is searched: /api/search and the evaluation
        search the way the answer does (in another language: with the model's Dutch
        version in front)."""
        language = detect_language(query)
        plan = QueryPlan(query, without_placeholders(query), query, language, language)
        # never waits for the model, nor loads it: while it answers, or before its first
        # answer, a search goes without the Dutch
        if self._llm.loaded():
            plan = self._in_documents_language(plan, _ModelUse(), wait=False)
        return _with_parts(plan)

    # --- steps ---------------------------------------------------------------
    def _in_documents_language(
        self, plan: QueryPlan, side_calls: _ModelUse, wait: bool = True
    ) -> QueryPlan:
        """For a question in another language than the documents' Dutch: the model's Dutch
        version leads the search query (the documents' own words for keyword search and
        sentence scores: an English query found "caching" nowhere in the top 5), and the
        query is judged as Dutch, since it then scores higher than the English alone."""
        if plan.language == "nl":
            return plan
        complete = self._completer(side_calls, wait=wait)
        dutch = self._translator.search_question(plan.question, complete)
        if not dutch:
            return plan
        return replace(
            plan, search_query=f"{dutch} {plan.search_query}", judged=dutch, searched_in="nl"
        )

    def _validated(self, message: str) -> str:
        question = (message or "").strip()
        if not question:
            raise InvalidMessage("Je bericht is leeg. Stel een vraag over AI bij gemeenten.")
        limit = self._settings.max_message_chars
        if len(question) > limit:
            raise InvalidMessage(
                f"Je bericht is te lang ({len(question)} tekens); het maximum is {limit} tekens. "
                "Stel een kortere vraag."
            )
        return question

    def _screened(self, question: str) -> ScreenedQuestion:
        screened = screen_question(question, self._settings, self._known_attacks)
        if screened.personal_data and self._settings.pii_policy == "refuse":
            kinds = ", ".join(KIND_LABELS[kind] for kind in screened.personal_data)
            raise InvalidMessage(
                f"Je vraag bevat persoonsgegevens ({kinds}). Die mogen hier niet worden "
                "verwerkt: stel je vraag opnieuw zonder namen, nummers of adressen."
            )
        return screened

    def _refusal_text(self, language: str, reason: str, question: str, related: bool) -> str:
        """The fixed text of a refusal; "not in the documents" names the question."""
        if reason == "not_in_documents":
            key = "not_in_documents_related" if related else "not_in_documents"
            asked = " ".join(question.split())
            asked = asked if len(asked) <= 200 else asked[:199] + "…"
            return self._prompts.text(language, key).strip().replace("{question}", asked)
        key = {"prompt_injection": "injection", "prompt_leak": "injection"}.get(reason, "not_found")
        return self._prompts.text(language, key).strip()

    def _min_similarity(self, language: str) -> float:
        settings = self._settings
        if language == "nl":
            return settings.refusal_min_similarity
        return settings.refusal_min_similarity_other_language

    def _history(self, conversation_id: str, owner: str) -> list[Turn]:
        """The caller's own conversation (another caller's is ``UnknownConversation``, as
        if it did not exist), its questions screened again: stored ones are screened, but
        a conversation kept before that was done, or rules that changed since, are not."""
        if self._conversations.owner_of(conversation_id) != owner:
            raise UnknownConversation(conversation_id)
        turns = self._conversations.history(conversation_id, self._settings.history_turns)
        return [
            Turn(
                screen_question(turn.question, self._settings, self._known_attacks).text,
                turn.answer,
            )
            for turn in turns
        ]

    def _pointed_into_list(
        self, question: str, history: list[Turn], scope: list[str]
    ) -> str | None:
        """A follow-up that points into a list ("die derde stap") with the item it means
        written in, from the passages the previous question finds (``list_reference``);
        None when it points at no list item."""
        reference = list_reference(question) if self._settings.follow_up_list_reference else None
        if reference is None:
            return None
        earlier = self._search.retrieve(
            history[-1].question, self._settings.answer_passages, collections=scope
        )
        documents = {
            (hit.doc_id, hit.collection): self._search.document_passages(
                hit.doc_id, hit.collection or None
            )
            for hit in earlier.hits
        }
        texts = [
            _with_neighbours(hit, documents[hit.doc_id, hit.collection]) for hit in earlier.hits
        ]
        item = referenced_item(reference, texts)
        return with_item(question, reference, item) if item else None

    def _standalone(self, question: str, history: list[Turn], side_calls: _ModelUse) -> str:
        """Rewrite a follow-up into a question that retrieval understands on its own;
        without a model, carry the previous question's topic along instead. The rewrite
        is the model's text: screened like a question, else the follow-up is used."""
        transcript = "\n".join(
            f"Gebruiker: {turn.question}\nAssistent: {turn.answer[:400]}" for turn in history
        )
        prompt = self._prompts.condense.format(history=transcript, question=question)
        reply = self._completer(side_calls)(prompt, CONDENSE_MAX_TOKENS).strip().strip('"')
        rewritten = reply.splitlines()[0].strip() if reply else ""
        if screen(rewritten).flagged(self._settings.injection_threshold):
            rewritten = ""
        return usable_rewrite(rewritten, question, history)

    def _completer(
        self, side_calls: _ModelUse, chat: ChatModel | None = None, wait: bool = True
    ) -> Complete:
        """A short, deterministic model call for the steps around the answer (rewrite,
        translation), its tokens added to ``side_calls``; "" when the model cannot be
        asked, so that the step is skipped."""

        def complete(prompt: str, max_tokens: int) -> str:
            try:
                model = chat or self._llm.current()
                with self._gate.hold(wait=wait):
                    reply = model.model.invoke(
                        [HumanMessage(prompt)], **model.short_answer_kwargs(max_tokens)
                    )
            except (ValueError, LLMUnavailable, ModelBusy, ModelFileError, OSError):
                return ""
            side_calls.add(model, prompt, reply)
            return str(reply.content)

        return complete

    def _generate(
        self,
        asked: QueryPlan,
        hits: list[SearchHit],
        draft: _Draft,
        cancelled: Callable[[], bool],
    ) -> Iterator[AnswerEvent]:
        """The answer into ``draft``: a refusal or quotes need no model (nor its loading,
        which takes seconds); the model is made only to write, or to translate quotes."""
        question, search_query, language = asked.question, asked.search_query, asked.language
        hits = self._without_planted_instructions(hits, draft)
        if not hits:
            draft.refusal_reason = "retrieval_not_confident"
            return
        draft.passages = self.passages_to_read(search_query, hits, self._llm.count_tokens)
        deadline = time.perf_counter() + self._settings.generation_timeout_s
        verdict = self.answerability(asked, draft.passages)
        draft.answerability = verdict.record() if verdict else {}
        refuses = verdict is not None and not verdict.answerable
        if refuses and self._settings.answerability_check:
            draft.refusal_reason = "not_in_documents"
            draft.related = self._related(draft.passages)
            return
        if self._settings.answer_mode == "quote":
            self._quote(asked, None, draft, deadline)
            return
        chat = self._llm.current()
        draft.model = chat.name
        messages = self._messages(question, language, draft.passages)
        draft.prompt_tokens = chat.count_tokens("\n".join(str(m.content) for m in messages))
        raw, shown = "", ""
        with self._gate.hold():
            try:
                stream = chat.model.stream(messages, **chat.json_schema_kwargs(ANSWER_SCHEMA))
                for chunk in stream:
                    raw += str(chunk.content)
                    draft.completion_tokens += 1
                    usage = getattr(chunk, "usage_metadata", None)
                    if usage:
                        draft.prompt_tokens = usage.get("input_tokens") or draft.prompt_tokens
                        draft.completion_tokens = usage.get("output_tokens") or 0
                    visible = visible_text(raw)
                    if visible.startswith(shown) and len(visible) > len(shown):
                        yield AnswerEvent("token", visible[len(shown) :])
                        shown, draft.streamed = visible, True
                    if cancelled():
                        draft.shown_when_cancelled = shown
                        break
                    if time.perf_counter() > deadline:
                        draft.timed_out = True
                        break
            except (ConnectionError, OSError) as exc:
                if chat.backend == "ollama":
                    self._llm.mark_ollama_down()
                raise LLMUnavailable(str(exc)) from exc
        if draft.shown_when_cancelled is not None:
            return  # the client left: what it saw is the answer, checked or not
        checked = self._checked(parse_partial(raw), draft.passages, question, language)
        if any(self._leak_check.leaks(s.text) for s in checked):
            draft.refusal_reason = "prompt_leak"  # never show the instructions
            return
        checked = drop_non_answers(checked)
        model_refused = any(_MODEL_SAYS_NOT_FOUND.search(s.text) for s in checked)
        quotes_fit = language == "nl"  # quotes are Dutch: none added to another language
        if quotes_fit:
            # the passages' own words answer instead; in another language a restated
            # yes/no question is the answer, checked by meaning in _checked
            checked = without_restatements(question, checked)
        if model_refused or not any(s.supported for s in checked):
            # retrieval was confident: quote the passages rather than refuse or guess
            self._quote(asked, chat, draft, deadline)
        else:
            draft.sentences = checked

    def passages_to_read(
        self, search_query: str, hits: list[SearchHit], count_tokens: Callable[[str], int]
    ) -> list[Passage]:
        """The hits as the model reads them: their sentences scored against the query,
        the best passages within the prompt's token budget."""
        budget = (
            self._settings.llm_context_tokens
            - self._settings.llm_max_answer_tokens
            - PROMPT_OVERHEAD_TOKENS
        )
        return select_passages(
            self._evidence.rank(search_query, hits),
            budget_tokens=budget,
            count_tokens=count_tokens,
            max_chars=self._settings.answer_context_chars,
        )

    def answerability(self, asked: QueryPlan, passages: list[Passage]) -> Verdict | None:
        """Whether the passages state what is asked: of the whole question, or of one of
        its parts (the answer then says what the documents hold of it); recorded with the
        answer also when the check is off. None when a question in another language
        could not be put into the documents' Dutch: it cannot be judged against them."""
        if asked.language != "nl" and asked.judged == asked.question:
            return None
        verdicts = [
            self._answerability.run(without_placeholders(question), passages)
            for question in dict.fromkeys([asked.judged, *asked.parts])
        ]
        return next((v for v in verdicts if v.answerable), verdicts[0])

    def _quote(
        self, asked: QueryPlan, chat: ChatModel | None, draft: _Draft, deadline: float
    ) -> None:
        """The passages' best sentences as the answer, verbatim and cited; for a question
        in another language, translated where the translation keeps their meaning."""
        sentences = extractive_answer(
            draft.passages,
            self._settings.answer_quote_sentences,
            per_document=self._settings.answer_quote_per_document,
        )
        if sentences and asked.language != "nl":
            translation = self._translator.quotes(
                sentences,
                self._prompts.text(asked.language, "language_name"),
                self._completer(draft.side_calls, chat),
                in_time=lambda: time.perf_counter() < deadline,
            )
            sentences, draft.translated = translation.sentences, translation.translated
        if sentences:
            draft.sentences, draft.fallback = sentences, "extractive"
        else:
            draft.refusal_reason = "model_found_nothing"

    def _related(self, passages: list[Passage]) -> list[dict]:
        """The passages' best sentences, shown apart from a refusal: what the documents
        say about the subject, not an answer to the question."""
        by_number = {p.n: p for p in passages}
        related = []
        for quote in best_quotes(passages, self._settings.answer_related):
            cited = _citation_dict(Citation(len(related) + 1, by_number[quote.n]))
            related.append(cited | {"text": quote.text})
        return related

    def _checked(
        self,
        drafted: list[DraftSentence],
        passages: list[Passage],
        question: str,
        language: str,
    ) -> list[CheckedSentence]:
        """The model's sentences with verified citations. An answer in another language
        than the (Dutch) documents is also compared by meaning, since a translation
        shares few words with its source, and by the words it adds to the question
        (the names and Dutch terms it carries over). For an open question (why, what, ...) a
        sentence closer to the question than to any passage only repeats it ("Why does
        the VNG want X?" / "The VNG wants X."); for a yes/no question that is the answer."""
        similarity, asked = None, None
        if language != "nl" and drafted:
            asked = word_stems(question)
            groups = {p.n: [s.text for s in p.sentences] + [p.text] for p in passages}
            best = self._evidence.best_similarities(
                [d.text for d in drafted], groups | {QUESTION_GROUP: [question]}
            )
            floor = QUESTION_GROUP if _OPEN_QUESTION.match(question) else None
            similarity = [
                {
                    n: cosine
                    for n, cosine in row.items()
                    if n != QUESTION_GROUP and (floor is None or cosine > row[floor])
                }
                for row in best
            ]
        settings = self._settings
        return verify_citations(
            drafted,
            passages,
            settings.citation_support_threshold,
            similarity,
            settings.citation_cross_language_threshold,
            asked,
        )

    def _without_planted_instructions(
        self, hits: list[SearchHit], draft: _Draft
    ) -> list[SearchHit]:
        """Leave out (or clean) passages that carry instructions to the model: indirect
        prompt injection through a document. Screened again here, so that rules that
        changed after the ingest apply too."""
        safe = []
        for hit in hits:
            if not screen(hit.text).flagged(self._settings.injection_threshold):
                safe.append(hit)
                continue
            draft.flagged_passages += 1
            if self._settings.flagged_passages == "neutralise":
                cleaned = neutralise(hit.text, self._settings.injection_threshold)
                if cleaned:
                    safe.append(replace(hit, text=cleaned))
        return safe

    def _messages(self, question: str, language: str, passages: list[Passage]) -> list[BaseMessage]:
        prompts = self._prompts
        user = prompts.user.format(
            passages="\n\n".join(p.prompt_block() for p in passages),
            question=question,
            language_instruction=prompts.text(language, "language_instruction"),
        )
        example_question, example_answer = prompts.example(language)
        return [
            SystemMessage(prompts.system),
            HumanMessage(example_question),
            AIMessage(example_answer),
            HumanMessage(user),
        ]

    @property
    def _answer_settings_id(self) -> str:
        """The code version and settings that shape an answer, so that changing one
        invalidates the cache."""
        s = self._settings
        return (
            f"v{ANSWER_CODE_VERSION}"
            f"p{s.answer_passages}x{s.answer_context_chars}"
            f"q{s.answer_quote_sentences}{s.answer_quote_per_document}"
            f"c{s.citation_support_threshold}x{s.citation_cross_language_threshold}"
            f"t{s.llm_max_answer_tokens}"
            f"m{s.answer_mode}r{s.answer_related}a{s.answerability_check}{s.answerability_typed}"
            f"s{s.search_mode}{s.sentence_rerank}{s.reranker_model}"
            f"{s.answerability_min_score}x{s.answerability_min_coverage}"
        )

    def _cache_key(
        self,
        queries: list[str],
        language: str,
        model_name: str,
        corpus_version: str | None,
        scope: list[str],
    ) -> str:
        parts = [
            *(question_key(query) for query in queries),
            language,
            corpus_version or "",
            model_name,
            self._prompts.label,
            self._settings.chunking_id,
            self._answer_settings_id,
            ",".join(sorted(scope)),
        ]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    def _replay(
        self,
        cached: dict,
        screened: ScreenedQuestion,
        standalone: str,
        conversation_id: str,
        started: float,
        side_calls: _ModelUse,
    ) -> Iterator[AnswerEvent]:
        """The cached answer; its usage is only what this request asked of the model (a
        follow-up's rewrite)."""
        result = AnswerResult(**cached)
        result.conversation_id = conversation_id
        result.cached = True
        result.standalone_question = standalone
        result.timings_ms = {"retrieval": 0, "generation": 0, "total": _ms(started)}
        result.usage = {
            "prompt_tokens": side_calls.prompt_tokens,
            "completion_tokens": side_calls.completion_tokens,
        }
        result.screening = screened.report() | {
            "passages_flagged": result.screening.get("passages_flagged", 0)
        }
        result.question = screened.original_redacted
        result.message_id = self._store(result, screened.text)
        yield AnswerEvent("token", result.answer)
        yield AnswerEvent("citations", result.citations)
        yield AnswerEvent("done", result)

    def _store(self, result: AnswerResult, screened_question: str) -> str:
        """Keep the exchange with its conversation; returns the answer's message id. The
        question is kept as screened (personal data redacted, injection sentences
        removed): a follow-up replays it into the prompt. The audit log keeps it as
        asked (``result.question``, redacted)."""
        metadata = {
            "refused": result.refused,
            "refusal_reason": result.refusal_reason,
            "citations": [c["chunk_id"] for c in result.citations],
            "model": result.model,
            "prompt_version": result.prompt_version,
            "cached": result.cached,
        }
        return self._conversations.add_exchange(
            result.conversation_id,
            screened_question,
            result.standalone_question,
            result.answer,
            metadata,
        )


def usable_rewrite(rewritten: str, question: str, history: list[Turn]) -> str:
    """The model's standalone version of a follow-up, unless it is empty, overlong or only
    an earlier question repeated (the small model does that, and the follow-up is lost);
    then the previous question with the follow-up after it, which carries the topic."""
    asked_before = {question_key(turn.question) for turn in history}
    if 8 <= len(rewritten) <= 400 and question_key(rewritten) not in asked_before:
        return rewritten
    return f"{history[-1].question} {question}"


def _with_parts(plan: QueryPlan) -> QueryPlan:
    """The plan with the parts of its question (in the documents' language)."""
    return replace(plan, parts=tuple(question_parts(without_placeholders(plan.judged))))


def _with_neighbours(hit: SearchHit, document: list[SearchHit]) -> str:
    """The chunk with the chunks before and after it in its section (``document``: its
    document's chunks in reading order): a list is often cut by a chunk boundary, and its
    items' places count from its start."""
    at = next((i for i, p in enumerate(document) if p.chunk_id == hit.chunk_id), None)
    if at is None:
        return hit.text
    around = document[max(at - 1, 0) : at + 2]
    return joined([p.text for p in around if p.section == hit.section])


def _with_topic(standalone: str, history: list[Turn]) -> str:
    """The standalone question preceded by the previous question, unless it already is."""
    if not history or standalone.startswith(history[-1].question):
        return standalone
    return f"{history[-1].question} {standalone}"


def _joined_pieces(pieces: list[str]) -> str:
    """The answer text of its pieces: sentences joined by a space, a lead by its newline."""
    return "".join(_deltas(pieces))


def _deltas(pieces: list[str]) -> list[str]:
    """The pieces as streamed text: a space before each sentence that follows another."""
    return [
        piece if i == 0 or pieces[i - 1].endswith("\n") else f" {piece}"
        for i, piece in enumerate(pieces)
    ]


def _citation_dict(citation: Citation) -> dict:
    hit = citation.passage.hit
    return {
        "n": citation.n,
        "chunk_id": hit.chunk_id,
        "doc_id": hit.doc_id,
        "title": hit.title,
        "section": hit.section,
        "page": hit.page,
        "text": citation.passage.text,
        "collection": hit.collection,
    }


def _ms(since: float) -> int:
    return round((time.perf_counter() - since) * 1000)
