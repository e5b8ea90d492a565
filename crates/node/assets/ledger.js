// The transparency log: the latest signed checkpoint, and inclusion proofs
// checked in the browser (RFC 6962 hashing, see merkle.js). Hidden where the
// server runs no log (the routes answer 404 route_not_found).

import { h, mount, dl, hex, when, title } from './dom.js';
import { optional, ApiError } from './api.js';
import { decodeHash, verifyInclusion, parseCheckpoint, toHex } from './merkle.js';

/**
 * A checkpoint from `GET /api/ledger/checkpoint`, as JSON
 * `{checkpoint: {origin, treeSize, rootHash, timestamp?}, note?}` (aliases
 * `size`/`root` accepted) or as a C2SP signed note in text.
 */
export function readCheckpoint(body) {
  if (!body) return null;
  if (typeof body.text === 'string') {
    const parsed = parseCheckpoint(body.text);
    return parsed && { ...parsed, note: body.text };
  }
  const c = typeof body.checkpoint === 'object' && body.checkpoint !== null ? body.checkpoint : body;
  const note = body.note ?? body.signedNote ?? c.note ?? c.signedNote ?? (typeof body.checkpoint === 'string' ? body.checkpoint : undefined);
  const fromNote = note ? parseCheckpoint(note) : null;
  return {
    origin: c.origin ?? fromNote?.origin,
    treeSize: c.treeSize ?? c.size ?? c.tree_size ?? fromNote?.treeSize,
    rootHash: c.rootHash ?? c.root ?? c.root_hash ?? fromNote?.rootHash,
    timestamp: c.timestamp ?? c.createdAt ?? c.signedAt,
    anchor: body.anchor ?? c.anchor,
    note,
  };
}

/**
 * A proof from `GET /api/ledger/proof/{jobId}`:
 * `{leafIndex, treeSize, leafHash, inclusionPath: [hash], rootHash?, checkpoint?}`
 * (aliases: `index`, `size`, `auditPath`/`path`/`hashes`/`proof`, `root`), hashes hex or base64.
 */
export function readProof(body) {
  const entry = body.entry ?? {};
  const p = body.inclusionProof
    ?? (typeof body.proof === 'object' && !Array.isArray(body.proof) && body.proof !== null ? body.proof : body);
  const path = p.inclusionPath ?? p.auditPath ?? p.path ?? p.hashes ?? (Array.isArray(p.proof) ? p.proof : undefined) ?? [];
  const checkpoint = body.checkpoint ? readCheckpoint({ checkpoint: body.checkpoint, note: body.note }) : null;
  return {
    leafIndex: p.leafIndex ?? p.index ?? p.leaf_index ?? entry.index,
    treeSize: p.treeSize ?? p.size ?? p.tree_size ?? checkpoint?.treeSize,
    leafHash: p.leafHash ?? p.leaf_hash ?? entry.leafHash,
    path,
    rootHash: p.rootHash ?? p.root ?? checkpoint?.rootHash,
    checkpoint,
  };
}

/** Checks a proof; `{ok, why}`. Fetches the current checkpoint when the proof names no root. */
export async function checkProof(proof) {
  if (proof.leafIndex === undefined || proof.treeSize === undefined || !proof.leafHash) {
    return { ok: false, why: 'the proof lacks its leaf index, tree size or leaf hash' };
  }
  let root = proof.rootHash;
  if (!root) {
    const cp = readCheckpoint(await optional('/api/ledger/checkpoint'));
    if (!cp || Number(cp.treeSize) !== Number(proof.treeSize)) {
      return { ok: false, why: 'no checkpoint of the proof\'s tree size to check it against' };
    }
    root = cp.rootHash;
  }
  try {
    const ok = await verifyInclusion(proof.leafIndex, proof.treeSize, decodeHash(proof.leafHash),
      proof.path.map(decodeHash), decodeHash(root));
    return ok ? { ok, root: toHex(decodeHash(root)) } : { ok, why: 'the hashes do not lead to the checkpoint\'s root' };
  } catch (e) {
    return { ok: false, why: `the proof is malformed (${e.message})` };
  }
}

function proofResult(jobId, proof, result) {
  return h('div', { class: result.ok ? 'result ok' : 'result bad', id: 'inclusion-result', role: 'status' },
    h('p', {}, h('strong', {}, result.ok ? '✓ Included. ' : '✗ Not proven. '),
      result.ok
        ? `Job ${jobId} is entry ${proof.leafIndex} of the log's ${proof.treeSize} entries; the proof was checked in this browser.`
        : `The proof for ${jobId} did not verify: ${result.why}.`),
    dl([
      ['Leaf index', String(proof.leafIndex)],
      ['Tree size', String(proof.treeSize)],
      ['Leaf hash', hex(proof.leafHash)],
      ['Root hash', proof.rootHash ? hex(proof.rootHash) : (result.root ? hex(result.root) : null)],
      ['Proof length', `${proof.path.length} hashes`],
    ]));
}

/** The job page's log section: `null` when the server runs no log. */
export async function inclusionSection(jobId) {
  let body;
  try {
    body = await optional(`/api/ledger/proof/${encodeURIComponent(jobId)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      return h('div', { id: 'inclusion' }, h('h3', {}, 'Transparency log'), h('p', { class: 'muted' }, 'Not in the log yet.'));
    }
    return h('div', { id: 'inclusion' }, h('h3', {}, 'Transparency log'), h('p', { class: 'error' }, e.message));
  }
  if (body === null) return null;
  const proof = readProof(body);
  const result = await checkProof(proof);
  return h('div', { id: 'inclusion' }, h('h3', {}, 'Transparency log'), proofResult(jobId, proof, result),
    h('p', {}, h('a', { href: '/log', 'data-nav': true }, 'The log\'s latest checkpoint')));
}

/** The log page. */
export async function renderLog(main) {
  title('Transparency log');
  const section = h('section', { class: 'card', 'aria-labelledby': 'checkpoint-title', id: 'checkpoint' });
  mount(main, h('h1', {}, 'Transparency log'),
    h('p', { class: 'lead' }, 'Every final report is appended to an append-only Merkle log (RFC 6962). The log signs checkpoints of its size and root; an inclusion proof shows that a job\'s report is in it, and anyone can check one without trusting this server.'),
    section);
  let body;
  try {
    body = await optional('/api/ledger/checkpoint');
  } catch (e) {
    mount(section, h('h2', { id: 'checkpoint-title' }, 'Latest checkpoint'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  if (body === null) {
    mount(section, h('h2', { id: 'checkpoint-title' }, 'Not available'),
      h('p', { id: 'log-absent' }, 'This server does not run a transparency log.'));
    return;
  }
  const cp = readCheckpoint(body);
  mount(section, h('h2', { id: 'checkpoint-title' }, 'Latest checkpoint'),
    dl([
      ['Origin', cp.origin ? h('code', {}, cp.origin) : null],
      ['Entries', cp.treeSize !== undefined ? String(cp.treeSize) : null],
      ['Root hash', cp.rootHash ? hex(cp.rootHash, 20) : null],
      ['Signed', cp.timestamp ? when(cp.timestamp) : null],
      ['Anchored', cp.anchor ? (typeof cp.anchor === 'object' ? JSON.stringify(cp.anchor) : String(cp.anchor)) : null],
    ], { id: 'checkpoint-facts' }),
    cp.note ? h('details', {}, h('summary', {}, 'Signed note'), h('pre', { class: 'note' }, cp.note)) : null);

  const field = h('input', { id: 'proof-job', name: 'jobId', required: true, placeholder: 'job_…', autocomplete: 'off', spellcheck: 'false' });
  const out = h('div', { 'aria-live': 'polite' });
  main.append(h('section', { class: 'card', 'aria-labelledby': 'inclusion-title' },
    h('h2', { id: 'inclusion-title' }, 'Check that a job is in the log'),
    h('form', { class: 'inline', id: 'inclusion-form', onsubmit: async (e) => {
      e.preventDefault();
      const id = field.value.trim();
      if (!id) return;
      mount(out, h('p', {}, 'Checking…'));
      try {
        const proofBody = await optional(`/api/ledger/proof/${encodeURIComponent(id)}`);
        const proof = readProof(proofBody ?? {});
        mount(out, proofResult(id, proof, await checkProof(proof)));
      } catch (err) {
        mount(out, h('p', { class: 'error', role: 'alert' }, err.status === 404 ? `${id} is not in the log (${err.message}).` : err.message));
      }
    } },
    h('label', { for: 'proof-job' }, 'Job id'), field, h('button', { type: 'submit' }, 'Check inclusion')),
    out));
}
