# Stand-in for NixOS's switch-to-configuration (the lines above this one set
# out, host and gen). It records what it was asked to do under
# $FLEET_TEST_ROOT instead of changing the machine, and misbehaves on request:
#
#   $FLEET_TEST_ROOT/inject/fail-<gen>  exit 4 after switching, as NixOS does
#                                       when units fail to start
#   $FLEET_TEST_ROOT/inject/hold-<gen>  after switching, create held-<gen> and
#                                       wait until the inject file is removed
#   $FLEET_TEST_ROOT/inject/fail-dry-activate
#                                       dry-activate fails (exit 1)
#
# dry-activate changes nothing and prints, to standard error and in the
# words and order of NixOS's switch-to-configuration, what activation would
# do to the units under etc/systemd/system, comparing the running system's
# with this one's: a unit only the running system has is stopped, a new one
# started, a changed one restarted, or reloaded when its new text has
# X-ReloadIfChanged=true.
set -eu
root=${FLEET_TEST_ROOT:?FLEET_TEST_ROOT is not set}
mode=${1:?usage: switch-to-configuration switch|boot|test|dry-activate}
log=$root/activations.log

# would VERB UNITS prints NixOS's line for a non-empty list of units.
would() {
  if [ -n "$2" ]; then
    echo "would $1 the following units: $(echo $2 | sed 's/ /, /g')" >&2
  fi
}

if [ "$mode" = dry-activate ]; then
  if [ -e "$root/inject/fail-dry-activate" ]; then
    echo "fixture: dry-activate fails on purpose" >&2
    exit 1
  fi
  cur=$root/run/current-system/etc/systemd/system
  new=$out/etc/systemd/system
  stop= start= restart= reload=
  for f in "$cur"/*; do
    [ -e "$f" ] || continue
    u=${f##*/}
    [ -e "$new/$u" ] || stop="$stop $u"
  done
  for f in "$new"/*; do
    [ -e "$f" ] || continue
    u=${f##*/}
    if [ ! -e "$cur/$u" ]; then
      start="$start $u"
    elif ! cmp -s "$cur/$u" "$f"; then
      if grep -q '^X-ReloadIfChanged=true' "$f"; then
        reload="$reload $u"
      else
        restart="$restart $u"
      fi
    fi
  done
  would stop "$stop"
  echo "would activate the configuration..." >&2
  would reload "$reload"
  would restart "$restart"
  would start "$start"
  exit 0
fi
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
