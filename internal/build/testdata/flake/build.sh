# Builder of a fixture toplevel. Runs under /bin/sh with no PATH, so every
# tool is named by its absolute path.
if [ -n "$broken" ]; then
  echo "fixture: the toplevel of $hostName is broken on purpose" >&2
  exit 1
fi
/bin/mkdir -p "$out/bin" "$out/etc/systemd/system"
{
  echo '#!/bin/sh'
  echo "out=$out"
  echo "host=$hostName"
  echo "gen=$generation"
  /bin/cat "$activate"
} > "$out/bin/switch-to-configuration"
/bin/chmod +x "$out/bin/switch-to-configuration"
echo "$generation" > "$out/generation"
/bin/ln -s "$kernel/bzImage" "$out/kernel"
/bin/ln -s "$initrd/initrd" "$out/initrd"
# The packages are in the closure because their paths are in it.
echo "$packages" > "$out/sw"
for u in $units; do
  /bin/ln -s "$u" "$out/etc/systemd/system/${u#*-unit-}"
done
