package agentui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/switchboard-cc/switchboard/cti"
)

// WebRTC runs the media signalling of browsers behind the web layer; cmd implements it over cti/webrtcgw and the engine. The web
// layer authenticates (agents by their session, web callers by a page token), rate-limits and upgrades the websocket, then
// hands it over: the port owns it until the page leaves.
type WebRTC interface {
	// ServeCall runs a web caller's signalling (the "call us" widget) until the page leaves.
	ServeCall(ws *websocket.Conn, c WebCaller)
	// ServeAgent runs a browser agent's phone (media-verified Ready test, calls) until the page leaves.
	ServeAgent(ws *websocket.Conn, agentID string)
}

// WebCaller is who calls from the widget, as the page token vouches.
type WebCaller struct {
	Site       string // the widget's data-switchboard value: picks the IVR flow as a dialled number does
	Origin     string // the company page's origin
	IP         string
	CustomerID string // from the company's signed customer token; "" for an anonymous caller
	Name       string
	Number     string
	// Attributes are the page URL and the widget's form fields (not vouched for).
	Attributes map[string]string
}

// ICEServer is a STUN or TURN server the pages use.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// WebCallConfig configures the widget's endpoints.
type WebCallConfig struct {
	// Origins are the company pages allowed to embed the widget ("https://www.example.com"); the token endpoint answers them
	// with CORS and /ws/call accepts only them (and this server's own origin).
	Origins []string
	// CustomerSecret verifies customer tokens minted by the company's site for a signed-in customer (HMAC-SHA256); empty
	// refuses them. Never logged.
	CustomerSecret []byte
	// ICEServers go to the pages (the widget and the agent phone).
	ICEServers []ICEServer
	// TokenTTL is how long a page token may start a call (default 10 min).
	TokenTTL time.Duration
	// PerMinute and Burst limit tokens and web calls per client address (defaults 6 a minute, burst 6).
	PerMinute float64
	Burst     int
}

// webCallKey signs page tokens; random per process, so a restart invalidates unused tokens (pages fetch a fresh one per call).
type webCallState struct {
	key     []byte
	limiter *ipLimiter
}

func (s *Server) webCallSetup() {
	if s.cfg.WebCall.TokenTTL <= 0 {
		s.cfg.WebCall.TokenTTL = 10 * time.Minute
	}
	if s.cfg.WebCall.PerMinute <= 0 {
		s.cfg.WebCall.PerMinute = 6
	}
	if s.cfg.WebCall.Burst <= 0 {
		s.cfg.WebCall.Burst = 6
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // the system's randomness is broken
	}
	s.web = &webCallState{key: key, limiter: &ipLimiter{every: time.Duration(float64(time.Minute) / s.cfg.WebCall.PerMinute),
		burst: s.cfg.WebCall.Burst, entries: map[string]*limitEntry{}}}
}

// webRouter is what the web-call routes are registered on (an *http.ServeMux, or a mux that also lists its routes).
type webRouter interface {
	Handle(pattern string, h http.Handler)
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}

// webRTCRoutes registers the widget's and the agent phone's endpoints.
func (s *Server) webRTCRoutes(mux webRouter) {
	s.webCallSetup()
	widget, _ := fs.Sub(staticFS, "static/widget")
	files := http.FileServerFS(widget)
	// The widget is a module script on the company's pages: module scripts are fetched with CORS.
	mux.Handle("GET /static/widget/", http.StripPrefix("/static/widget/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /api/v1/webcall/token", s.webCallToken)
	mux.HandleFunc("GET /ws/call", s.serveWebCall)
	mux.HandleFunc("GET /ws/media", s.serveAgentMedia)
	mux.HandleFunc("GET /api/v1/desk/phone", func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err == nil {
			err = s.deskPhone(w, r, sess)
		}
		if err != nil {
			Error(w, r, s.log, err)
		}
	})
}

// allowedOrigin reports whether a cross-origin page may use the widget's endpoints.
func (s *Server) allowedOrigin(r *http.Request, origin string) bool {
	if origin == "" {
		return false
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.ContainsFunc(s.cfg.WebCall.Origins, func(o string) bool { return strings.EqualFold(strings.TrimSuffix(o, "/"), origin) })
}

// pageToken is what a page token vouches for.
type pageToken struct {
	Site     string `json:"site"`
	Origin   string `json:"origin"`
	Customer string `json:"cust,omitempty"`
	Name     string `json:"name,omitempty"`
	Number   string `json:"num,omitempty"`
	Expires  int64  `json:"exp"`
}

// customerToken is what the company's site signs for a signed-in customer: base64url(JSON).base64url(HMAC-SHA256(secret, JSON)).
type customerToken struct {
	Customer string `json:"sub"`
	Name     string `json:"name,omitempty"`
	Number   string `json:"number,omitempty"`
	Expires  int64  `json:"exp"` // Unix seconds
}

func sign(key []byte, v any) string {
	b, _ := json.Marshal(v)
	mac := hmac.New(sha256.New, key)
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks a token's signature and decodes it into v.
func verify(key []byte, tok string, v any) bool {
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || len(key) == 0 || len(tok) > 4096 {
		return false
	}
	b, err1 := base64.RawURLEncoding.DecodeString(p)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(b)
	return hmac.Equal(got, mac.Sum(nil)) && json.Unmarshal(b, v) == nil
}

// SignCustomerToken makes a customer token as the company's site would (for tests and examples).
func SignCustomerToken(secret []byte, customerID, name, number string, expires time.Time) string {
	return sign(secret, customerToken{Customer: customerID, Name: name, Number: number, Expires: expires.Unix()})
}

// webCallToken answers GET /api/v1/webcall/token?site=…[&customer=…]: a short-lived page token for one call.
func (s *Server) webCallToken(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if s.allowedOrigin(r, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Vary", "Origin")
	}
	err := func() error {
		if s.cfg.WebRTC == nil {
			return cti.Errorf(cti.EUNAVAILABLE, "web calls are not enabled")
		}
		if !s.allowedOrigin(r, origin) {
			return cti.Errorf(cti.EFORBIDDEN, "this site may not embed the call widget")
		}
		if !s.web.limiter.allow(clientIP(r), s.clock.Now()) {
			return cti.Errorf(cti.EUNAVAILABLE, "too many calls from your address; try again in a minute")
		}
		site := r.URL.Query().Get("site")
		if len(site) > 64 {
			return cti.Invalid("site", "too long")
		}
		now := s.clock.Now()
		pt := pageToken{Site: site, Origin: origin, Expires: now.Add(s.cfg.WebCall.TokenTTL).Unix()}
		if ct := r.URL.Query().Get("customer"); ct != "" {
			var c customerToken
			if !verify(s.cfg.WebCall.CustomerSecret, ct, &c) || c.Customer == "" {
				return cti.Errorf(cti.EUNAUTHORIZED, "the customer token is not valid")
			}
			if now.Unix() > c.Expires {
				return cti.Errorf(cti.EUNAUTHORIZED, "the customer token has expired")
			}
			pt.Customer, pt.Name, pt.Number = c.Customer, c.Name, c.Number
		}
		ice := s.cfg.WebCall.ICEServers
		if ice == nil {
			ice = []ICEServer{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"token": sign(s.web.key, pt), "expires_at": time.Unix(pt.Expires, 0).UTC(),
			"ice_servers": ice})
		return nil
	}()
	if err != nil {
		Error(w, r, s.log, err)
	}
}

// maxAttributes bounds what a page may attach to its call.
const (
	maxAttributes = 16
	maxAttrLen    = 256
)

// serveWebCall upgrades GET /ws/call?token=…&attr.<name>=… for the widget and hands it to WebRTC.ServeCall.
func (s *Server) serveWebCall(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	var pt pageToken
	err := func() error {
		if s.cfg.WebRTC == nil {
			return cti.Errorf(cti.EUNAVAILABLE, "web calls are not enabled")
		}
		if !verify(s.web.key, r.URL.Query().Get("token"), &pt) {
			return cti.Errorf(cti.EUNAUTHORIZED, "the call token is not valid")
		}
		if s.clock.Now().Unix() > pt.Expires {
			return cti.Errorf(cti.EUNAUTHORIZED, "the call token has expired")
		}
		if !s.allowedOrigin(r, origin) || !strings.EqualFold(origin, pt.Origin) {
			return cti.Errorf(cti.EFORBIDDEN, "cross-origin call from a site that may not embed the widget")
		}
		if !s.web.limiter.allow(clientIP(r), s.clock.Now()) {
			return cti.Errorf(cti.EUNAVAILABLE, "too many calls from your address; try again in a minute")
		}
		return nil
	}()
	if err != nil {
		Error(w, r, s.log, err)
		return
	}
	c := WebCaller{Site: pt.Site, Origin: pt.Origin, IP: clientIP(r), CustomerID: pt.Customer, Name: pt.Name, Number: pt.Number,
		Attributes: map[string]string{}}
	q := r.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		name, ok := strings.CutPrefix(k, "attr.")
		if !ok || name == "" || len(c.Attributes) >= maxAttributes || len(name) > 64 {
			continue
		}
		v := q.Get(k)
		if len(v) > maxAttrLen {
			v = v[:maxAttrLen]
		}
		c.Attributes[name] = v
	}
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	s.cfg.WebRTC.ServeCall(ws, c)
}

// serveAgentMedia upgrades GET /ws/media for a signed-in agent's phone and hands it to WebRTC.ServeAgent.
func (s *Server) serveAgentMedia(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r)
	switch {
	case err != nil:
	case s.cfg.WebRTC == nil:
		err = cti.Errorf(cti.EUNAVAILABLE, "browser phones are not enabled")
	case !sameOrigin(r):
		err = cti.Errorf(cti.EFORBIDDEN, "cross-origin websocket")
	}
	if err != nil {
		Error(w, r, s.log, err)
		return
	}
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: sameOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.cfg.WebRTC.ServeAgent(ws, sess.AgentID)
}

// deskPhone answers GET /api/v1/desk/phone: whether the signed-in agent hears and speaks in the page, and the ICE servers.
func (s *Server) deskPhone(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	web := false
	if s.cfg.WebRTC != nil {
		agents, err := s.cfg.Settings.Agents(r.Context())
		if err != nil {
			return err
		}
		for _, a := range agents {
			if a.ID == sess.AgentID {
				web = a.Endpoint == cti.EndpointWebRTC
			}
		}
	}
	ice := s.cfg.WebCall.ICEServers
	if ice == nil {
		ice = []ICEServer{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"webrtc": web, "ice_servers": ice})
	return nil
}

// ipLimiter limits requests per client address (x/time/rate); idle entries are forgotten.
type ipLimiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	entries map[string]*limitEntry
	swept   time.Time
}

func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > limiterIdle {
		for k, e := range l.entries {
			if now.Sub(e.last) > limiterIdle {
				delete(l.entries, k)
			}
		}
		l.swept = now
	}
	e := l.entries[ip]
	if e == nil {
		e = &limitEntry{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.entries[ip] = e
	}
	e.last = now
	return e.lim.AllowN(now, 1)
}
