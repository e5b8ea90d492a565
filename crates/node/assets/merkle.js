// RFC 6962 / RFC 9162 Merkle inclusion proofs, checked in the browser with
// WebCrypto SHA-256 (also runs under Node 20 for the unit test).

const subtle = globalThis.crypto.subtle;

/** Bytes from a 32-byte hash written as hex or (standard or URL-safe) base64. */
export function decodeHash(text) {
  if (text instanceof Uint8Array) return text;
  const s = String(text ?? '').trim();
  if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) {
    return Uint8Array.from(s.match(/../g), (b) => parseInt(b, 16));
  }
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let at = 0;
  for (const p of parts) { buf.set(p, at); at += p.length; }
  return new Uint8Array(await subtle.digest('SHA-256', buf));
}

/** The RFC 6962 leaf hash: SHA-256(0x00 || entry). */
export function leafHash(entry) {
  return sha256(Uint8Array.of(0), entry);
}

/** An interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(Uint8Array.of(1), left, right);
}

/**
 * RFC 9162 §2.1.3.2: the root that `path` leads to from leaf `index` of a tree
 * of `size` leaves, or null when the proof has the wrong shape.
 */
export async function rootFromInclusion(index, size, leaf, path) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn || fn < 0n) return null;
  if (leaf.length !== 32 || path.some((p) => p.length !== 32)) return null;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

/** Whether `path` proves that `leaf` (a leaf hash) is at `index` in the tree with `root`. */
export async function verifyInclusion(index, size, leaf, path, root) {
  const got = await rootFromInclusion(index, size, leaf, path);
  return got !== null && root.length === 32 && toHex(got) === toHex(root);
}

/**
 * A C2SP checkpoint (signed note body): origin, tree size, base64 root hash,
 * optional extension lines, a blank line, then signature lines.
 */
export function parseCheckpoint(text) {
  const [body, sigs = ''] = String(text).split('\n\n');
  const lines = body.split('\n');
  if (lines.length < 3 || !/^\d+$/.test(lines[1])) return null;
  return {
    origin: lines[0],
    treeSize: Number(lines[1]),
    rootHash: lines[2],
    extensions: lines.slice(3).filter(Boolean),
    signatures: sigs.split('\n').filter((l) => l.startsWith('— ')),
  };
}
