// Package asterisk is the telephony adapter: it implements cti.Telephony over the Asterisk REST Interface (ARI) and turns the
// Stasis application's websocket events into cti events.
//
// It owns one events websocket per Client (reconnected with backoff, TelephonyConnected/TelephonyDisconnected on each change) and
// the REST calls the engine asks for. It imports nothing of this module but cti; github.com/CyCoreSystems/ari/v6 stays the
// reference its tests compare the event decoding with, and no other package may import it.
//
// What it takes from the library and what it does itself (see docs/asterisk.md, "The ARI client library"):
//   - Events are decoded by a small JSON reader (decode.go) into a lean struct of only the members the adapter reads; the
//     library's models decode the whole channel snapshot twice, and with encoding/json they allocated ≈ 900 objects a call.
//     A test decodes every recorded event both ways and compares; a fuzz test holds the reader to encoding/json.
//     They are read from a websocket this package owns
//     and handed to Config.Deliver inline, one at a time, in arrival order: there is no bus and no queue to overflow.
//     The library's native client is not used for the stream because it reconnects silently (no way to learn of a loss, so no
//     reconcile), sleeps a fixed second between attempts without looking at its context, races on its connected flag, and its
//     stdbus drops events past 100 queued per subscription.
//   - REST calls are net/http requests with the caller's context, sent and read on the caller's goroutine by the package's
//     own HTTP/1.1 transport (transport.go: net/http's per-connection goroutines were 45 % of the controller at 500 calls/s),
//     parameters in the query string as Asterisk's own clients send them (one `media=a,b` for a list), and errors mapped from the status and Asterisk's message to cti.Error
//     codes. The library's REST helpers take no context, use an unexported http.Client without timeout, send JSON bodies, and
//     drop Asterisk's error message ("Allocation failed").
package asterisk
