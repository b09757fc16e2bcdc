package syntax

// Children calls f for each direct child of n in source order, its
// tokens included, skipping missing ones: with it a tree can be walked
// with every token in its place, as comparing two trees needs.
func Children(n Node, f func(Node)) { children(n, f) }
