// Unit test of the web UI's in-browser inclusion proof check (crates/node/assets/merkle.js)
// against RFC 6962 vectors (vectors/rfc6962_inclusion.json). Runs under Node's test runner.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeHash, leafHash, toHex, verifyInclusion, parseCheckpoint } from '../../crates/node/assets/merkle.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/rfc6962_inclusion.json', import.meta.url)));

test('every derived inclusion proof for trees of 1 to 8 leaves verifies', async () => {
  assert.ok(vectors.inclusion.length > 30);
  for (const v of vectors.inclusion) {
    const ok = await verifyInclusion(v.leaf_index, v.tree_size, decodeHash(v.leaf_hash), v.proof.map(decodeHash), decodeHash(v.root));
    assert.ok(ok, `leaf ${v.leaf_index} of ${v.tree_size}`);
  }
});

test('a proof checked against the wrong root, index or size fails', async () => {
  const v = vectors.inclusion.find((x) => x.tree_size === 7 && x.leaf_index === 3);
  const path = v.proof.map(decodeHash);
  const leaf = decodeHash(v.leaf_hash);
  const root = decodeHash(v.root);
  assert.equal(await verifyInclusion(2, 7, leaf, path, root), false);
  assert.equal(await verifyInclusion(3, 4, leaf, path, root), false);
  assert.equal(await verifyInclusion(3, 7, leaf, path.slice(1), root), false);
  assert.equal(await verifyInclusion(3, 7, leaf, path, decodeHash(vectors.inclusion[0].root)), false);
  assert.equal(await verifyInclusion(7, 7, leaf, path, root), false);
});

test('the upstream transparency-dev cases: happy paths pass, every must-reject case fails', async () => {
  let accepted = 0;
  for (const v of vectors.upstream) {
    let ok;
    try {
      ok = await verifyInclusion(v.leafIdx, v.treeSize, decodeHash(v.leafHash), (v.proof ?? []).map(decodeHash), decodeHash(v.root));
    } catch {
      ok = false;
    }
    assert.equal(ok, !v.wantErr, `${v.file}: ${v.desc}`);
    if (ok) accepted += 1;
  }
  assert.ok(accepted > 0);
});

test('leaf hashes are SHA-256(0x00 || entry)', async () => {
  assert.equal(toHex(await leafHash(new Uint8Array())), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
});

test('hashes decode from hex and base64 alike', () => {
  const hexText = 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125';
  const b64 = Buffer.from(hexText, 'hex').toString('base64');
  assert.equal(toHex(decodeHash(b64)), hexText);
  assert.equal(toHex(decodeHash(hexText)), hexText);
});

test('a C2SP checkpoint note parses into origin, size and root', () => {
  // sum.golang.org's checkpoint 6476701 (shared/fixtures/log/sumdb_checkpoint_6476701.note).
  const note = 'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n'
    + '— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n';
  const cp = parseCheckpoint(note);
  assert.equal(cp.origin, 'go.sum database tree');
  assert.equal(cp.treeSize, 6476701);
  assert.equal(decodeHash(cp.rootHash).length, 32);
  assert.equal(cp.signatures.length, 1);
});
