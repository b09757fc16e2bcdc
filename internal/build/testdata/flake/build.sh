# Builder of a fixture toplevel. Runs under /bin/sh with no PATH, so every
# tool is named by its absolute path.
if [ -n "$broken" ]; then
  echo "fixture: the toplevel of $hostName is broken on purpose" >&2
  exit 1
fi
/bin/mkdir -p "$out/bin"
{
  echo '#!/bin/sh'
  echo "out=$out"
  echo "host=$hostName"
  echo "gen=$generation"
  /bin/cat "$activate"
} > "$out/bin/switch-to-configuration"
/bin/chmod +x "$out/bin/switch-to-configuration"
echo "$generation" > "$out/generation"
