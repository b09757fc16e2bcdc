# projection returns the values of every visible, defined option below
# opts as JSON-able data: packages become their store paths (so a system
# depends on them), paths become strings, functions a placeholder. Reading
# every value is what makes a toplevel's evaluation check every definition,
# as a real system's many units do.
{ lib }:
let
  b = builtins;
  clean = v:
    if lib.isDerivation v then v.outPath
    else if b.isPath v then toString v
    else if lib.isFunction v then "<function>"
    else if b.isList v then map clean v
    else if b.isAttrs v then b.mapAttrs (n: clean) v
    else v;
  shown = o: !(o.internal or false) && (o.visible or true) != false && o.isDefined;
  go = opts: b.listToAttrs (b.concatMap
    (n:
      let o = opts.${n}; in
      if lib.isOption o then lib.optional (shown o) (lib.nameValuePair n (clean o.value))
      else if b.isAttrs o then [ (lib.nameValuePair n (go o)) ]
      else [ ])
    (b.attrNames opts));
in
go
