# Option types: what a definition may be (check), how several definitions
# become one value (merge), and the description error messages print.
{ lib }:
let
  b = builtins;

  mkOptionType =
    { name
    , description ? name
    , check ? (x: true)
    , merge ? lib.mergeDefaultOption
    , getSubOptions ? (prefix: { })
    , nestedTypes ? { }
    , conjunction ? false
    , functor ? { inherit name; payload = null; }
    }: {
      _type = "option-type";
      inherit name description check merge getSubOptions nestedTypes conjunction functor;
    };

  # phrase is a type's description inside another's: in parentheses when
  # it is itself "a or b".
  phrase = t: if t.conjunction || t.name == "submodule" then "(${t.description})" else t.description;

  mergeEqual = lib.mergeEqualOption;

  between = lo: hi: mkOptionType {
    name = "intBetween";
    description = "integer between ${toString lo} and ${toString hi} (both inclusive)";
    check = x: b.isInt x && x >= lo && x <= hi;
    merge = mergeEqual;
  };

  unsigned = bits: hi: (between 0 hi) // {
    name = "unsignedInt${toString bits}";
    description = "${toString bits} bit unsigned integer; between 0 and ${toString hi} (both inclusive)";
  };

  types = {
    inherit mkOptionType;

    raw = mkOptionType { name = "raw"; description = "raw value"; merge = lib.mergeOneOption; };
    unspecified = mkOptionType { name = "unspecified"; };

    anything = mkOptionType {
      name = "anything";
      description = "anything";
      merge = loc: defs:
        let values = lib.getValues defs; in
        if b.all b.isList values then b.concatLists values
        else if b.all (v: b.isAttrs v && !lib.isDerivation v) values then
          b.mapAttrs (n: vs: types.anything.merge (loc ++ [ n ]) (map (v: { file = "?"; value = v; }) vs)) (lib.zipAttrs values)
        else mergeEqual loc defs;
    };

    bool = mkOptionType {
      name = "bool";
      description = "boolean";
      check = b.isBool;
      merge = mergeEqual;
    };

    int = mkOptionType {
      name = "int";
      description = "signed integer";
      check = b.isInt;
      merge = mergeEqual;
    };

    ints = {
      inherit between;
      u16 = unsigned 16 65535;
      positive = (between 1 9223372036854775807) // { name = "positiveInt"; description = "positive integer, meaning >0"; };
    };

    port = types.ints.u16;

    str = mkOptionType {
      name = "str";
      description = "string";
      check = b.isString;
      merge = mergeEqual;
    };

    lines = mkOptionType {
      name = "lines";
      description = "strings concatenated with \"\\n\"";
      check = b.isString;
      merge = loc: defs: lib.concatStringsSep "\n" (lib.getValues defs);
    };

    path = mkOptionType {
      name = "path";
      description = "path";
      check = x: b.isPath x || (b.isString x && lib.hasPrefix "/" x) || lib.isDerivation x;
      merge = mergeEqual;
    };

    package = mkOptionType {
      name = "package";
      description = "package";
      check = lib.isDerivation;
      merge = lib.mergeOneOption;
    };

    attrs = mkOptionType {
      name = "attrs";
      description = "attribute set";
      check = b.isAttrs;
      merge = loc: defs: b.foldl' (a: x: a // x) { } (lib.getValues defs);
    };

    enum = values: mkOptionType {
      name = "enum";
      description =
        let show = v: if b.isString v then ''"${v}"'' else toString v; in
        if b.length values == 1 then "value ${show (b.head values)} (singular enum)"
        else "one of ${lib.concatMapStringsSep ", " show values}";
      check = x: b.elem x values;
      merge = mergeEqual;
      # The values, for tools that read the option tree.
      functor = { name = "enum"; payload.values = values; };
    };

    nullOr = t: mkOptionType {
      name = "nullOr";
      description = "null or ${phrase t}";
      conjunction = true;
      check = x: x == null || t.check x;
      merge = loc: defs:
        let nulls = b.length (b.filter (d: d.value == null) defs); in
        if nulls == b.length defs then null
        else if nulls != 0 then
          throw "The option `${lib.showOption loc}' is defined both null and not null, in ${lib.showFiles (lib.getFiles defs)}."
        else t.merge loc defs;
      getSubOptions = t.getSubOptions;
      nestedTypes.elemType = t;
    };

    either = t1: t2: mkOptionType {
      name = "either";
      description = "${phrase t1} or ${phrase t2}";
      conjunction = true;
      check = x: t1.check x || t2.check x;
      merge = loc: defs:
        let values = lib.getValues defs; in
        if b.all t1.check values then t1.merge loc defs
        else if b.all t2.check values then t2.merge loc defs
        else lib.mergeOneOption loc defs;
      nestedTypes = { left = t1; right = t2; };
    };

    oneOf = ts: b.foldl' types.either (b.head ts) (b.tail ts);

    # listOf checks and merges every element on its own, at the option
    # path "[definition N-entry M]" as nixpkgs names the M-th element of
    # the N-th definition.
    listOf = t: mkOptionType {
      name = "listOf";
      description = "list of ${phrase t}";
      check = b.isList;
      merge = loc: defs:
        map (x: x.value) (b.filter (x: x ? value) (b.concatLists (lib.imap1
          (n: def: lib.imap1
            (m: v: (lib.mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) t [{ inherit (def) file; value = v; }]).optionalValue)
            def.value)
          defs)));
      getSubOptions = prefix: t.getSubOptions (prefix ++ [ "*" ]);
      nestedTypes.elemType = t;
    };

    attrsOf = t: mkOptionType {
      name = "attrsOf";
      description = "attribute set of ${phrase t}";
      check = b.isAttrs;
      merge = loc: defs:
        let
          byName = lib.zipAttrs (map (def: b.mapAttrs (n: v: { inherit (def) file; value = v; }) def.value) defs);
          merged = b.mapAttrs (n: ds: (lib.mergeDefinitions (loc ++ [ n ]) t ds).optionalValue) byName;
        in
        b.mapAttrs (n: v: v.value) (lib.filterAttrs (n: v: v ? value) merged);
      getSubOptions = prefix: t.getSubOptions (prefix ++ [ "<name>" ]);
      nestedTypes.elemType = t;
    };

    # lazyAttrsOf is attrsOf whose values are merged only when read: a
    # name without a definition is there, and fails when read.
    lazyAttrsOf = t: (types.attrsOf t) // {
      name = "lazyAttrsOf";
      merge = loc: defs:
        b.mapAttrs (n: ds: (lib.mergeDefinitions (loc ++ [ n ]) t ds).mergedValue)
          (lib.zipAttrs (map (def: b.mapAttrs (n: v: { inherit (def) file; value = v; }) def.value) defs));
    };

    # submoduleWith evaluates the definitions as modules of their own,
    # each definition as a module declared in the definition's file; with
    # shorthandOnlyDefinesConfig (as submodule has it) an attribute set is
    # only ever config, so that an option may be called options.
    submoduleWith = { modules, specialArgs ? { }, shorthandOnlyDefinesConfig ? false }:
      let
        # The freeform type the modules declare, for tools that read the
        # option tree (nestedTypes.freeformType, as nixpkgs has it).
        freeformType = (lib.evalModules {
          inherit specialArgs;
          modules = [{ _module.args.name = "<name>"; }] ++ modules;
        })._module.freeformType;
      in
      mkOptionType {
        name = "submodule";
        description = "submodule";
        check = x: b.isAttrs x || lib.isFunction x || b.isPath x;
        merge = loc: defs:
          (lib.evalModules {
            prefix = loc;
            inherit specialArgs;
            modules = [{ _module.args.name = lib.last loc; }] ++ modules
              ++ map (def: if shorthandOnlyDefinesConfig && b.isAttrs def.value
                then { _file = def.file; config = def.value; }
                else { _file = def.file; imports = [ def.value ]; }) defs;
          }).config;
        getSubOptions = prefix:
          (lib.evalModules {
            inherit prefix specialArgs;
            modules = [{ _module.args.name = lib.last prefix; }] ++ modules;
          }).options
          // lib.optionalAttrs (freeformType != null) { _freeformOptions = freeformType.getSubOptions prefix; };
        nestedTypes = lib.optionalAttrs (freeformType != null) { inherit freeformType; };
      };

    submodule = m: types.submoduleWith { modules = lib.toList m; shorthandOnlyDefinesConfig = true; };
  };
in
types
