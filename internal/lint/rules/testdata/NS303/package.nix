{ stdenv, fetchurl, lib, ... }: # want "unused formal argument `fetchurl`" "unused formal argument `lib`"
stdenv.mkDerivation { name = "x"; }
