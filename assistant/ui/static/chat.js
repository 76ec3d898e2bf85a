/* AI-wegwijzer chat page: plain JavaScript, no libraries, no external requests.
 *
 * Safety: text from the user, the model or a document is only ever set with
 * textContent. The one exception is `answer_html`, which the server renders with
 * raw HTML escaped and links disabled (assistant/ui/answer_html.py).
 */
'use strict';

(() => {
  const STORE_KEY = 'wegwijzer.conversations';
  const MAX_STORED = 20;
  const TEXT = {
    offline: 'Geen verbinding met de server. Controleer uw netwerk en probeer het opnieuw. Uw vraag staat nog in het vraagveld.',
    interrupted: 'Het antwoord werd onderbroken. Probeer het opnieuw; uw vraag staat nog in het vraagveld.',
    rateLimited: (seconds) => `U heeft veel vragen kort na elkaar gesteld. Wacht ${seconds ? seconds + ' seconden' : 'even'} en probeer het opnieuw.`,
    server: (status) => `Er ging iets mis op de server (fout ${status}). Probeer het opnieuw.`,
    empty: 'Typ eerst een vraag.',
    tooLong: (max) => `Uw vraag is te lang: maximaal ${max} tekens.`,
    received: 'Antwoord ontvangen: ',
    thinking: 'De assistent zoekt in de documenten en schrijft een antwoord.',
    copied: 'Antwoord gekopieerd.',
    copyFailed: 'Kopiëren lukte niet. Selecteer de tekst en kopieer die zelf.',
    thanks: 'Bedankt voor uw feedback.',
    reported: 'Bedankt. Uw melding is doorgegeven aan de beheerders.',
    feedbackFailed: 'Uw feedback kon niet worden verstuurd. Probeer het opnieuw.',
    newConversation: 'Nieuw gesprek gestart.',
    loaded: 'Eerder gesprek geladen. U kunt verder vragen.',
    llmDown: 'Het taalmodel is op dit moment niet bereikbaar. U kunt de documenten wel bekijken; probeer het later opnieuw.',
    noIndex: 'Er zijn nog geen documenten ingelezen. Neem contact op met de beheerder.',
    redacted: 'Persoonsgegevens zijn uit uw vraag verwijderd voordat die werd verwerkt.',
    keySaved: 'Sleutel opgeslagen. Stel uw vraag opnieuw.',
    you: 'U',
    sources: 'Bronnen',
    related: 'Wel gevonden over dit onderwerp (geen antwoord op uw vraag)',
    page: 'p.',
  };

  const $ = (id) => document.getElementById(id);
  const form = $('ask-form');
  const input = $('question');
  const askButton = $('ask-button');
  const formError = $('form-error');
  const messages = $('messages');
  const announcer = $('announcer');
  const dialog = $('source-dialog');
  const template = $('answer-template');

  let current = null; // {id, title, turns: [{question, result}]}
  let busy = false;
  let dialogOpener = null;

  // --- session storage: earlier conversations of this browser session -------------
  function loadConversations() {
    try {
      return JSON.parse(sessionStorage.getItem(STORE_KEY)) || [];
    } catch {
      return [];
    }
  }

  function saveConversation(conversation) {
    const others = loadConversations().filter((c) => c.id !== conversation.id);
    others.push(conversation);
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(others.slice(-MAX_STORED)));
    } catch {
      /* storage full or disabled: the conversation still works, only not listed */
    }
    renderHistory();
  }

  function renderHistory() {
    const list = $('history');
    const earlier = loadConversations().filter((c) => !current || c.id !== current.id).reverse();
    list.replaceChildren(
      ...earlier.map((conversation) => {
        const item = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'history-item';
        button.textContent = conversation.title;
        button.addEventListener('click', () => openConversation(conversation.id));
        item.append(button);
        return item;
      }),
    );
    $('history-empty').hidden = earlier.length > 0;
  }

  function openConversation(id) {
    const conversation = loadConversations().find((c) => c.id === id);
    if (!conversation || busy) return;
    current = conversation;
    messages.replaceChildren();
    for (const turn of conversation.turns) {
      addUserMessage(turn.question);
      showAnswer(addAnswerPlaceholder(), turn.result);
    }
    $('empty-conversation').hidden = true;
    renderHistory();
    announce(TEXT.loaded);
    input.focus();
  }

  function startNewConversation() {
    if (busy) return;
    current = null;
    messages.replaceChildren();
    $('empty-conversation').hidden = false;
    hideError();
    renderHistory();
    announce(TEXT.newConversation);
    input.focus();
  }

  // --- messages ----------------------------------------------------------------------
  function addUserMessage(question) {
    const item = document.createElement('li');
    item.className = 'message user';
    const who = document.createElement('p');
    who.className = 'who';
    who.textContent = TEXT.you;
    const text = document.createElement('p');
    text.className = 'question-text';
    text.textContent = question;
    item.append(who, text);
    messages.append(item);
    $('empty-conversation').hidden = true;
    return item;
  }

  function addAnswerPlaceholder() {
    const item = template.content.firstElementChild.cloneNode(true);
    messages.append(item);
    return item;
  }

  function showAnswer(item, result) {
    const box = item.querySelector('.answer');
    if (result.answer_html) {
      box.innerHTML = result.answer_html; // escaped by the server, see the note at the top
    } else {
      const paragraph = document.createElement('p');
      paragraph.textContent = result.answer;
      box.replaceChildren(paragraph);
    }
    box.classList.toggle('refused', Boolean(result.refused));
    box.setAttribute('aria-busy', 'false');
    item.citations = new Map(result.citations.map((c) => [String(c.n), c]));
    item.answerText = result.answer;
    item.messageId = result.message_id;
    if (result.citations.length) box.append(sourceList(result.citations));
    if (result.related && result.related.length) box.append(relatedList(result.related));
    if (result.screening && result.screening.personal_data_redacted.length) {
      const note = document.createElement('p');
      note.className = 'meta screening-note';
      note.textContent = TEXT.redacted;
      box.append(note);
    }
    item.querySelector('.answer-tools').hidden = false;
  }

  function sourceList(citations) {
    const wrapper = document.createElement('div');
    const heading = document.createElement('p');
    heading.className = 'meta';
    heading.textContent = `${TEXT.sources}:`;
    const list = document.createElement('ol');
    list.className = 'sources';
    for (const citation of citations) {
      const entry = document.createElement('li');
      entry.value = citation.n;
      const chip = document.createElement('button');
      chip.type = 'button';
      chip.className = 'cite';
      chip.dataset.n = String(citation.n);
      chip.textContent = String(citation.n);
      chip.setAttribute('aria-label', `Bron ${citation.n} bekijken`);
      const label = document.createElement('span');
      label.textContent = ` ${describe(citation)}`;
      entry.append(chip, label);
      list.append(entry);
    }
    wrapper.append(heading, list);
    return wrapper;
  }

  // a refusal's closest passages: about the subject, shown apart and never as the answer
  function relatedList(related) {
    const wrapper = document.createElement('section');
    wrapper.className = 'related';
    const heading = document.createElement('p');
    heading.className = 'meta';
    heading.textContent = `${TEXT.related}:`;
    const list = document.createElement('ul');
    for (const passage of related) {
      const entry = document.createElement('li');
      const quote = document.createElement('q');
      quote.textContent = passage.text;
      const where = document.createElement('span');
      where.className = 'meta';
      where.textContent = ` (${describe(passage)})`;
      entry.append(quote, where);
      list.append(entry);
    }
    wrapper.append(heading, list);
    return wrapper;
  }

  function describe(citation) {
    const parts = [citation.title];
    if (citation.section) parts.push(citation.section);
    if (citation.page) parts.push(`${TEXT.page} ${citation.page}`);
    return parts.join(' · ');
  }

  // --- asking: POST /api/chat with stream=true, read as Server-Sent Events ------------
  async function ask(question) {
    if (busy) return;
    question = question.trim();
    if (!question) return showError(TEXT.empty);
    const max = Number(input.getAttribute('maxlength')) || 4000;
    if (question.length > max) return showError(TEXT.tooLong(max));
    hideError();
    setBusy(true);
    input.value = '';
    const userItem = addUserMessage(question);
    const item = addAnswerPlaceholder();
    const box = item.querySelector('.answer');
    const streaming = document.createElement('p');
    streaming.className = 'streaming';
    box.append(streaming);
    announce(TEXT.thinking);
    try {
      const response = await fetch('/api/chat', {
        method: 'POST',
        headers: apiHeaders({ Accept: 'text/event-stream' }),
        body: JSON.stringify({ message: question, conversation_id: current ? current.id : null, stream: true }),
      });
      if (!response.ok) throw new UserError(await httpErrorText(response));
      let result = null;
      let text = '';
      for await (const event of serverSentEvents(response)) {
        if (event.name === 'token') {
          text += event.data.text;
          streaming.textContent = text;
        } else if (event.name === 'error') {
          throw new UserError(event.data.detail || TEXT.interrupted);
        } else if (event.name === 'done') {
          result = event.data;
        }
      }
      if (!result) throw new UserError(TEXT.interrupted);
      showAnswer(item, result);
      remember(question, result);
      announce(TEXT.received + result.answer);
    } catch (error) {
      userItem.remove();
      item.remove();
      if (!messages.children.length) $('empty-conversation').hidden = false;
      if (!input.value) input.value = question; // never lose what the user typed
      showError(error instanceof UserError ? error.message : TEXT.offline);
    } finally {
      setBusy(false);
    }
  }

  class UserError extends Error {}

  // An API key, when the server asks for one (401): see api-key.js.
  function apiHeaders(extra) {
    return window.wegwijzerKey.headers({ 'Content-Type': 'application/json', ...extra });
  }

  window.wegwijzerKey.onEntered(() => {
    hideError();
    announce(TEXT.keySaved);
    input.focus();
  });

  async function httpErrorText(response) {
    if (response.status === 401) window.wegwijzerKey.ask(true);
    let detail = '';
    try {
      detail = (await response.json()).detail;
    } catch {
      /* not JSON: use the status text below */
    }
    if (response.status === 429) return TEXT.rateLimited(response.headers.get('Retry-After'));
    if (typeof detail === 'string' && detail) return detail;
    return TEXT.server(response.status);
  }

  async function* serverSentEvents(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      for (const block of blocks) {
        let name = 'message';
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length) yield { name, data: JSON.parse(data.join('\n')) };
      }
    }
  }

  function remember(question, result) {
    if (!current || current.id !== result.conversation_id) {
      current = { id: result.conversation_id, title: question.slice(0, 80), turns: [] };
    }
    current.turns.push({ question, result });
    saveConversation(current);
  }

  function setBusy(value) {
    busy = value;
    askButton.disabled = value;
    $('new-conversation').disabled = value;
    messages.setAttribute('aria-busy', String(value));
  }

  function showError(message) {
    formError.textContent = message;
    formError.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }

  function hideError() {
    formError.hidden = true;
    formError.textContent = '';
    input.removeAttribute('aria-invalid');
  }

  function announce(message) {
    announcer.textContent = '';
    window.setTimeout(() => {
      announcer.textContent = message;
    }, 50);
  }

  // --- sources -------------------------------------------------------------------------
  function openSource(chip) {
    const item = chip.closest('.message');
    const citation = item && item.citations && item.citations.get(chip.dataset.n);
    if (!citation) return;
    $('source-heading').textContent = `Bron ${citation.n}`;
    $('source-document').textContent = citation.title;
    $('source-location').textContent = [citation.section, citation.page ? `${TEXT.page} ${citation.page}` : '']
      .filter(Boolean)
      .join(' · ');
    $('source-text').textContent = citation.text;
    const link = $('source-link');
    const query = new URLSearchParams({ passage: citation.chunk_id });
    if (citation.collection) query.set('collection', citation.collection);
    link.href = `/documents/${encodeURIComponent(citation.doc_id)}?${query}#passage`;
    dialogOpener = chip;
    dialog.showModal();
    $('source-close').focus();
  }

  dialog.addEventListener('close', () => {
    if (dialogOpener) dialogOpener.focus();
    dialogOpener = null;
  });
  $('source-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });

  // --- answer tools: copy and feedback --------------------------------------------------
  async function copyAnswer(item) {
    const status = item.querySelector('.tool-status');
    try {
      await navigator.clipboard.writeText(item.answerText);
      status.textContent = TEXT.copied;
    } catch {
      status.textContent = TEXT.copyFailed;
    }
  }

  async function sendFeedback(item, payload) {
    const status = item.querySelector('.tool-status');
    try {
      const response = await fetch('/api/feedback', {
        method: 'POST',
        headers: apiHeaders({}),
        body: JSON.stringify({ message_id: item.messageId, ...payload }),
      });
      if (!response.ok) {
        status.textContent = await httpErrorText(response);
        return false;
      }
      status.textContent = payload.report_problem ? TEXT.reported : TEXT.thanks;
      return true;
    } catch {
      status.textContent = TEXT.feedbackFailed;
      return false;
    }
  }

  async function rate(item, button) {
    const rating = button.dataset.rating;
    if (await sendFeedback(item, { rating })) {
      for (const thumb of item.querySelectorAll('.thumb')) {
        thumb.setAttribute('aria-pressed', String(thumb === button));
      }
    }
  }

  async function submitFeedbackForm(item, formElement) {
    const pressed = item.querySelector('.thumb[aria-pressed="true"]');
    const payload = {
      rating: pressed ? pressed.dataset.rating : null,
      comment: formElement.elements.comment.value.trim() || null,
      report_problem: formElement.elements.problem.checked,
    };
    if (await sendFeedback(item, payload)) {
      formElement.reset();
      formElement.closest('details').open = false;
    }
  }

  // --- wiring ------------------------------------------------------------------------------
  messages.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const item = target && target.closest('.message');
    if (!item) return;
    if (target.closest('.cite')) openSource(target.closest('.cite'));
    else if (target.closest('.copy')) copyAnswer(item);
    else if (target.closest('.thumb')) rate(item, target.closest('.thumb'));
  });
  messages.addEventListener('submit', (event) => {
    event.preventDefault();
    const item = event.target.closest('.message');
    if (item) submitFeedbackForm(item, event.target);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ask(input.value);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ask(input.value);
    }
  });
  for (const button of document.querySelectorAll('.example')) {
    button.addEventListener('click', () => {
      input.value = button.textContent.trim();
      ask(input.value);
    });
  }
  $('new-conversation').addEventListener('click', startNewConversation);
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    input.focus();
  });

  async function checkHealth() {
    try {
      const health = await (await fetch('/api/health')).json();
      const message = health.status === 'empty' ? TEXT.noIndex : health.status === 'degraded' ? TEXT.llmDown : '';
      $('status-banner').textContent = message;
      $('status-banner').hidden = !message;
    } catch {
      /* the page itself loaded; asking will show a clear error if the server is gone */
    }
  }

  renderHistory();
  checkHealth();
})();
