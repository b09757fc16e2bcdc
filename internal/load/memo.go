package load

import (
	"bytes"
	"regexp"
	"sync"
)

// Hosts that differ only in their names are evaluated once.
//
// #Host reads a host's name only as a value, never to decide anything:
// it is the host's `name`, its networking.hostName and its facts' name
// (and scrapedBy, on a monitoring server); TestHostNameOnlyAsValue holds
// the schema to that. So a host is unified with its name replaced by
// memoName, the result is shared by every host whose merged value is the
// same but for the name (a fleet's hosts are mostly instances of a few
// templates), and each host gets it with memoName replaced by its own
// name. The evaluation cache keeps such name-free results too.
//
// A result is shared only when memoName occurs in it only as a whole JSON
// string value, never as an object key or inside a longer string, and
// nowhere in the host's merged value but its name; a host whose result
// fails is evaluated again with its own name, so its errors are exactly
// those of its own value.
const memoName = "fleetgen-memo-host-a7c3e0"

// hostNamePattern is the schema's #HostName (TestHostNamePattern checks
// they agree): a host whose name does not match it is unified with its
// own name, so that the schema reports it.
const hostNamePattern = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"

var (
	hostNameRx = regexp.MustCompile(hostNamePattern)
	memoQuoted = []byte(`"` + memoName + `"`)
	memoBytes  = []byte(memoName)
)

// A hostMemo shares unification results between the hosts of one load,
// by the key of their name-free merged value. It is safe for concurrent
// use.
type hostMemo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
}

// A memoEntry is one name-free result, computed once.
type memoEntry struct {
	done chan struct{}
	// parts are the name-free result (see Host.parts), or nil when it
	// cannot be shared (its evaluation failed, or the name is not only a
	// value in it).
	parts [][]byte
}

// do returns the name-free result for key, calling compute the first
// time and waiting for that call when another goroutine made it.
func (m *hostMemo) do(key string, compute func() [][]byte) [][]byte {
	m.mu.Lock()
	if m.entries == nil {
		m.entries = map[string]*memoEntry{}
	}
	e, ok := m.entries[key]
	if !ok {
		e = &memoEntry{done: make(chan struct{})}
		m.entries[key] = e
	}
	m.mu.Unlock()
	if ok {
		<-e.done
		return e.parts
	}
	defer close(e.done)
	e.parts = compute()
	return e.parts
}

// nameFree reports whether memoName occurs in parts only as whole JSON
// string values (not keys), so that withName can give the result of any
// host.
func nameFree(parts [][]byte) bool {
	for _, p := range parts {
		rest := p
		for {
			i := bytes.Index(rest, memoBytes)
			if i < 0 {
				break
			}
			start := len(p) - len(rest) + i
			end := start + len(memoName)
			if start == 0 || p[start-1] != '"' || end >= len(p) || p[end] != '"' || isKey(p[end+1:]) {
				return false
			}
			rest = p[end:]
		}
	}
	return true
}

// isKey reports whether a JSON string ending just before b is an object
// key: a colon follows it.
func isKey(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == ':'
}

// withName returns the name-free parts with memoName replaced by name,
// which must need no escaping in JSON (a #HostName).
func withName(parts [][]byte, name string) [][]byte {
	out := make([][]byte, len(parts))
	quoted := []byte(`"` + name + `"`)
	var at []int
	for i, p := range parts {
		// One scan for the places, one copy (bytes.ReplaceAll scans
		// three times, and this runs for every host of a template).
		at = at[:0]
		for j := 0; ; {
			k := bytes.Index(p[j:], memoQuoted)
			if k < 0 {
				break
			}
			at = append(at, j+k)
			j += k + len(memoQuoted)
		}
		if len(at) == 0 {
			out[i] = p
			continue
		}
		b := make([]byte, 0, len(p)+len(at)*(len(quoted)-len(memoQuoted)))
		last := 0
		for _, j := range at {
			b = append(append(b, p[last:j]...), quoted...)
			last = j + len(memoQuoted)
		}
		out[i] = append(b, p[last:]...)
	}
	return out
}
