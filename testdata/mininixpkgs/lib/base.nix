# Plain helpers over lists, attribute sets and strings: the small part of a
# nixpkgs-like lib the module system here needs. Written for fleet's tests.
{ lib }:
let
  b = builtins;
in
{
  id = x: x;
  const = x: _: x;
  flip = f: a: c: f c a;
  pipe = x: fs: b.foldl' (acc: f: f acc) x fs;

  isFunction = f: b.isFunction f || (b.isAttrs f && f ? __functor);
  isAttrs = b.isAttrs;
  isList = b.isList;
  isString = b.isString;
  isBool = b.isBool;
  isInt = b.isInt;
  isPath = b.isPath;
  isDerivation = x: b.isAttrs x && (x.type or null) == "derivation";
  isType = t: x: b.isAttrs x && (x._type or null) == t;

  # Lists.
  head = b.head;
  tail = b.tail;
  length = b.length;
  filter = b.filter;
  elem = b.elem;
  all = b.all;
  any = b.any;
  concatLists = b.concatLists;
  concatMap = b.concatMap;
  foldl' = b.foldl';
  foldr = op: nul: list:
    let
      n = b.length list;
      go = i: if i == n then nul else op (b.elemAt list i) (go (i + 1));
    in
    go 0;
  last = list: b.elemAt list (b.length list - 1);
  take = n: list: b.genList (i: b.elemAt list i) (if n < b.length list then n else b.length list);
  imap1 = f: list: b.genList (i: f (i + 1) (b.elemAt list i)) (b.length list);
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  toList = x: if b.isList x then x else [ x ];
  count = pred: list: b.length (b.filter pred list);
  findFirst = pred: default: list:
    let found = b.filter pred list; in if found == [ ] then default else b.head found;
  reverseList = list:
    let n = b.length list; in b.genList (i: b.elemAt list (n - i - 1)) n;
  flatten = x: if b.isList x then b.concatMap lib.flatten x else [ x ];
  unique = b.foldl' (acc: x: if b.elem x acc then acc else acc ++ [ x ]) [ ];

  # Attribute sets.
  attrNames = b.attrNames;
  attrValues = b.attrValues;
  mapAttrs = b.mapAttrs;
  listToAttrs = b.listToAttrs;
  catAttrs = b.catAttrs;
  nameValuePair = name: value: { inherit name value; };
  mapAttrsToList = f: set: map (n: f n set.${n}) (b.attrNames set);
  mapAttrs' = f: set: b.listToAttrs (lib.mapAttrsToList f set);
  filterAttrs = pred: set:
    b.listToAttrs (b.concatMap (n: lib.optional (pred n set.${n}) (lib.nameValuePair n set.${n})) (b.attrNames set));
  optionalAttrs = cond: set: if cond then set else { };
  genAttrs = names: f: b.listToAttrs (map (n: lib.nameValuePair n (f n)) names);
  setAttrByPath = path: value:
    if path == [ ] then value else { ${b.head path} = lib.setAttrByPath (b.tail path) value; };
  attrByPath = path: default: set:
    if path == [ ] then set
    else if b.isAttrs set && set ? ${b.head path} then lib.attrByPath (b.tail path) default set.${b.head path}
    else default;
  getAttrFromPath = path: set:
    lib.attrByPath path (throw "cannot find attribute `${lib.concatStringsSep "." path}'") set;
  recursiveUpdate = lhs: rhs:
    lhs // b.mapAttrs
      (n: v: if b.isAttrs v && b.isAttrs (lhs.${n} or null) && !lib.isDerivation v
        then lib.recursiveUpdate lhs.${n} v else v)
      rhs;
  # zipAttrs turns a list of sets into a set of lists, by name.
  zipAttrs = sets:
    b.foldl' (acc: s: acc // b.mapAttrs (n: v: (acc.${n} or [ ]) ++ [ v ]) s) { } sets;
  mapAttrsRecursiveCond = cond: f: set:
    let
      go = path: s: b.mapAttrs
        (n: v: if b.isAttrs v && cond v then go (path ++ [ n ]) v else f (path ++ [ n ]) v)
        s;
    in
    go [ ] set;

  # Strings.
  concatStrings = b.concatStringsSep "";
  concatStringsSep = b.concatStringsSep;
  concatMapStrings = f: list: b.concatStringsSep "" (map f list);
  concatMapStringsSep = sep: f: list: b.concatStringsSep sep (map f list);
  optionalString = cond: s: if cond then s else "";
  hasPrefix = pre: s: b.substring 0 (b.stringLength pre) s == pre;
  splitString = sep: s: b.filter b.isString (b.split (lib.escapeRegex sep) s);
  escapeRegex = b.replaceStrings
    [ "\\" "[" "]" "(" ")" "{" "}" "." "*" "+" "?" "^" "$" "|" ]
    [ "\\\\" "\\[" "\\]" "\\(" "\\)" "\\{" "\\}" "\\." "\\*" "\\+" "\\?" "\\^" "\\$" "\\|" ];
  # escapeNixString quotes s as a Nix string literal.
  escapeNixString = s: b.replaceStrings [ "$" ] [ "\\$" ] (b.toJSON s);
  isValidNixIdentifier = s: b.match "[a-zA-Z_][a-zA-Z0-9_'-]*" s != null;
  escapeNixIdentifier = s: if lib.isValidNixIdentifier s then s else lib.escapeNixString s;

  # Evaluation messages.
  esc = b.fromJSON ''"\u001b"'';
  # warn prints msg the way nixpkgs' lib.warn does on a Nix without
  # builtins.warn, then returns v.
  warn = msg: v:
    b.trace "${lib.esc}[1;31mevaluation warning:${lib.esc}[0m ${msg}" v;
  showWarnings = warnings: res: lib.foldr (w: x: lib.warn w x) res warnings;
}
