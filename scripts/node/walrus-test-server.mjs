// A local Walrus publisher + aggregator for tests, following the documented HTTP API:
//   PUT /v1/blobs?epochs=N   -> 200 {newlyCreated: {blobObject: {blobId, ...}}, cost}
//                               or {alreadyCertified: {blobId, event, endEpoch}} for known bytes
//                               413 over the body cap, 400 for a bad epochs value
//   GET /v1/blobs/<blobId>    -> the bytes; 404 for the first NOT_YET_READS reads after a
//                               store (not yet readable), 404 for unknown ids, 403 over the read limit
// Errors are {"error": {"code", "status", "message", "details"}}.
// Blob ids are real Walrus ids: @mysten/walrus-wasm BlobEncoder(1000).compute_metadata.
// Usage: node walrus-test-server.mjs [--port 0] [--max-bytes N] [--not-yet-reads N]
// Prints "listening <port>" on stdout once ready. Blobs live in memory.
import http from 'node:http';
import crypto from 'node:crypto';
import { BlobEncoder } from '@mysten/walrus-wasm';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const port = Number(args.port ?? 0);
const maxBytes = Number(args['max-bytes'] ?? 10 * 1024 * 1024);
const notYetReads = Number(args['not-yet-reads'] ?? 1);
const readLimit = Number(args['read-limit'] ?? maxBytes);

const encoder = new BlobEncoder(1000);
const blobs = new Map(); // blobId -> {bytes, pending404, endEpoch}
const idsBySha = new Map(); // sha256 -> blobId (ids are costly to compute)
let objectCounter = 0;

function blobIdOf(bytes) {
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  let id = idsBySha.get(sha);
  if (!id) {
    const [raw] = encoder.compute_metadata(new Uint8Array(bytes));
    id = Buffer.from(raw).toString('base64url');
    idsBySha.set(sha, id);
  }
  return id;
}

function error(res, status, code, message, details = []) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, status: codeName(status), message, details } }));
}

function codeName(status) {
  return { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 413: 'OUT_OF_RANGE', 451: 'UNAVAILABLE_FOR_LEGAL_REASONS', 500: 'INTERNAL', 504: 'DEADLINE_EXCEEDED' }[status] ?? 'UNKNOWN';
}

function json(res, body) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function store(req, res, url) {
  const epochs = Number(url.searchParams.get('epochs') ?? '1');
  if (!Number.isInteger(epochs) || epochs < 1) {
    return error(res, 400, 'INVALID_EPOCHS', `epochs must be a positive integer, got ${url.searchParams.get('epochs')}`);
  }
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (c) => {
    size += c.length;
    if (size > maxBytes) tooLarge = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    if (tooLarge) {
      return error(res, 413, 'BLOB_TOO_LARGE', `the blob is larger than the maximum size of ${maxBytes} bytes`);
    }
    const bytes = Buffer.concat(chunks);
    const blobId = blobIdOf(bytes);
    const known = blobs.get(blobId);
    if (known) {
      return json(res, {
        alreadyCertified: { blobId, event: { txDigest: crypto.randomBytes(32).toString('base64url'), eventSeq: '0' }, endEpoch: known.endEpoch },
      });
    }
    const endEpoch = 1 + epochs;
    blobs.set(blobId, { bytes, pending404: notYetReads, endEpoch });
    objectCounter += 1;
    json(res, {
      newlyCreated: {
        blobObject: {
          id: '0x' + crypto.createHash('sha256').update(`object-${objectCounter}`).digest('hex'),
          registeredEpoch: 1,
          blobId,
          size: bytes.length,
          encodingType: 'RS2',
          certifiedEpoch: 1,
          storage: { id: '0x' + crypto.randomBytes(32).toString('hex'), startEpoch: 1, endEpoch, storageSize: bytes.length * 5 },
          deletable: false,
        },
        resourceOperation: { registerFromScratch: { encodedLength: bytes.length * 5, epochsAhead: epochs } },
        cost: 1000 * epochs,
      },
    });
  });
}

function read(res, blobId) {
  const blob = blobs.get(blobId);
  if (!blob || blob.pending404 > 0) {
    if (blob) blob.pending404 -= 1;
    return error(res, 404, 'BLOB_NOT_FOUND', `could not retrieve ${blobId}: not found`);
  }
  if (blob.bytes.length > readLimit) {
    return error(res, 403, 'BLOB_TOO_LARGE', `the blob is larger than the aggregator's limit of ${readLimit} bytes`);
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.bytes.length });
  res.end(blob.bytes);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'PUT' && url.pathname === '/v1/blobs') return store(req, res, url);
  const m = url.pathname.match(/^\/v1\/blobs\/([A-Za-z0-9_-]+)$/);
  if (req.method === 'GET' && m) return read(res, m[1]);
  if (req.method === 'GET' && url.pathname === '/v1/api') return json(res, { openapi: '3.0.0', info: { title: 'walrus test server' } });
  error(res, 404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
