package fleet

import "golang.org/x/sys/unix"

// exchange swaps the directories a and b in one atomic step
// (renameat2 RENAME_EXCHANGE), so b is never missing or half-written.
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
