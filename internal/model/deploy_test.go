package model

import "testing"

func TestInstallable(t *testing.T) {
	tests := []struct {
		attr FlakeAttr
		want string
	}{
		{FlakeAttr{"path:/f", ToplevelAttr("web-1")}, "path:/f#nixosConfigurations.web-1.config.system.build.toplevel"},
		{FlakeAttr{".", []string{"nixosConfigurations", "a.b", "x"}}, `.#nixosConfigurations."a.b".x`},
		{FlakeAttr{".", []string{"1st", `q"${x}`}}, `.#"1st"."q\"\${x}"`},
	}
	for _, tt := range tests {
		if got := tt.attr.Installable(); got != tt.want {
			t.Errorf("Installable() = %s, want %s", got, tt.want)
		}
	}
}

func TestActivationValid(t *testing.T) {
	for _, a := range []Activation{"", Switch, Boot, Test} {
		if !a.Valid() {
			t.Errorf("%q is not valid", a)
		}
	}
	if Activation("dry-activate").Valid() {
		t.Error("dry-activate is valid")
	}
}

func TestRolloutLimit(t *testing.T) {
	for _, tt := range []struct {
		r    Rollout
		n    int
		want int
	}{
		{Rollout{}, 10, 0},
		{Rollout{MaxUnavailable: 2}, 10, 2},
		{Rollout{MaxUnavailable: 20}, 10, 0},
		{Rollout{MaxUnavailablePercent: 25}, 10, 3},
		{Rollout{MaxUnavailablePercent: 1}, 10, 1},
		{Rollout{MaxUnavailable: 2, MaxUnavailablePercent: 50}, 10, 2},
		{Rollout{MaxUnavailable: 8, MaxUnavailablePercent: 50}, 10, 5},
		{Rollout{MaxUnavailablePercent: 100}, 4, 0},
	} {
		if got := tt.r.Limit(tt.n); got != tt.want {
			t.Errorf("%+v.Limit(%d) = %d, want %d", tt.r, tt.n, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := []Target{
		{Address: "web.example.com"}, {Address: "10.0.0.1", User: "root", Port: 22},
		{Address: "fd00::1", User: "deploy_user"}, {Address: "p620.tail0a1b2c.ts.net"}, {Address: "Host_1"},
	}
	bad := []Target{
		{Address: ""}, {Address: "-oProxyCommand=x"}, {Address: "a b"}, {Address: "a;b"},
		{Address: "user@host"}, {Address: "host:22"}, {Address: "a/b"}, {Address: "a\nb"},
		{Address: "web", User: "-l"}, {Address: "web", User: "a b"}, {Address: "web", User: "x@y"},
		{Address: "web", Port: 70000}, {Address: "-web"}, {Address: "web-"},
	}
	for _, tg := range good {
		if err := tg.Validate(); err != nil {
			t.Errorf("%+v: %v", tg, err)
		}
	}
	for _, tg := range bad {
		if err := tg.Validate(); err == nil {
			t.Errorf("%+v: valid", tg)
		}
	}
	for w, want := range map[string]bool{"x86_64-linux": true, "big-parallel": true, "gccarch-x86-64-v3": true,
		"": false, "a,b": false, "a b": false, "a;b": false, "-x": false} {
		if ValidWord(w) != want {
			t.Errorf("ValidWord(%q) = %v", w, !want)
		}
	}
}
