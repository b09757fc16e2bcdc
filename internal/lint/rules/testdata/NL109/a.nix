[
  99999999999999999999 # want "does not fit in 64 bits"
  (00.5) # want "the number 00 applied to .5"
  (2e10) # want "applied to the variable e10"
  1.5e3
  (1 + 2)
]
