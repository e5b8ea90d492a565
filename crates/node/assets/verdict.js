// The job page (/jobs/{id}): live progress from the event stream, then the
// verdict in plain words, the weighted votes, the detectors, the evidence,
// attestation, receipt, log inclusion and disputes.

import { h, mount, table, num, pct, when, hex, dl, title, VERDICT_WORDS, VERDICT_SHORT, verdictBadge, attestationBadge } from './dom.js';
import { get, optional, postJson, uploadFile, followJob, ApiError } from './api.js';
import { voteChart } from './chart.js';
import { inclusionSection } from './ledger.js';

const DECIDED = ['COMPLETED', 'FAILED'];

/** Renders job `jobId` into `main`; returns a cleanup function. */
export async function renderJob(main, jobId) {
  title(`Job ${jobId}`);
  const heading = h('h1', {}, 'Checking image');
  const banner = h('div', { id: 'banner' });
  const progress = progressPanel();
  const verdict = h('section', { id: 'verdict', 'aria-live': 'polite', 'aria-labelledby': 'verdict-title' });
  const details = h('div', { id: 'details' });
  const dispute = h('section', { id: 'dispute', class: 'card', hidden: true, 'aria-labelledby': 'dispute-title' });
  mount(main, heading, h('p', { class: 'muted' }, 'Job ', h('code', { id: 'job-id' }, jobId)), banner, progress.el, verdict, details, dispute);

  let job;
  try {
    job = await get(`/api/jobs/${encodeURIComponent(jobId)}`);
  } catch (e) {
    heading.textContent = e.status === 404 || e.status === 400 ? 'No such job' : 'The job could not be loaded';
    progress.el.hidden = true;
    mount(verdict, h('p', { class: 'error', role: 'alert' }, e.message), h('p', {}, h('a', { href: '/', 'data-nav': true }, 'Check an image')));
    return undefined;
  }

  let closed = false;
  let stop = null;

  const show = async () => {
    heading.textContent = DECIDED.includes(job.status) || job.status === 'DISPUTED' ? 'Verdict' : 'Checking image';
    renderBanner(banner, job);
    progress.fromJob(job);
    if (job.report || job.status === 'FAILED') {
      renderVerdict(verdict, job);
      await renderDetails(details, job);
    } else {
      mount(verdict, h('h2', { id: 'verdict-title', class: 'visually-hidden' }, 'Verdict'),
        h('p', { class: 'muted' }, 'The verdict appears here when the enclaves have reported.'));
    }
    await renderDispute(dispute, job, { onOpened: () => { follow(); scheduleRefresh(); } });
  };

  const refresh = async () => {
    if (closed) return;
    job = await get(`/api/jobs/${encodeURIComponent(jobId)}`);
    await show();
  };

  // Events that change what the page shows trigger one (debounced) reload of the job.
  let timer = null;
  let chain = Promise.resolve();
  const scheduleRefresh = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { chain = chain.then(refresh).catch(() => {}); }, 150);
  };
  const changes = (kind, d) => {
    const round = d.round ?? 0;
    switch (kind) {
      case 'consensus':
      case 'completed':
        return !job.report || round > (job.report.round ?? 0) || !['COMPLETED', 'DISPUTED'].includes(job.status);
      case 'failed': return job.status !== 'FAILED';
      case 'disputed': return job.status !== 'DISPUTED' && !job.report?.round;
      case 'dispute_resolved': return job.status === 'DISPUTED';
      case 'logged': return true;
      default: return false;
    }
  };

  const follow = () => {
    stop?.();
    stop = followJob(jobId, (kind, data) => {
      progress.event(kind, data);
      if (changes(kind, data)) scheduleRefresh();
    });
  };

  await show();
  follow();
  return () => { closed = true; clearTimeout(timer); stop?.(); };
}

/** The DISPUTED banner. */
function renderBanner(el, job) {
  if (job.status === 'DISPUTED' || job.verdictMayChange) {
    mount(el, h('div', { class: 'banner disputed', role: 'alert', id: 'disputed-banner' },
      h('strong', {}, 'DISPUTED — may change.'),
      ' A challenge is open: the enclaves are re-verifying this image. The verdict below is the disputed one.'));
  } else {
    mount(el);
  }
}

/** The live progress: a bar, the committee's enclaves, and a timeline of events. */
function progressPanel() {
  const bar = h('progress', { id: 'job-progress', max: 100, value: 0, 'aria-label': 'Job progress' });
  const label = h('span', { id: 'job-progress-label' }, '');
  const enclaves = h('ul', { class: 'enclaves', id: 'enclave-status', 'aria-label': 'Enclaves' });
  const timeline = h('ol', { class: 'timeline', id: 'timeline', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const summary = h('summary', {}, 'Progress');
  const el = h('details', { class: 'card progress', id: 'progress', open: true },
    summary, h('div', { class: 'progress-row' }, bar, label), enclaves,
    h('h3', { class: 'small-heading' }, 'Events'), timeline);
  const members = new Map();
  const seen = new Set();
  let committeeSize = 0;
  let finished = 0;

  const member = (id) => {
    if (!members.has(id)) {
      const state = h('span', { class: 'state' }, 'waiting');
      enclaves.append(h('li', { 'data-enclave': id }, h('strong', {}, id), ' ', state));
      members.set(id, state);
    }
    return members.get(id);
  };
  const setBar = (value, text) => {
    bar.value = value;
    label.textContent = text;
  };
  const line = (text, kind) => timeline.append(h('li', { class: `ev ev-${kind}` }, text));

  return {
    el,
    fromJob(job) {
      if (committeeSize === 0 && Array.isArray(job.committee)) {
        committeeSize = job.committee.length;
        for (const id of job.committee) member(id);
      }
      if (DECIDED.includes(job.status)) {
        setBar(100, job.status === 'COMPLETED' ? 'Decided' : 'Failed');
        el.open = false;
        summary.textContent = job.status === 'COMPLETED' ? 'How the verdict was reached' : 'What happened';
      } else {
        setBar(Math.max(bar.value, job.progress ?? 0), `${Math.max(bar.value, job.progress ?? 0)} %`);
        el.open = true;
        summary.textContent = 'Progress';
      }
    },
    event(kind, d) {
      const key = `${kind}/${d.round ?? ''}/${d.enclaveId ?? ''}/${d.disputeId ?? ''}`;
      if (seen.has(key)) return;
      seen.add(key);
      const round = d.round > 0 ? ` (round ${d.round})` : '';
      switch (kind) {
        case 'queued': {
          const committee = d.committee ?? [];
          committeeSize = committee.length || committeeSize;
          finished = 0;
          members.clear();
          enclaves.replaceChildren();
          for (const id of committee) member(id);
          line(`${d.reverification ? 'Re-verification queued' : d.retry ? 'Retry queued' : 'Queued'}${round} for ${committee.length} enclaves: ${committee.join(', ')}`, kind);
          setBar(5, 'Queued');
          break;
        }
        case 'enclave_started':
          member(d.enclaveId).textContent = 'analysing…';
          line(`${d.enclaveId} started analysing`, kind);
          setBar(Math.max(bar.value, 10), 'Analysing');
          break;
        case 'enclave_finished': {
          finished += 1;
          member(d.enclaveId).replaceChildren('finished: ', verdictBadge(d.verdict), ` ${pct(d.confidence)}`);
          line(`${d.enclaveId} finished: ${VERDICT_SHORT[d.verdict] ?? d.verdict} (${pct(d.confidence)} confidence), report signed`, kind);
          const n = committeeSize || 3;
          setBar(10 + Math.round((80 * Math.min(finished, n)) / n), `${finished} of ${n} reports`);
          break;
        }
        case 'consensus':
          line(`Consensus${round}: ${VERDICT_SHORT[d.verdict] ?? d.verdict}, ${pct(d.agreementRate)} of weight from ${d.participatingEnclaves} enclaves — threshold ${d.thresholdMet ? 'met' : 'NOT met'}`, kind);
          setBar(95, 'Consensus reached');
          break;
        case 'completed':
          line(`Completed${round}: final report signed by the aggregator`, kind);
          setBar(100, 'Decided');
          break;
        case 'failed':
          line(`Failed${round}: ${d.reason ?? 'no reason given'}`, kind);
          setBar(100, 'Failed');
          break;
        case 'equivocation':
          line(`${d.enclaveId} signed two different reports for one round (equivocation): both kept as proof`, kind);
          break;
        case 'equivocation_slashed':
          line(`${d.enclaveId} slashed ${d.amount ?? ''} for equivocation${d.banned ? ' and banned' : ''}`, kind);
          break;
        case 'logged':
          line(`Added to the transparency log${d.leafIndex !== undefined ? ` as entry ${d.leafIndex}` : ''}`, kind);
          break;
        case 'anchored':
          line(`Log checkpoint anchored${d.txDigest ? ` (transaction ${d.txDigest})` : ''}`, kind);
          break;
        case 'disputed':
          line(`Disputed by ${d.challengerAddress ?? 'a challenger'}${d.bond !== undefined ? `, bond ${d.bond}` : ''}`, kind);
          break;
        case 'dispute_resolved':
          line(`Dispute resolved: ${d.state ?? ''}${d.outcome ? ` — ${d.outcome}` : ''}`, kind);
          break;
        default:
          line(kind, kind);
      }
    },
  };
}

/** Headline in plain words: "Likely AI-generated — 3 of 3 verifiers agree, 100 % of weight". */
export function headline(report) {
  const m = report.consensusMetadata ?? {};
  const votes = m.votes ?? [];
  const agree = votes.filter((v) => v.verdict === report.verdict).length;
  const words = VERDICT_WORDS[report.verdict] ?? report.verdict;
  const verifiers = votes.length === 1 ? 'verifier' : 'verifiers';
  const verb = agree === 1 && votes.length === 1 ? 'agrees' : 'agree';
  return `${words} — ${agree} of ${votes.length} ${verifiers} ${verb}, ${pct(m.agreementRate)} of weight`;
}

function renderVerdict(el, job) {
  const r = job.report;
  if (!r) {
    const note = h('p', { role: 'status' });
    const retry = h('button', { type: 'button', class: 'secondary', id: 'retry', onclick: async () => {
      retry.disabled = true;
      try {
        await postJson(`/api/jobs/${encodeURIComponent(job.jobId)}/retry`, {});
        location.reload();
      } catch (e) {
        retry.disabled = false;
        mount(note, h('span', { class: 'error', role: 'alert' }, e.message));
      }
    } }, 'Retry with a new round');
    mount(el, h('h2', { id: 'verdict-title' }, 'No verdict'),
      h('p', { class: 'verdict-line v-UNCERTAIN', id: 'verdict-text' }, 'This job failed: ', job.failureReason ?? 'no reason given'),
      job.retryable ? [h('p', {}, retry), note] : null);
    return;
  }
  const m = r.consensusMetadata ?? {};
  const low = m.thresholdMet === false;
  mount(el,
    h('h2', { id: 'verdict-title', class: 'visually-hidden' }, 'Verdict'),
    h('p', { class: `verdict-line v-${r.verdict}${low ? ' low' : ''}`, id: 'verdict-text' }, headline(r)),
    low ? h('p', { class: 'warning', id: 'low-confidence' },
      `Low confidence: the winning verdict has ${pct(m.agreementRate)} of the weight, below the ${pct(m.threshold)} threshold. Treat it as a hint, not a verdict.`) : null,
    m.tie ? h('p', { class: 'warning' }, 'The top verdicts tied, so the result falls back to Uncertain.') : null,
    dl([
      ['Confidence', pct(r.confidence)],
      ['Threshold', `${pct(m.threshold)} of weight — ${m.thresholdMet ? 'met' : 'not met'}`],
      ['Enclaves counted', `${m.participatingEnclaves ?? (m.votes ?? []).length} (at least ${m.minEnclaves ?? '—'} required)`],
      ['Round', String(r.round ?? job.round ?? 0)],
      ['Decided', m.consensusTimestamp ? when(m.consensusTimestamp) : '—'],
      ['Image SHA-256', hex(r.mediaSha256)],
      ['Image', job.mimeType ? `${job.mimeType}, ${job.width} × ${job.height}` : null],
    ], { id: 'verdict-facts' }));
}

async function renderDetails(el, job) {
  const r = job.report;
  if (!r) { mount(el); return; }
  const m = r.consensusMetadata ?? {};
  const votes = m.votes ?? [];
  const id = encodeURIComponent(job.jobId);

  const models = Object.entries(r.models ?? {});
  const detectorTable = table('Detectors (weighted across the enclaves that counted)',
    ['Model or signal', 'Verdict', 'Confidence', 'Version'],
    models.map(([name, s]) => [name, verdictBadge(s.verdict), s.verdict === 'NOT_APPLICABLE' ? '—' : pct(s.confidence), h('code', {}, s.version ?? '—')]),
    { id: 'detectors' });

  const evidence = r.evidence ?? [];
  const evidenceList = evidence.length
    ? h('ul', { class: 'evidence', id: 'evidence' }, evidence.map((e) =>
      h('li', {}, h('span', { class: 'tag' }, evidenceKind(e.detector)), ' ', h('code', {}, e.detector), ': ', e.message)))
    : h('p', { id: 'evidence', class: 'muted' }, 'No evidence: the winning votes found no C2PA claim, watermark or generator metadata.');

  const insecure = votes.some((v) => v.attestation === 'dev-insecure');
  const [oracles, reports, receipt, inclusion] = await Promise.all([
    get('/api/oracles').then((b) => b.oracles ?? []).catch(() => []),
    get(`/api/jobs/${id}/reports`).then((b) => b.reports ?? []).catch(() => []),
    optional(`/api/jobs/${id}/receipt`).catch(() => null),
    inclusionSection(job.jobId).catch(() => null),
  ]);
  const attestRows = votes.map((v) => {
    const o = oracles.find((x) => x.enclaveId === v.enclaveId) ?? {};
    return [v.enclaveId, attestationBadge(v.attestation), hex(v.reportDigest), o.signingKey ? hex(o.signingKey) : '—'];
  });

  const downloads = h('ul', { class: 'downloads', id: 'downloads' },
    receipt ? h('li', {}, h('a', { href: `/api/jobs/${id}/receipt`, download: `verity-receipt-${job.jobId}.json`, id: 'download-receipt' },
      'Receipt (JSON)'), ': the final report, enclave reports, attestations and log proof; verify it offline with ', h('code', {}, 'verity verify')) : null,
    h('li', {}, jsonDownload(`verity-report-${job.jobId}.json`, r, 'Signed final report (JSON)', 'download-report')));

  mount(el,
    h('section', { class: 'card', 'aria-labelledby': 'votes-title' },
      h('h2', { id: 'votes-title' }, 'Votes'), voteChart(votes, m.threshold ?? 0.66)),
    committeeSection(r),
    h('section', { class: 'card', 'aria-labelledby': 'detectors-title' },
      h('h2', { id: 'detectors-title' }, 'Detectors'), detectorTable,
      reports.length ? h('details', { class: 'enclave-reports' }, h('summary', {}, 'Each enclave\'s signed report'),
        reports.map((s) => enclaveReport(s))) : null),
    h('section', { class: 'card', 'aria-labelledby': 'evidence-title' },
      h('h2', { id: 'evidence-title' }, 'Evidence'), evidenceList),
    h('section', { class: 'card', 'aria-labelledby': 'attestation-title' },
      h('h2', { id: 'attestation-title' }, 'Attestation'),
      insecure ? h('p', { class: 'banner insecure', id: 'insecure-warning', role: 'note' },
        h('strong', {}, '⚠ Development attestation (dev-insecure).'),
        ' These enclave keys are self-attested: nothing proves they live in secure hardware. Fine for trying Verity out; do not rely on it for anything that matters.') : null,
      table('How each enclave\'s key is attested', ['Enclave', 'Attestation', 'Report digest', 'Signing key'], attestRows, { id: 'attestations' })),
    h('section', { class: 'card', 'aria-labelledby': 'proof-title' },
      h('h2', { id: 'proof-title' }, 'Proof'),
      dl([
        ['Report digest', hex(r.reportDigest)],
        ['Aggregator key', hex(r.aggregatorKey)],
        ['Aggregator signature', hex(r.aggregatorSignature)],
      ]),
      downloads,
      inclusion));
}

/** The signed committee record: who was eligible, the rule and seed, who was chosen. */
function committeeSection(r) {
  const c = r.committee;
  if (!c) return null;
  const members = new Set(c.members ?? []);
  const rule = c.escalated
    ? 'Escalated: every eligible enclave re-verifies (a dispute).'
    : `A stake-weighted sample of ${c.size} seeded by the job id (${c.rule}); anyone can recompute it.`;
  return h('section', { class: 'card', 'aria-labelledby': 'committee-title', id: 'committee' },
    h('h2', { id: 'committee-title' }, 'Committee'),
    h('p', {}, rule),
    table(`${members.size} of ${(c.candidates ?? []).length} eligible enclaves chosen (signed in the final report)`,
      ['Enclave', 'Weight when chosen', 'Chosen'],
      (c.candidates ?? []).map((x) => [x.enclaveId, num(x.weight), members.has(x.enclaveId) ? 'yes' : 'no']),
      { id: 'committee-candidates' }));
}

function enclaveReport(signed) {
  const r = signed.report ?? {};
  return h('div', { class: 'enclave-report' },
    h('h3', {}, r.enclaveId, ' ', verdictBadge(r.verdict), ' ', attestationBadge(r.attestation)),
    table(`Detectors run by ${r.enclaveId}`, ['Detector', 'Verdict', 'Confidence', 'Version', 'Evidence'],
      (r.detectors ?? []).map((d) => [d.name, verdictBadge(d.verdict), d.verdict === 'NOT_APPLICABLE' ? '—' : pct(d.confidence), h('code', {}, d.version), (d.evidence ?? []).join('; ') || '—'])),
    h('p', { class: 'small' }, 'Signature ', hex(signed.signature)));
}

function evidenceKind(detector) {
  const d = String(detector).toLowerCase();
  if (d.includes('c2pa')) return 'C2PA claim';
  if (d.includes('watermark')) return 'Watermark';
  if (['exif', 'xmp', 'png', 'meta', 'stealth', 'generator'].some((k) => d.includes(k))) return 'Metadata';
  return 'Signal';
}

/** A link that downloads `value` as a JSON file. */
function jsonDownload(name, value, text, id) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  return h('a', { href: url, download: name, id }, text);
}

/** The dispute section: hidden when the server runs no disputes. */
async function renderDispute(el, job, { onOpened }) {
  let dispute;
  try {
    dispute = await optional(`/api/dispute/${encodeURIComponent(job.jobId)}`);
    if (dispute === null) { el.hidden = true; return; }
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) {
      el.hidden = false;
      mount(el, h('h2', { id: 'dispute-title' }, 'Dispute'), h('p', { class: 'error' }, e.message));
      return;
    }
    dispute = undefined; // the feature exists; this job has no dispute
  }
  if (dispute) {
    el.hidden = false;
    mount(el, h('h2', { id: 'dispute-title' }, 'Dispute'), disputeState(dispute));
  } else if (job.status === 'COMPLETED') {
    el.hidden = false;
    if (!el.querySelector('#dispute-form')) {
      mount(el, h('h2', { id: 'dispute-title' }, 'Dispute this verdict'), disputeForm(job, onOpened));
    }
  } else {
    el.hidden = true;
  }
}

const DISPUTE_WORDS = {
  pending_reverification: 'Open: the re-verification is queued',
  reverifying: 'Open: the enclaves are re-verifying',
  upheld: 'Upheld: the re-verification confirmed the verdict (bond forfeited)',
  overturned: 'Overturned: the re-verification reversed the verdict (the old majority was slashed)',
  rejected: 'Closed without a decision (bond refunded)',
};

function disputeState(d) {
  const rounds = d.rounds ?? [];
  return h('div', { id: 'dispute-state' },
    h('p', { class: `dispute-status s-${d.state}` }, h('strong', {}, DISPUTE_WORDS[d.state] ?? d.state)),
    d.outcome ? h('p', {}, d.outcome) : null,
    dl([
      ['Challenger', d.challengerAddress ? h('code', {}, d.challengerAddress) : null],
      ['Reason', d.reason],
      ['Evidence', d.evidenceCID ? [h('code', {}, d.evidenceCID), d.evidenceResolved === false ? ' (not found: re-verified without it)' : ''] : null],
      ['Bond', d.bond !== undefined ? String(d.bond) : null],
      ['Disputed verdict', d.disputedVerdict ? verdictBadge(d.disputedVerdict) : null],
      ['New verdict', d.newVerdict ? verdictBadge(d.newVerdict) : null],
      ['Opened', d.createdAt ? when(d.createdAt) : null],
      ['Resolved', d.resolvedAt ? when(d.resolvedAt) : null],
    ]),
    rounds.length ? table('Rounds', ['Round', 'Role', 'Status', 'Verdict', 'Agreement'],
      rounds.map((r) => [String(r.round), r.role ?? '—', r.status ?? '—', r.verdict ? verdictBadge(r.verdict) : '—',
        r.agreementRate !== undefined ? pct(r.agreementRate) : (r.reportsReceived !== undefined ? `${r.reportsReceived} report${r.reportsReceived === 1 ? '' : 's'} so far` : '—')])) : null,
    (d.slashes ?? []).length ? table('Slashes', ['Enclave', 'Amount', 'Reason'],
      d.slashes.map((s) => [s.enclaveId ?? '—', String(s.amount), s.reason ?? '—'])) : null);
}

function disputeForm(job, onOpened) {
  const status = h('p', { role: 'status', 'aria-live': 'polite', id: 'dispute-status' });
  const address = h('input', { id: 'challenger', name: 'challengerAddress', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: '0x…', 'aria-describedby': 'challenger-help' });
  const reason = h('textarea', { id: 'reason', name: 'reason', required: true, rows: 3, maxlength: 2000 });
  const file = h('input', { id: 'evidence-file', name: 'evidence', type: 'file', 'aria-describedby': 'evidence-help' });
  const cid = h('input', { id: 'evidence-cid', name: 'evidenceCID', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'evidence-help' });
  const button = h('button', { type: 'submit', id: 'dispute-submit' }, 'Open dispute');
  const fail = (text, field) => {
    mount(status, h('span', { class: 'error', role: 'alert' }, text));
    field?.focus();
  };
  return h('form', { id: 'dispute-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    if (!/^0x[0-9a-fA-F]{1,64}$/.test(address.value.trim())) return fail('The address is 0x followed by 1 to 64 hexadecimal digits.', address);
    if (!reason.value.trim()) return fail('Say why the verdict is wrong.', reason);
    if (!file.files[0] && !cid.value.trim()) return fail('Give evidence: upload a file or name an evidence id.', file);
    button.disabled = true;
    try {
      let evidenceCID = cid.value.trim();
      if (file.files[0]) {
        mount(status, 'Uploading the evidence…');
        const up = await uploadFile('/api/evidence', file.files[0],
          (sent, total) => mount(status, `Uploading the evidence: ${Math.round((100 * sent) / total)} %`));
        evidenceCID = up.evidenceCID ?? up.cid ?? evidenceCID;
      }
      mount(status, 'Opening the dispute…');
      const accepted = await postJson('/api/dispute', { jobId: job.jobId, challengerAddress: address.value.trim(), evidenceCID, reason: reason.value.trim() });
      mount(status, `Dispute opened: ${String(accepted.status ?? 'queued').replace(/_/g, ' ')}${accepted.estimatedTime ? `, within about ${accepted.estimatedTime} s` : ''}.`);
      onOpened?.();
    } catch (err) {
      button.disabled = false;
      fail(`Refused: ${err.message}`);
    }
    return undefined;
  } },
  h('p', { class: 'muted' }, 'Think the verdict is wrong? Post a bond and evidence; a larger committee re-verifies the image. If the verdict is overturned, the enclaves that voted for it are slashed and your bond is refunded with a reward; if it stands, the bond is forfeited.'),
  h('div', { class: 'field' }, h('label', { for: 'challenger' }, 'Your address'), address,
    h('p', { class: 'help', id: 'challenger-help' }, 'A Sui address: 0x followed by up to 64 hexadecimal digits.')),
  h('div', { class: 'field' }, h('label', { for: 'reason' }, 'Reason'), reason),
  h('fieldset', {}, h('legend', {}, 'Evidence'),
    h('div', { class: 'field' }, h('label', { for: 'evidence-file' }, 'Upload a file'), file),
    h('div', { class: 'field' }, h('label', { for: 'evidence-cid' }, 'or give an evidence id'), cid),
    h('p', { class: 'help', id: 'evidence-help' }, 'For example the original photo, or the id of evidence stored elsewhere.')),
  h('div', { class: 'actions' }, button), status);
}
