// The wallboard's Reports tab: historical queue and agent reports per interval (a chart of answered and abandoned calls with the
// service level, a table, CSV downloads) and the CRM value view. The numbers come from /api/v1/reports/*, whose definitions are
// those of the live tiles (docs/reports.md). Every text goes through i18n.js; one that stays on screen carries its key in
// data-i18n, so a change of language (i18n.apply) relabels it at once, and the rest is rewritten on the next Show.
import uPlot from '/static/vendor/uplot/uPlot.esm.js';
import { api } from './api.js';
import { h, $, replace, toast } from './ui.js';
import { t } from './i18n.js';

const day = 24 * 3600 * 1000;
const iso = d => d.toISOString().slice(0, 10);
const secs = ms => (ms / 1000).toFixed(0) + ' s';
const pct = x => (100 * x).toFixed(1) + ' %';

// tx returns the attributes that keep an element's text translated.
const tx = key => ({ 'data-i18n': key });

let built = false;
let chart = null;

// renderReports builds the tab once, then reloads the report.
export async function renderReports(el) {
  if (!built) {
    built = true;
    const [queues, agents] = await Promise.all([api('GET', '/admin/queues').catch(() => ({ items: [] })),
      api('GET', '/admin/agents').catch(() => ({ items: [] }))]);
    const today = new Date();
    const label = (key, input) => h('label', {}, h('span', tx(key), t(key)), ' ', input);
    const all = () => h('option', { value: '', ...tx('rep.all') }, t('rep.all'));
    const form = h('form', { class: 'panel report-filters', 'data-testid': 'report-filters', onsubmit: ev => { ev.preventDefault(); load(); } },
      label('rep.from', h('input', { type: 'date', name: 'from', value: iso(new Date(today - 6 * day)), 'data-testid': 'report-from' })),
      label('rep.to', h('input', { type: 'date', name: 'to', value: iso(new Date(+today + day)), 'data-testid': 'report-to' })),
      label('rep.interval', h('select', { name: 'interval', 'data-testid': 'report-interval' },
        ['15m', 'hour', 'day', 'week'].map(v => h('option', { value: v, selected: v === 'day', ...tx('rep.iv.' + v) }, t('rep.iv.' + v))))),
      label('rep.queue', h('select', { name: 'queue', 'data-testid': 'report-queue' }, all(),
        queues.items.map(q => h('option', { value: q.name }, q.name)))),
      label('rep.agent', h('select', { name: 'agent', 'data-testid': 'report-agent' }, all(),
        agents.items.filter(a => a.role !== 'admin').map(a => h('option', { value: a.id }, a.display_name)))),
      h('button', { type: 'submit', 'data-testid': 'report-run', ...tx('rep.show') }, t('rep.show')));
    const csv = (id, file) => h('p', {}, h('a', { id, 'data-testid': id, download: file, ...tx('rep.csv') }, t('rep.csv')));
    const title = key => h('h2', tx(key), t(key));
    replace(el, form,
      h('section', { class: 'panel' }, title('rep.queues'), h('div', { id: 'report-chart', 'data-testid': 'report-chart' }),
        csv('report-csv', 'queue-report.csv'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'grid', 'data-testid': 'report-queues' }))),
      h('section', { class: 'panel' }, title('rep.agents'), csv('report-agents-csv', 'agent-report.csv'),
        h('div', { class: 'table-wrap' }, h('table', { class: 'grid', 'data-testid': 'report-agents' }))),
      h('section', { class: 'panel', 'data-testid': 'report-value' }, title('rep.value'), h('div', { id: 'report-value' })));
  }
  await load();
}

function params(extra) {
  const f = $('[data-testid=report-filters]');
  const p = new URLSearchParams();
  for (const k of ['from', 'to', 'interval', 'queue', 'agent']) if (f.elements[k].value) p.set(k, f.elements[k].value);
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p.toString();
}

async function load() {
  let q, a, v;
  try {
    [q, a, v] = await Promise.all([api('GET', '/reports/queues?' + params()), api('GET', '/reports/agents?' + params()),
      api('GET', '/reports/value?' + params())]);
  } catch (e) {
    toast(e.message, 'error');
    return;
  }
  $('#report-csv').href = '/api/v1/reports/queues?' + params({ format: 'csv' });
  $('#report-agents-csv').href = '/api/v1/reports/agents?' + params({ format: 'csv' });
  drawChart(q.items);
  queueTable(q.items);
  agentTable(a.items);
  valueView(v);
}

// drawChart sums the queues per interval: answered and abandoned calls, and the service level (answered in SL over answered and
// abandoned, short abandons left out) on its own axis.
function drawChart(rows) {
  const by = new Map();
  for (const r of rows) {
    const t = Date.parse(r.start) / 1000;
    const s = by.get(t) || { answered: 0, abandoned: 0, short: 0, inSL: 0 };
    s.answered += r.answered; s.abandoned += r.abandoned; s.short += r.short_abandoned; s.inSL += r.answered_in_sl;
    by.set(t, s);
  }
  const xs = [...by.keys()].sort((x, y) => x - y);
  const data = [xs, xs.map(t => by.get(t).answered), xs.map(t => by.get(t).abandoned), xs.map(t => {
    const s = by.get(t), d = s.answered + s.abandoned - s.short;
    return d > 0 ? 100 * s.inSL / d : null;
  })];
  const box = $('#report-chart');
  if (chart) chart.destroy();
  const width = Math.max(320, box.clientWidth || 800);
  chart = new uPlot({
    width, height: 260,
    series: [{}, { label: t('rep.answered'), stroke: '#2e7d32', width: 2, points: { show: true } },
      { label: t('rep.abandoned'), stroke: '#c62828', width: 2, points: { show: true } },
      { label: t('rep.sl') + ' %', stroke: '#1565c0', dash: [6, 4], scale: '%', points: { show: true } }],
    axes: [{}, { label: t('rep.calls') }, { scale: '%', side: 1, label: '%', grid: { show: false } }],
    // The x axis spans the chosen period, so a single interval does not stretch over years.
    scales: { x: { time: true, range: () => span() }, y: { range: (u, min, max) => [0, Math.max(1, max)] }, '%': { range: [0, 100] } },
  }, data, box);
  box.dataset.points = String(xs.length);
}

// span returns the filters' period in Unix seconds (the dates at local midnight).
function span() {
  const f = $('[data-testid=report-filters]').elements;
  return [new Date(f.from.value + 'T00:00').getTime() / 1000, new Date(f.to.value + 'T00:00').getTime() / 1000];
}

// table fills el; head holds i18n keys.
function table(el, head, rows) {
  replace(el, h('thead', {}, h('tr', {}, head.map(k => h('th', tx(k), t(k))))),
    h('tbody', {}, rows.map(r => h('tr', {}, r.map(x => h('td', {}, x))))));
}

function queueTable(rows) {
  table($('[data-testid=report-queues]'), ['rep.queue', 'rep.interval', 'rep.offered', 'rep.answered', 'rep.abandoned_short',
    'rep.overflowed', 'rep.sl', 'rep.asa', 'rep.aht', 'rep.transfers', 'rep.callbacks'],
  rows.map(r => [r.queue, r.local, r.offered, r.answered, `${r.abandoned} (${r.short_abandoned})`, r.overflowed,
    pct(r.service_level), secs(r.asa_ms), secs(r.aht_ms), r.transfers, r.callbacks]));
}

function agentTable(rows) {
  table($('[data-testid=report-agents]'), ['rep.agent', 'rep.interval', 'rep.answered', 'rep.aht', 'rep.logged_in', 'rep.not_ready',
    'rep.occupancy', 'rep.transfers'],
    rows.map(r => [r.login, r.local, r.answered, secs(r.aht_ms), secs(r.logged_in_ms),
      Object.entries(r.not_ready_by_reason_ms || {}).map(([k, v]) => `${k} ${secs(v)}`).join(', ') || '—',
      pct(r.occupancy), r.transfers]));
}

function valueView(v) {
  const top = h('table', { class: 'grid', 'data-testid': 'value-top' });
  table(top, ['rep.customer', 'rep.tier', 'rep.contacts', 'rep.answered', 'rep.last'],
    v.top_customers.map(c => [c.name, t('tier.' + c.tier), c.interactions, c.answered, new Date(c.last).toLocaleString()]));
  const tiers = h('table', { class: 'grid', 'data-testid': 'value-tiers' });
  table(tiers, ['rep.tier', 'rep.customers', 'rep.contacted', 'rep.contacts'],
    v.tiers.map(x => [t('tier.' + x.tier), x.customers, x.contacted, x.interactions]));
  const disp = h('table', { class: 'grid', 'data-testid': 'value-dispositions' });
  table(disp, ['rep.queue', 'rep.disposition', 'rep.count'], v.top_dispositions.map(d => [d.queue, d.disposition, d.count]));
  replace($('#report-value'),
    h('p', { 'data-testid': 'value-fcr' }, t('rep.fcr').replace('{contacts}', v.contacts).replace('{r24}', pct(v.repeat_rate_24h))
      .replace('{f24}', pct(v.fcr_24h)).replace('{r7}', pct(v.repeat_rate_7d)).replace('{f7}', pct(v.fcr_7d))),
    h('div', { class: 'table-wrap' }, top), h('div', { class: 'table-wrap' }, tiers), h('div', { class: 'table-wrap' }, disp));
}
