# Stand-in for NixOS's switch-to-configuration (the lines above this one set
# out, host and gen). It records what it was asked to do under
# $FLEET_TEST_ROOT instead of changing the machine, and misbehaves on request:
#
#   $FLEET_TEST_ROOT/inject/fail-<gen>  exit 4 after switching, as NixOS does
#                                       when units fail to start
#   $FLEET_TEST_ROOT/inject/hold-<gen>  after switching, create held-<gen> and
#                                       wait until the inject file is removed
set -eu
root=${FLEET_TEST_ROOT:?FLEET_TEST_ROOT is not set}
mode=${1:?usage: switch-to-configuration switch|boot|test}
log=$root/activations.log
echo "$host $gen $mode begin" >> "$log"
case $mode in
switch|test)
  mkdir -p "$root/run"
  ln -sfn "$out" "$root/run/current-system.new"
  mv -T "$root/run/current-system.new" "$root/run/current-system"
  ;;
boot) ;;
*) echo "switch-to-configuration: unknown action $mode" >&2; exit 1 ;;
esac
case $mode in
switch|boot) echo "$out" > "$root/boot-default" ;;
esac
if [ -e "$root/inject/hold-$gen" ]; then
  : > "$root/held-$gen"
  n=0
  while [ -e "$root/inject/hold-$gen" ] && [ $n -lt 600 ]; do
    sleep 0.1
    n=$((n + 1))
  done
fi
if [ -e "$root/inject/fail-$gen" ]; then
  echo "fixture: warning: the following units failed: fixture.service" >&2
  echo "$host $gen $mode failed" >> "$log"
  exit 4
fi
echo "$host $gen $mode ok" >> "$log"
