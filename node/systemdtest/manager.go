package systemdtest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	busName     = "org.freedesktop.systemd1"
	managerPath = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIntf = "org.freedesktop.systemd1.Manager"
	unitRoot    = dbus.ObjectPath("/org/freedesktop/systemd1/unit")
	unitIntf    = "org.freedesktop.systemd1.Unit"
	propsIntf   = "org.freedesktop.DBus.Properties"
)

// Manager stands in for systemd's manager on a bus. Units of installed
// templates exist (LoadState "loaded"); others are "not-found", as on a
// host where the unit file was never copied. Start and stop go through the
// real intermediate states (activating, deactivating) for Step each and
// end with the Manager.JobRemoved signal, as systemd does.
type Manager struct {
	// Step is how long each transition takes. Set it before use.
	Step time.Duration

	conn      *dbus.Conn
	mu        sync.Mutex
	templates map[string]bool // "storagegrid-node@.service"
	units     map[string]*unit
	lastJob   uint32
	calls     []string
}

type unit struct {
	name        string
	active, sub string
	job         *job
	kills       []int32

	failStart  bool // the start job fails
	exitAtOnce bool // the start job is done, then the payload exits
	hangStop   bool // the stop job waits until SIGKILL
}

type job struct {
	id    uint32
	path  dbus.ObjectPath
	unit  string
	timer *time.Timer
}

// removed is a JobRemoved signal to emit once the lock is released.
type removed struct {
	job    *job
	result string
}

// Serve connects to the bus at address, takes the name
// org.freedesktop.systemd1 and serves the manager and its units' properties.
func Serve(address string) (*Manager, error) {
	conn, err := dbus.Dial(address)
	if err != nil {
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	m := &Manager{
		Step:      20 * time.Millisecond,
		conn:      conn,
		templates: map[string]bool{},
		units:     map[string]*unit{},
	}
	if err := m.export(); err != nil {
		conn.Close()
		return nil, err
	}
	reply, err := conn.RequestName(busName, dbus.NameFlagDoNotQueue)
	if err == nil && reply != dbus.RequestNameReplyPrimaryOwner {
		err = fmt.Errorf("name %s already taken", busName)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return m, nil
}

func (m *Manager) export() error {
	if err := m.conn.Export((*managerMethods)(m), managerPath, managerIntf); err != nil {
		return err
	}
	return m.conn.ExportSubtree((*unitProps)(m), unitRoot, propsIntf)
}

// Close leaves the bus.
func (m *Manager) Close() { m.conn.Close() }

// Install makes the units of a template, "name@.service", loadable.
func (m *Manager) Install(template string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.templates[template] = true
}

// FailStart makes the unit's next starts fail with job result "failed".
func (m *Manager) FailStart(name string) { m.set(name, func(u *unit) { u.failStart = true }) }

// ExitAtOnce makes the unit's payload exit one Step after a successful start.
func (m *Manager) ExitAtOnce(name string) { m.set(name, func(u *unit) { u.exitAtOnce = true }) }

// HangStop makes stops of the unit wait in deactivating until SIGKILL.
func (m *Manager) HangStop(name string) { m.set(name, func(u *unit) { u.hangStop = true }) }

// SetState forces the unit into a state, as if systemd got there.
func (m *Manager) SetState(name, active, sub string) {
	m.set(name, func(u *unit) { m.to(u, active, sub) })
}

func (m *Manager) set(name string, f func(*unit)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m.unit(name))
}

// State returns the unit's ActiveState and SubState.
func (m *Manager) State(name string) (active, sub string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.unit(name)
	return u.active, u.sub
}

// Kills lists the signals KillUnit sent to the unit, in order.
func (m *Manager) Kills(name string) []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int32(nil), m.unit(name).kills...)
}

// Calls lists the manager methods called, as "StartUnit name", in order.
func (m *Manager) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

// unit returns the unit's record, creating it inactive. Caller holds mu.
func (m *Manager) unit(name string) *unit {
	u, ok := m.units[name]
	if !ok {
		u = &unit{name: name, active: "inactive", sub: "dead"}
		m.units[name] = u
	}
	return u
}

// loaded reports whether a template for the unit is installed.
func (m *Manager) loaded(name string) bool {
	prefix, rest, ok := strings.Cut(name, "@")
	if !ok {
		return false
	}
	_, suffix, ok := strings.Cut(rest, ".")
	return ok && m.templates[prefix+"@."+suffix]
}

// enqueue replaces the unit's pending job with a new one, as mode
// "replace" does. Caller holds mu; the returned removals must be emitted.
func (m *Manager) enqueue(name string, u *unit) (*job, []removed) {
	var out []removed
	if old := u.job; old != nil {
		if old.timer != nil {
			old.timer.Stop()
		}
		out = append(out, removed{old, "canceled"})
	}
	m.lastJob++
	j := &job{id: m.lastJob, unit: name,
		path: dbus.ObjectPath("/org/freedesktop/systemd1/job/" + strconv.Itoa(int(m.lastJob)))}
	u.job = j
	return j, out
}

// after runs f under mu one Step from now, if j is still the unit's job,
// and emits what f returns.
func (m *Manager) after(u *unit, j *job, f func() []removed) {
	j.timer = time.AfterFunc(m.Step, func() {
		m.mu.Lock()
		if u.job != j {
			m.mu.Unlock()
			return
		}
		out := f()
		m.mu.Unlock()
		m.emit(out)
	})
}

// finish ends the unit's job with result. Caller holds mu.
func finish(u *unit, result string) []removed {
	j := u.job
	u.job = nil
	return []removed{{j, result}}
}

// to moves the unit to a new state and, as systemd does for its
// subscribers, signals the change of the Unit interface's ActiveState and
// SubState on the unit's object. Caller holds mu; emitting only writes to
// the bus, so holding it is safe.
func (m *Manager) to(u *unit, active, sub string) {
	u.active, u.sub = active, sub
	m.conn.Emit(dbus.ObjectPath(string(unitRoot)+"/"+escape(u.name)), propsIntf+".PropertiesChanged", unitIntf,
		map[string]dbus.Variant{"ActiveState": dbus.MakeVariant(active), "SubState": dbus.MakeVariant(sub)}, []string{})
}

func (m *Manager) emit(out []removed) {
	for _, r := range out {
		m.conn.Emit(managerPath, managerIntf+".JobRemoved", r.job.id, r.job.path, r.job.unit, r.result)
	}
}

func (m *Manager) start(name string) (dbus.ObjectPath, []removed) {
	u := m.unit(name)
	j, out := m.enqueue(name, u)
	if u.active == "active" {
		m.after(u, j, func() []removed { return finish(u, "done") })
		return j.path, out
	}
	m.to(u, "activating", "start")
	m.after(u, j, func() []removed {
		if u.failStart {
			m.to(u, "failed", "failed")
			return finish(u, "failed")
		}
		m.to(u, "active", "running")
		if u.exitAtOnce {
			time.AfterFunc(m.Step, func() {
				m.mu.Lock()
				defer m.mu.Unlock()
				if u.active == "active" && u.job == nil {
					m.to(u, "failed", "failed")
				}
			})
		}
		return finish(u, "done")
	})
	return j.path, out
}

func (m *Manager) stop(name string) (dbus.ObjectPath, []removed) {
	u := m.unit(name)
	j, out := m.enqueue(name, u)
	if u.active == "inactive" || u.active == "failed" {
		m.after(u, j, func() []removed { return finish(u, "done") })
		return j.path, out
	}
	m.to(u, "deactivating", "stop-sigterm")
	if u.hangStop {
		return j.path, out
	}
	m.after(u, j, func() []removed {
		m.to(u, "inactive", "dead")
		return finish(u, "done")
	})
	return j.path, out
}

// kill delivers sig to the unit's processes. SIGKILL ends them: the unit
// fails (Result=signal) and a waiting stop job is done.
func (m *Manager) kill(name string, sig int32) ([]removed, *dbus.Error) {
	u := m.unit(name)
	u.kills = append(u.kills, sig)
	switch u.active {
	case "active", "activating", "deactivating", "reloading":
	default:
		return nil, dbus.NewError("org.freedesktop.systemd1.NoSuchProcess",
			[]any{"No matching processes to kill"})
	}
	if sig != int32(syscall.SIGKILL) {
		return nil, nil
	}
	stopping := u.active == "deactivating"
	m.to(u, "failed", "failed")
	if stopping && u.job != nil {
		if u.job.timer != nil {
			u.job.timer.Stop()
		}
		return finish(u, "done"), nil
	}
	return nil, nil
}

// managerMethods are the org.freedesktop.systemd1.Manager methods.
type managerMethods Manager

func (mm *managerMethods) jobCall(method, name string, f func(*Manager, string) (dbus.ObjectPath, []removed)) (dbus.ObjectPath, *dbus.Error) {
	m := (*Manager)(mm)
	m.mu.Lock()
	m.calls = append(m.calls, method+" "+name)
	if !m.loaded(name) {
		m.mu.Unlock()
		return "", dbus.NewError("org.freedesktop.systemd1.NoSuchUnit", []any{"Unit " + name + " not found."})
	}
	path, out := f(m, name)
	m.mu.Unlock()
	m.emit(out)
	return path, nil
}

// StartUnit enqueues a start job.
func (mm *managerMethods) StartUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return mm.jobCall("StartUnit", name, (*Manager).start)
}

// StopUnit enqueues a stop job.
func (mm *managerMethods) StopUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	return mm.jobCall("StopUnit", name, (*Manager).stop)
}

// KillUnit signals the unit's processes.
func (mm *managerMethods) KillUnit(name, who string, sig int32) *dbus.Error {
	m := (*Manager)(mm)
	m.mu.Lock()
	m.calls = append(m.calls, fmt.Sprintf("KillUnit %s %s %d", name, who, sig))
	out, err := m.kill(name, sig)
	m.mu.Unlock()
	m.emit(out)
	return err
}

// GetUnit returns the unit's object path.
func (mm *managerMethods) GetUnit(name string) (dbus.ObjectPath, *dbus.Error) {
	return unitRoot + "/" + dbus.ObjectPath(escape(name)), nil
}

// Subscribe and Unsubscribe are accepted; signals go to everyone anyway.
func (mm *managerMethods) Subscribe() *dbus.Error { return nil }

// Unsubscribe: see Subscribe.
func (mm *managerMethods) Unsubscribe() *dbus.Error { return nil }

// unitProps serves org.freedesktop.DBus.Properties for every unit path.
type unitProps Manager

// GetAll returns the unit's properties for the Unit interface.
func (up *unitProps) GetAll(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	m := (*Manager)(up)
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	name := unescape(strings.TrimPrefix(string(path), string(unitRoot)+"/"))
	if iface != unitIntf && iface != "" {
		return map[string]dbus.Variant{}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	load, active, sub := "not-found", "inactive", "dead"
	if m.loaded(name) {
		u := m.unit(name)
		load, active, sub = "loaded", u.active, u.sub
	}
	return map[string]dbus.Variant{
		"Id":          dbus.MakeVariant(name),
		"LoadState":   dbus.MakeVariant(load),
		"ActiveState": dbus.MakeVariant(active),
		"SubState":    dbus.MakeVariant(sub),
	}, nil
}

// Get returns one property.
func (up *unitProps) Get(msg dbus.Message, iface, prop string) (dbus.Variant, *dbus.Error) {
	all, _ := up.GetAll(msg, iface)
	v, ok := all[prop]
	if !ok {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{"Unknown property " + prop})
	}
	return v, nil
}

// escape and unescape follow systemd's object-path escaping: every byte
// outside [A-Za-z0-9] (and a leading digit) becomes _xx.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) && (i > 0 || c < '0' || c > '9') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String()
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
