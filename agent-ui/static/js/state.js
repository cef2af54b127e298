// The page's state as a pure reducer: reduce(state, message) → new state. Messages are the hub's (see agent-ui/messages.go) plus
// a few local ones ("conn", "customer", "wrapped"). No DOM, no clock, no I/O here, so it can be tested by itself.

export function initialState() {
  return {
    me: null,          // who is signed in (snapshot.me)
    conn: 'connecting', // connecting | open | closed
    seq: 0,            // the last message applied
    offset: 0,         // server clock minus local clock, ms
    agents: {},        // by agent_id
    calls: {},         // live calls by id
    queues: {},        // by queue name
    pop: null,         // the agent's current screen-pop
    error: null,       // the last error message to show
    loggedOut: null,   // why the session ended
  };
}

const done = new Set(['ready', 'not-ready', 'logged-out']);

function byKey(list, key) {
  const out = {};
  for (const x of list || []) out[x[key]] = x;
  return out;
}

export function reduce(state, msg) {
  switch (msg.type) {
    case 'snapshot': {
      const s = msg.snapshot;
      const offset = msg.recv ? Date.parse(s.now) - msg.recv : state.offset;
      return { ...state, me: s.me, seq: msg.seq, offset, agents: byKey(s.agents, 'agent_id'),
        calls: byKey((s.calls || []).filter(c => c.state !== 'ended'), 'id'), queues: byKey(s.queues, 'queue'),
        pop: s.offer || null, error: null };
    }
    case 'offer':
      return { ...state, seq: msg.seq ?? state.seq, pop: msg.offer };
    case 'call': {
      const calls = { ...state.calls };
      if (msg.call.state === 'ended') delete calls[msg.call.id];
      else calls[msg.call.id] = msg.call;
      return { ...state, seq: msg.seq ?? state.seq, calls };
    }
    case 'agent': {
      const a = msg.agent;
      const agents = { ...state.agents, [a.agent_id]: a };
      let pop = state.pop;
      if (state.me && a.agent_id === state.me.agent_id && done.has(a.state) && !a.call_id) pop = null;
      return { ...state, seq: msg.seq ?? state.seq, agents, pop };
    }
    case 'queues': {
      const queues = { ...state.queues };
      for (const q of msg.queues || []) queues[q.queue] = q;
      return { ...state, seq: msg.seq ?? state.seq, queues };
    }
    case 'error':
      return { ...state, seq: msg.seq ?? state.seq, error: msg.error ? msg.error.message : String(msg.message || '') };
    case 'logout':
      return { ...state, loggedOut: msg.error ? msg.error.message : 'signed out' };
    case 'conn':
      return { ...state, conn: msg.status };
    case 'customer': // the agent created or edited the caller's record
      return state.pop ? { ...state, pop: { ...state.pop, customer: msg.customer } } : state;
    case 'wrapped': // wrap-up saved: the pop stays until the engine says the agent is free
      return state.pop ? { ...state, pop: { ...state.pop, wrapped: true } } : state;
    case 'clear-error':
      return { ...state, error: null };
  }
  return state;
}

// Views derived from the state.

export function myStatus(state) {
  return state.me ? state.agents[state.me.agent_id] || null : null;
}

export function myCall(state) {
  if (!state.me) return null;
  const mine = Object.values(state.calls).filter(c => c.agent_id === state.me.agent_id);
  if (state.pop) {
    const c = mine.find(c => c.id === state.pop.interaction_id);
    if (c) return c;
  }
  return mine[0] || null;
}

export function isRinging(state) {
  if (!state.pop) return false;
  const me = myStatus(state);
  const call = state.calls[state.pop.interaction_id];
  if (call) return call.state === 'ringing';
  return !!me && me.state === 'reserved';
}

export function inWrapUp(state) {
  if (!state.pop || state.pop.wrapped) return false;
  const me = myStatus(state);
  if (me && me.state === 'wrap-up') return true;
  return false;
}
