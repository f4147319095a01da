// stickylab demo: the balancer nodes (demo -lb-nodes N), from GET /api/nodes:
// each node's address and how many instances its own health checks find
// healthy. Shown when there is more than one node.
'use strict';
(() => {
  const { api, el, toast } = dashboard;

  const control = el('div', 'control');
  control.id = 'nodes-control';
  const label = el('span', 'label', 'Balancer nodes');
  const list = el('div', 'detail');
  list.id = 'nodes';
  control.append(label, list);
  control.hidden = true;
  dashboard.addControl(control);

  dashboard.onPoll(async () => {
    let nodes;
    try {
      nodes = await api('GET', '/api/nodes');
    } catch (err) {
      toast(err.message);
      return;
    }
    control.hidden = nodes.length < 2;
    list.replaceChildren(...nodes.map((n) => {
      // An instance in several target groups (a setup) is listed once per
      // group: healthy when it is in every one.
      const byName = new Map();
      for (const t of n.targets) byName.set(t.name, (byName.get(t.name) ?? true) && t.state === 'healthy');
      const healthy = [...byName.values()].filter(Boolean).length;
      const item = el('div', 'node');
      item.dataset.node = n.name;
      item.title = `${n.name} runs its own health checks; a cookie from any node is read by every other (one set of cookie keys)`;
      item.append(el('b', '', n.name), ` http://${n.listen}/ · ${healthy}/${byName.size} healthy`);
      return item;
    }));
  });
})();
