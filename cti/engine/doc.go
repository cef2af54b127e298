// Package engine is the single goroutine that owns all live call and agent state and carries out call control through the
// cti ports.
//
// The loop (Run) takes items from one unbounded inbox: telephony events (Post, which never blocks and never drops), desk
// commands (the cti.Desk methods, which wait for their reply) and the results of effects. It applies them to its state, to
// the pure ACD (queue.Router) and to the pure IVR (ivr.Session), and turns what they decide into effects. It never does I/O
// itself: effects (Telephony commands, CRM reads and writes, recording downloads) run on a serial executor per call — run
// by one of a few reused worker goroutines while it has effects queued, so one call's effects keep their order (answer
// before play, bridge before add) while calls never wait on each other — each with Config.EffectTimeout, and their results
// come back through the inbox; caller lookups go in batches on an executor of their own. Timers (IVR timers,
// the router tick, presence grace, voicemail limits) live in one heap driven by a single time.Timer; time comes from
// Config.Clock, so tests run under testing/synctest.
//
// # Conventions shared with the telephony adapter
//
// Channel variables set on a customer channel: SB_CALL (the interaction id), SB_ROLE ("customer"), and once queued SB_QUEUE,
// SB_ENQUEUED (Unix milliseconds) and SB_PRIORITY. Legs we originate carry SB_CALL, SB_ROLE ("agent", "outbound",
// "customer", "transfer", "supervisor") and SB_AGENT as originate variables; an agent leg offered a waiting caller also
// carries SB_CUSTOMER (the caller's channel) and the caller's SB_QUEUE, SB_ENQUEUED and SB_PRIORITY, because the caller's
// own tags go after the agent's originate. After a reconnect or a restart the engine rebuilds its calls from
// Telephony.Snapshot with these variables; an untagged caller named by a live agent leg is that leg's call's caller.
//
// Ids we choose, <id> being the interaction id: agent legs "sb-agent-<id>-<n>" entering with args ["agent", <id>], outbound
// agent legs "sb-agent-<id>-<n>" with ["outbound", <id>], trunk legs to customers "sb-cust-<id>-<n>" with ["customer",
// <id>], transfer and conference targets "sb-xfer-<id>-<n>" with ["transfer", <id>], supervisors "sb-sup-<id>-<n>" with
// ["supervisor", <id>], snoops "sb-snoop-<id>-<n>" with ["snoop", <id>], a web caller's externalMedia channel "sb-web-<id>" with
// ["webcall", <id>] (see webcall.go); the call's bridge "sb-<id>", the consult bridge
// "sb-<id>-consult", monitor bridges "sb-<id>-mon-<n>"; playbacks "sb-<id>-p<n>"; recordings "interaction-<id>" and
// voicemails "vm-<id>". A ChannelEntered whose channel id starts with "sb-" is never taken for a customer.
//
// Dependency rule: engine imports only the standard library, cti, queue and ivr. No net, no database, no ARI, no
// prometheus: metrics reach cmd through the Observer interface.
package engine
