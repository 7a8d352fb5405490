import { createHash } from 'node:crypto';

/**
 * The status page: one HTML document with its style and script inline, no framework and nothing fetched from
 * elsewhere. It holds no data; its script reads the jobs and the provisioning logs from this API with a bearer token
 * (from sessionStorage, a `local-token` meta tag, or a form) and refreshes them every few seconds. Every value from
 * the API reaches the DOM through textContent or an attribute, never as markup.
 */

/** The local stack's demo app, shown when the address names no `?sp=`. */
const DEMO_SERVICE_PRINCIPAL_ID = '5c1d7a3e-0b5f-4e2a-9d6c-3f8e2b1a7c40';

const style = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; background: #fafafa; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
code { font-size: .9em; }
.muted { color: #666; }
.job { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 1rem; margin: 1rem 0; }
.job dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: .5rem 0; }
.job dt { color: #555; }
.job dd { margin: 0; }
progress { width: 18rem; vertical-align: middle; }
.status { font-weight: 600; padding: 0 .4rem; border-radius: 3px; background: #eee; }
.status-Active { background: #d8f3dc; }
.status-Paused { background: #fff3bf; }
.status-Quarantine { background: #ffd6d6; }
.quarantine { color: #a4161a; }
table { border-collapse: collapse; margin-top: .25rem; }
th, td { text-align: left; padding: .2rem .6rem .2rem 0; vertical-align: top; border-bottom: 1px solid #eee; }
#problem { color: #a4161a; }
form { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 1rem; max-width: 40rem; }
form input { width: 100%; box-sizing: border-box; margin: .25rem 0 .5rem; font: inherit; }
`;

// String.raw keeps the script's backslashes; it holds no backtick, and its one interpolation is the default SP.
const script = String.raw`
'use strict';
const REFRESH_MS = 5000;
const TOKEN_KEY = 'graph-sync-jobs.token';
const MIN_DATE_TIME = '0001-01-01T00:00:00Z';
const STATUS_CODES = ['NotConfigured', 'NotRun', 'Active', 'Paused', 'Quarantine'];
const sp = new URLSearchParams(location.search).get('sp') || '${DEMO_SERVICE_PRINCIPAL_ID}';
const localToken = document.querySelector('meta[name="local-token"]');
let token = sessionStorage.getItem(TOKEN_KEY) || (localToken && localToken.content) || null;
let timer = null;

const $ = (id) => document.getElementById(id);
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}
function time(value) {
  if (!value || value === MIN_DATE_TIME) return el('span', '—', 'muted');
  const node = el('time', new Date(value).toLocaleString());
  node.dateTime = value;
  node.title = value;
  return node;
}
function row(list, term, ...values) {
  list.append(el('dt', term));
  const dd = el('dd');
  dd.append(...values.map((value) => (typeof value === 'string' ? document.createTextNode(value) : value)));
  list.append(dd);
  return dd;
}

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}
async function get(path) {
  const response = await fetch(path, { headers: { authorization: 'Bearer ' + token, accept: 'application/json' } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new HttpError(response.status, (body && body.error && body.error.message) || 'HTTP ' + response.status);
  return body;
}
function failuresOf(jobId) {
  const filter = "jobId eq '" + jobId.replace(/'/g, "''") + "' and provisioningStatusInfo/status eq 'failure'";
  return get('/v1.0/auditLogs/provisioning?$filter=' + encodeURIComponent(filter) + '&$top=10').then((page) => page.value);
}

function progressOf(status) {
  const bar = el('progress');
  const current = status.progress && status.progress[0];
  if (current && current.totalUnits > 0) {
    bar.max = current.totalUnits;
    bar.value = current.completedUnits;
    return [bar, ' ' + current.completedUnits + ' / ' + current.totalUnits + ' ' + current.units];
  }
  const steady = status.steadyStateLastAchievedTime && status.steadyStateLastAchievedTime !== MIN_DATE_TIME;
  if (steady) {
    bar.max = 1;
    bar.value = 1;
    return [bar, ' steady state'];
  }
  // No value: an indeterminate bar while a first cycle may be under way.
  if (status.code !== 'Active') bar.value = 0;
  return [bar, status.code === 'Active' ? ' first cycle' : ' no steady state yet'];
}

function renderFailures(failures) {
  if (failures.length === 0) return el('p', 'No failures in the provisioning logs.', 'muted');
  const table = el('table', null, 'failures');
  const head = el('tr');
  for (const title of ['Time', 'Action', 'Object', 'Reason']) head.append(el('th', title));
  table.append(head);
  for (const failure of failures) {
    const tr = el('tr', null, 'failure');
    const source = failure.sourceIdentity || {};
    const error = (failure.provisioningStatusInfo && failure.provisioningStatusInfo.errorInformation) || {};
    const when = el('td');
    when.append(time(failure.activityDateTime));
    tr.append(when, el('td', failure.provisioningAction));
    tr.append(el('td', (source.displayName || source.id || '') + (source.identityType ? ' (' + source.identityType + ')' : '')));
    const reason = el('td', error.reason || error.errorCode || '');
    if (error.errorCode) reason.title = error.errorCode;
    tr.append(reason);
    table.append(tr);
  }
  return table;
}

function renderJob(job, failures) {
  const status = job.status;
  const section = el('section', null, 'job');
  section.dataset.jobId = job.id;
  const title = el('h2', job.templateId + ' ');
  title.append(el('code', job.id, 'muted'));
  section.append(title);
  const list = el('dl');
  row(list, 'Status', el('span', status.code, 'status' + (STATUS_CODES.includes(status.code) ? ' status-' + status.code : '')));
  row(list, 'Progress', ...progressOf(status)).className = 'progress';
  row(list, 'Schedule', 'every ' + job.schedule.interval + ' (' + job.schedule.state + ')');
  const last = status.lastExecution;
  if (last) {
    row(list, 'Last cycle', last.state + ', ', time(last.timeBegan), ' → ', time(last.timeEnded)).className = 'last-cycle';
    row(list, 'Counts', last.countEntitled + ' in scope, ' + last.countExported + ' exported, ' + last.countEscrowed + ' escrowed');
    if (last.error) row(list, 'Error', last.error.code + ': ' + last.error.message);
  } else {
    row(list, 'Last cycle', el('span', 'none yet', 'muted')).className = 'last-cycle';
  }
  row(list, 'Steady state', time(status.steadyStateLastAchievedTime));
  const counts = (status.synchronizedEntryCountByType || []).map((entry) => entry.key + ': ' + entry.value);
  if (counts.length > 0) row(list, 'Synchronized', counts.join(', '));
  const quarantine = status.quarantine;
  if (quarantine) {
    const dd = row(list, 'Quarantine', quarantine.reason + (quarantine.error ? ': ' + quarantine.error.message : ''));
    dd.className = 'quarantine';
    const when = el('div', null, 'muted');
    when.append('since ', time(quarantine.seriesBegan), ', next attempt ', time(quarantine.nextAttempt));
    dd.append(when);
  }
  section.append(list, el('h3', 'Latest failures'), renderFailures(failures));
  return section;
}

function askForToken(message) {
  clearTimeout(timer);
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('jobs').replaceChildren();
  $('token-message').textContent = message;
  $('token-form').hidden = false;
  $('token').focus();
}

async function refresh() {
  try {
    const jobs = (await get('/v1.0/servicePrincipals/' + encodeURIComponent(sp) + '/synchronization/jobs')).value;
    const failures = await Promise.all(jobs.map((job) => failuresOf(job.id)));
    const sections = jobs.map((job, i) => renderJob(job, failures[i]));
    $('jobs').replaceChildren(...(sections.length > 0 ? sections : [el('p', 'This service principal has no jobs.', 'muted')]));
    $('problem').textContent = '';
    $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
  } catch (error) {
    if (error.status === 401) return askForToken('The API refused the token (it may have expired). Paste a new one.');
    $('problem').textContent = 'Could not refresh: ' + error.message;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

$('sp').textContent = sp;
$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('token').value.trim().replace(/^Bearer\s+/i, '');
  $('token').value = '';
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token-form').hidden = true;
  refresh();
});
if (token) refresh();
else askForToken('Paste a bearer token for this API (Synchronization.Read.All or Synchronization.ReadWrite.All).');
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export const statusPageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Provisioning status</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>Provisioning status</h1>
<p class="muted">Jobs of service principal <code id="sp"></code>, refreshed every few seconds. <span id="updated"></span></p>
<p id="problem" role="alert"></p>
</header>
<form id="token-form" hidden>
<label for="token">Bearer token</label>
<input id="token" type="password" autocomplete="off" spellcheck="false">
<p id="token-message" class="muted"></p>
<button type="submit">Show status</button>
</form>
<main id="jobs"></main>
<script>${script}</script>
</body>
</html>
`;

/**
 * Only the page's own inline style and script may run (by hash), it may talk to this origin only, and no other site
 * may frame it. No-store: the local server may put a token in it.
 */
export const statusPageHeaders: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** The page with a token for its script, as the local server hands it to a browser on the same machine. */
export function withLocalToken(html: string, token: string): string {
  const attribute = token.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return html.replace('</head>', `<meta name="local-token" content="${attribute}">\n</head>`);
}
