// Package sdnotify speaks systemd's sd_notify protocol for the daemons (the
// agent, the model server) that systemd runs as Type=notify with a watchdog.
package sdnotify

import (
	"context"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier speaks systemd's sd_notify protocol (Type=notify): READY=1 once
// the first snapshot is spooled, WATCHDOG=1 at half the watchdog interval,
// STOPPING=1 on the way out. Outside systemd (no NOTIFY_SOCKET) every call
// is a no-op.
type Notifier struct{}

// Ready tells systemd the daemon is up.
func (Notifier) Ready() error { return notify(daemon.SdNotifyReady) }

// Stopping tells systemd the daemon is shutting down.
func (Notifier) Stopping() error { return notify(daemon.SdNotifyStopping) }

// Status sets the one-line status systemctl shows.
func (Notifier) Status(s string) error { return notify("STATUS=" + s) }

// Watchdog pings systemd at half of WATCHDOG_USEC until ctx ends, while
// healthy reports true; a wedged main loop therefore gets the daemon
// restarted. Without a watchdog configured it returns at once.
func (Notifier) Watchdog(ctx context.Context, healthy func() bool) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return err
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if healthy() {
				if err := notify(daemon.SdNotifyWatchdog); err != nil {
					return err
				}
			}
		}
	}
}

func notify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}
