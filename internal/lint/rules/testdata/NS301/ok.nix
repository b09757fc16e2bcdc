let a = 1; b = a; in { inherit b; c = let x = 1; in x; }
