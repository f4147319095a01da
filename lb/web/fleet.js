// stickylab dashboard, the fleet: one card per target with its state and
// its requests per second (from the request counter of GET /api/targets).
// A host's extension (dashboard.js) may add to each card.
'use strict';

const HISTORY = 60;           // req/s samples in a sparkline

// ---- Fleet -------------------------------------------------------------

function card(name, color) {
  let t = st.targets.get(name);
  if (t) return t;
  const root = el('article', 'card');
  root.style.setProperty('--c', color || '#475569');
  root.dataset.name = name;
  const band = el('header', 'band');
  const pill = el('span', 'pill', 'initial');
  band.append(el('h3', '', name), pill);
  const body = el('div', 'card-body');
  const meter = el('div', 'meter');
  const rps = el('div', 'rps');
  const rpsNum = el('strong', '', '0');
  rps.append(rpsNum, el('span', '', 'req/s'));
  const svgNS = 'http://www.w3.org/2000/svg';
  const spark = document.createElementNS(svgNS, 'svg');
  spark.setAttribute('class', 'spark');
  spark.setAttribute('viewBox', `0 0 ${HISTORY - 1} 30`);
  spark.setAttribute('preserveAspectRatio', 'none');
  spark.setAttribute('aria-hidden', 'true');
  const area = document.createElementNS(svgNS, 'polygon');
  const line = document.createElementNS(svgNS, 'polyline');
  spark.append(area, line);
  meter.append(rps, spark);
  const stats = el('dl', 'stats');
  const stat = (label) => {
    const d = el('div');
    const dd = el('dd', '', '0');
    d.append(el('dt', '', label), dd);
    stats.append(d);
    return dd;
  };
  const stuck = stat('clients stuck');
  const inflight = stat('in flight');
  const requests = stat('requests');
  const proc = el('p', 'proc');
  const actions = el('div', 'actions');
  const drain = el('button', 'btn', 'Drain');
  drain.type = 'button';
  actions.append(drain);
  body.append(meter, stats, proc, actions);
  root.append(band, body);
  $('fleet').append(root);

  // down: set by an extension when the target is down for a reason the
  // balancer does not know yet (a killed process).
  t = {
    name, root, pill, rpsNum, area, line, inflight, stuck, requests, proc, actions, drain,
    status: null, down: false, samples: [], history: [], rate: 0,
  };
  drain.addEventListener('click', () => {
    const register = t.status && (t.status.state === 'draining' || t.status.state === 'unused');
    const verb = register ? 'register' : 'drain';
    act('target:' + name, drain, register ? 'Registering…' : 'Draining…',
      () => api('POST', `/api/targets/${encodeURIComponent(name)}/${verb}`));
  });
  st.targets.set(name, t);
  for (const fn of hooks.card) fn(t);
  return t;
}

// rate updates a target's requests per second from its request counter:
// the increase over the last two seconds or so.
function rate(t, now) {
  const n = t.status.requests;
  const last = t.samples[t.samples.length - 1];
  if (last && now - last.now < 900) return; // an extra refresh after a button: keep one sample a second
  t.samples.push({ now, n });
  while (t.samples.length > 1 && now - t.samples[0].now > 2500) t.samples.shift();
  const first = t.samples[0];
  const secs = (now - first.now) / 1000;
  t.rate = secs > 0.5 ? Math.max(0, (n - first.n) / secs) : 0;
  t.history.push(t.rate);
  if (t.history.length > HISTORY) t.history.shift();
}

// drawSpark draws the req/s history; until it is full, the samples
// there are spread over the whole width.
function drawSpark(t, max) {
  const h = t.history;
  if (h.length < 2) {
    t.line.setAttribute('points', '');
    t.area.setAttribute('points', '');
    return;
  }
  const step = (HISTORY - 1) / (h.length - 1);
  const pts = h.map((v, i) => `${(i * step).toFixed(1)},${(30 - (v / max) * 27).toFixed(1)}`).join(' ');
  t.line.setAttribute('points', pts);
  t.area.setAttribute('points', `0,30 ${pts} ${HISTORY - 1},30`);
}

function stuckCounts(now) {
  const counts = new Map();
  const ttl = st.sticky ? durationMs(st.sticky.duration) : Infinity;
  for (const [client, c] of st.clients) {
    if (now - c.at > ttl) { st.clients.delete(client); continue; }
    counts.set(c.target, (counts.get(c.target) || 0) + 1);
  }
  return counts;
}

function render() {
  const now = Date.now();
  const counts = stuckCounts(now);
  let total = 0;
  let max = 1;
  for (const t of st.targets.values()) for (const v of t.history) max = Math.max(max, v);
  for (const t of st.targets.values()) {
    if (!t.status) continue;
    const s = t.status;
    const down = s.state === 'unhealthy' || t.down;
    total += t.rate;
    t.root.classList.toggle('down', down);
    t.root.classList.toggle('off', s.state === 'draining' || s.state === 'unused');
    t.root.dataset.state = s.state;
    t.pill.textContent = s.state;
    t.pill.dataset.state = s.state;
    t.pill.title = s.reason_code || ''; // ALB's reason code when not healthy
    t.rpsNum.textContent = t.rate < 10 ? t.rate.toFixed(1) : fmt.format(Math.round(t.rate));
    t.inflight.textContent = fmt.format(s.in_flight);
    t.requests.textContent = fmt.format(s.requests);
    const stuck = counts.get(t.name) || 0;
    t.stuck.textContent = fmt.format(stuck);
    t.stuck.parentElement.classList.toggle('stuck-down', down && stuck > 0);
    t.stuck.parentElement.title = down && stuck > 0
      ? 'Clients whose cookie still names this instance: their next request is re-stuck elsewhere'
      : 'Clients whose last request was stuck here';
    drawSpark(t, max);
    const mine = st.clients.get(st.me);
    t.root.classList.toggle('mine', !!mine && mine.target === t.name);
    t.proc.textContent = s.url;
    const registered = s.state !== 'draining' && s.state !== 'unused';
    if (!st.busy.has('target:' + t.name)) t.drain.textContent = registered ? 'Drain' : 'Register';
    t.drain.title = registered
      ? 'Deregister: no new requests, sticky clients re-stick elsewhere'
      : 'Register again: traffic after its first passed health check';
    for (const fn of hooks.render) fn(t);
  }
  $('total-rate').textContent = total < 10 ? total.toFixed(1) : fmt.format(Math.round(total));
}

// poll refreshes the targets (and what extensions poll); calls while one
// runs share it.
let polling = null;
function poll() {
  polling = polling || refresh().finally(() => { polling = null; });
  return polling;
}

// refresh asks for the targets and runs the extensions' polls at once,
// and renders when all have answered.
async function refresh() {
  const [targets] = await Promise.allSettled([
    api('GET', '/api/targets'),
    ...hooks.poll.map((fn) => fn()),
  ]);
  // A rejected targets: the event stream's dot tells that the balancer is gone.
  if (targets.status === 'fulfilled') {
    const now = Date.now();
    for (const s of targets.value.targets) {
      // Under lb -config the list holds every group's targets; the cards
      // are this dashboard's group's.
      if (s.target_group !== undefined && s.target_group !== cfg.target_group) continue;
      const t = card(s.name, colorOf(s.name));
      t.status = s;
      rate(t, now);
    }
  }
  render();
}

function colorOf(name) {
  const t = cfg.targets.find((x) => x.name === name);
  return t ? t.color : '';
}
