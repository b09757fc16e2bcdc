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
