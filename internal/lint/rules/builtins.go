package rules

import (
	"strings"

	"fleetnix.dev/fleet/internal/nix/syntax"
)

// primops are the attributes of builtins in Nix 2.8 and the later
// releases fleet users meet (2.18 to 2.24).
var primops = setOf(`abort add addErrorContext all any appendContext attrNames attrValues
baseNameOf bitAnd bitOr bitXor break builtins catAttrs ceil compareVersions concatLists
concatMap concatStringsSep convertHash currentSystem currentTime deepSeq derivation
derivationStrict dirOf div elem elemAt false fetchClosure fetchGit fetchMercurial
fetchTarball fetchTree fetchurl filter filterSource findFile flakeRefToString floor foldl'
fromJSON fromTOML functionArgs genList genericClosure getAttr getContext getEnv getFlake
groupBy hasAttr hasContext hashFile hashString head import intersectAttrs isAttrs isBool
isFloat isFunction isInt isList isNull isPath isString langVersion length lessThan
listToAttrs map mapAttrs match mul nixPath nixVersion null outputOf parseDrvName
parseFlakeRef partition path pathExists placeholder readDir readFile readFileType
removeAttrs replaceStrings scopedImport seq sort split splitVersion storeDir storePath
stringLength sub substring tail throw toFile toJSON toPath toString toXML trace
traceVerbose true tryEval typeOf unsafeDiscardOutputDependency unsafeDiscardStringContext
unsafeGetAttrPos warn zipAttrsWith`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// inPrelude reports whether the builtin name is also bound without the
// builtins. prefix, in the parser's table of globals.
func inPrelude(name string) bool {
	return !strings.HasPrefix(name, "__") && syntax.IsGlobal(name)
}

// isGlobal reports whether name is bound in Nix's base environment. It is
// the parser's table, plus __curPos, which Nix's parser turns into a
// position before it resolves names.
func isGlobal(name string) bool {
	return name == "__curPos" || syntax.IsGlobal(name)
}
