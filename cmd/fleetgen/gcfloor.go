package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// gcFloor is the heap the collector lets fleetgen reach before it
// collects, unless GOGC is set. With the runtime's default (GOGC=100) a
// run collects each time its heap doubles from a few megabytes: a fleet
// of 1000 hosts, whose live heap stays under 200 MB, spent a fifth of its
// CPU time in the collector, and now peaks at about 470 MiB, as plain
// `cue export` of the same files does. Once the live heap is half the
// floor or more (3000 hosts and up) the collector runs as the default
// makes it, and the soft memory limit (memoryLimit) still applies. See
// docs/performance.md, "After session 8".
const gcFloor = 384 << 20

// streaming are the commands that stream files through a fixed amount of
// work, whose memory stays flat in the size of the tree (lint: 35 MiB for
// 5500 files): the floor would let their heap grow to it.
var streaming = map[string]bool{"lint": true, "fmt": true, "parse": true}

// defaultGCFloor sets gcFloor as the collector's floor for the command
// line args, unless GOGC is set (the runtime has then read it) or the
// command streams.
func defaultGCFloor(args []string) {
	if _, ok := os.LookupEnv("GOGC"); ok || len(args) > 0 && streaming[args[0]] {
		return
	}
	setGCFloor(gcFloor)
}

// A floorTuner keeps the collector's goal at floor bytes while the live
// heap is small: after each collection it sets the GC percentage that
// puts the next goal there, never below the runtime's default of 100.
// Only its finalizers use it, one after the other.
type floorTuner struct {
	floor  uint64
	sample []metrics.Sample
}

// setGCFloor makes the collector's goal at least floor bytes, from now on.
func setGCFloor(floor uint64) {
	t := &floorTuner{floor: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	debug.SetGCPercent(t.percent(0))
	t.arm()
}

// gcSentinel is an object no one holds: its finalizer runs after the
// collection that finds it unreachable.
type gcSentinel struct{ _ *byte }

// arm sets the tuner to adjust after the next collection.
func (t *floorTuner) arm() {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		t.adjust()
		t.arm()
	})
}

// adjust sets the percentage for the live heap the last collection left.
func (t *floorTuner) adjust() {
	metrics.Read(t.sample)
	live := uint64(0)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	debug.SetGCPercent(t.percent(live))
}

// minHeap is the runtime's smallest goal at GOGC=100, which a percentage
// scales: the goal before the first collection.
const minHeap = 4 << 20

// percent is the GC percentage whose goal, for a live heap of live bytes,
// is floor (the goal is live × (1 + percent/100)); at least 100.
func (t *floorTuner) percent(live uint64) int {
	live = max(live, minHeap)
	if live >= t.floor/2 {
		return 100
	}
	return int(t.floor*100/live) - 100
}
