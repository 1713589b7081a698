package flock

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

func TestMutualExclusion(t *testing.T) {
	dir := t.TempDir()
	var inside, maxInside int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := Acquire(context.Background(), "", dir, "DC1-S3")
			if err != nil {
				t.Error(err)
				return
			}
			n := atomic.AddInt32(&inside, 1)
			for {
				m := atomic.LoadInt32(&maxInside)
				if n <= m || atomic.CompareAndSwapInt32(&maxInside, m, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			atomic.AddInt32(&inside, -1)
			l.Unlock()
		}()
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once", maxInside)
	}
}

func TestAcquireHonoursContext(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(context.Background(), "", dir, "n")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, "", dir, "n"); err == nil {
		t.Fatal("second Acquire succeeded while the lock was held")
	}
}

func TestErrorsNameTheHostPath(t *testing.T) {
	root := hostpath.Root(t.TempDir())
	l, err := Acquire(context.Background(), root, "/run/storagegrid/lock", "node-DC1-S3")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = Acquire(ctx, root, "/run/storagegrid/lock", "node-DC1-S3")
	if err == nil || err.Error() != "lock /run/storagegrid/lock/node-DC1-S3.lock: context deadline exceeded" {
		t.Fatalf("err = %v", err)
	}
}
