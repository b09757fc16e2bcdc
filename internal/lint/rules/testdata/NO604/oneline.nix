{ ... }: { system.stateVersion = "25.05"; } # want "without automatic garbage collection"
