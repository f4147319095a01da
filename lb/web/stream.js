// stickylab dashboard, the request stream: the events of GET /api/events,
// newest first, and which clients are stuck where.
'use strict';

const FLUSH_MS = 100;         // how often new rows are added to the stream
const MAX_ROWS = 80;          // rows kept in the request stream
const MAX_CLIENTS = 5000;     // clients remembered for "stuck" counts

// ---- Event stream ------------------------------------------------------

const pending = [];
let flushQueued = false;

function queue(row) {
  pending.push(row);
  if (pending.length > MAX_ROWS) pending.shift();
  if (!flushQueued) {
    flushQueued = true;
    // A timer rather than requestAnimationFrame: a hidden tab gets no
    // animation frames, and the rows should be there when it comes back.
    setTimeout(flush, FLUSH_MS);
  }
}

// flush adds the rows of a tenth of a second at once: a busy balancer
// sends thousands of events a second, and the page must not fall behind.
function flush() {
  flushQueued = false;
  const rows = $('rows');
  const empty = $('empty');
  if (empty) empty.remove();
  const frag = document.createDocumentFragment();
  for (let i = pending.length - 1; i >= 0; i--) frag.append(pending[i]);
  pending.length = 0;
  rows.prepend(frag);
  while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
  render(); // the stuck counts follow the requests
}

const clock = (iso) => {
  const d = new Date(iso);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
};

function hue(label) {
  let h = 2166136261;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619);
  return (h >>> 0) % 360;
}

const decisions = {
  new: ['new', 'No usable cookie: the algorithm picked this instance and the balancer set the cookie'],
  stuck: ['stuck', 'The cookie named this instance, and it took the request'],
  restuck: ['re-stuck', 'The cookie named an instance that is down, draining or gone: re-stuck to this one'],
};

function onRequest(e) {
  // A label starting with "c-" comes from a stickiness cookie; others are
  // a hash of address and user agent: not stuck anywhere.
  if (e.sticky && e.target && e.client && e.client.startsWith('c-')) {
    st.clients.delete(e.client); // re-insert: the map stays in order of last request
    st.clients.set(e.client, { target: e.target, at: Date.parse(e.time) || Date.now() });
    if (st.clients.size > MAX_CLIENTS) st.clients.delete(st.clients.keys().next().value);
  } else if (e.client) {
    st.clients.delete(e.client);
  }
  const row = el('div', e.client && e.client === st.me ? 'row fresh me' : 'row fresh');
  row.append(el('span', 'time', clock(e.time)));
  row.dataset.client = e.client || '';
  const who = el('span');
  who.append(clientChip(e.client || ''));
  const where = el('span');
  const chip = el('span', e.target ? 'chip' : 'chip none', e.target || 'none');
  if (e.target) chip.style.setProperty('--c', colorOf(e.target) || '#475569');
  where.append(chip);
  const dec = el('span');
  const d = decisions[e.sticky];
  const badge = el('span', d ? 'decision ' + e.sticky : 'decision off', d ? d[0] : 'off');
  badge.title = d ? d[1] : 'Stickiness is off: the algorithm picks every request';
  dec.append(badge);
  const path = el('span', 'path');
  path.append(el('b', '', e.method || ''), e.path || '');
  path.title = `${e.method} ${e.path}`;
  if (e.retries) {
    path.append(el('span', 'retry', `↻${e.retries}`));
    path.title += ` · retried ${e.retries}× on another instance (passive failover)`;
  }
  const status = el('span', `num status-${String(e.status || 0)[0]}`, String(e.status || ''));
  const ms = el('span', 'num', e.duration_ms !== undefined ? e.duration_ms.toFixed(e.duration_ms < 10 ? 1 : 0) : '');
  row.append(who, where, dec, path, status, ms);
  queue(row);
}

// clientChip shows a client label in a colour of its own, or "you" for
// this browser.
function clientChip(label) {
  const me = label !== '' && label === st.me;
  const chip = el('span', me ? 'client you' : 'client', me ? 'you' : label || '?');
  chip.style.setProperty('--h', hue(label));
  chip.title = me ? `This browser (${label}): the shop on the right` : label;
  return chip;
}

// whoami asks which client label the balancer gives this browser: the
// shop's frame shares its cookies.
async function whoami() {
  let me = '';
  try { me = (await api('GET', '/?whoami')).client || ''; } catch { return; }
  if (me === st.me) return;
  st.me = me;
  // The rows shown and those waiting for the next flush: the shop's first
  // request is often still waiting when the answer comes.
  for (const row of [...$('rows').children, ...pending]) {
    if (row.dataset.client === undefined) continue;
    const cell = row.children[1];
    cell.replaceChildren(clientChip(row.dataset.client));
    row.classList.toggle('me', row.dataset.client === me && me !== '');
  }
  render();
}

function note(e, text, tone) {
  const row = el('div', 'row note fresh' + (tone ? ' ' + tone : ''));
  row.append(el('span', 'time', clock(e.time)), el('span', 'msg', text));
  row.title = text;
  queue(row);
}

function onTarget(e) {
  const tone = e.state === 'unhealthy' ? 'bad' : e.state === 'healthy' ? 'good' : '';
  note(e, `${e.target}: ${e.prev_state} → ${e.state}${e.reason ? ' · ' + e.reason : ''}`, tone);
  const t = st.targets.get(e.target);
  if (t && t.status) {
    t.status.state = e.state;
    if (e.state === 'unhealthy') {
      t.root.classList.remove('flash');
      void t.root.offsetWidth; // restart the animation
      t.root.classList.add('flash');
    }
    render();
  }
}

function onStickiness(e) {
  note(e, `stickiness: ${e.prev_state} → ${e.state}${e.reason ? ' · ' + e.reason : ''}`, '');
  api('GET', '/api/stickiness').then(showSticky, () => {});
}

function setLive(state) {
  const l = $('live');
  l.dataset.live = state;
  l.lastElementChild.textContent = { live: 'live', down: 'reconnecting', connecting: 'connecting' }[state];
}

// connect opens the event stream and calls ready once: when the stream is
// open (the balancer has subscribed this page, so no later request is
// missed), or when it failed to open, so that the page works without it.
function connect(ready) {
  let once = ready;
  const go = () => { if (once) { once(); once = null; } };
  const es = new EventSource('/api/events');
  const on = (kind, fn) => es.addEventListener(kind, (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch { return; }
    fn(e);
  });
  es.addEventListener('open', () => { setLive('live'); go(); });
  // EventSource reconnects by itself; the dot says so meanwhile.
  es.addEventListener('error', () => { setLive(es.readyState === EventSource.CLOSED ? 'down' : 'connecting'); go(); });
  on('request', onRequest);
  on('target', onTarget);
  on('stickiness', onStickiness);
}
