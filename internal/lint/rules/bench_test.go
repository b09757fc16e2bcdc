package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/lint"
	"fleetnix.dev/fleet/internal/lint/rules"
)

// module returns a NixOS module of about 110 lines in one of several
// shapes, numbered i so that no two files are the same.
func module(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# module %d\n{ config, lib, pkgs, ... }:\n", i)
	if i%3 == 0 {
		b.WriteString("with lib;\n")
	}
	fmt.Fprintf(&b, "let\n  cfg = config.services.svc%d;\n  unused%d = %d;\n  port = %d;\nin\n{\n", i, i, i, 8000+i)
	fmt.Fprintf(&b, "  options.services.svc%d = {\n    enable = lib.mkEnableOption \"service %d\";\n", i, i)
	for k := 0; k < 10; k++ {
		fmt.Fprintf(&b, "    opt%d = lib.mkOption {\n      type = lib.types.str;\n      default = \"value-%d-%d\";\n      description = ''\n        Option %d of service %d.\n      '';\n    };\n", k, i, k, k, i)
	}
	b.WriteString("  };\n")
	fmt.Fprintf(&b, "  config = lib.mkIf cfg.enable {\n")
	fmt.Fprintf(&b, "    networking.firewall.allowedTCPPorts = [ port ] ++ [ ];\n")
	fmt.Fprintf(&b, "    environment.systemPackages = with pkgs; [ hello git curl jq ];\n")
	fmt.Fprintf(&b, "    systemd.services.svc%d = {\n      description = \"svc %d\";\n      wantedBy = [ \"multi-user.target\" ];\n", i, i)
	fmt.Fprintf(&b, "      serviceConfig = {\n        ExecStart = \"${pkgs.hello}/bin/hello --port ${toString port}\";\n        User = \"root\";\n        Restart = \"always\";\n      };\n    };\n")
	for k := 0; k < 20; k++ {
		fmt.Fprintf(&b, "    environment.etc.\"svc%d/%d.conf\".text = if cfg.opt%d == \"x\" then \"a\" else cfg.opt%d;\n", i, k, k%10, k%10)
	}
	for k := 0; k < 8; k++ {
		fmt.Fprintf(&b, "    users.users.u%d_%d = { isSystemUser = true; group = \"g%d\"; extraGroups = [ \"wheel\" ] ++ lib.optional (%d > 3) \"video\"; };\n", i, k, k, k)
	}
	b.WriteString("  };\n}\n")
	return b.String()
}

// BenchmarkLintTree lints a generated tree the size of the seed fleet's
// (550 files, about 60,000 lines) with every rule, parsing included.
func BenchmarkLintTree(b *testing.B) {
	const files = 550
	srcs := make([][]byte, files)
	lines := 0
	for i := range srcs {
		srcs[i] = []byte(module(i))
		lines += strings.Count(string(srcs[i]), "\n")
	}
	b.ResetTimer()
	b.ReportAllocs()
	findings := 0
	for n := 0; n < b.N; n++ {
		fs := make([]*lint.File, files)
		for i, src := range srcs {
			fs[i] = lint.Parse(fmt.Sprintf("m%d.nix", i), src)
		}
		findings = len(lint.Run(rules.All, fs))
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(files)/sec, "files/s")
	b.ReportMetric(float64(lines)/sec, "lines/s")
	b.ReportMetric(float64(lines), "lines")
	b.ReportMetric(float64(findings), "findings")
}
