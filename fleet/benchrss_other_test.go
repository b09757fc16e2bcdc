//go:build !linux

package fleet_test

// resetPeakRSS cannot reset the peak resident set here.
func resetPeakRSS() bool { return false }

// peakRSS is unknown here.
func peakRSS() int64 { return 0 }
