{
  /* fleet: ignore NS301 */ # want "suppression of NS301 has no reason"
  a = 1;
  /* fleet: ignore: because */ # want "suppression names no rule"
  b = 2;
  # fleet: ignore NL101: upstream wants the bare URL
  c = 3;
}
