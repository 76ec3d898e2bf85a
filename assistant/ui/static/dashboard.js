// The administrators' dashboard: asks /api/admin/dashboard with the key kept in this tab
// (or with the SSO proxy's headers) and fills the page. All text is set as text.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const REASONS = {
    retrieval_not_confident: 'niet in de documenten',
    model_found_nothing: 'model vond niets',
    quoted_only: 'alleen citaten',
    rated_down: 'duim omlaag',
    problem_reported: 'probleem gemeld',
  };
  const TOTALS = [
    ['requests', 'Verzoeken'],
    ['answers', 'Antwoorden'],
    ['searches', 'Zoekopdrachten'],
    ['refusal_rate', 'Geweigerd', (v) => (v === null ? '–' : `${Math.round(v * 100)}%`)],
    ['latency_p50_s', 'Antwoordtijd p50', (v) => (v === null ? '–' : `${v} s`)],
    ['latency_p95_s', 'Antwoordtijd p95', (v) => (v === null ? '–' : `${v} s`)],
    ['errors', 'Fouten'],
    ['denied', 'Geweigerde verzoeken'],
    ['cache_hits', 'Uit de cache'],
    ['feedback_up', 'Duim omhoog'],
    ['feedback_down', 'Duim omlaag'],
    ['problems', 'Gemelde problemen'],
    ['feedback_rate', 'Beoordeelde antwoorden', (v) => `${Math.round(v * 100)}%`],
    ['injection_attempts', 'Injectiepogingen'],
    ['personal_data', 'Persoonsgegevens verwijderd'],
    ['tokens', 'Tokens'],
  ];

  const headers = (extra) => window.wegwijzerKey.headers(extra);

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function showError(message) {
    $('dashboard-error').textContent = message;
    $('dashboard-error').hidden = false;
  }

  async function failure(response) {
    if (response.status === 401 || response.status === 403) {
      // no key, or a user's key (say from the chat page): ask for an administrator's key
      window.wegwijzerKey.ask(response.status === 401);
      $('dashboard-content').hidden = true;
    }
    let detail = '';
    try {
      detail = (await response.json()).detail;
    } catch {
      /* not JSON */
    }
    return typeof detail === 'string' && detail ? detail : `De server gaf fout ${response.status}.`;
  }

  async function load() {
    $('dashboard-error').hidden = true;
    let response;
    try {
      response = await fetch(`/api/admin/dashboard?days=${$('days').value}`, { headers: headers() });
    } catch {
      showError('De server is niet bereikbaar.');
      return;
    }
    if (!response.ok) {
      showError(await failure(response));
      return;
    }
    render(await response.json());
  }

  function render(data) {
    $('key-form').hidden = true;
    $('dashboard-content').hidden = false;
    const range = data.window.bucket === 'hour' ? 'per uur' : 'per dag';
    $('window-label').textContent = `(${data.window.days} dagen, ${range})`;
    renderAlerts(data.alerts.active);
    renderTotals(data.totals, data.cost);
    for (const name of ['requests', 'latency', 'quality', 'tokens']) {
      $(`chart-${name}`).src = data.charts[name];
    }
    renderGaps(data.content_gaps);
    $('open-problems').textContent = String(data.open_problems);
    renderFeedback(data.feedback);
    $('announcer').textContent = 'Dashboard bijgewerkt.';
  }

  function renderAlerts(alerts) {
    $('alerts').replaceChildren(
      ...alerts.map((a) => element('li', `${a.label}: ${round(a.value)} (drempel ${a.threshold})`)),
    );
    $('no-alerts').hidden = alerts.length > 0;
  }

  function round(value) {
    return Number.isInteger(value) ? String(value) : value.toFixed(3);
  }

  function renderTotals(totals, cost) {
    const items = TOTALS.map(([key, label, format]) => {
      const value = key === 'tokens' ? totals.tokens_in + totals.tokens_out : totals[key];
      return [label, format ? format(value) : String(value)];
    });
    items.push([`Geschatte kosten (${cost.unit})`, String(cost.total)]);
    $('totals').replaceChildren(
      ...items.map(([label, value]) => {
        const box = document.createElement('div');
        box.append(element('dt', label), element('dd', value));
        return box;
      }),
    );
  }

  function renderGaps(gaps) {
    if (!gaps.length) {
      const row = element('tr');
      const cell = element('td', 'Geen vragen zonder goed antwoord in deze periode.');
      cell.colSpan = 4;
      row.append(cell);
      $('gaps').replaceChildren(row);
      return;
    }
    $('gaps').replaceChildren(
      ...gaps.map((gap) => {
        const row = element('tr');
        const reasons = Object.keys(gap.reasons).map((r) => REASONS[r] || r).join(', ');
        row.append(
          element('td', gap.question),
          element('td', String(gap.count)),
          element('td', gap.last_asked.slice(0, 16).replace('T', ' ')),
          element('td', reasons),
        );
        return row;
      }),
    );
  }

  function renderFeedback(items) {
    if (!items.length) {
      $('feedback').replaceChildren(element('li', 'Geen negatieve feedback of meldingen.'));
      return;
    }
    $('feedback').replaceChildren(...items.map(feedbackItem));
  }

  function feedbackItem(item) {
    const li = element('li');
    li.dataset.feedbackId = item.id;
    const kind = item.problem ? 'Probleem gemeld' : 'Duim omlaag';
    const when = new Date(item.created_at * 1000).toLocaleString('nl-NL');
    li.append(element('strong', `${kind} · ${when}`));
    li.append(element('p', `Vraag: ${item.question || '–'}`));
    li.append(element('blockquote', item.answer || ''));
    if (item.comment) li.append(element('p', `Toelichting: ${item.comment}`));
    if (item.handled_at) {
      li.append(element('p', `Afgehandeld door ${item.handled_by}: ${item.handling_note}`, 'handled'));
      return li;
    }
    const form = element('form');
    const id = `note-${item.id}`;
    const label = element('label', 'Wat is eraan gedaan?');
    label.htmlFor = id;
    const note = element('textarea');
    note.id = id;
    note.rows = 2;
    note.required = true;
    form.append(label, note, element('button', 'Markeer als afgehandeld'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      handle(item.id, note.value.trim());
    });
    li.append(form);
    return li;
  }

  async function handle(id, note) {
    if (!note) return;
    const response = await fetch(`/api/admin/feedback/${encodeURIComponent(id)}/handled`, {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ note }),
    });
    if (!response.ok) {
      showError(await failure(response));
      return;
    }
    $('announcer').textContent = 'Gemarkeerd als afgehandeld.';
    await load();
  }

  async function download(event) {
    event.preventDefault();
    const response = await fetch(event.currentTarget.href, { headers: headers() });
    if (!response.ok) {
      showError(await failure(response));
      return;
    }
    const link = element('a');
    link.href = URL.createObjectURL(await response.blob());
    link.download = 'wegwijzer-feedback.csv';
    link.click();
    URL.revokeObjectURL(link.href);
  }

  window.wegwijzerKey.onEntered(load);
  $('window-form').addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  $('feedback-export').addEventListener('click', download);
  load();
})();
