package syntax_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"fleetnix.dev/fleet/internal/nix/format"
	"fleetnix.dev/fleet/internal/nix/syntax"
)

// benchSource returns a generated Nix file of about n hosts, each a NixOS
// configuration in the style fleet generates and people write.
func benchSource(n int) []byte {
	var b strings.Builder
	b.WriteString("# generated benchmark input\n{ lib, pkgs, ... }:\nlet\n  common = { time.timeZone = \"Europe/Amsterdam\"; };\nin\n{\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  host%[1]d = { config, ... }: {
    imports = [ ./hardware/host%[1]d.nix common ];
    networking.hostName = "host%[1]d"; # the name
    networking.firewall.allowedTCPPorts = [ 22 80 443 (9100 + %[1]d) ];
    services.openssh = { enable = true; settings.PasswordAuthentication = false; };
    users.users.alice = { isNormalUser = true; extraGroups = [ "wheel" ]; shell = pkgs.zsh; };
    environment.systemPackages = with pkgs; [ git vim htop (python3.withPackages (ps: [ ps.requests ])) ];
    systemd.services.app%[1]d = {
      wantedBy = [ "multi-user.target" ];
      serviceConfig.ExecStart = "${pkgs.hello}/bin/hello --port ${toString (8000 + %[1]d)}";
      script = ''
        echo "starting ${config.networking.hostName}"
        exec ${pkgs.hello}/bin/hello
      '';
    };
    boot.loader.grub.enable = lib.mkDefault (%[1]d > 2 && !config.boot.isContainer);
    fileSystems."/" = { device = "/dev/disk/by-label/root%[1]d"; fsType = "ext4"; };
  };
`, i)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// BenchmarkParse measures parse throughput (MB/s) on a generated file of
// 1000 hosts, about 1.3 MB.
func BenchmarkParse(b *testing.B) {
	src := benchSource(1000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := syntax.Parse("bench.nix", src); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// BenchmarkFormat measures formatting throughput on the same input.
func BenchmarkFormat(b *testing.B) {
	src := benchSource(1000)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := format.Source(src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShow measures the nix-instantiate --parse normal form.
func BenchmarkShow(b *testing.B) {
	src := benchSource(1000)
	f, errs := syntax.Parse("bench.nix", src)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		var out bytes.Buffer
		if err := syntax.Show(&out, f.Expr, syntax.ShowOptions{BaseDir: "/b"}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchSourceFormats keeps the benchmark input honest: it parses,
// formats to the same meaning and round-trips.
func TestBenchSourceFormats(t *testing.T) {
	src := benchSource(3)
	f, errs := syntax.Parse("bench.nix", src)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !bytes.Equal(syntax.Bytes(f), src) {
		t.Fatal("round trip failed")
	}
	out, err := format.Source(src)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := show(src)
	c, _ := show(out)
	if a != c || a == "" {
		t.Fatalf("formatting changed the meaning")
	}
}
