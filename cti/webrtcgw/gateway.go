package webrtcgw

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
	"github.com/switchboard-cc/switchboard/cti"
)

// Config is everything a Gateway is told; the zero value (plus AllowLoopback in tests) is a working gateway on every non-loopback
// interface, OS-chosen ports and no STUN/TURN.
type Config struct {
	// Interfaces names the network interfaces whose addresses become host candidates (e.g. "eth0"); empty means every interface
	// that is up.
	Interfaces []string
	// IPs narrows host candidates to these local addresses; empty means every address of the chosen interfaces.
	IPs []netip.Addr
	// UDPPortMin and UDPPortMax bound the ports of host candidates, one socket per leg and address (0, 0: any ephemeral port).
	// A firewall opens the range; size it to the busiest hour's concurrent legs.
	UDPPortMin, UDPPortMax uint16
	// UDPMuxPort, when set, makes every leg share this one UDP port per address instead of the range (ICE tells legs apart by
	// username fragment): one firewall hole, fewer sockets. The Gateway owns the shared socket.
	UDPMuxPort uint16
	// ICEServers are STUN/TURN servers the gateway gathers through; the pages get their own list from the web layer.
	ICEServers []ICEServer
	// AllowLoopback includes loopback addresses in host candidates. Tests only: browsers and the gateway on one machine.
	AllowLoopback bool
	// RTPHost is the local address of the Asterisk-facing RTP sockets (default 127.0.0.1, Asterisk on the same host).
	RTPHost netip.Addr
	// MediaTimeout is how long a side may send nothing before EventMediaTimeout (default 5 s).
	MediaTimeout time.Duration
	// ICEDisconnectedTimeout and ICEFailedTimeout are ICE's own timers (defaults 5 s and 25 s, pion's).
	ICEDisconnectedTimeout, ICEFailedTimeout time.Duration
	// Logger receives warnings about dropped packets and events (default: discard). pion's own logging stays off.
	Logger *slog.Logger
	// Clock stamps events and statistics (default: the wall clock).
	Clock cti.Clock
}

// ICEServer is one STUN or TURN server: "stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp".
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// PCMU is the one codec a leg negotiates: G.711 µ-law, 8 kHz, static payload type 0 (DESIGN.md: no transcoding).
var PCMU = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
	PayloadType:        0,
}

// Gateway makes Legs; it owns them (Close closes every one) and, with UDPMuxPort, the shared ICE socket.
type Gateway struct {
	cfg Config
	api *webrtc.API
	mux *ice.MultiUDPMuxDefault
	log *slog.Logger

	mu     sync.Mutex
	legs   map[*Leg]struct{}
	closed bool
}

// New checks cfg, fills its defaults and prepares the pion API shared by every leg.
func New(cfg Config) (*Gateway, error) {
	if cfg.UDPPortMax < cfg.UDPPortMin {
		return nil, cti.Invalid("UDPPortMax", "must not be below UDPPortMin")
	}
	if cfg.UDPPortMin == 0 && cfg.UDPPortMax != 0 {
		return nil, cti.Invalid("UDPPortMin", "must be set with UDPPortMax")
	}
	if !cfg.RTPHost.IsValid() {
		cfg.RTPHost = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if cfg.MediaTimeout <= 0 {
		cfg.MediaTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = cti.ClockFunc(time.Now)
	}
	for _, s := range cfg.ICEServers {
		if len(s.URLs) == 0 {
			return nil, cti.Invalid("ICEServers", "a server needs at least one URL")
		}
	}

	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(PCMU, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, cti.Internal(err, "register PCMU")
	}
	// Only RTCP sender/receiver reports: the browser's getStats then shows loss and round trip; no NACK or TWCC for audio.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, cti.Internal(err, "RTCP reports")
	}

	se := webrtc.SettingEngine{LoggerFactory: quietLogger{}}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// A server needs no mDNS: browsers that hide their address behind .local names are found as peer-reflexive candidates when
	// their checks arrive. Off also keeps tests from sending multicast.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(cfg.AllowLoopback)
	ifFilter, ipFilter := cfg.filters()
	if ifFilter != nil {
		se.SetInterfaceFilter(ifFilter)
	}
	se.SetIPFilter(ipFilter)
	if cfg.ICEDisconnectedTimeout > 0 || cfg.ICEFailedTimeout > 0 {
		d, f := cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout
		if d <= 0 {
			d = 5 * time.Second
		}
		if f <= 0 {
			f = 25 * time.Second
		}
		se.SetICETimeouts(d, f, 2*time.Second)
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, legs: map[*Leg]struct{}{}}
	if cfg.UDPMuxPort != 0 {
		opts := []ice.UDPMuxFromPortOption{
			ice.UDPMuxFromPortWithIPFilter(ipFilter),
			ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6),
		}
		if ifFilter != nil {
			opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(ifFilter))
		}
		if cfg.AllowLoopback {
			opts = append(opts, ice.UDPMuxFromPortWithLoopback())
		}
		mux, err := ice.NewMultiUDPMuxFromPort(int(cfg.UDPMuxPort), opts...)
		if err != nil {
			return nil, cti.Errorf(cti.EUNAVAILABLE, "UDP mux port %d: %v", cfg.UDPMuxPort, err)
		}
		g.mux = mux
		se.SetICEUDPMux(mux)
	} else if cfg.UDPPortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, cti.Invalid("UDPPortMin", "%v", err)
		}
	}
	g.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return g, nil
}

// filters turns Interfaces, IPs and AllowLoopback into pion's candidate filters.
func (cfg Config) filters() (ifFilter func(string) bool, ipFilter func(net.IP) bool) {
	if len(cfg.Interfaces) > 0 {
		names := slices.Clone(cfg.Interfaces)
		ifFilter = func(name string) bool { return slices.Contains(names, name) }
	}
	ips := slices.Clone(cfg.IPs)
	loop := cfg.AllowLoopback
	ipFilter = func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return false
		}
		a = a.Unmap()
		if a.IsLoopback() && !loop {
			return false
		}
		if a.IsLinkLocalUnicast() {
			return false // browsers cannot reach a link-local host candidate without a zone
		}
		return len(ips) == 0 || slices.Contains(ips, a)
	}
	return ifFilter, ipFilter
}

// webrtcICEServers converts the configured servers for pion.
func (cfg Config) webrtcICEServers() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(cfg.ICEServers))
	for _, s := range cfg.ICEServers {
		ws := webrtc.ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			ws.Credential = s.Credential
		}
		out = append(out, ws)
	}
	return out
}

// Legs returns the number of open legs.
func (g *Gateway) Legs() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.legs)
}

// ErrClosed is returned by a closed Gateway or Leg.
var ErrClosed = cti.Errorf(cti.EUNAVAILABLE, "media gateway closed")

// Close closes every leg, then the shared ICE socket, and waits for their goroutines.
func (g *Gateway) Close() error {
	g.mu.Lock()
	g.closed = true
	legs := make([]*Leg, 0, len(g.legs))
	for l := range g.legs {
		legs = append(legs, l)
	}
	g.mu.Unlock()
	var errs []error
	for _, l := range legs {
		errs = append(errs, l.Close())
	}
	if g.mux != nil {
		errs = append(errs, g.mux.Close())
		g.mux = nil
	}
	return errors.Join(errs...)
}

func (g *Gateway) add(l *Leg) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	g.legs[l] = struct{}{}
	return nil
}

func (g *Gateway) remove(l *Leg) {
	g.mu.Lock()
	delete(g.legs, l)
	g.mu.Unlock()
}

// quietLogger silences pion: the gateway reports what matters through events and its own Logger.
type quietLogger struct{}

func (quietLogger) NewLogger(string) logging.LeveledLogger { return quietLeveled{} }

type quietLeveled struct{}

func (quietLeveled) Trace(string)          {}
func (quietLeveled) Tracef(string, ...any) {}
func (quietLeveled) Debug(string)          {}
func (quietLeveled) Debugf(string, ...any) {}
func (quietLeveled) Info(string)           {}
func (quietLeveled) Infof(string, ...any)  {}
func (quietLeveled) Warn(string)           {}
func (quietLeveled) Warnf(string, ...any)  {}
func (quietLeveled) Error(string)          {}
func (quietLeveled) Errorf(string, ...any) {}
