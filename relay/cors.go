package relay

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// corsAllowHeaders are the request headers an EventSource may send that
// are not CORS-safelisted: Last-Event-ID on a reconnect, and Cache-Control,
// which some browsers and polyfills add.
const corsAllowHeaders = "Last-Event-ID, Cache-Control"

// cors is a Relay's cross-origin policy, built once in New.
type cors struct {
	enabled     bool
	any         bool
	origins     map[string]bool // normalized: lower-case scheme://host[:port]
	credentials bool
	maxAge      string // seconds
}

func newCORS(cfg *Config) cors {
	c := cors{enabled: len(cfg.AllowedOrigins) > 0, origins: map[string]bool{}, credentials: cfg.AllowCredentials,
		maxAge: strconv.FormatInt(int64(cfg.CORSMaxAge.Seconds()), 10)}
	for _, o := range cfg.AllowedOrigins {
		n, _ := normalizeOrigin(o) // validated
		if n == "*" {
			c.any = true
		}
		c.origins[n] = true
	}
	return c
}

// check sets the CORS headers of the answer to req and reports whether the
// request may be served: with CORS off, always (and no header is set);
// with it on, when the request has no Origin, comes from the relay's own
// origin, or from an allowed one, which is echoed.
func (c *cors) check(h http.Header, req *http.Request) bool {
	if !c.enabled {
		return true
	}
	h.Add("Vary", "Origin")
	origin := req.Header.Get("Origin")
	if origin == "" {
		return true // not a cross-origin browser request
	}
	if c.any || c.origins[strings.ToLower(origin)] {
		h.Set("Access-Control-Allow-Origin", origin)
		if c.credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		return true
	}
	return sameOrigin(origin, req.Host)
}

// preflight answers an OPTIONS request whose check reported allowed. A
// preflight (it has Access-Control-Request-Method) from an allowed origin
// is answered 204 with the methods and headers an EventSource needs; from
// a refused one, 403. A plain OPTIONS gets 204 and Allow.
func (c *cors) preflight(rw http.ResponseWriter, req *http.Request, allowed bool) {
	h := rw.Header()
	h.Set("Allow", "GET, OPTIONS")
	if req.Header.Get("Access-Control-Request-Method") == "" || req.Header.Get("Origin") == "" {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	if !c.enabled || !allowed {
		http.Error(rw, "origin not allowed", http.StatusForbidden)
		return
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "GET")
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", c.maxAge)
	rw.WriteHeader(http.StatusNoContent)
}

// normalizeOrigin returns o as a browser's Origin header spells it
// (lower-case scheme://host[:port], no path), "*", or an error.
func normalizeOrigin(o string) (string, error) {
	if o == "*" {
		return o, nil
	}
	u, err := url.Parse(o)
	switch {
	case err != nil:
		return "", err
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New(`want "*" or scheme://host[:port] with scheme http or https`)
	case u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", errors.New(`want "*" or scheme://host[:port], without path, query or user`)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// sameOrigin reports whether origin names host, the request's own: a page
// of the relay's origin needs no CORS.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}
