package agentui

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-cc/switchboard/cti"
)

// cookieName is the session cookie. It is HttpOnly (scripts never see the token), SameSite=Strict and Secure under TLS.
//
// Strict rather than Lax: nobody enters the desk or the wallboard by a link from another site (agents type or bookmark the
// address, and those navigations carry Strict cookies), so Strict costs nothing and keeps the cookie off every cross-site
// request, top-level GETs included — a second line behind CrossOriginProtection.
const cookieName = "sb_session"

// touchEvery bounds how often a request writes the session's last use to the store.
const touchEvery = time.Minute

// Role levels: each role may do what the ones below it may.
const (
	anyRole        = cti.RoleAgent
	supervisorRole = cti.RoleSupervisor
	adminRole      = cti.RoleAdmin
)

func rank(r cti.Role) int {
	switch r {
	case cti.RoleAgent:
		return 1
	case cti.RoleSupervisor:
		return 2
	case cti.RoleAdmin:
		return 3
	}
	return 0
}

func allowed(have, need cti.Role) bool { return rank(have) >= rank(need) && rank(have) > 0 }

type sessionKey struct{}

// withSession resolves the session cookie once per request, so every handler and hook reads the same *cti.Session.
func (s *Server) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		c, err := r.Cookie(cookieName)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := s.cfg.Sessions.Get(r.Context(), c.Value)
		switch cti.ErrorCode(err) {
		case "":
			if s.clock.Now().Sub(sess.LastSeen) > touchEvery {
				if err := s.cfg.Sessions.Touch(r.Context(), sess.ID, s.cfg.SessionIdle); err != nil {
					s.log.WarnContext(r.Context(), "touch session", "err", err)
				}
			}
			r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess))
		case cti.EUNAUTHORIZED:
			// A stale cookie: forget it.
			http.SetCookie(w, s.cookie(r, "", -1))
		default:
			Error(w, r, s.log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// session returns the request's session or EUNAUTHORIZED.
func (s *Server) session(r *http.Request) (*cti.Session, error) {
	if sess, ok := r.Context().Value(sessionKey{}).(*cti.Session); ok {
		return sess, nil
	}
	return nil, cti.Errorf(cti.EUNAUTHORIZED, "sign in first")
}

// handle registers an API route that needs a session with at least role.
func (s *Server) handle(mux router, pattern string, role cti.Role,
	f func(w http.ResponseWriter, r *http.Request, sess *cti.Session) error) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err == nil && !allowed(sess.Role, role) {
			err = cti.Errorf(cti.EFORBIDDEN, "this needs the %s role", role)
		}
		if err == nil {
			err = f(w, r, sess)
		}
		if err != nil {
			Error(w, r, s.log, err)
		}
	})
}

// authorizeCRM is the CRM API's Authorize hook: every staff member reads and edits customers and reads interactions; an agent
// records dispositions only on interactions they handled.
func (s *Server) authorizeCRM(r *http.Request, action string) error {
	sess, err := s.session(r)
	if err != nil {
		return err
	}
	if action == ActionInteractionWrite && sess.Role == cti.RoleAgent {
		in, err := s.cfg.Customers.Interaction(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		if in.AgentID != sess.AgentID {
			return cti.Errorf(cti.EFORBIDDEN, "not your interaction")
		}
	}
	return nil
}

func (s *Server) identify(r *http.Request) string {
	if sess, err := s.session(r); err == nil {
		return sess.Login
	}
	return "anonymous"
}

func (s *Server) agentID(r *http.Request) string {
	if sess, err := s.session(r); err == nil {
		return sess.AgentID
	}
	return ""
}

func (s *Server) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil || s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode}
}

// audit records an action of the signed-in user; a failure is logged, never shown to a user whose action succeeded.
func (s *Server) audit(r *http.Request, actor, action, target string) {
	if s.cfg.Auditor == nil {
		return
	}
	err := s.cfg.Auditor.Audit(context.WithoutCancel(r.Context()), cti.AuditEntry{Actor: actor, Action: action, Target: target,
		Remote: r.RemoteAddr})
	if err != nil {
		s.log.ErrorContext(r.Context(), "audit failed", "action", action, "err", err)
	}
}

// loginInput is the sign-in form.
type loginInput struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// Me is who is signed in, as /api/v1/me and the sign-in answer it.
type Me struct {
	AgentID     string   `json:"agent_id"`
	Login       string   `json:"login"`
	DisplayName string   `json:"display_name"`
	Role        cti.Role `json:"role"`
	Home        string   `json:"home"` // the page to open: /desk or /wall
	SessionID   string   `json:"session_id"`
}

func meOf(sess *cti.Session) Me {
	return Me{AgentID: sess.AgentID, Login: sess.Login, DisplayName: sess.DisplayName, Role: sess.Role, Home: home(sess.Role),
		SessionID: sess.ID}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := s.doLogin(w, r); err != nil {
		Error(w, r, s.log, err)
	}
}

func (s *Server) doLogin(w http.ResponseWriter, r *http.Request) error {
	var in loginInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	login := strings.ToLower(strings.TrimSpace(in.Login))
	if login == "" || in.Password == "" {
		return cti.Errorf(cti.EINVALID, "login and password are required")
	}
	ip := clientIP(r)
	if wait, ok := s.limiter.allow(ip, login, s.clock.Now()); !ok {
		s.metrics.logins.WithLabelValues("limited").Inc()
		secs := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, errorBody{errorJSON{Code: "rate_limited",
			Message: "too many sign-in attempts; try again in " + strconv.Itoa(secs) + " s"}})
		return nil
	}
	a, err := s.cfg.Settings.VerifyPassword(r.Context(), login, in.Password)
	if err != nil {
		if cti.ErrorCode(err) == cti.EUNAUTHORIZED {
			s.metrics.logins.WithLabelValues("denied").Inc()
			s.audit(r, login, "login.failed", login)
		}
		return err
	}
	token, sess, err := s.cfg.Sessions.Create(r.Context(), a.ID, s.cfg.SessionIdle, r.RemoteAddr, r.UserAgent())
	if err != nil {
		return err
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	http.SetCookie(w, s.cookie(r, token, 0))
	s.audit(r, sess.Login, "login", sess.ID)
	if sess.Role == cti.RoleAgent {
		if err := s.cfg.Desk.Login(r.Context(), sess.AgentID); err != nil {
			// Signed in all the same: the desk shows the agent logged out and offers to log in again.
			s.log.WarnContext(r.Context(), "desk login", "agent", sess.Login, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, meOf(sess))
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	if err := s.cfg.Sessions.Revoke(r.Context(), sess.ID); err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(r, "", -1))
	s.hub.closeSession(sess.ID)
	if sess.Role == cti.RoleAgent {
		if err := s.cfg.Desk.Logout(r.Context(), sess.AgentID); err != nil {
			s.log.WarnContext(r.Context(), "desk logout", "agent", sess.Login, "err", err)
		}
	}
	s.audit(r, sess.Login, "logout", sess.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	writeJSON(w, http.StatusOK, meOf(sess))
	return nil
}

// forceLogout ends every session of an agent, closes their desktops and logs them out of the queues.
func (s *Server) forceLogout(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	id := r.PathValue("id")
	n, err := s.cfg.Sessions.RevokeAgent(r.Context(), id)
	if err != nil {
		return err
	}
	s.hub.closeAgent(id, "logged out by a supervisor")
	if err := s.cfg.Desk.Logout(r.Context(), id); err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
		return err
	}
	s.audit(r, sess.Login, "agent.force-logout", id)
	writeJSON(w, http.StatusOK, map[string]int{"sessions": n})
	return nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginLimiter limits sign-in attempts per address and login (a few tries, then one per 12 s) and per address (password spraying
// over many logins). Entries idle for 15 minutes are forgotten.
type loginLimiter struct {
	mu      sync.Mutex
	entries map[string]*limitEntry
	swept   time.Time
}

type limitEntry struct {
	lim  *rate.Limiter
	last time.Time
}

const (
	loginBurst   = 5
	loginEvery   = 12 * time.Second
	addressBurst = 30
	addressEvery = time.Second
	limiterIdle  = 15 * time.Minute
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{entries: map[string]*limitEntry{}} }

// allow takes one attempt for ip and login at now; when refused it says how long to wait.
func (l *loginLimiter) allow(ip, login string, now time.Time) (time.Duration, bool) {
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
	byIP := l.entry("ip|"+ip, addressEvery, addressBurst, now)
	byLogin := l.entry("login|"+ip+"|"+login, loginEvery, loginBurst, now)
	r1 := byIP.ReserveN(now, 1)
	r2 := byLogin.ReserveN(now, 1)
	d := max(r1.DelayFrom(now), r2.DelayFrom(now))
	if d > 0 {
		r1.CancelAt(now)
		r2.CancelAt(now)
		return d, false
	}
	return 0, true
}

func (l *loginLimiter) entry(key string, every time.Duration, burst int, now time.Time) *rate.Limiter {
	e := l.entries[key]
	if e == nil {
		e = &limitEntry{lim: rate.NewLimiter(rate.Every(every), burst)}
		l.entries[key] = e
	}
	e.last = now
	return e.lim
}
