package asterisk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/asterisk"
	"go.uber.org/goleak"
)

// appFilter reads the application's event filter from the emulator: the allowed and disallowed types.
func appFilter(t *testing.T, s *sim) (allowed, disallowed []string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/applications/contact-center", nil)
	req.SetBasicAuth("asterisk", "asterisk")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var app struct {
		Allowed    []struct{ Type string } `json:"events_allowed"`
		Disallowed []struct{ Type string } `json:"events_disallowed"`
	}
	if resp.StatusCode != 200 {
		return nil, nil
	}
	must(t, json.NewDecoder(resp.Body).Decode(&app))
	for _, e := range app.Allowed {
		allowed = append(allowed, e.Type)
	}
	for _, e := range app.Disallowed {
		disallowed = append(disallowed, e.Type)
	}
	return allowed, disallowed
}

func filterPuts(reqs []sentRequest) int {
	n := 0
	for _, r := range reqs {
		if r.Method == "PUT" && r.Path == "/applications/contact-center/eventFilter" {
			n++
		}
	}
	return n
}

// On every connect the adapter sets the application's event filter; Asterisk then sends only the types of the events the
// engine acts on, and a call goes on as before.
func TestEventFilterSetOnConnect(t *testing.T) {
	s, a := harness(t, arisim.Config{})
	for round := range 2 {
		deadline := time.Now().Add(5 * time.Second)
		for filterPuts(a.rec.requests()) < round+1 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no event filter set", round)
			}
			time.Sleep(time.Millisecond)
		}
		for {
			if allowed, disallowed := appFilter(t, s); len(allowed) > 0 {
				for _, want := range []string{"StasisStart", "StasisEnd", "ChannelDestroyed", "PlaybackFinished", "ApplicationReplaced"} {
					if !slices.Contains(allowed, want) {
						t.Errorf("allowed %v lacks %s", allowed, want)
					}
				}
				// Types nothing consumes: ChannelVarset, and the call's progress the engine learns otherwise.
				for _, unwanted := range []string{"ChannelVarset", "ChannelStateChange", "Dial", "PlaybackStarted", "RecordingStarted"} {
					if slices.Contains(allowed, unwanted) {
						t.Errorf("allowed %v includes %s", allowed, unwanted)
					}
				}
				if len(disallowed) != 0 {
					t.Errorf("disallowed %v, want none", disallowed)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the emulator shows no filter", round)
			}
			time.Sleep(time.Millisecond)
		}
		before := s.Stats().EventsFiltered
		id := call(t, s, arisim.CallSpec{CallerNumber: "15551230001"})
		next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
		must(t, a.Answer(ctxT(t), id))
		must(t, a.SetVars(ctxT(t), id, map[string]string{"SB_ROLE": "customer"})) // a ChannelVarset the adapter never sees
		must(t, s.Hangup(id))
		next(t, a.ev, func(e cti.ChannelLeft) bool { return e.ChannelID == id })
		if s.Stats().EventsFiltered == before {
			t.Errorf("round %d: the emulator filtered no event of the call", round)
		}
		if round == 0 {
			s.drop()
			next(t, a.ev, func(cti.TelephonyDisconnected) bool { return true })
			next(t, a.ev, func(cti.TelephonyConnected) bool { return true })
		}
	}
}

// An Asterisk without the event filter (before 13.26/16.3: the resource does not exist) or one that fails it: the
// adapter says so once at info, receives every event, ignores those of types it does not translate (an answered call
// brings ChannelStateChange and ChannelVarset) without a word, and works as before, across reconnects.
func TestEventFilterRefused(t *testing.T) {
	for _, refusal := range []struct {
		status int
		body   string
	}{
		{http.StatusNotFound, `{"message":"Resource not found"}`},
		{http.StatusMethodNotAllowed, `{"message":"Invalid method"}`},
		{http.StatusNotImplemented, `{"message":"Method not implemented"}`},
		{http.StatusInternalServerError, `{"message":"Internal Server Error"}`},
	} {
		t.Run(http.StatusText(refusal.status), func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs last
			srv := arisim.New(arisim.Config{TimeScale: timeScale})
			h := srv.Handler()
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/eventFilter") {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(refusal.status)
					w.Write([]byte(refusal.body))
					return
				}
				h.ServeHTTP(w, r)
			}))
			t.Cleanup(func() { srv.Close(); hs.Close() }) // after the adapter's cleanup has stopped it
			logs := &recordingHandler{}
			a := runAdapter(t, hs.URL+"/ari", func(c *asterisk.Config) { c.Logger = slog.New(logs) })
			s := &sim{Server: srv, URL: hs.URL + "/ari"}
			for round := range 2 {
				next(t, a.ev, func(cti.TelephonyConnected) bool { return true })
				id := call(t, s, arisim.CallSpec{CallerNumber: "15551230001"})
				next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
				must(t, a.Answer(ctxT(t), id))
				must(t, a.SetVars(ctxT(t), id, map[string]string{"SB_ROLE": "customer"}))
				must(t, a.Hangup(ctxT(t), id, ""))
				next(t, a.ev, func(e cti.ChannelLeft) bool { return e.ChannelID == id })
				deadline := time.Now().Add(5 * time.Second)
				// Each round's refusal is logged before the next connection (a drop cancels a request still in flight, which
				// is then not logged): once at info, then at debug.
				for filterPuts(a.rec.requests()) < round+1 ||
					logs.count(slog.LevelInfo, "no event filter")+logs.count(slog.LevelDebug, "no event filter") < round+1 {
					if time.Now().After(deadline) {
						t.Fatalf("round %d: %d filter requests, logs %v", round, filterPuts(a.rec.requests()), logs.messages())
					}
					time.Sleep(time.Millisecond)
				}
				if srv.Stats().EventsFiltered != 0 {
					t.Errorf("events filtered without a filter")
				}
				if round == 0 {
					srv.DropConnections()
				}
			}
			if n := logs.count(slog.LevelInfo, "no event filter"); n != 1 {
				t.Errorf("%d info records about the filter, want 1: %v", n, logs.messages())
			}
			if n := logs.count(slog.LevelWarn, "undecodable"); n != 0 {
				t.Errorf("%d events not decoded: %v", n, logs.messages())
			}
			if sent := srv.Stats().EventsSent; sent < 20 {
				t.Errorf("the emulator sent %d events for two answered calls: is the filter in place after all?", sent)
			}
		})
	}
}

// recordingHandler is a slog.Handler that keeps every record.
type recordingHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// count returns how many records at level have a message containing msg.
func (h *recordingHandler) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}

func (h *recordingHandler) messages() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b bytes.Buffer
	for _, r := range h.recs {
		b.WriteString(r.Level.String() + " " + r.Message + "; ")
	}
	return b.String()
}
