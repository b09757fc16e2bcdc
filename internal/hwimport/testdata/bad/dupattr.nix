{ ... }:
{
  boot.kernelModules = [ "kvm-amd" ];
  boot = {
    kernelModules = [ "kvm-intel" ];
  };
}
