{ a, b ? a, c ? 1, ... }: b # want "unused formal argument `c`"
