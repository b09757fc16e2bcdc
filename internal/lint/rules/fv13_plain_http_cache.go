package rules

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"fleetnix.dev/fleet/internal/diag"
	"fleetnix.dev/fleet/internal/lint"
)

// PlainHTTPCache reports binary caches served over plain HTTP outside a
// private overlay network.
var PlainHTTPCache = &lint.Rule{
	ID:       "FV13",
	Name:     "plain-http-cache",
	Severity: diag.Warning,
	Doc: `report a binary cache served over plain HTTP outside a private overlay network

A host with nix.serve.enable is a substituter for the whole fleet at
nix.serve.url, by default http://<deploy.targetHost>:<port>. Signatures
protect the paths, but over plain HTTP on a shared network anyone on the
path sees what every host downloads and can withhold or replay it. Plain
HTTP is fine inside a private overlay network, which encrypts it: the
finding is not given when the URL's host is a Tailscale address
(100.64.0.0/10, fd7a:115c:a1e0::/48), a MagicDNS name (*.ts.net), or the
bare name of a fleet host that runs Tailscale (network.tailscale.enable),
which MagicDNS resolves on the tailnet. Otherwise, use https:// or put the
cache on the overlay.

Not in the catalogue's table (FV01-FV12); the finding of issue 6, point 3.`,
	RunFleet: func(p *lint.FleetPass) error {
		tailnet := map[string]bool{}
		for _, h := range p.Hosts {
			if h.Bool("network", "tailscale", "enable") {
				tailnet[h.Name] = true
			}
		}
		for _, h := range p.Hosts {
			if !h.Bool("nix", "serve", "enable") {
				continue
			}
			u := cacheURL(h)
			if !strings.HasPrefix(u, "http://") {
				continue
			}
			pu, err := url.Parse(u)
			if err != nil || onOverlay(pu.Hostname(), tailnet) {
				continue
			}
			p.Reportf(h, []string{"nix", "serve"}, "%s: the binary cache is served over plain HTTP at %s, outside a private overlay network", h.Name, u)
		}
		return nil
	},
}

// cacheURL is the URL h serves its cache at, as the fleet pass forms it,
// or "" when it has none.
func cacheURL(h *lint.Host) string {
	if u := strOf(h, "nix", "serve", "url"); u != "" {
		return u
	}
	t := strOf(h, "deploy", "targetHost")
	port, _ := h.Get("nix", "serve", "port")
	if t == "" || port == nil {
		return ""
	}
	if strings.Contains(t, ":") {
		t = "[" + t + "]"
	}
	return fmt.Sprintf("http://%s:%v", t, port)
}

var overlayRanges = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fd7a:115c:a1e0::/48"),
}

// onOverlay reports whether host, a URL's host part, is on a private
// overlay network: a Tailscale address, a MagicDNS name or the bare name of
// a fleet host in tailnet.
func onOverlay(host string, tailnet map[string]bool) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		for _, r := range overlayRanges {
			if r.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return strings.HasSuffix(host, ".ts.net") || tailnet[host]
}
