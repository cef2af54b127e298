// The agent desktop: state, ringing banner, screen-pop (customer, history, IVR path, script), call controls and wrap-up.
import { api } from './api.js';
import { apply, getLang, setLang, t } from './i18n.js';
import { renderMarkdown } from './md.js';
import { initialState, reduce, myStatus, myCall, isRinging, inWrapUp } from './state.js';
import { h, $, replace, duration, nanos, since, until, shortDate, tierBadge, toast, dialog, langSwitch } from './ui.js';
import { connect } from './ws.js';
import { initPhone } from './phone.js';

let state = initialState();
let reasons = [];
const memo = {};

// changed reports whether a section's key differs from the last render, and remembers it.
function changed(name, key) {
  if (memo[name] === key) return false;
  memo[name] = key;
  return true;
}

function dispatch(msg) {
  state = reduce(state, msg);
  if (msg.type === 'logout') {
    toast(state.loggedOut, 'error');
    setTimeout(() => location.assign('/'), 1500);
  }
  render();
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

const cmd = (path, body) => run(() => api('POST', '/desk/' + path, body));

// ---- top bar -------------------------------------------------------------------------------------------------------------

function toggleState() {
  const me = myStatus(state);
  const reason = $('#reason').value;
  if (!me || me.state === 'logged-out') return cmd('login');
  if (me.state === 'not-ready') return cmd('state', { ready: true });
  if (me.state === 'ready') return cmd('state', { ready: false, reason });
  // Busy: toggle the state to apply after this call.
  return me.pending ? cmd('state', { ready: true, pending: true }) : cmd('state', { ready: false, reason, pending: true });
}

function renderTop() {
  const me = myStatus(state);
  const st = me ? me.state : 'logged-out';
  const btn = $('#state-btn');
  btn.className = 'state-btn state-' + st;
  let label;
  if (st === 'logged-out') label = t('btn.login');
  else if (st === 'not-ready') label = t('btn.ready');
  else if (st === 'ready') label = t('btn.notready');
  else label = me.pending ? t('pending.now') : t('pending.set');
  btn.textContent = label;
  const info = $('#state-info');
  info.className = 'state-info state state-' + st;
  info.dataset.state = st;
  info.textContent = t('state.' + st) + (me && me.reason ? ' · ' + reasonLabel(me.reason) : '') +
    (me && st !== 'logged-out' ? ' · ' + duration(since(me.since, state.offset)) : '');
  const conn = $('#conn');
  conn.className = 'conn conn-' + state.conn;
  conn.dataset.state = state.conn;
  conn.textContent = t('conn.' + state.conn);
  if (state.me && changed('me', state.me.display_name)) $('#me').textContent = state.me.display_name;
}

function reasonLabel(code) {
  const r = reasons.find(r => r.code === code);
  return r ? r.label : code;
}

// ---- ringing banner ------------------------------------------------------------------------------------------------------

function renderBanner() {
  const el = $('#banner');
  const ringing = isRinging(state);
  el.hidden = !ringing;
  document.body.classList.toggle('ringing', ringing);
  if (!ringing) { memo.banner = null; return; }
  const pop = state.pop;
  if (changed('banner', pop)) {
    const who = pop.customer ? pop.customer.name : (pop.caller.name || t('unknown.caller'));
    replace(el,
      h('div', { class: 'banner-main' },
        h('span', { class: 'bell', 'aria-hidden': 'true' }, '☎'),
        h('div', {},
          h('div', { class: 'banner-title' }, t('offer.title')),
          h('div', { class: 'banner-who', 'data-testid': 'offer-caller' }, who, ' ',
            h('span', { class: 'muted' }, pop.caller.number)),
          h('div', { class: 'banner-meta' },
            t('offer.queue') + ': ', h('b', { 'data-testid': 'offer-queue' }, pop.queue), ' · ',
            t('offer.wait') + ': ', h('b', {}, duration(nanos(pop.wait))), ' · ',
            t('offer.rings') + ': ', h('b', { id: 'ring-left' }, '')))),
      pop.customer ? tierBadge(pop.customer.tier) : null,
      h('div', { class: 'banner-actions' },
        h('button', { class: 'accept big', 'data-testid': 'accept', title: 'F3', onclick: () => cmd('accept') }, t('offer.accept')),
        h('button', { class: 'reject', 'data-testid': 'reject', onclick: () => cmd('reject') }, t('offer.reject'))));
  }
  const left = $('#ring-left');
  if (left) left.textContent = duration(until(pop.deadline, state.offset));
}

// ---- customer, history, IVR ----------------------------------------------------------------------------------------------

function renderCustomer() {
  const pop = state.pop;
  const el = $('#customer');
  if (!changed('customer', pop ? pop.customer || pop.interaction_id : null) && !memo.forceCustomer) return;
  memo.forceCustomer = false;
  if (!pop) {
    replace(el, h('p', { class: 'muted empty' }, t('customer.none')));
    return;
  }
  if (!pop.customer) {
    replace(el, customerForm(null, pop.caller.number));
    return;
  }
  const c = pop.customer;
  replace(el,
    h('div', { class: 'card-head' },
      h('h2', { 'data-testid': 'customer-name' }, c.name),
      tierBadge(c.tier),
      h('button', { class: 'ghost small', 'data-testid': 'customer-edit', onclick: () => replace(el, customerForm(c)) }, t('customer.edit'))),
    c.company ? h('div', { class: 'company', 'data-testid': 'customer-company' }, c.company) : null,
    h('div', { class: 'phones' }, (c.phones || []).map(p =>
      h('span', { class: 'phone' }, p.number, ' ',
        h('button', { class: 'link', onclick: () => dial(p.number, c.id) }, t('call'))))),
    (c.tags || []).length ? h('div', { class: 'tags' }, c.tags.map(x => h('span', { class: 'tag' }, x))) : null,
    c.notes ? h('p', { class: 'notes', 'data-testid': 'customer-notes' }, c.notes) : null,
    Object.keys(c.fields || {}).length ? h('dl', { class: 'fields' },
      Object.entries(c.fields).sort().flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : null);
}

function customerForm(c, number) {
  const f = h('form', { class: 'form', 'data-testid': c ? 'customer-form' : 'new-customer-form' },
    h('h2', {}, c ? t('customer.edit') : t('customer.new')),
    field(t('customer.name'), h('input', { name: 'name', required: true, value: c ? c.name : '', 'data-testid': 'cf-name' })),
    field(t('customer.company'), h('input', { name: 'company', value: c ? c.company || '' : '' })),
    field(t('customer.tier'), h('select', { name: 'tier' }, ['standard', 'gold', 'platinum'].map(x =>
      h('option', { value: x, selected: c && c.tier === x }, t('tier.' + x))))),
    c ? null : field(t('customer.phone'), h('input', { name: 'phone', value: number || '', 'data-testid': 'cf-phone' })),
    field(t('customer.tags'), h('input', { name: 'tags', value: c ? (c.tags || []).join(', ') : '' })),
    field(t('customer.notes'), h('textarea', { name: 'notes', rows: 3 }, c ? c.notes || '' : '')),
    h('div', { class: 'row' },
      h('button', { class: 'primary', type: 'submit', 'data-testid': 'cf-save' }, t('save')),
      c ? h('button', { type: 'button', class: 'ghost', onclick: () => { memo.forceCustomer = true; render(); } }, t('cancel')) : null));
  f.addEventListener('submit', async ev => {
    ev.preventDefault();
    const body = { name: f.name.value.trim(), company: f.company.value.trim(), tier: f.tier.value,
      tags: f.tags.value.split(',').map(s => s.trim()).filter(Boolean), notes: f.notes.value };
    let saved;
    if (c) {
      saved = await run(() => api('PUT', '/customers/' + c.id, { ...body, fields: c.fields, owner_agent_id: c.owner_agent_id,
        language: c.language, version: c.version }), t('customer.saved'));
    } else {
      saved = await run(() => api('POST', '/customers', { ...body, phones: f.phone.value ? [{ number: f.phone.value, kind: 'mobile' }] : [] }),
        t('customer.saved'));
    }
    if (saved) dispatch({ type: 'customer', customer: saved });
  });
  return f;
}

function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

function renderTimeline() {
  const pop = state.pop;
  if (!changed('timeline', pop ? pop.timeline || pop.interaction_id : null)) return;
  const el = $('#timeline');
  const items = pop ? pop.timeline || [] : [];
  replace(el, h('h3', {}, t('timeline')),
    items.length ? h('ol', { class: 'timeline' }, items.map(it => h('li', { class: 'tl-item outcome-' + (it.outcome || 'live') },
      h('div', { class: 'tl-head' },
        h('span', { class: 'tl-date' }, shortDate(it.arrived_at)),
        h('span', { class: 'tl-queue' }, it.queue || ''),
        it.disposition ? h('span', { class: 'badge' }, it.disposition) : null,
        h('span', { class: 'muted' }, it.outcome || '')),
      it.notes ? h('div', { class: 'tl-notes' }, it.notes) : null,
      it.recording && state.me && it.agent_id === state.me.agent_id ? playButton(it.id) : null)))
      : h('p', { class: 'muted' }, t('timeline.empty')));
}

function playButton(id) {
  const b = h('button', { class: 'link', 'data-testid': 'play' }, '▶ ' + t('play'));
  b.addEventListener('click', () => {
    b.replaceWith(h('audio', { controls: true, autoplay: true, preload: 'none', src: '/api/v1/interactions/' + encodeURIComponent(id) + '/recording' }));
  });
  return b;
}

function renderIVR() {
  const pop = state.pop;
  if (!changed('ivr', pop)) return;
  const el = $('#ivr');
  const path = pop ? pop.ivr_path || [] : [];
  const inputs = pop ? Object.entries(pop.inputs || {}).sort() : [];
  el.hidden = !path.length && !inputs.length;
  replace(el, h('h3', {}, t('ivr')),
    path.length ? h('ol', { class: 'ivr-path', 'data-testid': 'ivr-path' }, path.map(s =>
      h('li', {}, s.node, s.input ? h('span', { class: 'muted' }, ' → ' + s.input) : null))) : null,
    inputs.length ? h('dl', { class: 'fields' }, inputs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : null);
}

function renderScript() {
  const pop = state.pop;
  if (!changed('script', pop ? pop.script || pop.interaction_id : null)) return;
  const el = $('#script');
  if (!pop || !pop.script) {
    replace(el, h('h3', {}, t('script')), h('p', { class: 'muted' }, pop ? t('script.none') : ''));
    return;
  }
  const body = h('div', { class: 'script-body', 'data-testid': 'script-body' });
  // Safe: the server escaped every character of the script and of the customer's values (cti.RenderScript); renderMarkdown only
  // adds its own tags around that text.
  body.innerHTML = renderMarkdown(pop.script.body);
  replace(el, h('h3', {}, t('script') + ' · ' + pop.script.title), body);
}

// ---- call controls -------------------------------------------------------------------------------------------------------

function renderCall() {
  const call = myCall(state);
  const el = $('#call');
  const me0 = myStatus(state);
  const key = call ? call.id + call.state + call.recording : 'none' + (me0 ? me0.state : '');
  if (changed('call', key)) {
    if (!call || call.state === 'ringing') {
      const st = me0 ? me0.state : 'logged-out';
      el.hidden = st === 'wrap-up';
      replace(el, h('h3', {}, st === 'reserved' ? t('offer.title') : t('idle.title')),
        h('p', { class: 'muted' }, st === 'ready' ? t('idle.ready') : st === 'reserved' ? t('state.reserved') + '…' : t('idle.notready')));
    } else {
      el.hidden = false;
      const held = call.state === 'held';
      const consulting = call.state === 'consulting';
      const paused = call.recording === 'paused';
      replace(el,
        h('div', { class: 'call-head' },
          h('h3', {}, t('controls')),
          h('span', { class: 'state state-' + call.state, 'data-testid': 'call-state' }, call.state),
          h('span', { class: 'timer', id: 'call-timer' }, ''),
          paused ? h('span', { class: 'badge warn' }, t('rec.paused')) : null),
        h('div', { class: 'controls' },
          h('button', { 'data-testid': 'hold', title: 'F6', onclick: () => cmd('hold', { on: !held }) }, held ? t('resume') : t('hold')),
          consulting
            ? [h('button', { class: 'primary', 'data-testid': 'transfer-complete', onclick: () => cmd('transfer/complete') }, t('transfer.complete')),
              h('button', { 'data-testid': 'transfer-cancel', onclick: () => cmd('transfer/cancel') }, t('transfer.cancel')),
              h('button', { 'data-testid': 'conference', onclick: () => cmd('conference') }, t('conference'))]
            : h('button', { 'data-testid': 'transfer', title: 'F8', onclick: transferDialog }, t('transfer')),
          h('button', { 'data-testid': 'pause-recording', onclick: () => cmd('recording', { paused: !paused }) },
            paused ? t('rec.resume') : t('rec.pause')),
          h('button', { class: 'danger', 'data-testid': 'hangup', title: 'F4', onclick: () => cmd('hangup') }, t('hangup'))));
    }
  }
  const timer = $('#call-timer');
  if (timer && call) timer.textContent = duration(since(call.answered_at || call.arrived_at, state.offset));
}

function transferDialog() {
  const f = h('form', { class: 'form', 'data-testid': 'transfer-form' },
    field(t('transfer.kind'), h('select', { name: 'kind' },
      h('option', { value: 'blind' }, t('transfer.blind')), h('option', { value: 'consult' }, t('transfer.consult')))),
    field(t('transfer.to'), h('select', { name: 'to' },
      h('option', { value: 'queue' }, t('transfer.queue')), h('option', { value: 'agent_id' }, t('transfer.agent')),
      h('option', { value: 'number' }, t('transfer.number')))),
    h('input', { name: 'target', required: true, 'data-testid': 'transfer-target', 'aria-label': t('transfer.to') }),
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, t('transfer.go'))));
  const d = dialog(t('transfer'), f, { testid: 'transfer-dialog' });
  f.addEventListener('submit', async ev => {
    ev.preventDefault();
    const body = { kind: f.kind.value, [f.to.value]: f.target.value.trim() };
    if ((await cmd('transfer', body)) !== undefined) d.close();
  });
  f.target.focus();
}

// ---- wrap-up -------------------------------------------------------------------------------------------------------------

function renderWrap() {
  const el = $('#wrap');
  const show = inWrapUp(state);
  el.hidden = !show;
  if (!show) { memo.wrap = null; return; }
  const pop = state.pop;
  if (changed('wrap', pop.interaction_id)) {
    const f = h('form', { class: 'form', 'data-testid': 'wrapup-form' },
      h('div', { class: 'call-head' }, h('h3', {}, t('wrap.title')), h('span', { class: 'timer', id: 'wrap-left', 'data-testid': 'wrap-left' })),
      field(t('wrap.disposition'), h('select', { name: 'disposition', 'data-testid': 'disposition' },
        h('option', { value: '' }, t('wrap.choose')),
        (pop.dispositions || []).map(d => h('option', { value: d.code }, d.label)))),
      field(t('wrap.notes'), h('textarea', { name: 'notes', rows: 4, 'data-testid': 'wrap-notes' })),
      h('div', { class: 'row' },
        h('button', { class: 'primary', type: 'submit', 'data-testid': 'wrap-done' }, t('wrap.done')),
        h('button', { type: 'button', 'data-testid': 'wrap-extend', onclick: () => send(false, 30) }, t('wrap.extend'))));
    const send = async (done, extend) => {
      const body = { interaction_id: pop.interaction_id, disposition: f.disposition.value, notes: f.notes.value, done,
        extend_seconds: extend || 0 };
      const r = await cmd('wrapup', body);
      if (r !== undefined && done) {
        toast(t('wrap.saved'));
        dispatch({ type: 'wrapped' });
      }
    };
    f.addEventListener('submit', ev => { ev.preventDefault(); send(true); });
    replace(el, f);
  }
  const me = myStatus(state);
  const left = $('#wrap-left');
  if (left && me && me.deadline) left.textContent = duration(until(me.deadline, state.offset)) + ' ' + t('wrap.left');
}

// ---- search and click-to-call --------------------------------------------------------------------------------------------

let searchTimer = null;
function onSearch() {
  clearTimeout(searchTimer);
  const q = $('#search').value.trim();
  if (q.length < 2) { replace($('#search-results')); return; }
  searchTimer = setTimeout(async () => {
    const r = await run(() => api('GET', '/customers?limit=8&q=' + encodeURIComponent(q)));
    if (!r) return;
    replace($('#search-results'), r.items.map(c => h('li', {},
      h('span', { class: 'grow' }, c.name, c.company ? h('span', { class: 'muted' }, ' · ' + c.company) : null), tierBadge(c.tier),
      (c.phones || []).slice(0, 1).map(p => h('button', { class: 'small', 'data-testid': 'dial', onclick: () => dial(p.number, c.id) },
        t('call') + ' ' + p.number)))));
  }, 200);
}

function dial(number, customerID) {
  return run(() => api('POST', '/desk/dial', { number, customer_id: customerID }), t('dialing'));
}

// ---- shortcuts and help --------------------------------------------------------------------------------------------------

const keys = [['F2', 'keys.ready'], ['F3', 'keys.accept'], ['F4', 'keys.hangup'], ['F6', 'keys.hold'], ['F8', 'keys.transfer'],
  ['/', 'keys.search'], ['Esc', 'keys.esc'], ['?', 'keys.help']];

function help() {
  dialog(t('keys.title'), h('table', { class: 'keys' }, keys.map(([k, l]) => h('tr', {}, h('td', {}, h('kbd', {}, k)), h('td', {}, t(l))))),
    { testid: 'help-dialog' });
}

function onKey(ev) {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName);
  const call = myCall(state);
  switch (ev.key) {
    case 'F2': ev.preventDefault(); toggleState(); break;
    case 'F3': ev.preventDefault(); if (isRinging(state)) cmd('accept'); break;
    case 'F4': ev.preventDefault(); if (call) cmd('hangup'); break;
    case 'F6': ev.preventDefault(); if (call) cmd('hold', { on: call.state !== 'held' }); break;
    case 'F8': ev.preventDefault(); if (call) transferDialog(); break;
    case '?': if (!typing) { ev.preventDefault(); help(); } break;
    case '/': if (!typing) { ev.preventDefault(); $('#search').focus(); } break;
  }
}

// ---- main ----------------------------------------------------------------------------------------------------------------

function render() {
  renderTop();
  renderBanner();
  renderCustomer();
  renderTimeline();
  renderIVR();
  renderScript();
  renderCall();
  renderWrap();
}

function relabel() {
  for (const k of Object.keys(memo)) memo[k] = undefined;
  apply(document);
  fillReasons();
  render();
}

function fillReasons() {
  const sel = $('#reason');
  const cur = sel.value;
  replace(sel, reasons.map(r => h('option', { value: r.code, selected: r.code === cur }, r.label)));
}

async function main() {
  apply(document);
  const sel = langSwitch(l => { setLang(l); relabel(); });
  sel.value = getLang();
  $('#lang-slot').append(sel);
  $('#state-btn').addEventListener('click', toggleState);
  $('#help-btn').addEventListener('click', help);
  $('#signout').addEventListener('click', async () => { await run(() => api('POST', '/logout')); location.assign('/'); });
  $('#search').addEventListener('input', onSearch);
  document.addEventListener('keydown', onKey);
  render();
  const r = await run(() => api('GET', '/reason-codes'));
  reasons = r ? r.items : [];
  fillReasons();
  window.__desk = connect({ onMessage: dispatch, onStatus: s => dispatch({ type: 'conn', status: s }) });
  initPhone(() => !!myCall(state));
  setInterval(render, 1000);
}

main();
