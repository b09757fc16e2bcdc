# An undefined variable is a parse-time error in Nix, but NS307 reports
# it; NL001 must not report it a second time.
{ a = notBoundAnywhere; }
