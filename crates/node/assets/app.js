// Verity's web UI: a small client-side router over four pages.
//   /            check an image (upload, then the job page follows it live)
//   /jobs/{id}   a job: live progress, then the verdict (shareable URL)
//   /oracles     the verifier enclaves and their economics
//   /log         the transparency log: checkpoint and inclusion check

import { h, mount } from './dom.js';
import { renderCheck } from './check.js';
import { renderJob } from './verdict.js';
import { renderOracles } from './oracles.js';
import { renderLog } from './ledger.js';

const routes = [
  [/^\/$/, () => renderCheck],
  [/^\/jobs\/([^/]+)$/, (m) => (main) => renderJob(main, decodeURIComponent(m[1]))],
  [/^\/oracles$/, () => renderOracles],
  [/^\/log$/, () => renderLog],
];

let cleanup = null;

/** Shows the page for the current location. */
async function route() {
  cleanup?.();
  cleanup = null;
  const main = document.getElementById('main');
  const path = location.pathname.replace(/\/+$/, '') || '/';
  for (const link of document.querySelectorAll('nav a')) {
    const here = link.getAttribute('href') === path || (path.startsWith('/jobs/') && link.getAttribute('href') === '/');
    if (here) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  for (const [pattern, page] of routes) {
    const m = path.match(pattern);
    if (m) {
      mount(main);
      const result = await page(m)(main);
      if (typeof result === 'function') cleanup = result;
      return;
    }
  }
  mount(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no such page. ', h('a', { href: '/', 'data-nav': true }, 'Check an image')));
}

/** Navigates without a reload. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  route().then(() => document.getElementById('main').focus({ preventScroll: false }));
}

document.addEventListener('click', (e) => {
  const link = e.target.closest?.('a[data-nav]');
  if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', () => route());

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', route);
} else {
  route();
}
