package agent

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netns"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/wire"
)

// Item is one observation: an inventory entity, or a metric sample (kind
// metric, fields {"value": V}).
type Item struct {
	Kind   wire.Kind
	ID     string
	Fields map[string]string
}

// Sources tells collectors where to read, so fixture trees can stand in
// for /proc and /sys.
type Sources struct {
	Root  hostpath.Root   // host paths: /etc/storagegrid, /dev, /run/storagegrid
	Proc  string          // mount point of procfs, default /proc
	Sys   string          // mount point of sysfs, default /sys
	Netns *netns.NsHandle // network namespace to inspect; nil is the agent's own
	// HostID is the id the agent reports as (the host entity's id).
	HostID string
	// Runtime reports nodes' run states; nil leaves run_state out.
	Runtime node.Runtime
	// Placement is where the operator says the host stands (the host
	// settings' [host] table): the host entity carries it.
	Placement Placement
}

// Placement is a host's site, room and rack; empty parts are unknown
// and not reported.
type Placement struct {
	Site, Room, Rack string
}

// Collector reads one aspect of the host. Collectors are registered by
// name in an init function in their own file and can each be disabled.
type Collector interface {
	Collect(ctx context.Context) ([]Item, error)
}

type factory struct {
	enabled bool // by default
	build   func(Sources) (Collector, error)
}

var registry = map[string]factory{}

// register is called from each collector file's init.
func register(name string, enabled bool, build func(Sources) (Collector, error)) {
	registry[name] = factory{enabled: enabled, build: build}
}

// CollectorNames lists the registered collectors, sorted.
func CollectorNames() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewCollectors builds the collectors enabled by default plus those in
// enable, minus those in disable. Unknown names are errors.
func NewCollectors(src Sources, enable, disable []string) (map[string]Collector, error) {
	want := map[string]bool{}
	for n, f := range registry {
		want[n] = f.enabled
	}
	for _, list := range []struct {
		names []string
		on    bool
	}{{enable, true}, {disable, false}} {
		for _, n := range list.names {
			if _, ok := registry[n]; !ok {
				return nil, fail.Usagef("unknown collector %q (known: %s)", n, strings.Join(CollectorNames(), ", "))
			}
			want[n] = list.on
		}
	}
	out := map[string]Collector{}
	for n, on := range want {
		if !on {
			continue
		}
		c, err := registry[n].build(src)
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", n, err)
		}
		out[n] = c
	}
	return out, nil
}

// sample builds a metric item.
func sample(value float64, name string, labels ...string) Item {
	return Item{Kind: wire.KindMetric, ID: wire.MetricID(name, labels...),
		Fields: map[string]string{wire.FieldValue: formatFloat(value)}}
}

func (s Sources) procPath() string {
	if s.Proc == "" {
		return "/proc"
	}
	return s.Proc
}

func (s Sources) sysPath() string {
	if s.Sys == "" {
		return "/sys"
	}
	return s.Sys
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func formatUint(v uint64) string { return strconv.FormatUint(v, 10) }
