// Package ivr is Switchboard's interactive voice response: the flow model,
// the YAML parser and validator, and a pure interpreter that decides what a
// caller hears next.
//
// The package owns no calls and does no telephony. The engine (cti/engine)
// runs one Session per call, feeds it Inputs (start, DTMF digits, playback
// and timer completions, lookup results, hang-up) together with the engine's
// clock reading, and carries out the Actions it returns (play, stop playback,
// start or cancel timers, look a customer up, enqueue, voicemail, callback,
// transfer, hang up). Session state is a plain struct that marshals to JSON,
// so the engine can persist it and resume after a restart.
//
// Dependency rule: ivr imports only the standard library and gopkg.in/yaml.v3.
// It must not import net, database/sql or any adapter, and it never calls
// time.Now: time is always an argument. The only I/O it performs is reading
// flow files and the prompt catalogue (Load, LoadDir, Watch, Check, Simulate).
package ivr
