// The supervisor wallboard: queue tiles, the agent grid with monitor and force actions, live calls with the routing trace, and
// (for admins) the configuration forms.
import { api } from './api.js';
import { apply, getLang, setLang, t } from './i18n.js';
import { initialState, reduce } from './state.js';
import { h, $, replace, duration, nanos, since, pct, stateBadge, tierBadge, toast, dialog, langSwitch } from './ui.js';
import { connect } from './ws.js';
import { renderReports } from './reports.js';
import { initPhone } from './phone.js';

let state = initialState();
let pending = null;

function dispatch(msg) {
  state = reduce(state, msg);
  if (msg.type === 'logout') {
    toast(state.loggedOut, 'error');
    setTimeout(() => location.assign('/'), 1500);
  }
  scheduleRender();
}

// Rendering is coalesced: a busy centre sends many messages a second, the wall redraws at most four times a second.
function scheduleRender() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; render(); }, 250);
}

async function run(fn, okMsg) {
  try {
    const r = await fn();
    if (okMsg) toast(okMsg);
    return r;
  } catch (e) {
    toast(e.message, 'error');
    return undefined;
  }
}

// ---- queues --------------------------------------------------------------------------------------------------------------

const stateOrder = ['ready', 'reserved', 'on-call', 'wrap-up', 'not-ready'];

function renderQueues() {
  const qs = Object.values(state.queues).sort((a, b) => a.queue.localeCompare(b.queue));
  replace($('#queues'), qs.map(q => h('article', { class: 'tile' + (q.waiting > 0 ? ' busy' : ''), 'data-testid': 'queue-' + q.queue },
    h('header', {}, h('h3', {}, q.queue)),
    h('div', { class: 'big-num', 'data-testid': 'waiting' }, String(q.waiting)),
    h('div', { class: 'muted' }, t('q.waiting')),
    h('dl', { class: 'stats' },
      h('dt', {}, t('q.longest')), h('dd', {}, duration(nanos(q.longest_wait))),
      h('dt', {}, t('q.sl15')), slCell(q.service_level_15m, q.offered_15m),
      h('dt', {}, t('q.sl')), slCell(q.service_level, q.offered),
      h('dt', {}, t('q.asa')), h('dd', {}, duration(nanos(q.asa))),
      h('dt', {}, t('q.abandon')), h('dd', {}, pct(q.abandon_rate))),
    h('div', { class: 'agent-states' }, stateOrder.filter(s => (q.agents || {})[s]).map(s =>
      h('span', { class: 'state state-' + s, title: t('state.' + s) }, t('state.' + s) + ' ' + q.agents[s]))))));
}

function slClass(x) { return x >= 0.8 ? 'good' : x >= 0.6 ? 'warn' : 'bad'; }

// slCell shows a service level, or a dash while no call has been counted: 0 % in red would accuse a quiet queue.
function slCell(x, offered) {
  return offered ? h('dd', { class: slClass(x) }, pct(x)) : h('dd', { class: 'muted' }, '—');
}

// ---- agents --------------------------------------------------------------------------------------------------------------

const rows = new Map(); // agent id → { key, tr }

function renderAgents() {
  const body = $('#agents');
  const agents = Object.values(state.agents).filter(a => a.state !== 'logged-out' || a.connected)
    .sort((a, b) => (a.display_name || a.login).localeCompare(b.display_name || b.login));
  const seen = new Set();
  let prev = null;
  for (const a of agents) {
    seen.add(a.agent_id);
    const call = a.call_id ? state.calls[a.call_id] : null;
    const key = JSON.stringify([a, call && [call.state, call.caller, call.customer_name, call.queue, call.monitors]]);
    let row = rows.get(a.agent_id);
    if (!row || row.key !== key) {
      const tr = agentRow(a, call);
      if (row) row.tr.replaceWith(tr);
      row = { key, tr };
      rows.set(a.agent_id, row);
    }
    const want = prev ? prev.nextSibling : body.firstChild;
    if (want !== row.tr) body.insertBefore(row.tr, want);
    prev = row.tr;
    row.tr.querySelector('.since').textContent = duration(since(a.since, state.offset));
  }
  for (const [id, row] of rows) if (!seen.has(id)) { row.tr.remove(); rows.delete(id); }
}

function agentRow(a, call) {
  const act = (mode) => h('button', { class: 'small', 'data-testid': mode + '-' + a.login,
    onclick: () => run(() => api('POST', '/desk/monitor', { agent_id: a.agent_id, mode }), t(mode)) }, t(mode));
  return h('tr', { 'data-testid': 'agent-' + a.login, class: a.connected ? '' : 'disconnected' },
    h('td', {}, h('b', {}, a.display_name || a.login), h('div', { class: 'muted small' }, a.login)),
    h('td', {}, stateBadge(a.state, a.reason), a.pending ? h('span', { class: 'muted small' }, ' → ' + a.pending) : null),
    h('td', { class: 'since num' }, ''),
    h('td', {}, call ? [h('span', {}, call.customer_name || call.caller.number), tierBadge(call.tier),
      h('span', { class: 'muted small' }, ' ' + (call.queue || ''))] : ''),
    h('td', {}, h('div', { class: 'actions' },
      call && call.state !== 'ringing' ? [act('listen'), act('whisper'), act('barge'),
        (call.monitors || []).length ? act('stop') : null] : null,
      a.state !== 'not-ready' && a.state !== 'logged-out' ? h('button', { class: 'small', 'data-testid': 'force-notready-' + a.login,
        onclick: () => run(() => api('POST', '/desk/agents/' + a.agent_id + '/state', { reason: 'supervisor' }), t('done')) },
      t('force.notready')) : null,
      h('button', { class: 'small danger', 'data-testid': 'force-logout-' + a.login, onclick: () => {
        if (confirm(t('confirm.logout'))) run(() => api('POST', '/agents/' + a.agent_id + '/logout'), t('done'));
      } }, t('force.logout')))));
}

// ---- calls ---------------------------------------------------------------------------------------------------------------

function renderCalls() {
  const calls = Object.values(state.calls).sort((a, b) => a.arrived_at.localeCompare(b.arrived_at));
  replace($('#calls'), calls.length ? calls.map(c => {
    const agent = c.agent_id ? state.agents[c.agent_id] : null;
    return h('tr', { 'data-testid': 'call-' + c.id },
      h('td', {}, h('span', { class: 'state state-' + c.state }, c.state)),
      h('td', {}, c.queue || ''),
      h('td', {}, c.customer_name || c.caller.name || '', ' ', h('span', { class: 'muted' }, c.caller.number), tierBadge(c.tier)),
      h('td', {}, agent ? agent.display_name || agent.login : ''),
      h('td', { class: 'num' }, duration(since(c.answered_at || c.arrived_at, state.offset))),
      h('td', {}, c.agent_id ? h('button', { class: 'small', 'data-testid': 'trace-' + c.id, onclick: () => trace(c.id) }, t('trace')) : null));
  }) : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('none'))));
}

async function trace(id) {
  const tr = await run(() => api('GET', '/desk/trace/' + encodeURIComponent(id)));
  if (!tr) return;
  dialog(t('trace'), h('div', { class: 'trace', 'data-testid': 'trace' },
    h('p', {}, h('b', {}, tr.summary)),
    h('p', { class: 'muted' }, (tr.queue || '') + (tr.step !== undefined ? ' · step ' + tr.step : '')),
    (tr.skipped || []).length ? h('ul', {}, tr.skipped.map(s => h('li', {}, s))) : null));
}

// ---- configuration -------------------------------------------------------------------------------------------------------

const forms = [
  { title: 'adm.agent', path: f => '/admin/agents/' + encodeURIComponent(f.login), method: 'PUT', fields: [
    ['login', 'adm.login', { required: true }], ['display_name', 'adm.display', { required: true }],
    ['role', 'adm.role', { options: ['agent', 'supervisor', 'admin'] }], ['endpoint', 'adm.endpoint', { value: 'webrtc' }],
    ['skills', 'adm.skills', {}], ['queues', 'adm.queues', {}], ['password', 'adm.password', { type: 'password' }],
    ['disabled', 'adm.disabled', { type: 'checkbox' }]],
    body: v => ({ display_name: v.display_name, role: v.role, endpoint: v.endpoint, disabled: v.disabled, password: v.password,
      skills: list(v.skills).map(s => { const [skill, p] = s.split(':'); return { skill: skill.trim(), proficiency: Number(p || 5) }; }),
      queues: list(v.queues) }),
    load: 'agents', fill: a => ({ ...a, skills: (a.skills || []).map(s => s.skill + ':' + s.proficiency).join(', '),
      queues: (a.queues || []).join(', '), password: '' }) },
  { title: 'adm.queue', path: f => '/admin/queues/' + encodeURIComponent(f.name), method: 'PUT', fields: [
    ['name', 'adm.name', { required: true }],
    ['strategy', 'adm.strategy', { options: ['longest-idle', 'fewest-calls', 'round-robin', 'best-proficiency'] }],
    ['sl_target', 'adm.sl_target', { type: 'number', step: '0.01', value: '0.8' }],
    ['sl_threshold_s', 'adm.sl_threshold', { type: 'number', value: '20' }], ['wrap_up_s', 'adm.wrap', { type: 'number', value: '15' }],
    ['ring_timeout_s', 'adm.ring', { type: 'number', value: '15' }], ['max_wait_s', 'adm.maxwait', { type: 'number', value: '600' }],
    ['overflow', 'adm.overflow', {}], ['max_length', 'adm.maxlen', { type: 'number', value: '0' }],
    ['escalation', 'adm.escalation', { textarea: true, value: '[{"after":"0s","any":true}]' }],
    ['time_zone', 'adm.tz', { value: 'Asia/Shanghai' }], ['require_disposition', 'adm.require', { type: 'checkbox' }]],
    body: v => ({ ...v, name: undefined, sl_target: Number(v.sl_target), sl_threshold_s: Number(v.sl_threshold_s),
      wrap_up_s: Number(v.wrap_up_s), ring_timeout_s: Number(v.ring_timeout_s), max_wait_s: Number(v.max_wait_s),
      max_length: Number(v.max_length), escalation: JSON.parse(v.escalation || '[]') }),
    load: 'queues', fill: q => ({ ...q, escalation: JSON.stringify(q.escalation || []) }) },
  { title: 'adm.skill', path: f => '/admin/skills/' + encodeURIComponent(f.name), method: 'PUT', fields: [
    ['name', 'adm.name', { required: true }], ['label', 'adm.label', { required: true }]], body: v => ({ label: v.label }) },
  { title: 'adm.script', path: () => '/admin/scripts', method: 'POST', fields: [
    ['queue', 'adm.queue', { required: true }], ['tier', 'adm.tier', { options: ['', 'standard', 'gold', 'platinum'] }],
    ['title', 'adm.title', { required: true }], ['body', 'adm.body', { textarea: true, required: true }]], body: v => v },
  { title: 'adm.disposition', path: f => '/admin/dispositions/' + encodeURIComponent(f.code), method: 'PUT', fields: [
    ['code', 'adm.code', { required: true }], ['label', 'adm.label', { required: true }], ['queue', 'adm.queue_opt', {}],
    ['position', 'adm.position', { type: 'number', value: '0' }]],
    body: v => ({ label: v.label, queue: v.queue, position: Number(v.position) }) },
  { title: 'adm.reason', path: f => '/admin/reason-codes/' + encodeURIComponent(f.code), method: 'PUT', fields: [
    ['code', 'adm.code', { required: true }], ['label', 'adm.label', { required: true }],
    ['position', 'adm.position', { type: 'number', value: '0' }]],
    body: v => ({ label: v.label, position: Number(v.position) }) },
];

function list(s) { return String(s || '').split(',').map(x => x.trim()).filter(Boolean); }

async function renderAdmin() {
  const el = $('#admin');
  const [agents, queues] = await Promise.all([run(() => api('GET', '/admin/agents')), run(() => api('GET', '/admin/queues'))]);
  const existing = { agents: agents ? agents.items : [], queues: queues ? queues.items : [] };
  replace(el, forms.map(spec => adminForm(spec, existing)));
}

function adminForm(spec, existing) {
  const f = h('form', { class: 'form panel', 'data-testid': 'admin-' + spec.title.slice(4) },
    h('h3', {}, t(spec.title)),
    spec.load ? h('select', { class: 'load', 'aria-label': t(spec.title), onchange: ev => {
      const item = existing[spec.load].find(x => (x.login || x.name) === ev.target.value);
      if (item) fill(f, spec.fill ? spec.fill(item) : item);
    } }, h('option', { value: '' }, '—'), existing[spec.load].map(x => h('option', { value: x.login || x.name }, x.login || x.name))) : null,
    spec.fields.map(([name, label, o]) => {
      let input;
      if (o.options) input = h('select', { name }, o.options.map(v => h('option', { value: v }, v || '—')));
      else if (o.textarea) input = h('textarea', { name, rows: 4, required: o.required }, o.value || '');
      else input = h('input', { name, type: o.type || 'text', step: o.step, value: o.value, required: o.required });
      return o.type === 'checkbox' ? h('label', { class: 'check' }, input, h('span', {}, t(label))) : h('label', { class: 'field' }, h('span', {}, t(label)), input);
    }),
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, t('save'))));
  f.addEventListener('submit', async ev => {
    ev.preventDefault();
    const v = {};
    for (const [name, , o] of spec.fields) v[name] = o.type === 'checkbox' ? f.elements[name].checked : f.elements[name].value;
    let body;
    try { body = spec.body(v); } catch (e) { toast(e.message, 'error'); return; }
    await run(() => api(spec.method, spec.path(v), body), t('adm.saved'));
  });
  return f;
}

function fill(f, item) {
  for (const el of f.elements) {
    if (!el.name || !(el.name in item)) continue;
    if (el.type === 'checkbox') el.checked = !!item[el.name];
    else el.value = item[el.name] ?? '';
  }
}

// ---- main ----------------------------------------------------------------------------------------------------------------

function render() {
  const conn = $('#conn');
  conn.className = 'conn conn-' + state.conn;
  conn.dataset.state = state.conn;
  conn.textContent = t('conn.' + state.conn);
  if (state.me) {
    $('#me').textContent = state.me.display_name;
    $('[data-tab=admin]').hidden = state.me.role !== 'admin';
  }
  renderQueues();
  renderAgents();
  renderCalls();
}

function showTab(name) {
  for (const b of document.querySelectorAll('.tab')) b.classList.toggle('active', b.dataset.tab === name);
  $('#live').hidden = name !== 'live';
  $('#admin').hidden = name !== 'admin';
  if (name === 'admin') renderAdmin();
  $('#reports').hidden = name !== 'reports';
  if (name === 'reports') renderReports($('#reports'));
}

function main() {
  apply(document);
  const sel = langSwitch(l => { setLang(l); rows.clear(); replace($('#agents')); render(); if (!$('#admin').hidden) renderAdmin(); });
  sel.value = getLang();
  $('#lang-slot').append(sel);
  $('#signout').addEventListener('click', async () => { await run(() => api('POST', '/logout')); location.assign('/'); });
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => showTab(b.dataset.tab));
  document.addEventListener('keydown', ev => { if (ev.key === 'Escape') for (const d of document.querySelectorAll('dialog')) d.close(); });
  render();
  window.__wall = connect({ onMessage: dispatch, onStatus: s => dispatch({ type: 'conn', status: s }) });
  setInterval(render, 1000);
  // A supervisor whose endpoint is "webrtc" listens, whispers and barges through this page, with the desk's browser phone
  // (its audio test must pass first; no test while a monitor is live: it would take the monitor's media).
  initPhone(monitoring);
}

// monitoring says whether the signed-in supervisor is on a call now.
function monitoring() {
  const me = state.me && state.me.agent_id;
  return !!me && Object.values(state.calls).some(c => (c.monitors || []).some(m => m.supervisor_id === me));
}

main();
