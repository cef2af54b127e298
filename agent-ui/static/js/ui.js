// DOM helpers. Text always goes in through textContent; the only HTML inserted anywhere is the script renderer's output, which is
// built from server-escaped text.
import { t } from './i18n.js';

// h('div', {class: 'x', 'data-testid': 'y', onclick: f}, child, 'text', …)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'required') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function $(sel, root = document) { return root.querySelector(sel); }

export function replace(el, ...children) {
  el.replaceChildren(...children.flat().filter(c => c !== null && c !== undefined && c !== false));
}

// duration formats seconds as m:ss or h:mm:ss.
export function duration(sec) {
  sec = Math.max(0, Math.floor(sec));
  const h = Math.floor(sec / 3600), m = Math.floor(sec / 60) % 60, s = sec % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return (h ? h + ':' : '') + mm + ':' + String(s).padStart(2, '0');
}

// nanos turns a Go time.Duration (JSON nanoseconds) into seconds.
export function nanos(d) { return (d || 0) / 1e9; }

export function since(iso, offset) {
  if (!iso) return 0;
  return (Date.now() + offset - Date.parse(iso)) / 1000;
}

export function until(iso, offset) {
  if (!iso) return 0;
  return (Date.parse(iso) - Date.now() - offset) / 1000;
}

export function shortDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(document.documentElement.lang || undefined, { dateStyle: 'short', timeStyle: 'short' });
}

export function pct(x) { return Math.round((x || 0) * 100) + '%'; }

export function tierBadge(tier) {
  if (!tier) return null;
  return h('span', { class: 'badge tier-' + tier, 'data-testid': 'tier' }, t('tier.' + tier));
}

export function stateBadge(state, reason) {
  return h('span', { class: 'state state-' + state }, t('state.' + state) + (reason ? ' · ' + reason : ''));
}

// toast shows a short message (errors in red).
export function toast(msg, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const el = h('div', { class: 'toast toast-' + kind, role: kind === 'error' ? 'alert' : 'status', 'data-testid': 'toast' }, msg);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 6000 : 3000);
}

// dialog opens a modal <dialog> with content; Esc closes it (the browser's own behaviour).
export function dialog(title, content, { testid } = {}) {
  const d = h('dialog', { class: 'dialog', 'data-testid': testid },
    h('header', {}, h('h2', {}, title), h('button', { class: 'icon', type: 'button', 'aria-label': t('close'), onclick: () => d.close() }, '×')),
    content);
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}

// langSwitch is the language selector of the top bar.
export function langSwitch(onChange) {
  const sel = h('select', { 'aria-label': 'Language / 语言', 'data-testid': 'lang', class: 'lang',
    onchange: e => onChange(e.target.value) },
  h('option', { value: 'en' }, 'English'), h('option', { value: 'zh-CN' }, '简体中文'));
  return sel;
}
