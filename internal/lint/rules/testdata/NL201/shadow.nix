let true = 1; in x: x == true
