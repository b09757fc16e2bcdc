package merge

import "fleetnix.dev/fleet/internal/diag"

// Rebase replaces the range of every value and declaration of the tree
// by what f returns for it, on the decoded tree: what Moved does as the
// tree is encoded, written plainly for TestMoved to hold it to.
func (l *Tree) Rebase(f func(diag.Range) diag.Range) { l.root.rebase(f) }

func (n *Node) rebase(f func(diag.Range) diag.Range) {
	for _, o := range []*Origin{n.leaf, n.conflict, n.decl} {
		if o != nil {
			o.Range = f(o.Range)
		}
	}
	for i := range n.Overridden {
		n.Overridden[i].Range = f(n.Overridden[i].Range)
	}
	for _, c := range n.fields {
		c.rebase(f)
	}
}
