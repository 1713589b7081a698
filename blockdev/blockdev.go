// Package blockdev probes the block devices a grid node is configured with
// and keeps the node record on the node's var-local device.
//
// # Probing
//
// Probe accepts a block special file or a symlink (chain) to one, and a
// regular file only when files are allowed; it reports size (BLKGETSIZE64),
// identity (major:minor; filesystem major:minor and inode for files, so two
// paths to one device compare equal) and the WWID sysfs exports.
// Inventory lists the host's block devices with their /dev/mapper and
// /dev/disk/by-id aliases.
//
// # The node record
//
// Export leaves the node's state on shared storage so that another host can
// import it, and start/stop record which host owns the node. The record lives
// in the last 1 MiB of the var-local device (like DRBD's internal
// metadata), so whatever is written to the var-local device must leave that
// MiB alone.
//
// The record region starts at R = ((size - 1 MiB) rounded down to a
// multiple of 4096) and holds two slots of 512 KiB: slot 0 at R, slot 1 at
// R + 524288. All integers are little-endian. A slot is:
//
//	offset  size  field
//	     0     8  magic "SGNODREC"
//	     8     4  format version (uint32): 1, or 2 with a migration note
//	    12     4  body length L (uint32): bytes from offset 48 covered by the checksum
//	    16    32  SHA-256 of bytes [0,16) followed by bytes [48, 48+L)
//	    48     8  generation (uint64), one more than the newest slot's when written
//	    56     8  time written (int64, Unix nanoseconds, UTC)
//	    64    16  owning host UUID (16 raw bytes, RFC 4122 order)
//	    80     1  state: 1 active, 2 cleanly-stopped, 3 exported
//	    81     1  node name length n (1..64)
//	    82     2  reserved, zero
//	    84     4  config length c (uint32); L = 104 + c
//	    88    64  node name (n bytes, zero padded)
//	   152     c  the node's config file, verbatim (c <= 524136)
//
// Format 2 is format 1 with a migration note after the config, written
// only while node migrate moves the node (a record without a note is
// written as format 1, so a storagegrid that knows only format 1 reads
// it, and refuses, as a newer format, the record of a node half-way
// between hosts):
//
//	152+c      4  note length m (uint32); L = 104 + c + 4 + m
//	156+c      m  the note: JSON {from, from_uuid, to, command, started}
//
// Bytes after the body are not covered and may hold anything. The first 48
// bytes (magic, version, length, checksum) keep this meaning in every
// format version, so a reader can tell a damaged slot from one written in
// a newer format it must refuse.
//
// A write goes to the slot that is not the newest valid one, with O_DIRECT
// on block devices (so no page cache stands between hosts sharing the
// device), and is followed by fsync. A reader takes the valid slot with the
// highest generation, so a crash in the middle of a write leaves the
// previous record readable. Writers on one host must serialise themselves
// (the node lock).
//
// # The record as a lease between hosts
//
// Hosts that share the device agree who owns the node through the record
// alone, as sanlock's delta leases do; package node runs the protocol
// (node/lease.go), this package gives it the two properties it needs:
// reads and writes that bypass the page cache (O_DIRECT, 4 KiB-aligned
// buffers, offsets and lengths), and a newest record that two writers who
// read the same generation both write to the same slot, so the later one
// replaces the earlier. A claimant reads the record, writes its claim
// (owner = its host UUID, time = now), waits lease.claim_wait and reads
// back: it owns the node only if the newest record is still its own. The
// owner of a running node rewrites its claim every lease.renew_every; the
// time written lets another host see a claim not renewed for
// lease.expire_after (its owner is gone), which --force may then take. The
// record's time is the writer's wall clock: hosts' clocks must agree to
// well within expire_after - renew_every.
package blockdev
