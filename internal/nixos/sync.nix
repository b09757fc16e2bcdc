# What `fleetgen nixos sync` reads of a NixOS configuration made of the
# modules the fleet's hosts import and nothing else (so that no
# definition of the fleet's can stop the reading), built with the
# generated flake's locked inputs (flake, as builtins.getFlake gives it)
# and args (SyncArgs, as data). With args.part "options":
#
#   options   every option, as nixpkgs' option documentation walks them
#             (into sub-options, not below visible = false or "shallow"),
#             each { p = path; tr = tree; d = first declaring file; t =
#             type as data | a = alias description | rm = true; sh = true
#             when its sub-options were not walked }; the options of
#             args.modules (home-manager's users, a MicroVM's
#             configuration) are walked as trees of their own;
#   packages  for each attribute path of args.packages, whether pkgs has
#             it: { s = "ok" | "missing" }; when missing, i is how many
#             of its names were found, and n the names of the set the
#             next was missing from, when that is not pkgs;
#   top       the names of pkgs, when a package is missing at the top;
#   inputs    the store path of each flake input, to name declaring files.
#
# With args.part "removed", the messages of the configuration's
# assertions that say a removed option "no longer has any effect", which
# carry nixpkgs' instructions. It only reads: nothing is built. Types are
# data to a depth of six.
flake: args:
let
  b = builtins;
  isOption = v: b.isAttrs v && (v._type or "") == "option";
  # Placeholders of attribute names (<name>, or a module's own) are <name>.
  norm = map (s: if s != "*" && b.match "<.*>" s != null then "<name>" else s);
  intish = n: b.elem n [ "int" "intBetween" "positiveInt" "unsignedInt" ]
    || b.match "(un)?signedInt[0-9]+" n != null;
  scalar = x: b.isString x || b.isInt x || b.isBool x || b.isFloat x || x == null;

  ty = d: t:
    let
      n = t.name or "unspecified";
      nt = t.nestedTypes or { };
      sub = x: if d >= 6 then { n = "unspecified"; } else ty (d + 1) x;
      pl = (t.functor or { }).payload or null;
      values = if b.isAttrs pl && pl ? values then pl.values else if b.isList pl then pl else [ ];
      ok = b.filter scalar values;
    in
    { inherit n; }
    // (if n == "enum" then { v = ok; vk = b.length ok == b.length values; } else { })
    // (if nt ? elemType then { e = sub nt.elemType; } else { })
    // (if nt ? left && nt ? right then { l = sub nt.left; r = sub nt.right; } else { })
    // (if nt ? freeformType then { f = sub nt.freeformType; } else { })
    // (if nt ? coercedType && nt ? finalType then { c = sub nt.coercedType; fi = sub nt.finalType; } else { })
    // (if n == "separatedString" then { s = if b.isString pl then pl else if b.isAttrs pl then pl.sep or "" else ""; } else { })
    // (if intish n && b.isString (t.description or null) then { d = t.description; } else { });

  record = tree: o:
    let
      vis = o.visible or true;
      desc0 = o.description or null;
      desc = if b.isAttrs desc0 then desc0.text or null else desc0;
      alias = b.isString desc && b.substring 0 9 desc == "Alias of ";
      removed = vis == false && !(o ? description) && o ? apply && (o.type.name or "") == "unspecified";
      ds = o.declarations or [ ];
    in
    { p = norm o.loc; tr = tree; d = if ds == [ ] then "" else toString (b.head ds); }
    // (if alias then { a = desc; } else if removed then { rm = true; } else { t = ty 0 o.type; })
    // (if vis == false || vis == "shallow" then { sh = true; } else { });

  specOf = loc: let m = b.filter (s: s.path == loc) args.modules; in if m == [ ] then null else b.head m;

  subOptions = o: (o.type.getSubOptions or (_: { })) o.loc;

  node = tree: o:
    let
      r = record tree o;
      spec = specOf r.p;
      subs = subOptions o;
      roots = if spec == null || spec.roots == null then subs
        else b.intersectAttrs (b.listToAttrs (map (n: { name = n; value = null; }) spec.roots)) subs;
    in
    if spec != null then [ (removeAttrs r [ "t" ] // { m = true; }) ] ++ walk spec.tree roots
    else [ r ] ++ (if r ? sh || r ? a || r ? rm then [ ] else walk tree subs);

  # walk reads a set of options; below the top, the module system's own
  # options (_module) are left out.
  walk = tree: set: b.concatMap
    (name:
      let v = set.${name}; in
      if name == "_freeformOptions" || name == "_module" then [ ]
      else if isOption v then node tree v
      else if b.isAttrs v then walk tree v
      else [ ])
    (b.attrNames set);

  inputs = removeAttrs flake.inputs [ "self" ];
  c = inputs.nixpkgs.lib.nixosSystem {
    modules = [{ nixpkgs.hostPlatform = args.system; nixpkgs.config.allowUnfree = true; }]
      ++ map (p: b.foldl' (s: n: s.${n}) inputs p) args.imports;
    specialArgs = { inherit inputs; };
  };

  # A package exists when its set has its name; a set on the way is
  # looked into only when evaluating it succeeds.
  pkgs = c._module.args.pkgs;
  lookup = depth: set: path:
    if path == [ ] then { s = "ok"; }
    else if !(b.isAttrs set) || !(set ? ${b.head path}) then
      { s = "missing"; i = depth; } // (if depth > 0 && b.isAttrs set then { n = b.attrNames set; } else { })
    else if b.tail path == [ ] then { s = "ok"; }
    else
      let r = b.tryEval set.${b.head path}; in
      if r.success then lookup (depth + 1) r.value (b.tail path) else { s = "missing"; i = depth; };
  packages = map (p: lookup 0 pkgs p) args.packages;

  removed = b.concatMap
    (a:
      let m = b.tryEval (let s = a.message; in b.deepSeq s s); in
      if m.success && b.isString m.value && b.substring 0 23 m.value == "The option definition `" then [ m.value ] else [ ])
    (c.config.assertions or [ ]);
in
if args.part == "removed" then removed else
{
  options = walk "nixos" c.options ++ (if c.options ? _module then walk "nixos" c.options._module else [ ]);
  inherit packages;
  top = if b.any (p: p.s == "missing" && p.i == 0) packages then b.attrNames pkgs else null;
  inputs = b.mapAttrs (n: i: if b.isAttrs i && i ? outPath then toString i.outPath else "") inputs;
}
