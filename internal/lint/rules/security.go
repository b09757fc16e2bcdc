package rules

// Facts about secrets and service hardening that the Nix rules (NO601,
// NO602) and the fleet value rules (FV01, FV05) share.

import "regexp"

// What looks like a secret: file paths, encrypted files, option names,
// and option names that only point at a secret.
var (
	secretPathRx = regexp.MustCompile(`(?i)(\.key$|\.pem$|\.p12$|\.pfx$|(^|/)id_(rsa|ed25519|ecdsa)$|(^|/)secrets?/|^/run/secrets|^/run/agenix|\.env$)`)
	encryptedRx  = regexp.MustCompile(`(?i)\.(age|sops|gpg|asc|enc)$`)
	secretNameRx = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|private_?key|jwt)`)
	notSecretRx  = regexp.MustCompile(`(?i)(file|path|hashed|command|cmd|user(name)?|length|enable|dir|name|type|env)$`)
)

// hardening are the serviceConfig keys of the baseline.
var hardening = []string{"NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "CapabilityBoundingSet", "SystemCallFilter"}
