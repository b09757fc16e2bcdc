package cli

import (
	"encoding/json"
	"io"
	"time"

	"fleetnix.dev/fleet/fleet"
)

// The JSON forms of plans, events and results, for --json and --format
// json. docs/events.md documents them; a change here is a change of that
// schema.

// jsonPlan is a plan: its waves and its hosts.
type jsonPlan struct {
	Waves []jsonWave   `json:"waves"`
	Hosts []jsonTarget `json:"hosts"`
}

// jsonWave is one wave: its hosts to deploy, canaries first.
type jsonWave struct {
	Wave     int      `json:"wave"`
	Hosts    []string `json:"hosts"`
	Canaries []string `json:"canaries"`
}

// jsonTarget is one host of a plan.
type jsonTarget struct {
	Host       string         `json:"host"`
	Wave       int            `json:"wave"`
	WaveReason string         `json:"waveReason"`
	Canary     bool           `json:"canary"`
	Action     string         `json:"action"`
	Generation string         `json:"generation"`
	Current    string         `json:"current"`
	New        string         `json:"new"`
	Preview    *fleet.Preview `json:"preview,omitempty"`
	Error      *string        `json:"error"`
}

func planJSON(plan []fleet.HostPlan) jsonPlan {
	out := jsonPlan{Waves: []jsonWave{}, Hosts: []jsonTarget{}}
	for _, wv := range wavesOf(plan) {
		jw := jsonWave{Wave: wv.number, Hosts: []string{}, Canaries: []string{}}
		for _, hp := range wv.hosts {
			if hp.Action != fleet.ActionDeploy {
				continue
			}
			jw.Hosts = append(jw.Hosts, hp.Host)
			if hp.Canary {
				jw.Canaries = append(jw.Canaries, hp.Host)
			}
		}
		out.Waves = append(out.Waves, jw)
	}
	for _, hp := range plan {
		out.Hosts = append(out.Hosts, jsonTarget{Host: hp.Host, Wave: hp.Wave, WaveReason: hp.WaveReason,
			Canary: hp.Canary, Action: string(hp.Action), Generation: hp.Generation, Current: hp.Current,
			New: hp.New, Preview: hp.Preview, Error: errString(hp.Err)})
	}
	return out
}

func errString(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

// writePlanJSON prints a dry run's plan as one JSON document, with the
// exit status writePlan would have.
func writePlanJSON(e *env, plan []fleet.HostPlan) int {
	if code := e.writeJSON(planJSON(plan)); code != exitOK {
		return code
	}
	for _, hp := range plan {
		if hp.Err != nil {
			return exitFail
		}
	}
	return exitOK
}

// An eventStream writes JSON lines: a plan, the driver's events, each
// host's result and an end record. Its methods are called one at a time.
type eventStream struct {
	enc *json.Encoder
}

func newEventStream(w io.Writer) *eventStream {
	return &eventStream{enc: json.NewEncoder(w)}
}

// jsonTime is a time as RFC 3339 with nanoseconds, in UTC.
func jsonTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (s *eventStream) plan(plan []fleet.HostPlan, took time.Duration) {
	p := planJSON(plan)
	s.enc.Encode(struct {
		Type   string       `json:"type"`
		Time   string       `json:"time"`
		PlanMS int64        `json:"planMs"`
		Waves  []jsonWave   `json:"waves"`
		Hosts  []jsonTarget `json:"hosts"`
	}{"plan", jsonTime(time.Now()), took.Milliseconds(), p.Waves, p.Hosts})
}

func (s *eventStream) event(ev fleet.Event) {
	s.enc.Encode(struct {
		Type    string         `json:"type"`
		Time    string         `json:"time"`
		Host    string         `json:"host"`
		Wave    int            `json:"wave"`
		Step    string         `json:"step"`
		Kind    string         `json:"kind"`
		Msg     string         `json:"msg"`
		Error   *string        `json:"error"`
		Preview *fleet.Preview `json:"preview,omitempty"`
	}{"event", jsonTime(ev.Time), ev.Host, ev.Wave, ev.Step, ev.Kind, ev.Msg, errString(ev.Err), ev.Preview})
}

// results writes each host's result and the end record.
func (s *eventStream) results(rs []fleet.HostResult) {
	counts := map[string]int{}
	ok := true
	for _, r := range rs {
		counts[string(r.Status)]++
		ok = ok && r.Status.OK()
		s.enc.Encode(struct {
			Type          string  `json:"type"`
			Time          string  `json:"time"`
			Host          string  `json:"host"`
			Wave          int     `json:"wave"`
			Status        string  `json:"status"`
			StorePath     string  `json:"storePath"`
			Previous      string  `json:"previous"`
			Current       string  `json:"current"`
			DurationMS    int64   `json:"durationMs"`
			Error         *string `json:"error"`
			RollbackError *string `json:"rollbackError"`
		}{"result", jsonTime(time.Now()), r.Host, r.Wave, string(r.Status), r.StorePath, r.Previous, r.Current,
			r.Duration.Milliseconds(), errString(r.Err), errString(r.RollbackErr)})
	}
	s.end(ok, counts)
}

// checks writes each host's result of check and the end record, whose
// statuses count the hosts that evaluated ("ok", warnings allowed) and
// those that did not ("failed").
func (s *eventStream) checks(hosts []jsonCheck) {
	counts := map[string]int{}
	ok := true
	for _, h := range hosts {
		status := "ok"
		if !h.OK {
			status, ok = "failed", false
		}
		counts[status]++
		s.enc.Encode(struct {
			Type string `json:"type"`
			Time string `json:"time"`
			jsonCheck
		}{"check", jsonTime(time.Now()), h})
	}
	s.end(ok, counts)
}

func (s *eventStream) end(ok bool, counts map[string]int) {
	s.enc.Encode(struct {
		Type     string         `json:"type"`
		Time     string         `json:"time"`
		OK       bool           `json:"ok"`
		Statuses map[string]int `json:"statuses"`
	}{"end", jsonTime(time.Now()), ok, counts})
}
