package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is every setting of `switchboard serve`. Each has a flag and an environment variable SWITCHBOARD_<FLAG_NAME>
// (upper case, dashes as underscores); flags win over the environment. DATABASE_URL is honoured too, as most tools do.
type Config struct {
	HTTPAddr        string
	DatabaseURL     string
	Migrate         bool
	LogLevel        slog.Level
	LogFormat       string
	ShutdownTimeout time.Duration

	ARIURL      string
	ARIUser     string
	ARIPassword string
	ARIApp      string

	Trunk string

	RecordingsDir      string
	FlowsDir           string
	PhoneRegion        string
	Seed               bool
	DemoCallsPerMinute float64
	SecureCookies      bool
	WebhookRetention   time.Duration

	WebRTC WebRTCConfig
}

// DefaultDatabaseURL is the checkout's private cluster that scripts/db.sh starts.
const DefaultDatabaseURL = "postgres://switchboard@127.0.0.1:55432/switchboard?sslmode=disable"

// DefaultConfig returns the embedded defaults: everything local, nothing to configure for a first run.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:           "127.0.0.1:8080",
		DatabaseURL:        DefaultDatabaseURL,
		Migrate:            true,
		LogLevel:           slog.LevelInfo,
		LogFormat:          "auto",
		ShutdownTimeout:    10 * time.Second,
		ARIUser:            "switchboard",
		ARIApp:             "contact-center",
		Trunk:              "PJSIP/{number}@trunk",
		RecordingsDir:      ".data/recordings",
		FlowsDir:           "ivr/flows",
		DemoCallsPerMinute: 4,
		PhoneRegion:        "CN",
		Seed:               true,
		WebhookRetention:   7 * 24 * time.Hour,
	}
}

// secretFlags are never printed, not even their defaults.
var secretFlags = map[string]bool{"ari-password": true, "webcall-secret": true}

// bindServeFlags registers the settings on fs.
func (c *Config) bindServeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, "http", c.HTTPAddr, "`address` the web server (agent desktop, API, /metrics, /healthz, /readyz) listens on")
	c.bindDatabaseFlags(fs)
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "apply pending database migrations at start")
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "log `level`: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log `format`: text, json, or auto (text on a terminal, JSON otherwise)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long a stop waits for in-flight work to drain")
	fs.StringVar(&c.ARIURL, "ari-url", c.ARIURL, "Asterisk ARI base `URL`, e.g. http://pbx:8088/ari; empty runs the built-in ARI emulator with demo traffic")
	fs.StringVar(&c.ARIUser, "ari-user", c.ARIUser, "ARI user (ari.conf)")
	fs.StringVar(&c.ARIPassword, "ari-password", c.ARIPassword, "ARI password (ari.conf); never logged")
	fs.StringVar(&c.ARIApp, "ari-app", c.ARIApp, "Stasis application name the dialplan sends calls to")
	fs.StringVar(&c.Trunk, "trunk", c.Trunk, "endpoint `template` for calling external numbers (transfers, click-to-call, callbacks); {number} is replaced; empty disables calling out")
	fs.StringVar(&c.RecordingsDir, "recordings-dir", c.RecordingsDir, "`folder` where call recordings are stored")
	fs.StringVar(&c.FlowsDir, "ivr-flows", c.FlowsDir, "`folder` of IVR flow files (*.yaml), reloaded when they change; empty: a welcome prompt, then the general queue")
	fs.Float64Var(&c.DemoCallsPerMinute, "demo-calls-per-minute", c.DemoCallsPerMinute, "with the built-in emulator: mean demo calls a minute (0: none)")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", c.SecureCookies, "mark session cookies Secure even on plain HTTP (TLS ends at a proxy in front)")
	fs.StringVar(&c.PhoneRegion, "phone-region", c.PhoneRegion, "default `region` (ISO 3166 code) for phone numbers written without a country code")
	fs.BoolVar(&c.Seed, "seed", c.Seed, "load the demo data set into an empty database at start")
	fs.DurationVar(&c.WebhookRetention, "webhook-retention", c.WebhookRetention, "how long delivered webhook events are kept before they are pruned (dead letters are kept until replayed)")
	c.WebRTC.bindFlags(fs)
}

func (c *Config) bindDatabaseFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL `URL` (also DATABASE_URL); the default is the local cluster of scripts/db.sh")
}

// Validate checks the settings that can be checked without I/O and names the first bad one.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("invalid -http %q: want host:port", c.HTTPAddr)
	}
	if err := validateDatabaseURL(c.DatabaseURL); err != nil {
		return err
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		return fmt.Errorf("invalid -log-format %q: want text, json or auto", c.LogFormat)
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("invalid -shutdown-timeout %s: must be positive", c.ShutdownTimeout)
	}
	if c.WebhookRetention <= 0 {
		return fmt.Errorf("invalid -webhook-retention %s: must be positive", c.WebhookRetention)
	}
	if c.ARIURL != "" {
		u, err := url.Parse(c.ARIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("invalid -ari-url: want http(s)://host:port/ari")
		}
		if u.User != nil {
			return fmt.Errorf("invalid -ari-url: put the credentials in -ari-user and -ari-password, not in the URL")
		}
		if c.ARIPassword == "" {
			return errors.New("invalid -ari-password: required with -ari-url (the password of the ari.conf user)")
		}
	}
	if c.ARIApp == "" || strings.ContainsAny(c.ARIApp, ",/ ") {
		return fmt.Errorf("invalid -ari-app %q: want a non-empty name without commas, slashes or spaces", c.ARIApp)
	}
	if len(c.PhoneRegion) != 2 || strings.ToUpper(c.PhoneRegion) != c.PhoneRegion {
		return fmt.Errorf("invalid -phone-region %q: want a two-letter upper-case region code such as CN or US", c.PhoneRegion)
	}
	if c.Trunk != "" && !strings.Contains(c.Trunk, "{number}") {
		return fmt.Errorf("invalid -trunk %q: the template must contain {number}", c.Trunk)
	}
	if c.DemoCallsPerMinute < 0 {
		return fmt.Errorf("invalid -demo-calls-per-minute %g: must not be negative", c.DemoCallsPerMinute)
	}
	if c.FlowsDir != "" {
		if fi, err := os.Stat(c.FlowsDir); err != nil || !fi.IsDir() {
			return fmt.Errorf("invalid -ivr-flows %q: not a folder", c.FlowsDir)
		}
	}
	if c.RecordingsDir == "" {
		return errors.New("invalid -recordings-dir: must not be empty")
	}
	if _, err := c.WebRTC.gateway(); err != nil {
		return err
	}
	return nil
}

func validateDatabaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// The value may hold a password: do not echo it.
		return errors.New("invalid -database-url: want postgres://user@host:port/database")
	}
	return nil
}

// redactURL hides the password of a URL for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// parseFlags fills fs from the environment, then from args. Errors are single lines that name the setting; -h/--help prints the
// usage to out and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string, out io.Writer, env func(string) string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil {
			return
		}
		name := envName(f.Name)
		v := env(name)
		if v == "" && f.Name == "database-url" {
			name, v = "DATABASE_URL", env("DATABASE_URL")
		}
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("invalid %s: %s", name, reason(err, secretFlags[f.Name]))
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, out)
			return err
		}
		return errors.New(flagError(err.Error()))
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see %s --help)", fs.Arg(0), fs.Name())
	}
	return nil
}

func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flagError rewords the flag package's messages ("invalid value "x" for flag -d: parse error") into one line that names the
// setting; secret values are not repeated.
func flagError(msg string) string {
	for name := range secretFlags {
		if strings.Contains(msg, "-"+name+":") {
			return "invalid -" + name
		}
	}
	return strings.Replace(msg, "flag provided but not defined:", "unknown flag", 1)
}

func reason(err error, secret bool) string {
	if secret {
		return "bad value"
	}
	return err.Error()
}

func printUsage(fs *flag.FlagSet, out io.Writer) {
	fmt.Fprintf(out, "Usage: switchboard %s [flags]\n\n%s\n\nFlags (each also read from the environment variable shown):\n", fs.Name(), commandSummary(fs.Name()))
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if name == "" { // a boolean switch takes no value
			fmt.Fprintf(out, "  -%s\n    \t%s", f.Name, usage)
		} else {
			fmt.Fprintf(out, "  -%s %s\n    \t%s", f.Name, name, usage)
		}
		if !secretFlags[f.Name] && f.DefValue != "" {
			fmt.Fprintf(out, " (default %q)", f.DefValue)
		}
		fmt.Fprintf(out, " [%s]\n", envName(f.Name))
	})
}

// stderrIsTerminal decides the default log format.
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
