# Option declarations and the way the module system prints them. The
# messages are worded as nixpkgs words them, so fleet's error mapping is
# tested against the real shapes.
{ lib }:
let
  b = builtins;
  prioritySuggestion = ''
    Use `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.
  '';
in
{
  isOption = lib.isType "option";

  mkOption = attrs: attrs // { _type = "option"; };

  mkEnableOption = name: lib.mkOption {
    type = lib.types.bool;
    default = false;
    description = "Whether to enable ${name}.";
  };

  unknownModule = "<unknown-file>";

  # showOption prints an option path: names that are not identifiers are
  # quoted, placeholders such as <name> are not.
  showOption = parts: lib.concatMapStringsSep "."
    (p: if p == "*" || b.match "<.*>" p != null then p else lib.escapeNixIdentifier p)
    parts;

  showFiles = files: lib.concatMapStringsSep " and " (f: "`${toString f}'") files;

  # showDefs prints definitions, one "- In `file': value" line each, the
  # value pretty-printed (at most five lines), or without a value when
  # printing it fails.
  showDefs = defs: lib.concatMapStrings
    (def:
      let
        pretty = b.tryEval (lib.toPretty def.value);
        lines = lib.splitString "\n" pretty.value;
        shown = lib.concatStringsSep "\n    " (lib.take 5 lines ++ lib.optional (b.length lines > 5) "...");
        value =
          if !pretty.success then ""
          else if b.length lines > 1 then ":\n    " + shown
          else ": " + shown;
      in
      "\n- In `${toString def.file}'${value}")
    defs;

  # toPretty prints a value as Nix, nested sets and lists over several
  # lines.
  toPretty =
    let
      go = indent: v:
        let
          inner = "\n${indent}  ";
          outer = "\n${indent}";
        in
        if v == null then "null"
        else if b.isBool v then (if v then "true" else "false")
        else if b.isInt v || b.isFloat v then toString v
        else if b.isString v then lib.escapeNixString v
        else if b.isPath v then toString v
        else if lib.isFunction v then
          let args = b.functionArgs v; in
          if args == { } then "<function>"
          else "<function, args: {${lib.concatStringsSep ", " (map (a: if args.${a} then "${a}?" else a) (b.attrNames args))}}>"
        else if b.isList v then
          if v == [ ] then "[ ]"
          else "[" + inner + lib.concatMapStringsSep inner (go "${indent}  ") v + outer + "]"
        else if lib.isDerivation v then "<derivation ${v.name or "?"}>"
        else if v == { } then "{ }"
        else "{" + inner
          + lib.concatMapStringsSep inner (n: "${lib.escapeNixIdentifier n} = ${go "${indent}  " v.${n}};") (b.attrNames v)
          + outer + "}";
    in
    go "";

  getValues = map (d: d.value);
  getFiles = map (d: d.file);

  mergeEqualOption = loc: defs:
    if b.length defs == 1 then (b.head defs).value
    else
      (b.foldl'
        (first: def:
          if def.value != first.value then
            throw "The option `${lib.showOption loc}' has conflicting definition values:${lib.showDefs [ first def ]}\n${prioritySuggestion}"
          else first)
        (b.head defs)
        (b.tail defs)).value;

  mergeUniqueOption = { message }: loc: defs:
    if b.length defs == 1 then (b.head defs).value
    else throw "The option `${lib.showOption loc}' is defined multiple times while it's expected to be unique.\n${message}\nDefinition values:${lib.showDefs defs}\n${prioritySuggestion}";

  mergeOneOption = lib.mergeUniqueOption { message = ""; };

  mergeDefaultOption = loc: defs:
    let values = lib.getValues defs; in
    if b.length values == 1 then b.head values
    else if b.all b.isList values then b.concatLists values
    else if b.all b.isAttrs values then b.foldl' (a: x: a // x) { } values
    else if b.all b.isBool values then b.any (x: x) values
    else if b.all b.isString values then lib.concatStrings values
    else if b.all (x: x == b.head values) values then b.head values
    else throw "Cannot merge definitions of `${lib.showOption loc}'. Definition values:${lib.showDefs defs}";
}
