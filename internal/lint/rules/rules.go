// Package rules holds fleet's lint rules: one lint.Rule value each, for
// hand-written Nix (the NL, NS, NM, NR and NO families of the catalogue)
// and for the merged values of a fleet (FV).
package rules

import "fleetnix.dev/fleet/internal/lint"

// All is every rule, in catalogue order. Scope, which only computes a
// result for other rules, is not among them; the runner adds it where
// required.
var All = []*lint.Rule{
	lint.BadSuppression,
	ParseError, DuplicateAttr, DynamicAttrForbidden,
	URLLiteral, URILooksLikeLambda, LegacyLet, OrAsIdentifier, UnknownEscape, SurprisingJuxtaposition,
	ShortPathLiteral, AbsolutePath, NumberLiteral, DeprecatedToPath, PrimopPrefix, BuiltinShadowed,
	BoolComparison, BoolSimplification, UselessHasAttr, UselessParens, EmptyLetIn, EmptyInherit,
	EmptyListConcat, UpdateEmptySet, ListLiteralConcat, SetLiteralUpdate, ManualInherit, ManualInheritFrom,
	CollapsibleLetIn, RedundantPatternBind, RepeatedKeys,
	UnusedLetBinding, UnusedLambdaArg, UnusedFormal, UnusedAtBinding, UnusedRec, UnusedWith,
	UndefinedVariable, TopLevelWith, SelfReference, MergeRecAttrset,
	MkIfConstant, IfInsteadOfMkIf, MkIfWithUpdate, ConfigIfSelfRecursion,
	LookupPath, ImpureNixpkgsImport, ImportFromDerivation, UnpinnedFetch, ImpureBuiltin,
	SecretInStore, UnhardenedService, FirewallDisabled, NoAutomaticGC, ImperativeNixEnv, WeakSSH, FileOutsideDir,
	LiteralSecret, FirewallOff, OpenPortUnused, PortCollision, UnhardenedFleetService, NoGC,
	DanglingReference, UnscrapedExporter, WorldReadableSecret, InsecureCache, OverrideOfFixed, StateVersionChanged,
	PlainHTTPCache, DeployLockout,
}
