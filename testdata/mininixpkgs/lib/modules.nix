# A small module system: modules declare options and define values; the
# definitions of each option are filtered by priority, checked against
# its type and merged. A definition of an option nobody declares is an
# error, as in nixpkgs.
{ lib }:
let
  b = builtins;

  # unify turns a module (set or the result of calling a module function)
  # into { _file, key, imports, options, config, freeformType }.
  unify = file: key: m:
    if m ? config || m ? options then
      {
        _file = m._file or file;
        key = toString (m.key or key);
        imports = m.imports or [ ];
        options = m.options or { };
        config = m.config or { };
        freeformType = m.freeformType or null;
      }
    else
      {
        _file = m._file or file;
        key = toString (m.key or key);
        imports = m.imports or [ ];
        options = { };
        config = removeAttrs m [ "_file" "key" "imports" "freeformType" ];
        freeformType = m.freeformType or null;
      };

  # call applies a module function to the module arguments: those it
  # names come from args, else from config._module.args.
  call = key: f: args:
    if !lib.isFunction f then f
    else
      let
        wanted = b.attrNames (b.functionArgs f);
        extra = b.listToAttrs (map
          (n: lib.nameValuePair n (b.addErrorContext
            "while evaluating the module argument `${n}' in \"${key}\":"
            (args.${n} or args.config._module.args.${n})))
          wanted);
      in
      f (args // extra);

  load = args: parentFile: key: m:
    if lib.isFunction m || b.isAttrs m then unify parentFile key (call key m args)
    else unify (toString m) (toString m) (call (toString m) (import m) args);

  # collect loads modules and everything they import, each module once
  # (by key).
  collect = args: modules:
    let
      walk = parentFile: parentKey: ms: lib.imap1
        (n: m:
          let mod = load args parentFile "${parentKey}:anon-${toString n}" m; in
          { key = mod.key; module = mod; children = walk mod._file mod.key mod.imports; })
        ms;
    in
    map (x: x.module) (b.genericClosure {
      startSet = walk lib.unknownModule "" modules;
      operator = x: x.children;
    });

  # Properties: mkIf, mkMerge and mkOverride.
  pushDown = cfg:
    if (cfg._type or "") == "merge" then b.concatMap pushDown cfg.contents
    else if (cfg._type or "") == "if" then map (b.mapAttrs (n: v: lib.mkIf cfg.condition v)) (pushDown cfg.content)
    else if (cfg._type or "") == "override" then map (b.mapAttrs (n: v: lib.mkOverride cfg.priority v)) (pushDown cfg.content)
    else [ cfg ];

  discharge = def:
    if (def._type or "") == "merge" then b.concatMap discharge def.contents
    else if (def._type or "") == "if" then
      if !b.isBool def.condition then throw "‘mkIf’ called with a non-Boolean condition"
      else if def.condition then discharge def.content
      else [ ]
    else [ def ];

  priorityOf = def: if (def.value._type or "") == "override" then def.value.priority else 100;

  filterOverrides = defs:
    let
      highest = b.foldl' (p: d: let q = priorityOf d; in if q < p then q else p) 9999 defs;
      strip = d: if (d.value._type or "") == "override" then d // { value = d.value.content; } else d;
    in
    {
      values = map strip (b.filter (d: priorityOf d == highest) defs);
      highestPrio = highest;
    };

  # merge walks the declarations and definitions of modules together,
  # evaluating each declared option and returning the definitions no
  # option matches.
  merge = prefix: decls: defs:
    let
      declsByName = lib.zipAttrs (map (d: b.mapAttrs (n: o: { _file = d._file; options = o; }) d.options) decls);
      defsByName = lib.zipAttrs (b.concatMap
        (d: map (c: b.mapAttrs (n: v: { inherit (d) file; value = v; }) c) (pushDown d.config))
        defs);
      results = b.mapAttrs
        (name: ds:
          let
            loc = prefix ++ [ name ];
            here = defsByName.${name} or [ ];
            options = b.length (b.filter (d: lib.isOption d.options) ds);
          in
          if options == b.length ds then
            { matched = evalOption loc (declare loc ds) here; unmatched = [ ]; }
          else if options != 0 then
            let
              o = lib.findFirst (d: lib.isOption d.options) null ds;
              n = lib.findFirst (d: !lib.isOption d.options) null ds;
            in
            throw "The option `${lib.showOption loc}' in `${o._file}' is a prefix of options in `${n._file}'."
          else
            let r = merge loc (map (d: { inherit (d) _file; options = d.options; }) ds) (map (d: { inherit (d) file; config = d.value; }) here); in
            { matched = r.matched; unmatched = r.unmatched; })
        declsByName;
      undeclared = removeAttrs defsByName (b.attrNames declsByName);
    in
    {
      matched = b.mapAttrs (n: r: r.matched) results;
      unmatched =
        b.concatLists (lib.mapAttrsToList (n: r: map (d: d // { prefix = [ n ] ++ d.prefix; }) r.unmatched) results)
        ++ b.concatLists (lib.mapAttrsToList (n: ds: map (d: d // { prefix = [ n ] ++ (d.prefix or [ ]); }) ds) undeclared);
    };

  # declare merges the declarations of one option: only one may give its
  # type and default.
  declare = loc: ds:
    b.foldl'
      (acc: d:
        if (acc ? type && d.options ? type) || (acc ? default && d.options ? default) then
          throw "The option `${lib.showOption loc}' in `${d._file}' is already declared in ${lib.showFiles acc.declarations}."
        else acc // removeAttrs d.options [ "_type" ] // { declarations = acc.declarations ++ [ d._file ]; })
      { inherit loc; declarations = [ ]; _type = "option"; }
      ds;

  evalOption = loc: opt: defs:
    let
      withDefault = lib.optional (opt ? default) { file = b.head opt.declarations; value = lib.mkOptionDefault opt.default; } ++ defs;
      type = opt.type or lib.types.unspecified;
      res = lib.mergeDefinitions loc type withDefault;
      value = if opt ? apply then opt.apply res.mergedValue else res.mergedValue;
    in
    opt // {
      value = b.addErrorContext "while evaluating the option `${lib.showOption loc}':" value;
      inherit type;
      inherit (res) isDefined highestPrio;
      definitions = map (d: d.value) res.defsFinal;
      files = map (d: d.file) res.defsFinal;
    };
in
{
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOptionDefault = lib.mkOverride 1500;
  mkDefault = lib.mkOverride 1000;
  mkForce = lib.mkOverride 50;

  mergeDefinitions = loc: type: defs: rec {
    defsFinal' = filterOverrides (b.concatMap
      (d: map (v: { inherit (d) file; value = v; })
        (b.addErrorContext "while evaluating definitions from `${toString d.file}':" (discharge d.value)))
      defs);
    defsFinal = defsFinal'.values;
    highestPrio = defsFinal'.highestPrio;
    isDefined = defsFinal != [ ];
    mergedValue =
      if isDefined then
        if b.all (d: type.check d.value) defsFinal then type.merge loc defsFinal
        else
          let invalid = b.filter (d: !type.check d.value) defsFinal; in
          throw "A definition for option `${lib.showOption loc}' is not of type `${type.description}'. Definition values:${lib.showDefs invalid}"
      else throw "The option `${lib.showOption loc}' is used but not defined.";
    optionalValue = if isDefined then { value = mergedValue; } else { };
  };

  evalModules = { modules, prefix ? [ ], specialArgs ? { } }:
    let
      internal = {
        _file = toString ./modules.nix;
        key = toString ./modules.nix;
        options._module = {
          args = lib.mkOption {
            type = lib.types.lazyAttrsOf lib.types.raw;
            internal = true;
            description = "Arguments passed to each module.";
          };
          check = lib.mkOption {
            type = lib.types.bool;
            internal = true;
            default = true;
            description = "Whether definitions must have matching declarations.";
          };
        };
        config._module.args = { };
      };
      args = { inherit lib options config; } // specialArgs;
      collected = collect args (modules ++ [ internal ]);
      merged = merge prefix collected (map (m: { file = m._file; config = m.config; }) collected);
      options = merged.matched;
      freeform = lib.findFirst (t: t != null) null (map (m: m.freeformType) collected);
      declared = lib.mapAttrsRecursiveCond (v: !lib.isOption v) (_: o: o.value) options;
      config =
        if freeform == null || merged.unmatched == [ ] then declared
        else lib.recursiveUpdate
          (freeform.merge prefix (map (d: { inherit (d) file; value = lib.setAttrByPath d.prefix d.value; }) merged.unmatched))
          declared;
      checked =
        if freeform == null && merged.unmatched != [ ] && declared._module.check then
          let
            first = b.head merged.unmatched;
            optText = lib.showOption (prefix ++ first.prefix);
            defText = b.addErrorContext
              "while evaluating the error message for definitions for `${optText}', which is an option that does not exist"
              (b.addErrorContext "while evaluating a definition from `${toString first.file}'" (lib.showDefs [ first ]));
          in
          throw "The option `${optText}' does not exist. Definition values:${defText}"
        else null;
    in
    b.seq checked {
      inherit options;
      config = removeAttrs config [ "_module" ];
      # The module system's own values, as nixpkgs exposes them: the
      # arguments, the special arguments and the freeform type.
      _module = config._module // { inherit specialArgs; freeformType = freeform; };
    };

  # mkRenamedOptionModule declares `from' as an alias of `to': its
  # definitions become definitions of `to', with a warning.
  mkRenamedOptionModule = from: to: { config, options, ... }:
    let
      fromOpt = lib.getAttrFromPath from options;
    in
    {
      options = lib.setAttrByPath from (lib.mkOption {
        visible = false;
        description = "Alias of {option}`${lib.showOption to}`.";
        apply = x: b.trace "Obsolete option `${lib.showOption from}' is used. It was renamed to `${lib.showOption to}'."
          (lib.getAttrFromPath to config);
      });
      config = lib.mkMerge [
        {
          warnings = lib.optional fromOpt.isDefined
            "The option `${lib.showOption from}' defined in ${lib.showFiles fromOpt.files} has been renamed to `${lib.showOption to}'.";
        }
        (lib.mkIf fromOpt.isDefined
          (lib.setAttrByPath to (lib.mkMerge (map (lib.mkOverride fromOpt.highestPrio) fromOpt.definitions))))
      ];
    };

  # mkRemovedOptionModule declares an option that no longer exists: a
  # definition of it fails an assertion saying what to do instead.
  mkRemovedOptionModule = optionName: instructions: { options, ... }: {
    options = lib.setAttrByPath optionName (lib.mkOption {
      visible = false;
      apply = x: throw "The option `${lib.showOption optionName}' can no longer be used since it's been removed. ${instructions}";
    });
    config.assertions =
      let opt = lib.getAttrFromPath optionName options; in
      [{
        assertion = !opt.isDefined;
        message = ''
          The option definition `${lib.showOption optionName}' in ${lib.showFiles opt.files} no longer has any effect; please remove it.
          ${instructions}
        '';
      }];
  };

  # checkAssertWarn fails with every failed assertion, or prints the
  # warnings and returns val.
  checkAssertWarn = assertions: warnings: val:
    let failed = map (x: x.message) (b.filter (x: !x.assertion) assertions); in
    if failed != [ ] then
      throw "\nFailed assertions:\n${lib.concatMapStringsSep "\n" (x: "- ${x}") failed}"
    else lib.showWarnings warnings val;
}
