// stickylab dashboard: the fleet, the request stream and the shop, live.
// Plain script, no build step. It talks only to the admin API that serves it:
// GET /api/targets and (in the demo) GET /api/instances every second, the
// event stream GET /api/events, and the buttons' POST and PUT calls.
(() => {
  'use strict';

  const POLL_MS = 1000;
  const FLUSH_MS = 100;         // how often new rows are added to the stream
  const MAX_ROWS = 80;          // rows kept in the request stream
  const HISTORY = 60;           // req/s samples in a sparkline
  const MAX_CLIENTS = 5000;     // clients remembered for "stuck" counts
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
    instances: undefined, // undefined: not asked yet; null: no instance API (plain "stickylab lb")
    store: '',
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
    const kill = el('button', 'btn danger', 'Kill');
    kill.type = 'button';
    kill.hidden = true;
    actions.append(drain, kill);
    body.append(meter, stats, proc, actions);
    root.append(band, body);
    $('fleet').append(root);

    t = {
      name, root, pill, rpsNum, area, line, inflight, stuck, requests, proc, drain, kill,
      status: null, inst: null, samples: [], history: [], rate: 0,
    };
    drain.addEventListener('click', () => {
      const register = t.status && (t.status.state === 'draining' || t.status.state === 'unused');
      const verb = register ? 'register' : 'drain';
      act('target:' + name, drain, register ? 'Registering…' : 'Draining…',
        () => api('POST', `/api/targets/${encodeURIComponent(name)}/${verb}`));
    });
    kill.addEventListener('click', () => {
      const alive = t.inst && (t.inst.state === 'running' || t.inst.state === 'starting');
      act('instance:' + name, kill, alive ? 'Killing…' : 'Starting…',
        () => api('POST', `/api/instances/${encodeURIComponent(name)}/${alive ? 'kill' : 'restart'}`));
    });
    st.targets.set(name, t);
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
      const proc = t.inst;
      const alive = !proc || proc.state === 'running' || proc.state === 'starting';
      const down = s.state === 'unhealthy' || !alive;
      total += t.rate;
      t.root.classList.toggle('down', down);
      t.root.classList.toggle('off', s.state === 'draining' || s.state === 'unused');
      t.root.dataset.state = s.state;
      t.root.dataset.process = proc ? proc.state : '';
      t.pill.textContent = s.state;
      t.pill.dataset.state = s.state;
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
      renderProc(t, proc, s);
      const registered = s.state !== 'draining' && s.state !== 'unused';
      if (!st.busy.has('target:' + t.name)) t.drain.textContent = registered ? 'Drain' : 'Register';
      t.drain.title = registered
        ? 'Deregister: no new requests, sticky clients re-stick elsewhere'
        : 'Register again: traffic after its first passed health check';
      t.kill.hidden = !proc;
      if (proc && !st.busy.has('instance:' + t.name)) {
        t.kill.textContent = alive ? 'Kill' : 'Restart';
        t.kill.className = alive ? 'btn danger' : 'btn go';
        t.kill.title = alive ? 'SIGKILL the process: its memory is gone' : 'Start the process again, empty, on the same port';
      }
    }
    $('total-rate').textContent = total < 10 ? total.toFixed(1) : fmt.format(Math.round(total));
  }

  function renderProc(t, proc, s) {
    t.proc.replaceChildren();
    if (!proc) {
      t.proc.textContent = s.url;
      return;
    }
    t.proc.append('process ', el('b', '', proc.state), ` · pid ${proc.pid}`);
    if (proc.state === 'exited' && proc.exit) t.proc.append(` · ${proc.exit}`);
  }

  // poll refreshes targets and instances; calls while one runs share it.
  let polling = null;
  function poll() {
    polling = polling || refresh().finally(() => { polling = null; });
    return polling;
  }

  async function refresh() {
    try {
      const data = await api('GET', '/api/targets');
      const now = Date.now();
      for (const s of data.targets) {
        const t = card(s.name, colorOf(s.name));
        t.status = s;
        rate(t, now);
      }
    } catch {
      // The event stream's dot tells that the balancer is gone.
    }
    if (st.instances !== null) {
      try {
        const data = await api('GET', '/api/instances');
        st.instances = new Map(data.instances.map((i) => [i.name, i]));
        for (const t of st.targets.values()) t.inst = st.instances.get(t.name) || null;
        showStore(data.store);
      } catch (err) {
        if (err.status === 404) st.instances = null; // plain "stickylab lb": no kill or restart
      }
    }
    render();
  }

  function colorOf(name) {
    const t = cfg.targets.find((x) => x.name === name);
    return t ? t.color : '';
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

  function showStore(store) {
    st.store = store;
    $('store-control').hidden = false;
    for (const b of $('store').querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.store === store));
    $('store-detail').textContent = store === 'redis' ? 'shared: they survive a kill' : 'per instance: they die with it';
  }

  $('sticky').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b || (st.sticky && st.sticky.mode === b.dataset.mode)) return;
    act('sticky', b, b.textContent, async () => showSticky(await api('PUT', '/api/stickiness', { mode: b.dataset.mode })));
  });

  $('store').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b || st.store === b.dataset.store) return;
    $('store-detail').textContent = 'restarting every instance…';
    act('store', b, b.textContent, () => api('PUT', '/api/store', { store: b.dataset.store }));
  });

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
    for (const row of $('rows').children) {
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

  function connect() {
    const es = new EventSource('/api/events');
    const on = (kind, fn) => es.addEventListener(kind, (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch { return; }
      fn(e);
    });
    es.addEventListener('open', () => setLive('live'));
    // EventSource reconnects by itself; the dot says so meanwhile.
    es.addEventListener('error', () => setLive(es.readyState === EventSource.CLOSED ? 'down' : 'connecting'));
    on('request', onRequest);
    on('target', onTarget);
    on('stickiness', onStickiness);
  }

  // ---- The shop ----------------------------------------------------------

  $('app-reload').addEventListener('click', () => { $('app').src = cfg.app; });
  // Each page the frame loads may come with a new stickiness cookie.
  $('app').addEventListener('load', whoami);

  // ---- Start -------------------------------------------------------------

  for (const t of cfg.targets) card(t.name, t.color);
  api('GET', '/api/stickiness').then(showSticky, (err) => toast(err.message));
  connect();
  whoami();
  const loop = async () => {
    await poll();
    setTimeout(loop, POLL_MS);
  };
  loop();
})();
