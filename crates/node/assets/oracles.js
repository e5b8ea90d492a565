// The oracles page: every registered verifier enclave with its reputation,
// stake, weight, slashes, ban and attestation.

import { h, mount, table, num, when, hex, dl, title, attestationBadge } from './dom.js';
import { get, optional } from './api.js';

/** The attestation kind, whether `/api/oracles` gives a string or an object. */
export function attestationKind(o) {
  const a = o.attestation;
  if (typeof a === 'string') return a;
  return a?.kind ?? o.attestationKind ?? 'unknown';
}

/** Attestation facts beyond the kind (Nitro measurements, validity), when the API gives them. */
function attestationFacts(o) {
  const a = typeof o.attestation === 'object' && o.attestation !== null ? o.attestation : {};
  const pick = (k) => a[k] ?? o[k] ?? o.attestationDetails?.[k];
  const pcrs = pick('pcrs') ?? pick('measurements')?.pcrs;
  const pairs = [
    ['Module', pick('moduleId') ? h('code', {}, pick('moduleId')) : null],
    ['PCR0', pick('pcr0') ? hex(pick('pcr0'), 16) : null],
    ['Debug enclave', pick('debug') === true ? h('strong', { class: 'warning-text' }, 'yes (PCRs all zero)') : null],
    ['Document time', pick('documentTime') || pick('documentAt') ? when(pick('documentTime') ?? pick('documentAt')) : null],
    ['Verified', pick('verifiedAt') ? when(pick('verifiedAt')) : null],
    ['Expires', pick('expiresAt') ? when(pick('expiresAt')) : null],
    ['Revoked', pick('revokedAt') ? [when(pick('revokedAt')), pick('revokeReason') ? ` — ${pick('revokeReason')}` : ''] : null],
  ];
  if (pcrs && typeof pcrs === 'object') {
    for (const [i, v] of Object.entries(pcrs)) pairs.push([`PCR${i}`, hex(v, 16)]);
  }
  return pairs.filter(([, d]) => d);
}

/** The table; the "Reports counted" column only where the API gives the count. */
function oracleTable(oracles, totalWeight, counted) {
  const withCount = oracles.some((o) => counted(o) !== undefined);
  const headers = ['Enclave', 'Attestation', 'Reputation', 'Stake', 'Weight', 'Share of weight',
    ...(withCount ? ['Reports counted'] : []), 'Slashes', 'Status'];
  return table(`${oracles.length} registered enclaves`, headers, oracles.map((o) => [
    o.enclaveId,
    attestationBadge(attestationKind(o)),
    num(o.reputation),
    String(o.stake ?? '—'),
    num(o.weight),
    o.banned ? '—' : `${Math.round((100 * (o.weight || 0)) / totalWeight)} %`,
    ...(withCount ? [counted(o) !== undefined ? String(counted(o)) : '—'] : []),
    String(o.slashes ?? 0),
    o.banned ? h('span', { class: 'badge banned' }, `Banned${o.banReason ? `: ${o.banReason}` : ''}`) : h('span', { class: 'badge active' }, 'Active'),
  ]), { id: 'oracles' });
}

/** Renders the oracles page. */
export async function renderOracles(main) {
  title('Oracles');
  mount(main, h('h1', {}, 'Oracles'),
    h('p', { class: 'lead' }, 'The verifier enclaves. A vote\'s weight is reputation × √(stake ÷ 100); reputation comes from how often an enclave\'s reports matched final verdicts, and stake is lost through slashing when a dispute overturns a verdict it voted for.'));
  let oracles;
  try {
    oracles = (await get('/api/oracles')).oracles ?? [];
  } catch (e) {
    main.append(h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const anyInsecure = oracles.some((o) => attestationKind(o) === 'dev-insecure');
  const totalWeight = oracles.filter((o) => !o.banned).reduce((s, o) => s + (o.weight || 0), 0) || 1;
  const counted = (o) => o.reportsCounted ?? o.reports ?? o.reportCount;
  main.append(
    anyInsecure ? h('p', { class: 'banner insecure', role: 'note', id: 'insecure-warning' },
      h('strong', {}, '⚠ dev-insecure attestation.'),
      ' Some enclaves attest their keys with a self-signed development statement: nothing proves those keys live in secure hardware.') : '',
    oracleTable(oracles, totalWeight, counted),
    h('section', { class: 'card', 'aria-labelledby': 'keys-title' },
      h('h2', { id: 'keys-title' }, 'Keys and attestation'),
      oracles.map((o) => h('details', { class: 'oracle', 'data-enclave': o.enclaveId },
        h('summary', {}, h('strong', {}, o.enclaveId), ' ', attestationBadge(attestationKind(o))),
        dl([
          ['Signing key (Ed25519)', o.signingKey ? hex(o.signingKey, 16) : null],
          ['Encryption key (X25519)', o.encryptionKey ? hex(o.encryptionKey, 16) : null],
          ['Registered', o.registeredAt ? when(o.registeredAt) : null],
          ...attestationFacts(o),
        ])))));

  // The stake ledger, where the server runs disputes.
  const stake = await optional('/api/stake').catch(() => null);
  if (stake) {
    main.append(h('section', { class: 'card', 'aria-labelledby': 'stake-title', id: 'stake' },
      h('h2', { id: 'stake-title' }, 'Stake ledger'),
      dl([
        ['Total', String(stake.total ?? '—')],
        ['Deposited', String(stake.deposited ?? '—')],
        ['Conserved', stake.conserved === true ? '✓ yes: every movement is recorded and the total matches the deposits' : stake.conserved === false ? h('strong', { class: 'error' }, '✗ no') : null],
        ['Entries', Array.isArray(stake.entries) ? String(stake.entries.length) : null],
      ])));
  }
}
