package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	agentui "github.com/switchboard-cc/switchboard/agent-ui"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/asterisk"
	"github.com/switchboard-cc/switchboard/cti/engine"
	"github.com/switchboard-cc/switchboard/cti/recdir"
	"github.com/switchboard-cc/switchboard/cti/webhook"
	"github.com/switchboard-cc/switchboard/ivr"
	"github.com/switchboard-cc/switchboard/ivr/sounds"
)

// system is the running contact center: the engine and everything it talks to, and the goroutines that drive them.
type system struct {
	store  *crmstore.Store
	recs   *recdir.Dir
	engine *engine.Engine
	ari    *asterisk.Client
	sim    *arisim.Server // the built-in emulator when no Asterisk is configured
	ui     *agentui.Server
	web    *webPhones // the media gateway and its signalling

	cancel context.CancelFunc // stops every goroutine below
	wg     sync.WaitGroup
	fatal  chan error // a part that must stop the process, e.g. another controller took the application over
}

// newID returns a UUIDv7: time-ordered, so interactions sort and index by creation.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// startSystem builds and starts the contact center; stopSystem stops it.
func (m *Main) startSystem(ctx context.Context) error {
	cfg, log := m.Config, m.Logger
	s := &system{fatal: make(chan error, 4)}
	m.sys = s
	s.store = crmstore.NewStore(m.db, crmstore.Options{Region: cfg.PhoneRegion})
	if cfg.Seed {
		rep, err := crmstore.Seed(ctx, m.db, crmstore.SeedOptions{Customers: 500, Rand: 1, Demo: true, Region: cfg.PhoneRegion})
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if rep.Customers > 0 {
			log.Info("demo data loaded", "customers", rep.Customers, "agents", rep.Agents, "queues", rep.Queues)
		}
	}
	recs, err := recdir.New(cfg.RecordingsDir)
	if err != nil {
		return err
	}
	s.recs = recs
	flows, err := loadFlows(cfg.FlowsDir)
	if err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel

	ariURL, ariPassword := cfg.ARIURL, cfg.ARIPassword
	var softphones engine.Softphones
	if ariURL == "" {
		// No Asterisk: the emulator on a private port, with a password nobody else knows.
		ariPassword = randomToken()
		s.sim = arisim.New(arisim.Config{
			Username: cfg.ARIUser, Password: ariPassword, Sounds: sounds.Durations(), Endpoints: demoEndpoints(), TimeScale: m.simTimeScale,
			Logger: log.With("component", "arisim"),
		})
		addr, err := s.sim.Start(runCtx, "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("ARI emulator: %w", err)
		}
		ariURL = "http://" + addr + "/ari"
		softphones = simPhones{s.sim}
		log.Info("no -ari-url: using the built-in ARI emulator", "url", ariURL)
	}

	if s.web, err = startWebRTC(cfg, log.With("component", "webrtc"), m.reconnectWindow); err != nil {
		return err
	}
	hub := &notifierRef{}
	var eng *engine.Engine
	s.ari = asterisk.New(asterisk.Config{
		URL: ariURL, User: cfg.ARIUser, Password: ariPassword, App: cfg.ARIApp, Logger: log.With("component", "ari"),
		Deliver: newARIMetrics(m.registry).deliver(func(ev cti.Event) { eng.Post(ev) }),
	})
	eng, err = engine.New(engine.Config{
		Telephony: s.ari, Customers: s.store, Interactions: s.store, Open: s.store, Settings: s.store, Auditor: s.store, Notifier: hub,
		Recordings: recs, Softphones: softphones, Accounts: s.store.CustomerByAccount, Flows: flows, IDs: newID, AgentMedia: s.web,
		Logger: log.With("component", "engine"),
		App:    cfg.ARIApp, Trunk: cfg.Trunk, Observer: newEngineMetrics(m.registry),
		// The hub already waits out a short disconnection (a page reload) before it reports an agent absent.
		GraceDisconnect:   time.Millisecond,
		ReconnectWindow:   m.reconnectWindow,
		WriteWindow:       m.writeWindow,
		RecordAgentStates: true,
	})
	if err != nil {
		return err
	}
	s.engine = eng
	s.web.eng = eng
	s.ui, err = agentui.New(agentui.Config{
		Customers: s.store, Admin: s.store, Interactions: s.store, Settings: s.store, ConfigAdmin: s.store, Auditor: s.store,
		Sessions: s.store, Desk: eng, Recordings: recordingFiles{s.store, recs}, Logger: log.With("component", "ui"),
		Registerer: m.registry, SecureCookies: cfg.SecureCookies, WebRTC: s.web, WebCall: cfg.WebRTC.webCall(),
		Reports: s.store, Webhooks: s.store,
	})
	if err != nil {
		return err
	}
	hub.Notifier = newLiveMetrics(m.registry, s.ui.Notifier())
	m.db.ObserveQueries(newDBMetrics(m.registry))
	hooks, err := webhook.New(webhook.Config{Outbox: s.store, Logger: log.With("component", "webhooks"),
		Observe: newWebhookMetrics(m.registry), Retention: cfg.WebhookRetention})
	if err != nil {
		return err
	}
	m.addCheck("asterisk", func(context.Context) error { return s.ari.Ready() })

	s.run("engine", func() error { return eng.Run(runCtx) })
	s.run("ari", func() error { return s.ari.Run(runCtx) })
	s.run("hub", func() error { return s.ui.Run(runCtx) })
	s.run("webhooks", func() error { return hooks.Run(runCtx) })
	s.run("report-rollup", func() error {
		return s.store.RunReportRollup(runCtx, 5*time.Second, log.With("component", "report-rollup"))
	})
	if cfg.FlowsDir != "" {
		s.run("ivr-watch", func() error {
			watchFlows(runCtx, cfg.FlowsDir, 2*time.Second, flowConfig(cfg.FlowsDir), eng.SetFlows, func(err error) {
				log.Error("IVR flows changed but are invalid; the running flows stay", "problems", err.Error())
			})
			return nil
		})
	}
	if s.sim != nil && cfg.DemoCallsPerMinute > 0 {
		callers, err := crmstore.SampleCallers(ctx, m.db, 12)
		if err != nil {
			return err
		}
		demo := arisim.DemoConfig{CallsPerMinute: cfg.DemoCallsPerMinute, Dialed: demoDialed(flows)}
		for _, c := range callers {
			demo.Callers = append(demo.Callers, arisim.Caller{Name: c.Name, Number: c.Number})
		}
		demo.Callers = append(demo.Callers, arisim.Caller{Name: "New Caller", Number: "+8613900000001"}) // unknown to the CRM
		s.run("demo-traffic", func() error { return s.sim.Demo(runCtx, demo) })
	}
	return nil
}

// run starts a goroutine the system owns; an error other than the stop itself is fatal to the process.
func (s *system) run(name string, f func() error) {
	s.wg.Go(func() {
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			select {
			case s.fatal <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	})
}

// stop ends the system's goroutines (the engine drains its in-flight effects) and waits for them.
func (s *system) stop() {
	if s.ui != nil {
		s.ui.Close()
	}
	if s.web != nil {
		s.web.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.sim != nil {
		s.sim.Close()
	}
}

// notifierRef lets the engine be built before the hub that it notifies: the engine holds the reference, the hub fills it in
// before the engine runs.
type notifierRef struct{ cti.Notifier }

// simPhones answers a demo agent's emulated phone when the agent accepts the offer in the browser.
type simPhones struct{ sim *arisim.Server }

// The screen-pop rings the desk as the engine asks the PBX to ring the phone, so an agent (or a test) can accept before the
// emulated phone has started ringing: wait for it, within the request's time.
func (p simPhones) Answer(ctx context.Context, _ string, channelID string) error {
	for {
		err := p.sim.Answer(channelID)
		if !errors.Is(err, arisim.ErrNoChannel) && !errors.Is(err, arisim.ErrNotRinging) {
			return err
		}
		select {
		case <-ctx.Done():
			return cti.Errorf(cti.ECONFLICT, "the phone of this offer is not ringing")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// recordingFiles serves an interaction's recording from the recordings folder.
type recordingFiles struct {
	log  cti.CustomerLookup
	recs *recdir.Dir
}

func (r recordingFiles) Open(ctx context.Context, interactionID string) (io.ReadSeekCloser, cti.RecordingRef, error) {
	in, err := r.log.Interaction(ctx, interactionID)
	if err != nil {
		return nil, cti.RecordingRef{}, err
	}
	if in.Recording == nil {
		return nil, cti.RecordingRef{}, cti.Errorf(cti.ENOTFOUND, "interaction %s has no recording", interactionID)
	}
	f, err := r.recs.Open(in.Recording.File)
	if err != nil {
		return nil, cti.RecordingRef{}, err
	}
	return f, *in.Recording, nil
}

// loadFlows reads the IVR flows of dir; an empty dir means no IVR (a welcome prompt, then the default queue).
func loadFlows(dir string) (*ivr.Set, error) {
	if dir == "" {
		return nil, nil
	}
	set, err := ivr.LoadDir(dir, flowConfig(dir))
	if err != nil {
		return nil, fmt.Errorf("IVR flows in -ivr-flows %s: %w", dir, err)
	}
	return set, nil
}

// flowConfig checks prompts against the folder's prompts.txt when there is one.
func flowConfig(dir string) ivr.Config {
	data, err := os.ReadFile(filepath.Join(dir, "prompts.txt"))
	if err != nil {
		return ivr.Config{}
	}
	return ivr.Config{Catalogue: ivr.ParseCatalogue(data)}
}

// demoDialed are the numbers the demo callers dial: the demo line's (always open, so calls reach agents at any hour) when the
// flows have one, else the first number of every flow.
func demoDialed(flows *ivr.Set) []string {
	if flows == nil {
		return nil
	}
	if f := flows.Flow("demo"); f != nil && len(f.Numbers) > 0 {
		return f.Numbers[:1]
	}
	var out []string
	for _, f := range flows.Flows() {
		if len(f.Numbers) > 0 {
			out = append(out, f.Numbers[0])
		}
	}
	return out
}

func randomToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness is broken: nothing can be made safe
	}
	return hex.EncodeToString(b)
}
