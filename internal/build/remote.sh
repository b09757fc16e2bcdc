# fleet's activation protocol, run on a target host. The deployer writes this
# file to $root/run/fleet/<token>.sh and runs
#
#   sh <file> ACTION ROOT TOKEN [ARGS...]
#
# ACTION is one of
#   activate NEW MODE CONFIRM LIMIT ROLLBACK
#       record the old generation, start the watchdog, start the runner,
#       wait for the runner's outcome and print it
#   run         (detached) set the profile, switch, roll back on failure
#   watchdog    (detached) started before the runner: rolls back an
#               activation that dies, or that still runs after LIMIT
#               seconds (0: no limit), and, with CONFIRM > 0 seconds, one
#               not confirmed within CONFIRM seconds of its end
#   confirm     keep the new generation, unless the watchdog already decided
#   rollback    go back to the old generation, unless already decided;
#               waits for the runner, unless activate never got to start it
#   revert      take a confirmed deployment back to the old generation
#   status      print what is known about this deployment
#
# The runner and the watchdog run in sessions of their own, so a lost ssh
# connection interrupts neither. The deployer and the watchdog decide with
# one atomic mkdir of $base.lock: whoever creates it decides the outcome.
# Every change fleet makes to the running system (activate, rollback, and
# deploy once confirmed) is appended to $root/var/lib/fleet/deployments, so
# `fleetgen status` can tell a system fleet activated from one switched to
# by other means.
# Output lines starting with "fleet: " are for the deployer.
set -u
action=$1 root=$2 token=$3
shift 3
profile=$root/nix/var/nix/profiles/system
current=$root/run/current-system
state=$root/run/fleet
self=$state/$token.sh
base=$state/$token
journal=$root/var/lib/fleet/deployments

get() { cat "$base.$1" 2>/dev/null || true; }

# record appends what the running system and the boot default now are.
record() {
  mkdir -p "${journal%/*}" &&
    printf '%s %s %s %s %s\n' "$(date +%s)" "$1" \
      "$(readlink "$current" 2>/dev/null || echo -)" \
      "$(readlink -f "$profile" 2>/dev/null || echo -)" "$token" >> "$journal"
}

# report writes the runner's outcome; the status file appears whole.
report() {
  printf 'fleet: status=%s\nfleet: result=%s\nfleet: ended=%s\n' "$1" "$2" "$3" > "$base.status.tmp"
  mv "$base.status.tmp" "$base.status"
}

# alive succeeds while process $1 runs; a zombie, whose parent has not
# reaped it yet, has ended.
alive() {
  st=$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ]
}

# runner_gone succeeds when the runner has exited without reporting.
runner_gone() {
  pid=$(get pid)
  [ -n "$pid" ] && ! alive "$pid" && [ ! -e "$base.status" ]
}

wait_runner() {
  while [ ! -e "$base.status" ]; do sleep 0.1; done
}

# rollback_now brings back the generation recorded before activation: the
# profile's old generation as boot default, and the old running system.
rollback_now() {
  rb_mode=$(get mode) rb_old=$(get old) rb_oldgen=$(get oldgen)
  rb_rc=0
  if [ "$rb_mode" != test ]; then
    if [ -z "$rb_oldgen" ]; then
      echo "fleet: no previous generation of $profile to go back to" >&2
      return 1
    fi
    rb_gen=${rb_oldgen%-link}
    rb_gen=${rb_gen##*-}
    nix-env -p "$profile" --switch-generation "$rb_gen" || rb_rc=$?
    rb_profile=$(readlink -f "$profile")
    if [ "$rb_mode" = switch ] && [ "$rb_profile" = "$rb_old" ]; then
      "$rb_old/bin/switch-to-configuration" switch || rb_rc=$?
      return $rb_rc
    fi
    "$profile/bin/switch-to-configuration" boot || rb_rc=$?
  fi
  if [ "$rb_mode" != boot ] && [ -n "$rb_old" ]; then
    "$rb_old/bin/switch-to-configuration" test || rb_rc=$?
  fi
  return $rb_rc
}

# reap reports for a runner that ended without reporting (killed, or
# killed by the watchdog as hung) with status $1, and rolls back.
reap() {
  result=
  if [ "$(get rollback)" = 1 ] && mkdir "$base.lock" 2>/dev/null; then
    echo "fleet: activation failed: it $3; rolling back"
    if rollback_now; then result=rolled-back; else result=rollback-failed; fi
    printf '%s\n' "$result" > "$base.result"
    record rollback
  fi
  report "$1" "$result" "$2"
}

case $action in
activate)
  new=$1 mode=$2 confirm=$3 limit=$4 rollback=$5
  old=$(readlink "$current" 2>/dev/null || true)
  oldgen=$(readlink "$profile" 2>/dev/null || true)
  printf '%s\n' "$old" > "$base.old"
  printf '%s\n' "$oldgen" > "$base.oldgen"
  printf '%s\n' "$mode" > "$base.mode"
  printf '%s\n' "$rollback" > "$base.rollback"
  printf '%s\n' "$new" > "$base.new"
  # The watchdog starts first, so its clock runs from before activation:
  # an activation that hangs or dies is rolled back even when the
  # deployer is gone. Nothing is written to the session before the runner
  # is started: a write to a connection that is gone would kill this
  # shell with SIGPIPE between recording the old generation and starting
  # the runner.
  setsid sh "$self" watchdog "$root" "$token" "$confirm" "$limit" </dev/null >>"$base.log" 2>&1 &
  setsid sh "$self" run "$root" "$token" </dev/null >>"$base.log" 2>&1 &
  echo "fleet: old=$old"
  echo "fleet: oldgen=$oldgen"
  wait_runner
  cat "$base.status"
  if [ "$(get status | sed -n 's/^fleet: status=//p')" != 0 ]; then
    tail -n 30 "$base.log" >&2
  fi
  ;;
run)
  echo $$ > "$base.pid.tmp" && mv "$base.pid.tmp" "$base.pid"
  new=$(get new) mode=$(get mode)
  rc=0
  if [ "$mode" != test ]; then
    mkdir -p "$(dirname "$profile")"
    nix-env -p "$profile" --set "$new" || rc=$?
  fi
  if [ $rc = 0 ]; then
    "$new/bin/switch-to-configuration" "$mode" || rc=$?
    record activate
  fi
  result=
  if [ $rc != 0 ] && [ "$(get rollback)" = 1 ] && mkdir "$base.lock" 2>/dev/null; then
    echo "fleet: activation failed with status $rc; rolling back"
    if rollback_now; then result=rolled-back; else result=rollback-failed; fi
    printf '%s\n' "$result" > "$base.result"
    record rollback
  fi
  report "$rc" "$result" exited
  ;;
watchdog)
  confirm=$1 limit=$2
  # Activation: counted from before the runner starts.
  n=0
  while [ ! -e "$base.status" ]; do
    if runner_gone; then
      reap 137 killed "was killed before it finished"
      break
    fi
    if [ ! -e "$base.pid" ] && [ $n -ge 300 ]; then
      # The runner never started: activate's session died first.
      report 125 not-started not-started
      break
    fi
    if [ "$limit" -gt 0 ] && [ $n -ge $((limit * 10)) ]; then
      pid=$(get pid)
      kill -s TERM -- "-$pid" 2>/dev/null
      m=0
      while alive "$pid" && [ $m -lt 50 ]; do sleep 0.1; m=$((m + 1)); done
      kill -s KILL -- "-$pid" 2>/dev/null
      if [ ! -e "$base.status" ]; then
        reap 124 hung "was still running after ${limit}s and was killed"
      fi
      break
    fi
    sleep 0.1
    n=$((n + 1))
  done
  [ "$confirm" -gt 0 ] || exit 0
  [ "$(get status | sed -n 's/^fleet: status=//p')" = 0 ] || exit 0
  # Confirmation: counted from the end of activation.
  n=0
  while [ $n -lt $((confirm * 10)) ]; do
    [ -e "$base.lock" ] && exit 0
    sleep 0.1
    n=$((n + 1))
  done
  if mkdir "$base.lock" 2>/dev/null; then
    echo "fleet: not confirmed within ${confirm}s; rolling back"
    if rollback_now; then result=magic-rolled-back; else result=rollback-failed; fi
    printf '%s\n' "$result" > "$base.result"
    record rollback
  fi
  ;;
confirm)
  if mkdir "$base.lock" 2>/dev/null; then
    echo confirmed > "$base.result"
    record deploy
    echo "fleet: result=confirmed"
  else
    while [ ! -e "$base.result" ]; do sleep 0.1; done
    echo "fleet: result=$(get result)"
    exit 3
  fi
  ;;
rollback)
  if [ ! -e "$base.new" ]; then
    echo "fleet: result=not-started"
    echo "fleet: current=$(readlink "$current" 2>/dev/null || true)"
    exit 0
  fi
  wait_runner
  if mkdir "$base.lock" 2>/dev/null; then
    if rollback_now; then result=rolled-back; else result=rollback-failed; fi
    printf '%s\n' "$result" > "$base.result"
    record rollback
  else
    while [ ! -e "$base.result" ]; do sleep 0.1; done
    # A confirmation the deployer never heard back from (its connection
    # was cut, or it was interrupted): it wants the old generation now.
    if [ "$(get result)" = confirmed ]; then
      if rollback_now; then result=rolled-back; else result=rollback-failed; fi
      printf '%s\n' "$result" > "$base.result"
      record rollback
    fi
  fi
  echo "fleet: result=$(get result)"
  echo "fleet: current=$(readlink "$current" 2>/dev/null || true)"
  ;;
revert)
  if [ "$(get result)" = confirmed ]; then
    if rollback_now; then result=reverted; else result=rollback-failed; fi
    printf '%s\n' "$result" > "$base.result"
    record rollback
  fi
  echo "fleet: result=$(get result)"
  echo "fleet: current=$(readlink "$current" 2>/dev/null || true)"
  ;;
status)
  if [ -e "$base.new" ]; then echo "fleet: started=1"; else echo "fleet: started=0"; fi
  echo "fleet: old=$(get old)"
  echo "fleet: new=$(get new)"
  [ -e "$base.status" ] && cat "$base.status"
  echo "fleet: decided=$(get result)"
  echo "fleet: current=$(readlink "$current" 2>/dev/null || true)"
  ;;
*)
  echo "fleet: unknown action $action" >&2
  exit 2
  ;;
esac
# end of the fleet activation protocol
