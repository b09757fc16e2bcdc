{ lib, ... }:
let
  t = lib.types;
  value = t.oneOf [ t.bool t.int t.str (t.listOf t.str) ];
in
{
  options.nix = {
    settings = lib.mkOption {
      type = t.submodule {
        freeformType = t.attrsOf value;
        options = {
          auto-optimise-store = lib.mkOption { type = t.bool; default = false; description = "Whether to deduplicate the store."; };
          experimental-features = lib.mkOption { type = t.listOf t.str; default = [ ]; description = "Experimental Nix features."; };
          trusted-users = lib.mkOption { type = t.listOf t.str; default = [ "root" ]; description = "Users the daemon trusts."; };
        };
      };
      default = { };
      description = "nix.conf settings.";
    };
    gc = {
      automatic = lib.mkOption { type = t.bool; default = false; description = "Whether to collect garbage on a schedule."; };
      dates = lib.mkOption { type = t.str; default = "03:15"; description = "When to collect garbage."; };
      options = lib.mkOption { type = t.str; default = ""; description = "Options of nix-collect-garbage."; };
    };
    optimise.automatic = lib.mkOption { type = t.bool; default = false; description = "Whether to optimise the store on a schedule."; };
  };
}
