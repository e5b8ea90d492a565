// The weighted-vote chart: inline SVG bars, labels in HTML so that they stay
// readable at phone width. Colour is never the only cue: every bar has its
// verdict written next to it, and the chart has a text alternative.

import { h, svg, num, pct, VERDICT_SHORT, attestationBadge } from './dom.js';

const ORDER = ['AI_GENERATED', 'REAL', 'UNCERTAIN'];

/**
 * `votes`: [{enclaveId, verdict, confidence, weight, reputation, stake, attestation}],
 * `threshold`: share of weight the winner needs (0.66).
 */
export function voteChart(votes, threshold) {
  const total = votes.reduce((s, v) => s + (v.weight || 0), 0) || 1;
  const byVerdict = new Map();
  for (const v of votes) byVerdict.set(v.verdict, (byVerdict.get(v.verdict) ?? 0) + (v.weight || 0));
  const verdicts = [...byVerdict.keys()].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));

  // The stacked bar: the share of weight per verdict, with the threshold marked.
  let x = 0;
  const segments = verdicts.map((verdict) => {
    const share = byVerdict.get(verdict) / total;
    const rect = svg('rect', { x: x * 100, y: 0, width: share * 100, height: 24, class: `fill-${verdict}` },
      svg('title', {}, `${VERDICT_SHORT[verdict] ?? verdict}: ${pct(share)} of weight`));
    x += share;
    return rect;
  });
  const summary = verdicts.map((v) => `${VERDICT_SHORT[v] ?? v} ${pct(byVerdict.get(v) / total)}`).join(', ');
  const stacked = svg('svg', {
    class: 'stack', viewBox: '0 0 100 30', preserveAspectRatio: 'none', role: 'img',
    'aria-label': `Share of weight by verdict: ${summary}. Threshold ${pct(threshold)}.`,
  },
  segments,
  svg('line', { x1: threshold * 100, x2: threshold * 100, y1: 0, y2: 30, class: 'threshold-halo', 'vector-effect': 'non-scaling-stroke' }),
  svg('line', { x1: threshold * 100, x2: threshold * 100, y1: 0, y2: 30, class: 'threshold', 'vector-effect': 'non-scaling-stroke' }));

  const legend = h('ul', { class: 'legend' },
    verdicts.map((v) => h('li', {}, h('span', { class: `swatch fill-${v}`, 'aria-hidden': 'true' }),
      `${VERDICT_SHORT[v] ?? v}: ${pct(byVerdict.get(v) / total)} of weight`)),
    h('li', {}, h('span', { class: 'swatch threshold-swatch', 'aria-hidden': 'true' }), `threshold ${pct(threshold)}`));

  const rows = votes.map((v) => {
    const share = (v.weight || 0) / total;
    return h('li', { class: 'vote', 'data-enclave': v.enclaveId },
      h('div', { class: 'vote-label' }, h('strong', {}, v.enclaveId), ' ', attestationBadge(v.attestation)),
      svg('svg', { class: 'bar', viewBox: '0 0 100 12', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
        svg('rect', { x: 0, y: 0, width: 100, height: 12, class: 'track' }),
        svg('rect', { x: 0, y: 0, width: share * 100, height: 12, class: `fill-${v.verdict}` })),
      h('div', { class: 'vote-value' },
        h('span', { class: `badge v-${v.verdict}` }, VERDICT_SHORT[v.verdict] ?? v.verdict),
        ` weight ${num(v.weight)} (${pct(share)}) · reputation ${num(v.reputation)} · stake ${v.stake ?? '—'} · confidence ${pct(v.confidence)}`));
  });

  return h('figure', { class: 'vote-chart', id: 'vote-chart' },
    h('figcaption', {}, 'Weighted votes. Weight = reputation × √(stake ÷ 100).'),
    stacked, legend,
    h('ol', { class: 'votes', 'aria-label': 'Votes per enclave' }, rows));
}
