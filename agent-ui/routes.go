package agentui

import (
	_ "embed"
	"net/http"
	"slices"
)

// router is what routes are registered on: an *http.ServeMux, or the server's routeMux, which also lists them so that a test can
// hold the OpenAPI document to the real routes.
type router interface {
	Handle(pattern string, h http.Handler)
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}

// routeMux is a ServeMux that remembers its patterns.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Routes returns the pattern of every route the server serves ("GET /api/v1/me"), sorted.
func (s *Server) Routes() []string { return slices.Sorted(slices.Values(s.patterns)) }

// openAPI is the contract of the REST API, written by hand and held to the router by TestOpenAPIMatchesRouter.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPI) //nolint:errcheck // the client went away
}
