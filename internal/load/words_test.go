package load

import (
	"testing"

	"fleetnix.dev/fleet/schema"
)

// TestRuleOf checks that a conflict with a sentence of the schema reads as
// that sentence, and a conflict of two values of the user's does not.
func TestRuleOf(t *testing.T) {
	m, err := schemaMessages(schema.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		msg, want string
	}{
		{`conflicting values true and "health.units: --now.service is not a systemd unit name" (mismatched types bool and string)`,
			"health.units: --now.service is not a systemd unit name"},
		{`conflicting values "features.security.sshHardening forbids root login over SSH" and "yes"`,
			"features.security.sshHardening forbids root login over SSH"},
		{`conflicting values "lock" and "focus-right"`, ""},
		{`conflicting values "a b c d" and "e f g h"`, ""},
		{`conflicting values 1 and 2`, ""},
		{`invalid value "x" (out of bound =~"^a")`, ""},
	} {
		got, ok := ruleOf(c.msg, m)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("ruleOf(%s) = %q, %v; want %q", c.msg, got, ok, c.want)
		}
	}
}
