{ ... }:
{
  swapDevices = [ { label = "swap"; } ];
}
