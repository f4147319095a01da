// stickylab dashboard: the fleet, the request stream and the shop, live.
// Plain script, no build step. It talks only to the admin API that serves it:
// GET /api/targets every second, the event stream GET /api/events, and the
// buttons' POST and PUT calls.
//
// The page loads fleet.js, stream.js, this file and then the host's
// extension, if any (lb.Config.DashboardScript), and starts once all have
// run. An extension adds its own controls through `dashboard`:
//
//   dashboard.api(method, path, body)      the admin API; rejects with err.status
//   dashboard.act(key, button, label, fn)  runs a button's call, the button busy meanwhile
//   dashboard.toast(msg), dashboard.el(tag, cls, text)
//   dashboard.onPoll(fn)    fn() is awaited with every refresh, beside GET /api/targets
//   dashboard.onCard(fn)    fn(card) when a target's card is made: card.name,
//                           card.root, card.actions (buttons), card.proc (a line of text)
//   dashboard.onRender(fn)  fn(card) after each render of a card; card.status is
//                           the target as GET /api/targets says; setting card.down
//                           shows it down before the balancer notices
//   dashboard.addControl(node)  a control in the header, beside the stickiness
//   dashboard.tip(...nodes)     the hint under the shop
'use strict';

const POLL_MS = 1000;
const cfg = JSON.parse(document.body.dataset.config);

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const fmt = new Intl.NumberFormat();

// What the page knows. targets: name → card; clients: label → where its
// last sticky request went.
const st = {
  targets: new Map(),
  clients: new Map(),
  sticky: null,
  busy: new Set(),      // buttons waiting for an answer, by key
  me: '',               // the client label of this browser (GET /?whoami)
};

// ---- API ---------------------------------------------------------------

async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, init);
  let data = null;
  try { data = await res.json(); } catch { /* an answer without JSON */ }
  if (!res.ok) {
    const err = new Error((data && data.error) || `${method} ${path}: HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

let toastTimer = 0;
function toast(msg) {
  const t = $('toast');
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
}

// act runs one button's API call, with the button disabled meanwhile.
async function act(key, button, label, call) {
  if (st.busy.has(key)) return;
  st.busy.add(key);
  const before = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    await call();
  } catch (err) {
    toast(err.message);
  } finally {
    st.busy.delete(key);
    button.disabled = false;
    button.textContent = before;
    poll();
  }
}

// ---- Stickiness and store ---------------------------------------------

function durationMs(s) {
  let ms = 0;
  for (const [, n, unit] of String(s).matchAll(/([\d.]+)(h|ms|m|s)/g)) {
    ms += parseFloat(n) * { h: 3600e3, m: 60e3, s: 1e3, ms: 1 }[unit];
  }
  return ms || Infinity;
}

function showSticky(s) {
  st.sticky = s;
  for (const b of $('sticky').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.mode === s.mode));
  const d = $('sticky-detail');
  d.replaceChildren();
  const code = (text) => el('code', '', text);
  switch (s.mode) {
    case 'duration': d.append(code('AWSALB'), ` cookie · ${s.duration} without a request`); break;
    case 'app': d.append(code('AWSALBAPP-0'), ' follows ', code(s.app_cookie || '?'), ` · ${s.duration}`); break;
    default: d.append('no cookie: every request picked afresh');
  }
}

$('sticky').addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (!b || (st.sticky && st.sticky.mode === b.dataset.mode)) return;
  act('sticky', b, b.textContent, async () => showSticky(await api('PUT', '/api/stickiness', { mode: b.dataset.mode })));
});

// ---- The shop ----------------------------------------------------------

$('app-reload').addEventListener('click', () => { $('app').src = cfg.app; });
// Each page the frame loads may come with a new stickiness cookie.
$('app').addEventListener('load', whoami);

// ---- Extensions --------------------------------------------------------

const hooks = { poll: [], card: [], render: [] };
const dashboard = Object.freeze({
  api, act, toast, el,
  onPoll: (fn) => { hooks.poll.push(fn); },
  onCard: (fn) => { hooks.card.push(fn); },
  onRender: (fn) => { hooks.render.push(fn); },
  addControl: (node) => { $('controls').append(node); },
  tip: (...nodes) => { $('tip').replaceChildren(...nodes); },
});

// ---- Start -------------------------------------------------------------

function start() {
  // The first paint: the targets as the balancer knew them when it served
  // the page, without waiting for the first GET /api/targets.
  const started = Date.now();
  for (const t of cfg.targets) {
    const c = card(t.name, t.color);
    c.status = t.status;
    rate(c, started);
  }
  render();
  api('GET', '/api/stickiness').then(showSticky, (err) => toast(err.message));
  // The shop loads once the stream is open: its first request is then in it.
  connect(() => { $('app').src = cfg.app; });
  whoami();
  const loop = async () => {
    await poll();
    setTimeout(loop, POLL_MS);
  };
  loop();
}
// Once every script has run, the extension's included.
document.addEventListener('DOMContentLoaded', start);
