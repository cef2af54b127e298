package agentui

import (
	"context"
	"embed"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cc/switchboard/cti"
)

// Recordings opens call recordings for playback. cmd implements it over the recordings folder.
type Recordings interface {
	// Open returns the recording of an interaction; ENOTFOUND when there is none.
	Open(ctx context.Context, interactionID string) (io.ReadSeekCloser, cti.RecordingRef, error)
}

// Config is everything the browser adapter needs. Customers, Admin, Interactions, Settings, Sessions and Desk are required.
type Config struct {
	Customers    cti.CustomerLookup
	Admin        cti.CustomerAdmin
	Interactions cti.InteractionLog
	Settings     cti.Config
	// ConfigAdmin serves the admin forms; nil makes them read-only (writes answer 501).
	ConfigAdmin cti.ConfigAdmin
	Auditor     cti.Auditor // optional
	Sessions    cti.Sessions
	Desk        cti.Desk
	Recordings  Recordings // optional: without it, playback answers 404
	Logger      *slog.Logger
	Registerer  prometheus.Registerer // optional
	Clock       cti.Clock             // optional: the wall clock
	// SecureCookies marks the session cookie Secure even on plain HTTP (TLS terminated by a proxy in front).
	SecureCookies bool
	// GraceDisconnect is how long an agent's last desktop may be gone before the hub reports it absent (Desk.Presence false),
	// so a page reload does not make the agent not-ready. Default 10 s; negative reports at once. The engine should act on
	// Presence(false) without a grace of its own.
	GraceDisconnect time.Duration
	// StatsEvery is how often coalesced queue statistics go to supervisors. Default 500 ms (at most twice a second).
	StatsEvery time.Duration
	// SessionIdle is the idle expiry of a session. Default 12 h.
	SessionIdle time.Duration
	// SendQueue is how many messages may wait for one websocket before it is dropped as too slow. Default 256.
	SendQueue int
	// WriteWait bounds every websocket write. Default 10 s.
	WriteWait time.Duration
	// PingEvery is the websocket ping period; a client silent for 2.5 times that is dropped. Default 20 s.
	PingEvery time.Duration
	// WebRTC serves the call widget's and the browser agents' media signalling (/ws/call, /ws/media); nil disables both.
	WebRTC  WebRTC
	WebCall WebCallConfig

	// Reports serves the historical reports; nil answers 501.
	Reports cti.Reports
	// Webhooks manages webhook subscriptions and dead letters; nil answers 501.
	Webhooks cti.WebhookAdmin
}

// Server is the browser adapter: pages, static assets, the JSON API, desk commands and the websocket hub.
type Server struct {
	cfg     Config
	log     *slog.Logger
	clock   cti.Clock
	hub     *Hub
	crm     *CRMAPI
	limiter *loginLimiter
	metrics *metrics
	handler http.Handler
	web     *webCallState

	patterns []string // the registered routes, for the OpenAPI test
}

//go:embed static
var staticFS embed.FS

// New checks cfg and builds a Server. It starts no goroutine; call Run for the hub's statistics flusher and register Close with
// http.Server.RegisterOnShutdown.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Customers == nil, cfg.Admin == nil, cfg.Interactions == nil, cfg.Settings == nil:
		return nil, errors.New("agentui: Customers, Admin, Interactions and Settings are required")
	case cfg.Sessions == nil:
		return nil, errors.New("agentui: Sessions is required")
	case cfg.Desk == nil:
		return nil, errors.New("agentui: Desk is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = cti.ClockFunc(time.Now)
	}
	if cfg.GraceDisconnect == 0 {
		cfg.GraceDisconnect = 10 * time.Second
	}
	if cfg.StatsEvery <= 0 {
		cfg.StatsEvery = 500 * time.Millisecond
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 12 * time.Hour
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 256
	}
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = 10 * time.Second
	}
	if cfg.PingEvery <= 0 {
		cfg.PingEvery = 20 * time.Second
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, metrics: m, limiter: newLoginLimiter()}
	s.hub = newHub(cfg, m)
	s.crm = &CRMAPI{Customers: cfg.Customers, Admin: cfg.Admin, Interactions: cfg.Interactions, Config: cfg.Settings,
		Auditor: cfg.Auditor, Logger: cfg.Logger, Authorize: s.authorizeCRM, Identify: s.identify, AgentID: s.agentID}
	s.handler = s.routes()
	return s, nil
}

// Handler serves everything: pages, /static/, /api/v1 and /ws.
func (s *Server) Handler() http.Handler { return s.handler }

// Notifier is the websocket hub, for the engine.
func (s *Server) Notifier() cti.Notifier { return s.hub }

// Hub returns the websocket hub (for tests and load tools).
func (s *Server) Hub() *Hub { return s.hub }

// Run flushes coalesced queue statistics to supervisors until ctx ends or Close is called.
func (s *Server) Run(ctx context.Context) error { return s.hub.Run(ctx) }

// Close closes every websocket and waits for their goroutines. Safe to call more than once.
func (s *Server) Close() { s.hub.Close() }

func (s *Server) routes() http.Handler {
	mux := newRouteMux()
	defer func() { s.patterns = mux.patterns }()
	s.crm.Register(mux)

	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(files)))
	mux.HandleFunc("GET /{$}", s.page("index.html", ""))
	mux.HandleFunc("GET /desk", s.page("desk.html", cti.RoleAgent))
	mux.HandleFunc("GET /wall", s.page("wall.html", cti.RoleSupervisor))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	// Sign-in and sessions.
	mux.HandleFunc("POST /api/v1/login", s.login)
	s.handle(mux, "POST /api/v1/logout", anyRole, s.logout)
	s.handle(mux, "GET /api/v1/me", anyRole, s.me)
	s.handle(mux, "POST /api/v1/agents/{id}/logout", supervisorRole, s.forceLogout)

	// Desk commands of the signed-in agent.
	s.handle(mux, "GET /api/v1/desk/snapshot", anyRole, s.snapshot)
	s.handle(mux, "POST /api/v1/desk/login", anyRole, s.deskLogin)
	s.handle(mux, "POST /api/v1/desk/state", anyRole, s.setState)
	s.handle(mux, "POST /api/v1/desk/accept", anyRole, s.simple((cti.Desk).AcceptOffer))
	s.handle(mux, "POST /api/v1/desk/reject", anyRole, s.simple((cti.Desk).RejectOffer))
	s.handle(mux, "POST /api/v1/desk/hold", anyRole, s.hold)
	s.handle(mux, "POST /api/v1/desk/hangup", anyRole, s.simple((cti.Desk).Hangup))
	s.handle(mux, "POST /api/v1/desk/transfer", anyRole, s.transfer)
	s.handle(mux, "POST /api/v1/desk/transfer/complete", anyRole, s.simple((cti.Desk).CompleteTransfer))
	s.handle(mux, "POST /api/v1/desk/transfer/cancel", anyRole, s.simple((cti.Desk).CancelTransfer))
	s.handle(mux, "POST /api/v1/desk/conference", anyRole, s.simple((cti.Desk).Conference))
	s.handle(mux, "POST /api/v1/desk/recording", anyRole, s.pauseRecording)
	s.handle(mux, "POST /api/v1/desk/dial", anyRole, s.dial)
	s.handle(mux, "POST /api/v1/desk/wrapup", anyRole, s.wrapUp)

	// Supervisors.
	s.handle(mux, "POST /api/v1/desk/monitor", supervisorRole, s.monitor)
	s.handle(mux, "POST /api/v1/desk/agents/{id}/state", supervisorRole, s.forceState)
	s.handle(mux, "GET /api/v1/desk/trace/{call}", supervisorRole, s.trace)
	s.handle(mux, "GET /api/v1/interactions/{id}/recording", anyRole, s.recording)

	// Configuration: supervisors read, admins write.
	s.handle(mux, "GET /api/v1/admin/agents", supervisorRole, s.adminAgents)
	s.handle(mux, "GET /api/v1/admin/queues", supervisorRole, s.adminQueues)
	s.handle(mux, "GET /api/v1/admin/skills", supervisorRole, s.adminSkills)
	s.handle(mux, "PUT /api/v1/admin/agents/{login}", adminRole, s.putAgent)
	s.handle(mux, "PUT /api/v1/admin/queues/{name}", adminRole, s.putQueue)
	s.handle(mux, "PUT /api/v1/admin/skills/{name}", adminRole, s.putSkill)
	s.handle(mux, "POST /api/v1/admin/scripts", adminRole, s.putScript)
	s.handle(mux, "PUT /api/v1/admin/dispositions/{code}", adminRole, s.putDisposition)
	s.handle(mux, "PUT /api/v1/admin/reason-codes/{code}", adminRole, s.putReasonCode)

	// Reports, webhooks and the API's contract.
	s.registerReports(mux)
	mux.HandleFunc("GET /api/openapi.json", serveOpenAPI)

	mux.HandleFunc("GET /ws", s.serveWS)
	s.webRTCRoutes(mux)

	return securityHeaders(http.NewCrossOriginProtection().Handler(s.withSession(mux)))
}

// csp is the Content-Security-Policy of every response: only our own scripts, styles, media and connections; no inline code,
// no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), geolocation=(), payment=()")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets change with the binary; a short cache with revalidation keeps upgrades visible.
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// page serves an HTML page. role "" is the sign-in page: a signed-in visitor goes to their home page instead. Otherwise the
// visitor must be signed in with at least role, or is sent to sign in (or to their own home).
func (s *Server) page(name string, role cti.Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		switch {
		case role == "" && err == nil:
			http.Redirect(w, r, home(sess.Role), http.StatusSeeOther)
			return
		case role != "" && err != nil:
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		case role != "" && !allowed(sess.Role, role):
			http.Redirect(w, r, home(sess.Role), http.StatusSeeOther)
			return
		}
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			Error(w, r, s.log, cti.Internal(err, "page"))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b) //nolint:errcheck // the client went away
	}
}

func home(r cti.Role) string {
	if r == cti.RoleAgent {
		return "/desk"
	}
	return "/wall"
}
