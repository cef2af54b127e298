// The one websocket client: connects to /ws, hands each message to onMessage, reconnects with exponential backoff and jitter, and
// re-syncs on a sequence gap (it reconnects, and the server starts every connection with a snapshot). A "logout" message ends it.

export function connect({ onMessage, onStatus, url = wsURL(), minDelay = 500, maxDelay = 15000 }) {
  let ws = null;
  let delay = minDelay;
  let expect = 1;
  let stopped = false;
  let timer = null;

  const open = () => {
    if (stopped) return;
    onStatus('connecting');
    expect = 1;
    ws = new WebSocket(url);
    ws.onopen = () => onStatus('open');
    ws.onmessage = ev => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.seq !== expect || (expect === 1 && msg.type !== 'snapshot' && msg.type !== 'error' && msg.type !== 'logout')) {
        // A gap: our state may be stale. Start again from a fresh snapshot.
        ws.close(4000, 'resync');
        return;
      }
      expect++;
      if (msg.type === 'snapshot') delay = minDelay; // a healthy connection resets the backoff
      msg.recv = Date.now();
      if (msg.type === 'logout') stopped = true;
      onMessage(msg);
    };
    ws.onclose = () => {
      ws = null;
      onStatus(stopped ? 'closed' : 'connecting');
      if (stopped) return;
      const wait = delay / 2 + Math.random() * delay / 2;
      delay = Math.min(delay * 2, maxDelay);
      timer = setTimeout(open, wait);
    };
  };
  open();
  return {
    close() { stopped = true; clearTimeout(timer); if (ws) ws.close(1000); },
    // reconnect drops the connection now (tests, a manual retry); the usual backoff applies.
    reconnect() { if (ws) ws.close(4001, 'reconnect'); },
  };
}

function wsURL() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
}
