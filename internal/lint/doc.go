// Package lint defines the contract between lint rules and the programs
// that run them, and the runner itself.
//
// A Rule is a value: its identity (ID and Name), its documentation, its
// default severity and a Run function. Source rules (Run) see one parsed
// Nix file through a Pass; fleet rules (RunFleet) see the merged values of
// every host through a FleetPass. Both report Diagnostics, which may carry
// Fixes: plain text edits that a driver applies with ApplyFixes or FixSource.
//
// # Suppression
//
// A finding is suppressed by a comment on its line or on the line above:
//
//	# fleet: ignore NS301: kept for the next release
//
// The rule may be named by ID or name, several separated by commas, and
// the reason after the second colon is required: a suppression without one
// suppresses nothing and is itself reported. `# fleet: ignore-file RULE:
// reason` anywhere in a file suppresses the rule for the whole file.
//
// # Fixes
//
// Every Fix has a Kind. Safe fixes never change what the file means;
// Guarded fixes are offered only when the rule proved a named semantic
// condition; Suggested fixes are shown and never applied. FixSource applies the
// first applicable fix of each diagnostic, skipping overlapping edits,
// re-parses and repeats until nothing changes, and refuses a result that
// no longer parses.
package lint
