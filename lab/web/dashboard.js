// stickylab demo: the lab's part of the balancer's dashboard, added through
// lb.Config.DashboardScript: the session store switch, and each instance's
// process with its kill and restart button. It talks to the routes the lab
// adds to the admin API (lab/admin.go): GET /api/instances,
// POST /api/instances/{name}/kill and .../restart, PUT /api/store (a restart
// on another store, or {"store":"redis","migrate":true}: memory to Redis in
// place, nobody logged out).
'use strict';
(() => {
  const { api, act, el, toast } = dashboard;
  const instances = new Map(); // name → {name, pid, state, exit, …}
  const buttons = new Map();   // name → its kill/restart button
  let store = '';
  let killCall = ''; // how the lab kills on its platform: SIGKILL, or TerminateProcess on Windows

  // ---- The session store switch ---------------------------------------

  const control = el('div', 'control');
  control.id = 'store-control';
  const label = el('span', 'label', 'Sessions');
  label.id = 'store-label';
  const row = el('div', 'control-row');
  const seg = el('div', 'seg');
  seg.id = 'store';
  seg.setAttribute('role', 'group');
  seg.setAttribute('aria-labelledby', 'store-label');
  const choices = {
    memory: 'Each instance keeps its sessions in its own memory: they die with it',
    redis: 'All instances share sessions in Redis: they survive an instance',
    cookie: 'Each session, encrypted, in the browser\'s cookie: no instance keeps any, they survive an instance',
  };
  for (const [name, title] of Object.entries(choices)) {
    const b = el('button', '', name);
    b.type = 'button';
    b.dataset.store = name;
    b.title = title;
    seg.append(b);
  }
  // The switch to Redis that logs nobody out: offered while on memory.
  const migrate = el('button', 'btn go', 'Move to Redis');
  migrate.type = 'button';
  migrate.id = 'store-migrate';
  migrate.title = 'Switch every instance to Redis without a restart: each session moves from memory to Redis on its next request, and nobody is logged out (the redis button restarts them: their memory is lost)';
  migrate.hidden = true;
  migrate.style.flex = 'none';
  const detail = el('span', 'detail');
  row.append(seg, migrate, detail);
  control.append(label, row);
  control.hidden = true; // until GET /api/instances says which store runs
  dashboard.addControl(control);

  function showStore(s) {
    store = s;
    control.hidden = false;
    for (const b of seg.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.store === s));
    migrate.hidden = s !== 'memory';
    detail.textContent = {
      redis: 'shared: they survive a kill',
      cookie: 'in each browser: they survive a kill',
    }[s] || 'per instance: they die with it';
  }

  seg.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b || store === b.dataset.store) return;
    detail.textContent = 'restarting every instance…';
    act('store', b, b.textContent, () => api('PUT', '/api/store', { store: b.dataset.store }));
  });

  migrate.addEventListener('click', () => {
    detail.textContent = 'switching every instance in place…';
    act('store', migrate, migrate.textContent, () => api('PUT', '/api/store', { store: 'redis', migrate: true }));
  });

  // ---- Processes ------------------------------------------------------

  const alive = (inst) => !inst || inst.state === 'running' || inst.state === 'starting';

  dashboard.onPoll(async () => {
    try {
      const data = await api('GET', '/api/instances');
      instances.clear();
      for (const i of data.instances) instances.set(i.name, i);
      killCall = data.kill;
      showStore(data.store);
    } catch (err) {
      toast(err.message);
    }
  });

  dashboard.onCard((card) => {
    const kill = el('button', 'btn danger', 'Kill');
    kill.type = 'button';
    kill.hidden = true;
    card.actions.append(kill);
    buttons.set(card.name, kill);
    kill.addEventListener('click', () => {
      const up = alive(instances.get(card.name));
      act('instance:' + card.name, kill, up ? 'Killing…' : 'Starting…',
        () => api('POST', `/api/instances/${encodeURIComponent(card.name)}/${up ? 'kill' : 'restart'}`));
    });
  });

  dashboard.onRender((card) => {
    const inst = instances.get(card.name);
    const kill = buttons.get(card.name);
    card.root.dataset.process = inst ? inst.state : '';
    kill.hidden = !inst;
    if (!inst) return;
    const up = alive(inst);
    card.down = !up;
    card.root.classList.toggle('down', card.root.classList.contains('down') || !up);
    card.proc.replaceChildren('process ', el('b', '', inst.state), ` · pid ${inst.pid}`);
    if (inst.state === 'exited' && inst.exit) card.proc.append(` · ${inst.exit}`);
    if (inst.cache && up && inst.cache.hits + inst.cache.misses > 0) {
      // The instance's session cache (-redis-cache): the share of loads it
      // answered without asking Redis, since it started. Nothing when it
      // cannot serve (the embedded Redis has no CLIENT TRACKING).
      const c = inst.cache;
      const span = el('span', '', ' · cache hits ');
      span.title = `${c.hits} loads answered from this instance's cache, ${c.misses} from Redis`;
      span.append(el('b', '', `${Math.round(c.hit_ratio * 100)}%`));
      card.proc.append(span);
    }
    if (!kill.disabled) {
      kill.textContent = up ? 'Kill' : 'Restart';
      kill.className = up ? 'btn danger' : 'btn go';
      kill.title = up ? `Kill the process at once${killCall ? ` (${killCall})` : ''}: its memory is gone`
        : store === 'redis' ? 'Start the process again on the same port: its sessions are still in Redis'
          : store === 'cookie' ? 'Start the process again on the same port: it held no session'
            : 'Start the process again, empty, on the same port';
    }
  });

  const tipText = el('strong', '', 'Try it:');
  const verb = el('em', '', 'kill');
  dashboard.tip(tipText, ' log in, add to the cart, then ', verb, ' the instance that served you and reload.');
})();
