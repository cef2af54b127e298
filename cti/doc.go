// Package cti is Switchboard's domain vocabulary: calls, agents, customers, interactions, screen-pops, the events the engine consumes
// and the ports (Telephony, Store, Notifier, Clock) that adapters implement.
//
// It is the leaf every other package meets through. It imports the standard library only and does no I/O: no network, no database,
// and no time.Now() outside the Clock port. Adapters (cti/asterisk, crmstore, agent-ui, cti/webrtcgw) implement its interfaces and are
// wired together in cmd/switchboard; they never import each other.
package cti
