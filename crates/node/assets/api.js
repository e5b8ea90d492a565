// Talking to the Verity HTTP API (see /api/openapi.json).

/** An API error: HTTP status, the `{error: {code, message}}` body's code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** True when the server has no such route (a feature this server does not run). */
  get routeMissing() {
    return this.status === 404 && (this.code === 'route_not_found' || this.code === 'not_json');
  }
}

async function parse(response) {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) {
    if (response.ok) return { text: await response.text() };
    throw new ApiError(response.status, 'not_json', `${response.status} ${response.statusText}`);
  }
  const body = await response.json();
  if (!response.ok || body?.success === false) {
    throw new ApiError(response.status, body?.error?.code ?? 'http_error',
      body?.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return body;
}

/** GET `path` as JSON. Throws ApiError. */
export async function get(path) {
  let response;
  try {
    response = await fetch(path, { headers: { accept: 'application/json' } });
  } catch (e) {
    throw new ApiError(0, 'network', `The server could not be reached (${e.message}).`);
  }
  return parse(response);
}

/**
 * GET a feature that a server may not run (disputes, the log, receipts):
 * `null` when the route does not exist, so the caller hides the section.
 */
export async function optional(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError && e.routeMissing) return null;
    throw e;
  }
}

/** POST a JSON body. Throws ApiError. */
export async function postJson(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', `The server could not be reached (${e.message}).`);
  }
  return parse(response);
}

/**
 * POST `file` as multipart field `file` with XMLHttpRequest, so that upload
 * progress can be shown: `onProgress(sentBytes, totalBytes)`.
 * Resolves with the JSON body; rejects with ApiError.
 */
export function uploadFile(path, file, onProgress, extra = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.responseType = 'json';
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress?.(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300 && body?.success !== false) {
        resolve(body);
      } else {
        reject(new ApiError(xhr.status, body?.error?.code ?? 'http_error',
          body?.error?.message ?? `The server answered ${xhr.status}.`));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network', 'The upload failed: the server could not be reached.')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'The upload was cancelled.')));
    const form = new FormData();
    for (const [k, v] of Object.entries(extra)) form.append(k, v);
    form.append('file', file);
    xhr.send(form);
  });
}

/** Every event kind a job stream can carry (named SSE events need a listener each). */
export const EVENT_KINDS = [
  'queued', 'enclave_started', 'enclave_finished', 'equivocation', 'consensus', 'completed',
  'failed', 'logged', 'anchored', 'disputed', 'dispute_resolved', 'equivocation_slashed',
];

/**
 * Follows `GET /api/jobs/{id}/events`. `onEvent(kind, data, id)` for each event;
 * the browser reconnects with Last-Event-ID by itself after a network error.
 * Returns a close function.
 */
export function followJob(jobId, onEvent) {
  const source = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/events`);
  let ended = false;
  for (const kind of EVENT_KINDS) {
    source.addEventListener(kind, (ev) => {
      let data = {};
      try { data = JSON.parse(ev.data); } catch { /* keep {} */ }
      ended = END_KINDS.includes(kind);
      onEvent(kind, data, ev.lastEventId);
    });
  }
  source.addEventListener('error', () => {
    // The server ends the stream after the last decision (and keeps it open
    // while a dispute is): reconnecting then would only wait, so stop.
    if (ended) source.close();
  });
  return () => source.close();
}

/** Events after which the server may end the stream. */
const END_KINDS = ['completed', 'failed', 'dispute_resolved'];
