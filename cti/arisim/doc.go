// Package arisim is an ARI emulator: a strict stand-in for Asterisk 22 that
// speaks the Asterisk REST Interface over real HTTP and WebSocket.
//
// It owns a small simulated telephony world (channels, bridges, playbacks,
// recordings, endpoints, device states, Stasis applications) behind one
// mutex, and a Go simulation API (Call, SetEndpoint, Hangup, SendDTMF, Demo,
// Load) that tests, the demo mode and load tests drive it with.
//
// Fidelity rules: REST resources, event JSON (field names, types, field order)
// and error statuses/bodies follow Asterisk 22.10.1 as recorded in
// ../shared/ari/transcripts and described by ../shared/ari/spec (compiled into
// spec_gen.go by internal/specgen, so the files are not needed at run time).
// It is never more permissive than Asterisk: unknown paths, wrong methods,
// missing or invalid parameters and operations on channels in the wrong
// state get the status and body Asterisk gives.
//
// arisim imports only the standard library and gorilla/websocket; it must
// not import the ARI client module or any other adapter.
package arisim
