package blockdev

import (
	"bytes"
	"testing"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/looptest"
)

// benchDevices gives the benchmarks a loop device behind a mapper name
// and a regular file, each holding one record already.
func benchDevices(b *testing.B, f func(b *testing.B, d Device)) {
	b.Run("loop", func(b *testing.B) {
		loop := looptest.Attach(b, 2<<20)
		root := hostpath.Root(b.TempDir())
		link(b, root, varLocal, loop)
		f(b, mustProbe(b, varLocal, Options{Root: root}))
	})
	b.Run("file", func(b *testing.B) {
		root := hostpath.Root(b.TempDir())
		sparseFile(b, root, varLocal, 2<<20)
		f(b, mustProbe(b, varLocal, Options{Root: root, AllowFiles: true}))
	})
}

// A storage node's config is about 2 KiB; 4 KiB leaves room.
var benchConfig = bytes.Repeat([]byte("GRID_NETWORK_IP = 10.1.3.17\n"), 150)

func BenchmarkWriteRecord(b *testing.B) {
	benchDevices(b, func(b *testing.B, d Device) {
		r := sampleRecord(Exported, string(benchConfig))
		for b.Loop() {
			mustWrite(b, d, r)
		}
	})
}

func BenchmarkReadRecord(b *testing.B) {
	benchDevices(b, func(b *testing.B, d Device) {
		mustWrite(b, d, sampleRecord(Exported, string(benchConfig)))
		for b.Loop() {
			mustRead(b, d)
		}
	})
}

func BenchmarkProbe(b *testing.B) {
	benchDevices(b, func(b *testing.B, d Device) {
		opts := Options{AllowFiles: true}
		for b.Loop() {
			mustProbe(b, d.real, opts)
		}
	})
}
