package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-cc/switchboard/crmstore"
)

func init() {
	register("serve", command{
		summary: "run the contact-center server",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			m := NewMain()
			m.Stdout, m.Stderr = stdout, stderr
			if err := m.ParseFlags(args); err != nil {
				return err
			}
			if err := m.Run(ctx); err != nil {
				m.Close()
				return err
			}
			m.printWelcome()
			var fatal error
			select {
			case <-ctx.Done():
			case fatal = <-m.sys.fatal:
				m.Logger.Error("stopping: a part failed", "err", fatal)
			}
			m.Logger.Info("stopping", "timeout", m.Config.ShutdownTimeout)
			return errors.Join(fatal, m.Close())
		},
	})
}

// Main is the server program: NewMain, ParseFlags, Run, Close. Tests run it in-process on 127.0.0.1:0.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stdout io.Writer
	Stderr io.Writer

	db       *crmstore.DB
	sys      *system
	registry *prometheus.Registry
	ln       net.Listener
	http     *http.Server
	httpDone chan error

	// simTimeScale speeds the built-in emulator up (tests); 0 is real time.
	simTimeScale float64
	// reconnectWindow shortens the WebRTC reconnect windows (tests); 0 is engine.ReconnectWindow.
	reconnectWindow time.Duration
	// writeWindow is the engine's WriteWindow (the load command); 0 is engine.DefaultWriteWindow.
	writeWindow time.Duration

	checksMu sync.Mutex
	checks   map[string]func(context.Context) error // readiness checks by name
}

// NewMain returns a program with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig(), Stdout: os.Stdout, Stderr: os.Stderr, checks: map[string]func(context.Context) error{}}
}

// ParseFlags reads the settings from the environment and args and validates them.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	m.Config.bindServeFlags(fs)
	if err := parseCommandFlags(fs, args, m.Stdout); err != nil {
		return err
	}
	if err := m.Config.Validate(); err != nil {
		return errUsage{err}
	}
	return nil
}

// Run starts every part and returns once the server accepts requests; Close stops them.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = newLogger(m.Stderr, m.Config)
	}
	log := m.Logger
	log.Info("starting", "version", buildVersion(), "http", m.Config.HTTPAddr, "database", redactURL(m.Config.DatabaseURL))

	db, err := openDB(ctx, m.Config.DatabaseURL)
	if err != nil {
		return err
	}
	m.db = db
	m.addCheck("database", db.Ping)
	if m.Config.Migrate {
		applied, err := crmstore.Migrate(ctx, db.Pool)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.Info("database migrated", "applied", applied)
		}
	}

	m.registry = newRegistry()
	if err := m.startSystem(ctx); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", m.sys.ui.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", m.serveReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry}))

	ln, err := net.Listen("tcp", m.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on -http %s: %w", m.Config.HTTPAddr, err)
	}
	m.ln = ln
	m.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown does not wait for hijacked connections: close the websockets when it starts.
	m.http.RegisterOnShutdown(m.sys.ui.Close)
	m.httpDone = make(chan error, 1)
	go func() { m.httpDone <- m.http.Serve(ln) }()
	log.Info("ready", "url", m.URL())
	return nil
}

// printWelcome tells a person where to go: the pages, and the demo sign-ins when the demo data is loaded.
func (m *Main) printWelcome() {
	u := m.URL()
	fmt.Fprintf(m.Stdout, "\nSwitchboard is running.\n\n")
	fmt.Fprintf(m.Stdout, "  Agent desktop   %s/          sign in as agent1 / %s (also agent2, agent3)\n", u, crmstore.DemoAgentPassword)
	fmt.Fprintf(m.Stdout, "  Wallboard       %s/wall      sign in as supervisor / %s (admin / %s configures)\n", u, crmstore.DemoSupervisorPassword, crmstore.DemoAdminPassword)
	fmt.Fprintf(m.Stdout, "  Health          %s/healthz  %s/readyz  %s/metrics\n", u, u, u)
	if m.Config.ARIURL == "" {
		fmt.Fprintf(m.Stdout, "\n  No Asterisk configured: the built-in emulator places demo calls (%g a minute). Go Ready on the agent desktop\n  and a call rings within a minute; accept it to answer the emulated phone.\n", m.Config.DemoCallsPerMinute)
	}
	fmt.Fprintf(m.Stdout, "\nPress Ctrl-C to stop.\n\n")
}

// URL is the base URL of the web server.
func (m *Main) URL() string {
	if m.ln == nil {
		return ""
	}
	return "http://" + m.ln.Addr().String()
}

// Close stops the parts in the reverse order of their start, waiting at most the shutdown timeout for in-flight requests.
func (m *Main) Close() error {
	var errs []error
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
		cancel()
		if err := <-m.httpDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.http = nil
	}
	if m.sys != nil {
		m.sys.stop()
		m.sys = nil
	}
	if m.db != nil {
		m.db.Close()
		m.db = nil
	}
	if m.Logger != nil {
		m.Logger.Info("stopped")
	}
	return errors.Join(errs...)
}

func (m *Main) addCheck(name string, check func(context.Context) error) {
	m.checksMu.Lock()
	defer m.checksMu.Unlock()
	m.checks[name] = check
}

// serveReady answers 200 when every dependency answers, 503 with the failing ones otherwise.
func (m *Main) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	m.checksMu.Lock()
	names := make([]string, 0, len(m.checks))
	for n := range m.checks {
		names = append(names, n)
	}
	checks := m.checks
	m.checksMu.Unlock()
	sort.Strings(names)
	status, code := map[string]string{}, http.StatusOK
	for _, n := range names {
		if err := checks[n](ctx); err != nil {
			status[n] = err.Error()
			code = http.StatusServiceUnavailable
		} else {
			status[n] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(status)
}

// newRegistry builds the one metrics registry of the process; packages receive it as a prometheus.Registerer.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_build_info",
		Help: "Build information of the running server; the value is always 1.",
	}, []string{"version", "goversion"})
	info.WithLabelValues(buildVersion(), runtime.Version()).Set(1)
	reg.MustRegister(info)
	return reg
}

func newLogger(w io.Writer, cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	text := cfg.LogFormat == "text" || (cfg.LogFormat == "auto" && w == os.Stderr && stderrIsTerminal())
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
