package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"fleetnix.dev/fleet/internal/model"
)

// A check is one health check, attempted until it passes or its deadline.
type check struct {
	name    string
	attempt func(ctx context.Context) error
}

// checkHealth runs h's health checks one after the other, each retried
// until it passes or its timeout expires, and returns the first failure as
// an *Error of kind KindCheck (or KindCanceled).
func (d *driver) checkHealth(ctx context.Context, h *model.Host) error {
	timeout := h.Health.Timeout
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	interval := h.Health.Interval
	if interval <= 0 {
		interval = DefaultHealthInterval
	}
	for _, c := range d.checks(h) {
		if err := d.retry(ctx, h, c, timeout, interval); err != nil {
			return err
		}
	}
	return nil
}

func (d *driver) retry(ctx context.Context, h *model.Host, c check, timeout, interval time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	attempts := 0
	var last error // the last failure not caused by the deadline
	for {
		attempts++
		err := c.attempt(cctx)
		if err == nil {
			d.emit(h.Name, OpHealth, EventNote, c.name+": ok", nil)
			return nil
		}
		if ctx.Err() != nil {
			return &Error{Host: h.Name, Op: OpHealth, Kind: KindCanceled, ExitCode: -1, Err: ctx.Err()}
		}
		if cctx.Err() == nil || last == nil {
			last = err
		}
		if cctx.Err() != nil {
			e := &Error{Host: h.Name, Op: OpHealth, Kind: KindCheck, ExitCode: -1,
				Err: fmt.Errorf("%s: still failing after %v (%d attempts): %s", c.name, timeout, attempts, detail(last))}
			var ce *Error
			if errors.As(last, &ce) {
				e.Stderr = ce.Stderr
			}
			return e
		}
		select {
		case <-cctx.Done():
		case <-time.After(interval):
		}
	}
}

// checks lists h's health checks in a fixed order: systemd first, then
// ports, endpoints and user commands.
func (d *driver) checks(h *model.Host) []check {
	var cs []check
	hc := h.Health
	if hc.SystemState {
		cs = append(cs, check{"system state", func(ctx context.Context) error {
			out, err := d.remote(ctx, h, "systemctl is-system-running")
			if st := strings.TrimSpace(string(out)); err != nil && st != "" {
				return fmt.Errorf("system is %s", st)
			}
			return err
		}})
	}
	for _, u := range hc.Units {
		cs = append(cs, check{"unit " + u, func(ctx context.Context) error {
			out, err := d.remote(ctx, h, shellLine("systemctl", "is-active", "--", u))
			if st := strings.TrimSpace(string(out)); err != nil && st != "" {
				return fmt.Errorf("unit is %s", st)
			}
			return err
		}})
	}
	for _, t := range hc.TCP {
		host := t.Host
		if host == "" {
			host = h.Target.Address
		}
		addr := net.JoinHostPort(host, strconv.Itoa(t.Port))
		cs = append(cs, check{"tcp " + addr, func(ctx context.Context) error {
			var dl net.Dialer
			c, err := dl.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			return c.Close()
		}})
	}
	for _, hc := range hc.HTTP {
		cs = append(cs, check{"http " + RedactURL(hc.URL), func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, hc.URL, nil)
			if err != nil {
				// The error quotes the URL, credentials and all; the
				// check's name says which URL it is.
				return errors.New("not a valid URL")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				var ue *url.Error
				if errors.As(err, &ue) {
					err = ue.Err
				}
				return err
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			ok := resp.StatusCode/100 == 2
			if hc.Status != 0 {
				ok = resp.StatusCode == hc.Status
			}
			if !ok {
				return fmt.Errorf("status %s", resp.Status)
			}
			return nil
		}})
	}
	for _, c := range hc.Commands {
		name := c.Name
		if name == "" {
			name = c.Command
		}
		cs = append(cs, check{"command " + name, func(ctx context.Context) error {
			_, err := d.remote(ctx, h, c.Command)
			return err
		}})
	}
	return cs
}

// RedactURL returns s with the credentials of its user information
// ("user:password@") replaced by "***", so that a URL can be shown in
// progress, summaries, events and errors. A string that does not parse as
// a URL has everything before its last "@" replaced instead.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "***" + s[i:]
		}
		return s
	}
	if u.User == nil {
		return s
	}
	u.User = nil
	out := u.String()
	scheme, rest, ok := strings.Cut(out, "://")
	if !ok {
		return "***@" + out
	}
	return scheme + "://***@" + rest
}

// remote runs script on h's target for a health check.
func (d *driver) remote(ctx context.Context, h *model.Host, script string) ([]byte, error) {
	return d.run(ctx, command{host: h.Name, op: OpHealth, remote: true, argv: d.ssh(h.Target, script)})
}
