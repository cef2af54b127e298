// The browser phone of agents whose endpoint is "webrtc": they hear and speak in the desk. The page keeps one standing media leg
// to the gateway (signalling on /ws/media): a short loop test through the gateway proves the microphone and the media path before
// the agent may go Ready (the server refuses Ready until it passed), and each accepted call is bridged onto that leg, so nothing
// rings but the desk's own offer banner. Lost media follows the gateway's rule: "disconnected" for 5 s → an ICE restart on the
// same websocket; a lost websocket → a new one with a fresh offer, which the server applies to the same leg.
import { api } from './api.js';
import { h } from './ui.js';
import { getLang } from './i18n.js';

const texts = {
  en: { title: 'Browser phone', connecting: 'Phone: connecting…', testing: 'Phone: testing audio…', ok: 'Phone: audio OK',
    failed: 'Phone: audio test failed', denied: 'Phone: microphone blocked — allow it and reload', lost: 'Phone: connection lost, reconnecting…',
    test: 'Test audio', mute: 'Mute', unmute: 'Unmute' },
  'zh-CN': { title: '浏览器话机', connecting: '话机：连接中…', testing: '话机：正在测试音频…', ok: '话机：音频正常',
    failed: '话机：音频测试失败', denied: '话机：麦克风被阻止，请允许后刷新', lost: '话机：连接中断，正在重连…',
    test: '测试音频', mute: '静音', unmute: '取消静音' },
};
const t = k => (texts[getLang()] || texts.en)[k] || texts.en[k];

const phone = { state: 'off', ws: null, pc: null, mic: null, muted: false, loop: null, restart: null, busy: () => false };
let el, label, testBtn, muteBtn, audio;

function show(state, extra) {
  phone.state = state;
  el.dataset.state = state;
  label.textContent = t(state) + (extra ? ' · ' + extra : '');
  testBtn.disabled = state === 'testing' || state === 'connecting' || phone.busy();
}

function send(m) {
  if (phone.ws && phone.ws.readyState === WebSocket.OPEN) phone.ws.send(JSON.stringify(m));
}

async function offer(restart) {
  const pc = phone.pc;
  const o = await pc.createOffer(restart ? { iceRestart: true } : undefined);
  await pc.setLocalDescription(o);
  await new Promise(done => {
    if (pc.iceGatheringState === 'complete') return done();
    const timer = setTimeout(done, 2000);
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(timer); done(); } });
  });
  send({ type: 'offer', sdp: pc.localDescription.sdp, restart: restart || undefined });
}

// connect opens the signalling websocket and a new peer connection on the standing leg.
async function connect(ice, delay) {
  show('connecting');
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/media');
  const pc = new RTCPeerConnection({ iceServers: ice });
  if (phone.pc) phone.pc.close();
  phone.ws = ws;
  phone.pc = pc;
  for (const tr of phone.mic.getAudioTracks()) pc.addTrack(tr, phone.mic);
  try {
    const pcmu = RTCRtpReceiver.getCapabilities('audio').codecs.filter(c => c.mimeType.toLowerCase() === 'audio/pcmu');
    for (const tr of pc.getTransceivers()) tr.setCodecPreferences(pcmu);
  } catch { /* the gateway picks PCMU from the full list */ }
  pc.ontrack = ev => { audio.srcObject = ev.streams[0] || new MediaStream([ev.track]); audio.play().catch(() => {}); };
  pc.onconnectionstatechange = () => {
    if (pc !== phone.pc) return;
    const s = pc.connectionState;
    if (s === 'connected') {
      clearTimeout(phone.restart);
      phone.restart = null;
      if (phone.state === 'connecting' || phone.state === 'lost') {
        if (phone.verified || phone.busy()) show('ok'); else loopTest();
      }
    } else if (s === 'disconnected' || s === 'failed') {
      show('lost');
      if (!phone.restart) phone.restart = setTimeout(() => { phone.restart = null; if (pc === phone.pc) offer(true); }, s === 'failed' ? 0 : 5000);
    }
  };
  ws.onmessage = ev => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.type === 'answer') pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).catch(() => show('failed'));
    else if (m.type === 'loop_result' && phone.loop) phone.loop(m.loop);
    else if (m.type === 'state' && m.state === 'reconnecting') show('lost');
    else if (m.type === 'error' && phone.state === 'testing' && phone.loop) phone.loop(null);
  };
  ws.onclose = () => {
    if (ws !== phone.ws) return;
    show('lost');
    const next = Math.min((delay || 500) * 2, 10000);
    setTimeout(() => connect(ice, next), delay || 500);
  };
  ws.onopen = () => offer(false);
}

// loopTest sends the microphone through the gateway and back for 1.5 s; the server tells the engine whether Ready is allowed.
export async function loopTest() {
  if (!phone.pc || phone.busy()) return null;
  show('testing');
  const result = new Promise(done => { phone.loop = done; setTimeout(() => done(null), 6000); });
  send({ type: 'loop_start' });
  await new Promise(r => setTimeout(r, 1500));
  send({ type: 'loop_stop' });
  const r = await result;
  phone.loop = null;
  phone.verified = !!(r && r.ok);
  el.dataset.loop = r ? `${r.returned}/${r.sent}` : '';
  show(phone.verified ? 'ok' : 'failed', r ? `${r.loop_ms.toFixed(1)} ms` : '');
  return r;
}

function toggleMute() {
  phone.muted = !phone.muted;
  for (const tr of phone.mic.getAudioTracks()) tr.enabled = !phone.muted;
  muteBtn.textContent = phone.muted ? t('unmute') : t('mute');
  el.dataset.muted = phone.muted;
}

// initPhone adds the phone to the top bar when the signed-in agent's endpoint is "webrtc"; busy says whether a call is live
// (no loop test then: it would take the call's media).
export async function initPhone(busy) {
  let cfg;
  try { cfg = await api('GET', '/desk/phone'); } catch { return; }
  if (!cfg || !cfg.webrtc) return;
  phone.busy = busy || phone.busy;
  label = h('span', { class: 'phone-label' });
  testBtn = h('button', { type: 'button', class: 'ghost small', 'data-testid': 'phone-test', onclick: () => loopTest() }, t('test'));
  muteBtn = h('button', { type: 'button', class: 'ghost small', 'data-testid': 'phone-mute', onclick: toggleMute }, t('mute'));
  audio = h('audio', { autoplay: true });
  el = h('span', { class: 'phone', 'data-testid': 'phone', title: t('title') }, label, testBtn, muteBtn, audio);
  document.querySelector('#conn').before(el);
  window.__phone = phone;
  try {
    phone.mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
  } catch {
    show('denied');
    return;
  }
  connect(cfg.ice_servers || [], 500);
  setInterval(() => { if (el) testBtn.disabled = phone.state === 'testing' || phone.state === 'connecting' || phone.busy(); }, 1000);
}
