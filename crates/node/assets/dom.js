// Small DOM helpers. Everything is built with createElement and textContent:
// no HTML strings from the server ever reach innerHTML.

/** h('p', {class: 'x'}, 'text', child) — an element with attributes and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** An SVG element with attributes and children. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/**
 * A table with a caption, column headers and rows of cells (strings or nodes).
 * At phone width each row becomes a card, its cells labelled by `data-label`.
 */
export function table(caption, headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap', ...attrs },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) =>
        i === 0 ? h('th', { scope: 'row' }, c) : h('td', { 'data-label': headers[i] }, c)))))));
}

/** A percentage with no decimals, "100 %". */
export const pct = (x) => `${Math.round((Number(x) || 0) * 100)} %`;

/** A number with `digits` decimals. */
export const num = (x, digits = 2) => (typeof x === 'number' ? x.toFixed(digits) : '—');

/** Plain words for a verdict. */
export const VERDICT_WORDS = {
  REAL: 'Likely a real capture',
  AI_GENERATED: 'Likely AI-generated',
  UNCERTAIN: 'Uncertain',
  NOT_APPLICABLE: 'Not applicable',
};

/** Short label for a verdict in tables. */
export const VERDICT_SHORT = {
  REAL: 'Real',
  AI_GENERATED: 'AI-generated',
  UNCERTAIN: 'Uncertain',
  NOT_APPLICABLE: 'n/a',
};

/** A verdict badge (text, never colour alone). */
export function verdictBadge(verdict) {
  return h('span', { class: `badge v-${verdict}` }, VERDICT_SHORT[verdict] ?? verdict);
}

/** The attestation kind, with the insecure development mode flagged. */
export function attestationBadge(kind) {
  if (kind === 'dev-insecure') {
    return h('span', { class: 'badge insecure', title: 'Development attestation: a self-signed statement that proves nothing about where the key lives' },
      '⚠ dev-insecure');
  }
  if (kind === 'nitro') return h('span', { class: 'badge secure', title: 'AWS Nitro Enclaves attestation, verified' }, '✓ nitro');
  return h('span', { class: 'badge' }, String(kind ?? 'unknown'));
}

/** A date string in the reader's locale (and the ISO form in a title). */
export function when(iso) {
  if (!iso) return '—';
  const date = typeof iso === 'number' ? new Date(iso) : new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return h('time', { datetime: date.toISOString(), title: date.toISOString() }, date.toLocaleString());
}

/** A long hex string shortened for display, full in a title and copyable. */
export function hex(value, keep = 12) {
  const text = String(value ?? '');
  if (text.length <= keep * 2) return h('code', {}, text);
  return h('code', { title: text, class: 'hex' }, `${text.slice(0, keep)}…${text.slice(-6)}`);
}

/** Replaces the content of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A definition list from [term, description] pairs (skipping empty descriptions). */
export function dl(pairs, attrs = {}) {
  return h('dl', { class: 'facts', ...attrs }, pairs
    .filter(([, d]) => d !== undefined && d !== null && d !== '')
    .map(([t, d]) => [h('dt', {}, t), h('dd', {}, d)]));
}

/** Sets the document title. */
export function title(text) {
  document.title = text ? `${text} — Verity` : 'Verity — is this image real?';
}
