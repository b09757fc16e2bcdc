{ a, b }: a # want "unused formal argument `b`"
