let a = 4; b = 2; foo = { }; f = x: x; in
[
  (a /b) # want "applies a to the path /b"
  (foo.0) # want "applies foo to the number .0"
  (a<b>a) # want "applies a to the search path <b>"
  (f -1) # want "subtracts 1"
  (a / b)
  (f (-1))
  (f /etc/hosts)
]
