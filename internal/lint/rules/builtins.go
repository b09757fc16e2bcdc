package rules

import "strings"

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

// prelude are the builtins bound without the builtins. prefix.
var prelude = setOf(`abort baseNameOf break builtins derivation derivationStrict dirOf false
fetchGit fetchMercurial fetchTarball fetchTree fromTOML import isNull map null placeholder
removeAttrs scopedImport throw toString true`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// isGlobal reports whether name is bound in Nix's base environment: the
// prelude, and every primop as __name.
func isGlobal(name string) bool {
	if prelude[name] {
		return true
	}
	if rest, ok := strings.CutPrefix(name, "__"); ok {
		return primops[rest] || rest == "curPos" || rest == "nixPath" || rest == "storeDir" ||
			rest == "currentSystem" || rest == "currentTime" || rest == "nixVersion" || rest == "langVersion"
	}
	return false
}
