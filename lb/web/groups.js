// stickylab dashboard under a configuration file (lb -config): the
// listener's rules, with a slider for each weighted forward to two groups
// (the blue/green shift, PUT /api/rules/{priority}), and every target group
// with its targets' states and ALB's reason codes. lb.Router adds this
// script as an extension of the primary group's dashboard.
'use strict';
(() => {
  const { api, act, el } = dashboard;
  const panel = el('section', 'panel groups');
  panel.id = 'groups';
  panel.setAttribute('aria-label', 'Rules and target groups');
  const rulesBox = el('div', 'rules');
  const groupsBox = el('div', 'tgs');
  panel.append(el('h2', '', 'Rules and target groups'), rulesBox, groupsBox);
  document.getElementById('fleet').after(panel);

  const rows = new Map(); // rule key → {text, slider, label}
  const describe = (c) => Object.entries(c || {}).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(' and ') || 'no rule matched';
  const target = (a) => {
    if (a.type !== 'forward') return a.type;
    const gs = a.forward.target_groups;
    if (gs.length === 1) return '→ ' + gs[0].name;
    return '→ ' + gs.map((g) => `${g.name} ${g.weight}`).join(' / ') + (a.forward.stickiness ? ' (AWSALBTG)' : '');
  };

  function row(key, conditions, action) {
    let r = rows.get(key);
    if (!r) {
      r = { root: el('div', 'rule'), text: el('span', 'rule-text') };
      r.root.dataset.rule = key;
      r.root.append(el('b', '', key === 'default' ? 'default' : 'rule ' + key), r.text);
      rulesBox.append(r.root);
      rows.set(key, r);
    }
    r.text.textContent = ` ${describe(conditions)} ${target(action)}`;
    const gs = action.type === 'forward' ? action.forward.target_groups : [];
    if (gs.length !== 2) return;
    if (!r.slider) {
      r.slider = el('input', 'weight');
      Object.assign(r.slider, { type: 'range', min: 0, max: 100, step: 5 });
      r.slider.setAttribute('aria-label', `share of ${gs[1].name} in rule ${key}`);
      r.label = el('span', 'weight-label');
      r.slider.addEventListener('input', () => { r.dragging = true; r.label.textContent = `${gs[0].name} ${100 - r.slider.value} · ${gs[1].name} ${r.slider.value}`; });
      r.slider.addEventListener('change', () => {
        const v = Number(r.slider.value);
        act('rule:' + key, r.slider, '', () => api('PUT', `/api/rules/${encodeURIComponent(key)}`, { weights: { [gs[0].name]: 100 - v, [gs[1].name]: v } }))
          .finally(() => { r.dragging = false; });
      });
      r.root.append(r.slider, r.label);
    }
    if (r.dragging) return;
    const total = gs[0].weight + gs[1].weight;
    r.slider.value = String(Math.round((100 * gs[1].weight) / (total || 1)));
    r.label.textContent = `${gs[0].name} ${gs[0].weight} · ${gs[1].name} ${gs[1].weight}`;
  }

  function drawGroups(groups) {
    groupsBox.replaceChildren(...groups.map((g) => {
      const box = el('div', 'tg');
      box.dataset.group = g.name;
      const sticky = g.stickiness.mode === 'none' ? 'no stickiness' : `${g.stickiness.mode} stickiness`;
      box.append(el('b', '', g.name), el('span', 'tg-detail', ` ${g.algorithm} · ${sticky} · health ${g.health_check.path} ${g.health_check.matcher}`));
      const list = el('div', 'tg-targets');
      for (const t of g.targets) {
        const p = el('span', 'pill', t.name);
        p.dataset.state = t.state;
        p.title = t.state + (t.reason_code ? ': ' + t.reason_code : '');
        list.append(p);
        if (t.reason_code) list.append(el('span', 'reason', t.reason_code));
      }
      box.append(list);
      return box;
    }));
  }

  dashboard.onPoll(async () => {
    const [rules, groups] = await Promise.all([api('GET', '/api/rules'), api('GET', '/api/target-groups')]);
    for (const r of rules.rules) row(String(r.priority), r.conditions, r.action);
    row('default', null, rules.default_action);
    drawGroups(groups.target_groups);
  });
})();
