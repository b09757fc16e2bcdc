{ lib, ... }:
lib.mkMerge [ { boot.kernelModules = [ "kvm-amd" ]; } ]
