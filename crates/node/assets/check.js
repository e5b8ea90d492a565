// The check page: choose or drop an image, upload it with progress, then
// hand over to the job page, which follows the consensus live.

import { h, mount, title } from './dom.js';
import { uploadFile } from './api.js';
import { navigate } from './app.js';

const ACCEPT = ['image/jpeg', 'image/png', 'image/webp'];

/** Renders the check page into `main`. */
export function renderCheck(main) {
  title('');
  const input = h('input', { id: 'file', name: 'file', type: 'file', accept: ACCEPT.join(',') });
  const chosen = h('p', { id: 'chosen', class: 'muted' }, 'No image chosen yet.');
  const preview = h('div', { class: 'preview' });
  const submit = h('button', { type: 'submit', id: 'submit', disabled: true }, 'Check image');
  const bar = h('progress', { id: 'upload-progress', max: 100, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const status = h('p', { id: 'upload-status', role: 'status', 'aria-live': 'polite' });
  const drop = h('div', { class: 'drop', id: 'drop' },
    h('p', { class: 'drop-title' }, 'Drop an image here'),
    h('p', {}, h('label', { for: 'file' }, 'or choose an image file:')),
    input,
    h('p', { class: 'muted small' }, 'JPEG, PNG or WebP.'));
  let file = null;
  let previewUrl = null;

  const choose = (f) => {
    if (!f) return;
    if (f.type && !ACCEPT.includes(f.type)) {
      file = null;
      submit.disabled = true;
      mount(status, h('span', { class: 'error' }, `${f.name} is not a JPEG, PNG or WebP image.`));
      return;
    }
    file = f;
    submit.disabled = false;
    mount(status);
    mount(chosen, 'Chosen: ', h('strong', {}, f.name), ` (${formatBytes(f.size)})`);
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(f);
    mount(preview, h('img', { src: previewUrl, alt: `Preview of ${f.name}` }));
  };

  input.addEventListener('change', () => choose(input.files[0]));
  for (const kind of ['dragenter', 'dragover']) {
    drop.addEventListener(kind, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const kind of ['dragleave', 'drop']) {
    drop.addEventListener(kind, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    choose(e.dataTransfer?.files?.[0]);
  });

  const form = h('form', { id: 'check-form', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      if (!file) return;
      submit.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      mount(status, `Uploading ${file.name}…`);
      try {
        const accepted = await uploadFile('/api/upload', file, (sent, total) => {
          const percent = Math.round((100 * sent) / total);
          bar.value = percent;
          mount(status, `Uploading ${file.name}: ${percent} %`);
        });
        bar.value = 100;
        mount(status, 'Uploaded, stored encrypted and queued.');
        navigate(`/jobs/${accepted.jobId}`);
      } catch (err) {
        bar.hidden = true;
        submit.disabled = false;
        mount(status, h('span', { class: 'error', role: 'alert' }, `Refused: ${err.message}`));
      }
    } },
  drop, chosen, preview, h('div', { class: 'actions' }, submit), bar, status);

  mount(main,
    h('h1', {}, 'Is this image real?'),
    h('p', { class: 'lead' }, 'Upload an image. Several independent verifier enclaves analyse it, each signs its report, and a weighted consensus decides whether it is a real capture or AI-generated. You can follow every step.'),
    form,
    h('section', { class: 'card', 'aria-labelledby': 'lookup-title' },
      h('h2', { id: 'lookup-title' }, 'Look up a job'),
      lookupForm()));
  return () => { if (previewUrl) URL.revokeObjectURL(previewUrl); };
}

function lookupForm() {
  const field = h('input', { id: 'lookup', name: 'jobId', type: 'text', placeholder: 'job_…', required: true, pattern: 'job_[0-9A-Za-z]+', autocomplete: 'off', spellcheck: 'false' });
  return h('form', { class: 'inline', onsubmit: (e) => {
    e.preventDefault();
    const id = field.value.trim();
    if (id) navigate(`/jobs/${encodeURIComponent(id)}`);
  } },
  h('label', { for: 'lookup' }, 'Job id'), field, h('button', { type: 'submit', class: 'secondary' }, 'Open'));
}

function formatBytes(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
