# let … in and rec sets are not legacy lets.
let a = 1; in rec { b = a; body = b; }
