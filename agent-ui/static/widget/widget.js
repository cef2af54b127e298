// The "call us" widget. The company's page embeds it with one tag:
//
//   <script type="module" src="https://switchboard.example.com/static/widget/widget.js" data-switchboard="main"></script>
//
// and gets a call button. Pressing it asks for the microphone, fetches a page token from Switchboard (CORS, origin allow-list),
// opens the signalling websocket /ws/call, and sends a WebRTC offer (G.711 µ-law) to the media gateway. The call then runs the
// contact center's IVR (the keypad sends DTMF over the websocket), waits in a queue (position and estimated wait are shown) and
// reaches an agent. Optional attributes of the tag: data-lang ("en", "zh-CN"), data-customer-token (a token the company's site
// signed for a signed-in customer), data-form (a CSS selector of a form whose named fields go with the call), data-label.
//
// Lost media follows the gateway's rule: "disconnected" for 5 s → an ICE restart on the same websocket; a lost websocket → a
// new one within 30 s with the call's resume id and a fresh offer.

const script = document.currentScript || document.querySelector('script[data-switchboard]');
const base = new URL('/', import.meta.url);
const wsBase = (base.protocol === 'https:' ? 'wss://' : 'ws://') + base.host;

const texts = {
  en: {
    call: 'Call us', calling: 'Connecting…', mic: 'Allow the microphone to call us', micDenied: 'The microphone is blocked. Allow it in your browser to call us.',
    noMic: 'No microphone was found.', network: 'The network connection was lost.', reconnecting: 'Reconnecting…',
    closed: 'Sorry, we cannot take your call right now. Please try again later.', rejected: 'This call could not be started. Reload the page and try again.',
    ivr: 'Connected — follow the menu', queued: 'You are number {pos} in line', ewt: 'Estimated wait: {min} min',
    ringing: 'An agent is being connected…', connected: 'Talking with an agent', held: 'On hold — please wait',
    ended: 'Call ended', endedAgent: 'The agent ended the call. Thank you!', cutOff: 'Your call was cut off. Please call us again.', hangup: 'Hang up', keypad: 'Keypad', close: 'Close',
  },
  'zh-CN': {
    call: '联系我们', calling: '正在连接…', mic: '请允许使用麦克风', micDenied: '麦克风被阻止。请在浏览器中允许后再拨打。',
    noMic: '未找到麦克风。', network: '网络连接已断开。', reconnecting: '正在重新连接…',
    closed: '抱歉，我们现在无法接听您的来电，请稍后再试。', rejected: '无法发起通话，请刷新页面后重试。',
    ivr: '已接通，请按语音提示操作', queued: '您前面还有 {pos} 位（含您）', ewt: '预计等待：{min} 分钟',
    ringing: '正在为您转接客服…', connected: '正在与客服通话', held: '通话保持中，请稍候',
    ended: '通话已结束', endedAgent: '客服已结束通话，谢谢！', cutOff: '通话已中断，请重新拨打。', hangup: '挂断', keypad: '拨号键盘', close: '关闭',
  },
};

const lang = (() => {
  const l = (script && script.dataset.lang) || navigator.language || 'en';
  return l.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
})();

function t(key, vars) {
  let s = (texts[lang] && texts[lang][key]) || texts.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace('{' + k + '}', v);
  return s;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k != null) e.append(k);
  return e;
}

// ---- the view --------------------------------------------------------------------------------------------------------------

const host = el('div', { id: 'switchboard-widget' });
const root = host.attachShadow({ mode: 'open' });
root.append(el('link', { rel: 'stylesheet', href: new URL('widget.css', import.meta.url).href }));
const callBtn = el('button', { class: 'call', 'data-testid': 'sb-call', type: 'button', onclick: () => start() },
  (script && script.dataset.label) || t('call'));
const status = el('div', { class: 'status', 'data-testid': 'sb-status', role: 'status', 'aria-live': 'polite' });
const wait = el('div', { class: 'wait', 'data-testid': 'sb-wait' });
const keys = el('div', { class: 'keys', 'data-testid': 'sb-keypad', 'aria-label': t('keypad') },
  ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'].map(d =>
    el('button', { type: 'button', 'data-testid': 'sb-key-' + d, onclick: () => press(d) }, d)));
const hangupBtn = el('button', { class: 'hangup', type: 'button', 'data-testid': 'sb-hangup', onclick: () => hangup() }, t('hangup'));
const closeBtn = el('button', { class: 'close', type: 'button', 'data-testid': 'sb-close', onclick: () => reset() }, t('close'));
const audio = el('audio', { autoplay: '' });
const panel = el('div', { class: 'panel', hidden: '' }, status, wait, keys, el('div', { class: 'row' }, hangupBtn, closeBtn));
root.append(callBtn, panel, audio);

function show(state, text, waitText) {
  host.dataset.state = state;
  panel.hidden = false;
  callBtn.hidden = true;
  status.textContent = text;
  wait.textContent = waitText || '';
  const live = !['ended', 'error'].includes(state);
  keys.hidden = !live || state === 'starting';
  hangupBtn.hidden = !live;
  closeBtn.hidden = live;
}

function reset() {
  panel.hidden = true;
  callBtn.hidden = false;
  host.dataset.state = 'idle';
}

// ---- the call ------------------------------------------------------------------------------------------------------------

let call = null; // {ws, pc, mic, resume, ended, restartTimer}

async function start() {
  if (call) return;
  call = { ended: false };
  show('starting', t('mic'));
  try {
    call.mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
  } catch (e) {
    fail(e && e.name === 'NotFoundError' ? t('noMic') : t('micDenied'), 'mic');
    return;
  }
  show('starting', t('calling'));
  await connect(null);
}

async function token() {
  const q = new URLSearchParams({ site: (script && script.dataset.switchboard) || '' });
  if (script && script.dataset.customerToken) q.set('customer', script.dataset.customerToken);
  const res = await fetch(new URL('/api/v1/webcall/token?' + q, base), { mode: 'cors', credentials: 'omit' });
  if (!res.ok) {
    const e = new Error('token ' + res.status);
    e.status = res.status;
    throw e;
  }
  return res.json();
}

function attributes() {
  const q = new URLSearchParams();
  q.set('attr.page', location.href);
  const sel = script && script.dataset.form;
  const form = sel ? document.querySelector(sel) : null;
  if (form) {
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v) q.set('attr.' + k, v);
  }
  return q;
}

// connect opens the signalling websocket and a new peer connection; resume names a call whose websocket was lost.
async function connect(resume) {
  let tok;
  try {
    tok = await token();
  } catch (e) {
    if (resume) return retryLater();
    fail(e.status ? t('closed') : t('network'), 'token');
    return;
  }
  const q = attributes();
  q.set('token', tok.token);
  const ws = new WebSocket(wsBase + '/ws/call?' + q);
  const pc = new RTCPeerConnection({ iceServers: tok.ice_servers || [] });
  if (call.pc) call.pc.close();
  call.ws = ws;
  call.pc = pc;
  for (const tr of call.mic.getAudioTracks()) pc.addTrack(tr, call.mic);
  preferPCMU(pc);
  pc.ontrack = ev => { audio.srcObject = ev.streams[0] || new MediaStream([ev.track]); audio.play().catch(() => {}); };
  pc.onconnectionstatechange = () => onConnState(pc);
  ws.onmessage = ev => { let m; try { m = JSON.parse(ev.data); } catch { return; } onMessage(m); };
  ws.onclose = () => { if (call && call.ws === ws && !call.ended) lost(); };
  await new Promise((ok, bad) => { ws.onopen = ok; ws.onerror = bad; }).catch(() => null);
  if (ws.readyState !== WebSocket.OPEN) {
    if (resume) return retryLater();
    fail(t('closed'), 'ws');
    return;
  }
  await offer(pc, { resume: resume || undefined });
}

function preferPCMU(pc) {
  try {
    const caps = RTCRtpReceiver.getCapabilities('audio');
    const pcmu = caps.codecs.filter(c => c.mimeType.toLowerCase() === 'audio/pcmu');
    if (pcmu.length) for (const tr of pc.getTransceivers()) tr.setCodecPreferences(pcmu);
  } catch { /* older browsers: the gateway picks PCMU from the full list */ }
}

// offer sends a complete offer (candidates included) once gathering ends or after 2 s.
async function offer(pc, extra) {
  const o = await pc.createOffer(extra && extra.restart ? { iceRestart: true } : undefined);
  await pc.setLocalDescription(o);
  await new Promise(done => {
    if (pc.iceGatheringState === 'complete') return done();
    const timer = setTimeout(done, 2000);
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(timer); done(); } });
  });
  send({ type: 'offer', sdp: pc.localDescription.sdp, ...extra });
}

function send(m) {
  if (call && call.ws && call.ws.readyState === WebSocket.OPEN) call.ws.send(JSON.stringify(m));
}

function onMessage(m) {
  switch (m.type) {
    case 'answer':
      call.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).catch(() => fail(t('rejected'), 'sdp'));
      break;
    case 'state':
      // The server has the call again: only now does a later loss get a fresh 30 s.
      call.lostAt = 0;
      if (m.resume) call.resume = m.resume;
      onState(m);
      break;
    case 'hangup':
      end(m.reason === 'closed' || m.reason === 'rejected' ? t(m.reason) : m.reason === 'agent' ? t('endedAgent')
        : m.reason === 'media_lost' ? t('cutOff') : t('ended'));
      break;
    case 'error':
      if (host.dataset.state === 'starting') fail(m.code === 'unavailable' ? t('closed') : t('rejected'), m.code);
      break;
  }
}

function onState(m) {
  host.dataset.callState = m.state;
  switch (m.state) {
    case 'ivr': show('ivr', t('ivr')); break;
    case 'queued':
      show('queued', m.position ? t('queued', { pos: m.position }) : t('held'),
        m.ewt ? t('ewt', { min: Math.max(1, Math.round(m.ewt / 60)) }) : '');
      wait.dataset.position = m.position || 0;
      break;
    case 'ringing': show('ringing', t('ringing')); break;
    case 'connected': show('connected', t('connected')); break;
    case 'held': show('held', t('held')); break;
    case 'reconnecting': show('reconnecting', t('reconnecting')); break;
    case 'ended':
      end(m.reason === 'closed' ? t('closed') : m.reason === 'agent' ? t('endedAgent') : t('ended'));
      break;
  }
}

function onConnState(pc) {
  if (!call || pc !== call.pc || call.ended) return;
  const s = pc.connectionState;
  if (s === 'connected') {
    clearTimeout(call.restartTimer);
    call.restartTimer = null;
    if (host.dataset.state === 'reconnecting') show(host.dataset.callState || 'connected', t(host.dataset.callState || 'connected'));
  } else if (s === 'disconnected' || s === 'failed') {
    show('reconnecting', t('reconnecting'));
    if (!call.restartTimer) {
      // Rule 1: give ICE a moment to recover, then restart it on the same websocket.
      call.restartTimer = setTimeout(() => { call.restartTimer = null; if (call && pc === call.pc) offer(pc, { restart: true }); },
        s === 'failed' ? 0 : 5000);
    }
  }
}

// lost: the websocket closed mid-call; rule 2: reconnect with the resume id for up to 30 s.
function lost() {
  if (!call.resume) { fail(t('network'), 'network'); return; }
  show('reconnecting', t('reconnecting'));
  call.lostAt = call.lostAt || Date.now();
  retryLater();
}

function retryLater() {
  if (!call || call.ended) return;
  if (Date.now() - (call.lostAt || Date.now()) > 30000) { fail(t('network'), 'network'); return; }
  setTimeout(() => { if (call && !call.ended) connect(call.resume); }, 1000);
}

function press(d) {
  send({ type: 'dtmf', digit: d });
  host.dataset.lastDigit = d;
}

function hangup() {
  send({ type: 'hangup' });
  end(t('ended'));
}

function end(text) {
  stop();
  show('ended', text);
}

function fail(text, code) {
  stop();
  show('error', text);
  host.dataset.error = code;
}

function stop() {
  if (!call) return;
  call.ended = true;
  clearTimeout(call.restartTimer);
  if (call.ws) call.ws.close(1000);
  if (call.pc) call.pc.close();
  if (call.mic) for (const tr of call.mic.getTracks()) tr.stop();
  call = null;
}

// The test hook: what the widget's peer connection has sent and received (RTCPeerConnection.getStats).
host.rtpStats = async () => {
  if (!call || !call.pc) return null;
  const out = { sent: 0, received: 0 };
  (await call.pc.getStats()).forEach(r => {
    if (r.type === 'outbound-rtp' && r.kind === 'audio') out.sent += r.packetsSent || 0;
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.received += r.packetsReceived || 0;
  });
  return out;
};

reset();
(document.body || document.documentElement).append(host);
