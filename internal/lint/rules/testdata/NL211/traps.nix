# In let and rec, a = a; names the binding itself (NS310): inherit a;
# would read the outer a instead, so NL211 stays silent there.
let
  a = 1;
in
{
  inLet = let a = a; in 0;
  inRec = rec { a = a; b = 0; }.b;
  # Comments inside the binding keep the finding but not the fix.
  set = { a /* the outer one */ = a; }; # want "`a = a;` can be written"
  # A string name and a parenthesised value are other spellings.
  str = { "a" = a; };
  par = { a = (a); };
}
