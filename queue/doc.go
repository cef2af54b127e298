// Package queue is Switchboard's ACD: it owns queues, agents, skills, offers,
// escalation over wait time, wrap-up, callbacks that keep their place, live
// statistics and explainable routing. Asterisk has no queue of ours; this
// package decides who gets which call, and cti/engine carries it out.
//
// It is pure: stdlib only, no I/O, no goroutines, no clock. Time comes in as
// the argument of Router.Apply, so a day of traffic can be replayed, fuzzed
// and benchmarked, and Snapshot/Restore carry the whole state across a
// controller restart. Do not add I/O, logging or time.Now here.
//
// # Driving it
//
// The engine calls Apply(now, Event) from one goroutine and carries out the
// returned Decisions (Offer, DialCallback, CancelOffer, Overflow, Announce,
// AgentStateChanged). Due deadlines (offer timeout, wrap-up end, escalation
// steps, max wait, preference expiry, announcements) fire at the start of the
// next Apply whose time reaches them, so a Tick per second is enough for
// "within one Tick". Time never runs backwards: an earlier now counts as the
// latest seen.
//
// # Routing rules
//
// Eligibility: an agent is eligible for a waiting call when Ready, a member of
// the call's queue and holding every skill of the requirement in force at its
// level or above. The requirement is the call's own skills until the first
// escalation step; a step's skills then override the call's level for the same
// skill (other skills of the call stay); an "any" step drops all requirements;
// an overflow step sends the call away. Steps are re-evaluated as calls wait.
//
// Order of calls: priority (9 first), then enqueued-at, then arrival order.
// Cross-queue rule: an agent who becomes Ready takes, among the calls eligible
// for them in all their queues, the first in that order; a call that becomes
// eligible (arrival, step, requeue) takes the first eligible Ready agent of its
// queue under the queue's Strategy, ties broken by agent id. After every event
// no Ready agent and eligible waiting call coexist.
//
// Preferred agent: until PreferredUntil only the preferred agent may take the
// call (whatever their skills or queues — they are the customer's agent); if
// they are not Ready the call waits for them, then routes normally.
//
// RONA: an offer unanswered by its deadline is cancelled, the agent goes
// NotReady("missed") and the call goes back to its place (its enqueued-at is
// kept). A rejected offer does the same with "rejected". Routing never
// overrides an agent's own choice: a pending state ("not ready after this call")
// is applied when the work ends, instead of Ready or "missed".
//
// Callbacks: CallbackRequested keeps the call's place while nobody is on the
// line; when it is chosen the router reserves the agent and emits DialCallback.
// Callbacks are not announced and never overflow by max wait or escalation.
//
// No agents: a queue with NoAgentsOverflow overflows arrivals while none of its
// agents is logged in, and flushes waiting calls when the last one logs out;
// NoAgentsWait keeps them (max wait still applies). Overflow always removes
// the call from the router; to move it to another queue the engine sends a
// new CallArrived.
//
// # Statistics and EWT
//
// Period documents the service-level formulas, abandon rate, ASA and AHT;
// windows are the last 15 minutes and hour (minute-aligned) and today in the
// queue's Location. EWT = position / answer rate, see Router.ewt; its error
// against simulated traffic is measured by TestEWTError.
//
// # Cost
//
// Waiting calls are indexed per (queue, step, own skills) by one integer,
// (9-priority)<<56 | arrival seq, holding call slots rather than pointers: a
// bucket keeps two calls inline, more in one arrival-order run per priority
// (calls enter it in arrival order), and the few put back out of order in a
// B+tree. Call ids map to slots in an open-addressing table. A queue's line numbers its calls by arrival per priority and keeps
// a bitmap of those waiting with a Fenwick tree of its word counts, so a
// position is a prefix sum and a popcount in a few hundred bytes that stay
// in cache. Ready agents are indexed per (queue, skill, level)
// ordered by the strategy key; deadlines sit in one 4-ary heap with one live
// entry per call or agent (moved timers leave stale entries that are skipped).
// Calls live in pages of structs addressed by slot (queue, bucket, agents and
// requirement by index), timers name their owner by handle, so the GC has one
// pointer to scan per call, its id.
// So an event costs O(log n) in the number of calls and agents, times the
// agent's queues and skills and the queue's number of buckets, not O(n).
package queue
