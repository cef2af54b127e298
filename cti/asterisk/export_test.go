package asterisk

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NewTransport returns the REST transport that New gives a Client without Config.HTTPClient, for tests that wrap it.
func NewTransport(ariURL string) interface {
	http.RoundTripper
	CloseIdleConnections()
} {
	base, err := url.Parse(strings.TrimRight(ariURL, "/"))
	if err != nil {
		panic(err)
	}
	return newTransport(base, (&net.Dialer{Timeout: 5 * time.Second}).DialContext, MaxConns, 90*time.Second)
}
