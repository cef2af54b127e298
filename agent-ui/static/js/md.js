// A tiny, safe Markdown subset for call scripts: headings (#, ##, ###), paragraphs, bullet and numbered lists, **bold**, *italic*
// or _italic_, and backslash escapes. The input is already HTML-escaped by the server (cti.RenderScript), so the text between our
// own tags is inserted as it came and no character of it can become markup; the output only adds the tags listed here.

const ESCAPABLE = '\\`*_{}[]()!|~#+-.>=';

function inline(s) {
  let out = '';
  const stack = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length && ESCAPABLE.includes(s[i + 1])) {
      out += s[++i];
      continue;
    }
    if (ch === '*' && s[i + 1] === '*') {
      if (stack[stack.length - 1] === 'strong') { stack.pop(); out += '</strong>'; }
      else if (s.indexOf('**', i + 2) > i + 2) { stack.push('strong'); out += '<strong>'; }
      else out += '**';
      i++;
      continue;
    }
    if (ch === '*' || ch === '_') {
      const tag = 'em' + ch;
      if (stack[stack.length - 1] === tag) { stack.pop(); out += '</em>'; continue; }
      const end = s.indexOf(ch, i + 1);
      if (end > i + 1 && s[i + 1] !== ' ') { stack.push(tag); out += '<em>'; continue; }
    }
    out += ch;
  }
  while (stack.length) out += stack.pop() === 'strong' ? '</strong>' : '</em>';
  return out;
}

// renderMarkdown returns HTML for already-escaped Markdown text.
export function renderMarkdown(escaped) {
  const lines = String(escaped || '').replace(/\r\n?/g, '\n').split('\n');
  let html = '';
  let list = null; // 'ul' | 'ol'
  let para = [];
  const flushPara = () => {
    if (para.length) html += '<p>' + inline(para.join(' ')) + '</p>';
    para = [];
  };
  const closeList = () => {
    if (list) html += '</' + list + '>';
    list = null;
  };
  for (const raw of lines) {
    const line = raw.trimEnd();
    let m;
    if (!line.trim()) { flushPara(); closeList(); continue; }
    if ((m = /^(#{1,3})\s+(.*)$/.exec(line))) {
      flushPara(); closeList();
      const n = m[1].length + 2; // # → h3: the page has its own h1/h2
      html += `<h${n}>` + inline(m[2]) + `</h${n}>`;
      continue;
    }
    if ((m = /^\s*[-*+]\s+(.*)$/.exec(line)) || (m = /^\s*\d+\.\s+(.*)$/.exec(line))) {
      const kind = /^\s*\d/.test(line) ? 'ol' : 'ul';
      flushPara();
      if (list !== kind) { closeList(); html += '<' + kind + '>'; list = kind; }
      html += '<li>' + inline(m[1]) + '</li>';
      continue;
    }
    closeList();
    para.push(line.trim());
  }
  flushPara();
  closeList();
  return html;
}

// escapeHTML is for tests and for callers holding raw text.
export function escapeHTML(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}
