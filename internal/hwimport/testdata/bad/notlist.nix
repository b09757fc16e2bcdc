{ ... }:
{
  boot.kernelModules = "kvm-amd";
}
