{ lib, ... }:
let t = lib.types; in
{
  options = {
    time.timeZone = lib.mkOption { type = t.nullOr t.str; default = null; description = "The time zone."; };
    time.hardwareClockInLocalTime = lib.mkOption { type = t.bool; default = false; description = "Whether the hardware clock is in local time."; };
    i18n.defaultLocale = lib.mkOption { type = t.str; default = "en_US.UTF-8"; description = "The default locale."; };
    console.keyMap = lib.mkOption { type = t.either t.str t.path; default = "us"; description = "The console keymap."; };
  };
}
