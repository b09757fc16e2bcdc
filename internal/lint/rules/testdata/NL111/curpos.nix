# __curPos is no primop (builtins.curPos does not exist): not reported.
[ __curPos ]
