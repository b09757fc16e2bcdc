x: let # want "dynamic attributes not allowed in let"
  ${x} = 1;
in
{ inherit ${x}; } # want "dynamic attributes not allowed in inherit"
