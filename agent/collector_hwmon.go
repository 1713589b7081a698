package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func init() { register("hwmon", true, newHwmon) }

// hwmonCollector reads temperatures from /sys/class/hwmon by hand:
// procfs's sysfs package has no hwmon support.
type hwmonCollector struct{ dir string }

func newHwmon(src Sources) (Collector, error) {
	return hwmonCollector{filepath.Join(src.sysPath(), "class", "hwmon")}, nil
}

// Collect reports every tempN_input in degrees Celsius. A machine without
// hwmon (most VMs) has none, which is not an error.
func (c hwmonCollector) Collect(context.Context) ([]Item, error) {
	chips, err := os.ReadDir(c.dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, chip := range chips {
		out = append(out, c.chip(chip.Name())...)
	}
	return out, nil
}

func (c hwmonCollector) chip(chip string) []Item {
	dir := filepath.Join(c.dir, chip)
	name := readTrimmed(filepath.Join(dir, "name"))
	if name == "" {
		name = chip
	}
	inputs, _ := filepath.Glob(filepath.Join(dir, "temp*_input"))
	var out []Item
	for _, in := range inputs {
		milli, err := strconv.ParseFloat(readTrimmed(in), 64)
		if err != nil {
			continue // a sensor that cannot be read right now (EIO is common)
		}
		sensor := strings.TrimSuffix(filepath.Base(in), "_input")
		out = append(out, sample(milli/1000, "node_hwmon_temp_celsius", "chip", name, "sensor", sensor))
	}
	return out
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
