//go:build !agentonly

package main

import "github.com/storagegrid/storagegrid/audit"

const appUsage = "host-level tooling for the Linux hosts of a storage grid"

const appDescription = "Run with sudo on a grid host during maintenance, as in the runbook:\n" +
	"   storagegrid node status all\n" +
	"   storagegrid node stop DC1-S3\n" +
	"   storagegrid --force node import /dev/mapper/sgws-dc1-s3-var-local\n\n"

// versionNote follows the version in --version.
func versionNote() string { return " [gzip: " + audit.Inflater() + "]" }

// notFoundHint follows the unknown-command error.
const notFoundHint = ""
