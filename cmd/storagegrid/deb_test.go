//go:build !agentonly

package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debEpoch is the SOURCE_DATE_EPOCH the package tests build with: every
// file in the package must carry it.
const debEpoch = "1700000000"

// debFiles is every regular file the package must hold, with its mode as
// tar prints it.
var debFiles = map[string]string{
	"./usr/bin/storagegrid":                                  "-rwxr-xr-x",
	"./usr/lib/storagegrid/storagegrid-agent":                "-rwxr-xr-x",
	"./lib/systemd/system/storagegrid-node@.service":         "-rw-r--r--",
	"./lib/systemd/system/storagegrid-agent.service":         "-rw-r--r--",
	"./lib/systemd/system/storagegrid-model.service":         "-rw-r--r--",
	"./usr/share/bash-completion/completions/storagegrid":    "-rw-r--r--",
	"./usr/share/zsh/vendor-completions/_storagegrid":        "-rw-r--r--",
	"./usr/share/fish/vendor_completions.d/storagegrid.fish": "-rw-r--r--",
	"./usr/share/man/man8/storagegrid.8.gz":                  "-rw-r--r--",
	"./usr/share/doc/storagegrid/examples/storagegrid.toml":  "-rw-r--r--",
	"./usr/share/doc/storagegrid/copyright":                  "-rw-r--r--",
	"./usr/share/doc/storagegrid/changelog.gz":               "-rw-r--r--",
	"./usr/share/lintian/overrides/storagegrid":              "-rw-r--r--",
}

// buildDeb runs contrib/packaging/build-deb.sh into out and returns the
// package's path. The data archive is left uncompressed to keep the test
// fast: compression is dpkg-deb's business, not the script's.
func buildDeb(t *testing.T, version, out string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", "../../contrib/packaging/build-deb.sh", version, out)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+debEpoch, "DPKG_DEB_COMPRESSOR_TYPE=none")
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return stderr.String(), err
	}
	return strings.TrimSpace(string(stdout)), nil
}

// runOut runs a command and fails the test, with its stderr, if it fails.
func runOut(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func TestDebPackage(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb is not installed (package dpkg)")
	}

	t.Run("invalid version", func(t *testing.T) {
		out := t.TempDir()
		msg, err := buildDeb(t, "1.0 beta", out)
		if err == nil || !strings.Contains(msg, "not a valid Debian version") {
			t.Fatalf("build-deb.sh with VERSION '1.0 beta': err %v, stderr %q", err, msg)
		}
		if left, _ := os.ReadDir(out); len(left) != 0 {
			t.Errorf("a refused build left %d files in OUT_DIR", len(left))
		}
	})

	deb, err := buildDeb(t, "1.2.3~rc1", t.TempDir())
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, deb)
	}
	arch := strings.TrimSpace(runOut(t, "", "dpkg", "--print-architecture"))
	if name := filepath.Base(deb); name != "storagegrid_1.2.3~rc1_"+arch+".deb" {
		t.Errorf("package file name %s", name)
	}
	root := t.TempDir()
	runOut(t, "", "dpkg-deb", "--raw-extract", deb, root)

	t.Run("control", func(t *testing.T) { checkDebControl(t, deb, arch) })
	t.Run("contents", func(t *testing.T) { checkDebContents(t, deb) })
	t.Run("files", func(t *testing.T) { checkDebFiles(t, root) })
	t.Run("maintainer scripts", func(t *testing.T) { checkDebScripts(t, root) })
	t.Run("md5sums", func(t *testing.T) {
		sums, err := os.ReadFile(filepath.Join(root, "DEBIAN/md5sums"))
		if err != nil || strings.Count(string(sums), "\n") != len(debFiles) {
			t.Fatalf("DEBIAN/md5sums: %v, %d lines for %d files", err, strings.Count(string(sums), "\n"), len(debFiles))
		}
		runOut(t, root, "md5sum", "--check", "--quiet", "DEBIAN/md5sums")
	})
	t.Run("lintian", func(t *testing.T) {
		if _, err := exec.LookPath("lintian"); err != nil {
			t.Fatal("needs lintian (Debian package lintian; .ci/run installs it)")
		}
		// Errors and warnings fail (overrides, each with its reason, are
		// in contrib/packaging/lintian-overrides). The test's package is
		// built uncompressed for speed; the tree is packed again with
		// dpkg-deb's default compression, as make deb does.
		packed := filepath.Join(t.TempDir(), filepath.Base(deb))
		runOut(t, "", "dpkg-deb", "--build", "--root-owner-group", root, packed)
		cmd := exec.Command("lintian", "--fail-on", "error,warning", packed)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lintian: %v\n%s", err, out)
		}
	})
	t.Run("install with dpkg --root", func(t *testing.T) { checkDebInstall(t, deb) })
	t.Run("rebuild", func(t *testing.T) {
		// dpkg-deb --build checks the control file, the maintainer
		// scripts' modes and the tree again.
		runOut(t, "", "dpkg-deb", "-Znone", "--build", "--root-owner-group", root, filepath.Join(t.TempDir(), "re.deb"))
	})
	t.Run("reproducible", func(t *testing.T) {
		// Another output directory and another staging directory must
		// give the same bytes.
		again, err := buildDeb(t, "1.2.3~rc1", t.TempDir(), "TMPDIR="+t.TempDir())
		if err != nil {
			t.Fatalf("second build-deb.sh: %v\n%s", err, again)
		}
		a, _ := os.ReadFile(deb)
		b, _ := os.ReadFile(again)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("two builds of one commit differ (%d and %d bytes)", len(a), len(b))
		}
	})
}

func checkDebControl(t *testing.T, deb, arch string) {
	want := map[string]string{
		"Package":      "storagegrid",
		"Version":      "1.2.3~rc1",
		"Architecture": arch,
		"Recommends":   "dbus, iproute2", // util-linux is essential
		"Depends":      "",
	}
	for field, value := range want {
		if got := strings.TrimSpace(runOut(t, "", "dpkg-deb", "--field", deb, field)); got != value {
			t.Errorf("control field %s = %q, want %q", field, got, value)
		}
	}
	if m := runOut(t, "", "dpkg-deb", "--field", deb, "Maintainer"); !strings.Contains(m, "<") {
		t.Errorf("Maintainer %q has no address", m)
	}
	if d := runOut(t, "", "dpkg-deb", "--field", deb, "Description"); !strings.Contains(d, "storage grid") || strings.Count(d, "\n") < 2 {
		t.Errorf("Description needs a synopsis and a long description: %q", d)
	}
	info := runOut(t, "", "dpkg-deb", "--info", deb)
	for _, script := range []string{"postinst", "postrm"} {
		if !strings.Contains(info, " *  "+script) {
			t.Errorf("dpkg-deb --info does not list %s as executable:\n%s", script, info)
		}
	}
	if strings.Contains(info, "prerm") {
		t.Errorf("the package has a prerm, which would do nothing:\n%s", info)
	}
}

func checkDebContents(t *testing.T, deb string) {
	stamp := time.Unix(1700000000, 0).UTC().Format("2006-01-02 15:04")
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(runOut(t, "", "dpkg-deb", "--contents", deb)))
	for sc.Scan() {
		// -rw-r--r-- root/root  4469 2023-11-14 22:13 ./lib/systemd/...
		f := strings.Fields(sc.Text())
		if len(f) != 6 {
			t.Errorf("unexpected contents line %q", sc.Text())
			continue
		}
		mode, owner, when, name := f[0], f[1], f[3]+" "+f[4], f[5]
		if owner != "root/root" {
			t.Errorf("%s is owned by %s, want root/root", name, owner)
		}
		if when != stamp {
			t.Errorf("%s has mtime %s, want SOURCE_DATE_EPOCH %s", name, when, stamp)
		}
		if strings.HasSuffix(name, "/") {
			if mode != "drwxr-xr-x" {
				t.Errorf("directory %s has mode %s", name, mode)
			}
			continue
		}
		want, ok := debFiles[name]
		switch {
		case !ok:
			t.Errorf("unexpected file %s in the package", name)
		case mode != want:
			t.Errorf("%s has mode %s, want %s", name, mode, want)
		}
		seen[name] = true
	}
	for name := range debFiles {
		if !seen[name] {
			t.Errorf("package lacks %s", name)
		}
	}
}

func checkDebFiles(t *testing.T, root string) {
	bin := filepath.Join(root, "usr/bin/storagegrid")
	if help := runOut(t, "", bin, "--help"); !strings.Contains(help, "node status all") {
		t.Errorf("storagegrid --help from the package:\n%s", help)
	}
	checkNoBuildPaths(t, bin)
	// Built from a git clone (as CI is), it is stamped with the commit. Go
	// stamps only where .git is a directory, not in a linked worktree.
	v := runOut(t, "", bin, "--version")
	fi, err := os.Stat("../../.git")
	stamped := err == nil && fi.IsDir()
	if !strings.HasPrefix(v, "storagegrid version ") || stamped && !strings.Contains(v, " (git ") {
		t.Errorf("storagegrid --version from the package: %q", v)
	}
	checkAgentBuild(t, filepath.Join(root, "usr/lib/storagegrid/storagegrid-agent"))

	man, err := os.Open(filepath.Join(root, "usr/share/man/man8/storagegrid.8.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer man.Close()
	zr, err := gzip.NewReader(man)
	if err != nil {
		t.Fatalf("man page: %v", err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("man page gzip header keeps a time or name (%v, %q): not gzip -n", zr.ModTime, zr.Name)
	}
	page, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("man page: %v", err)
	}
	if !strings.HasPrefix(string(page), ".TH STORAGEGRID 8 \"\" \"storagegrid 1.2.3~rc1\"") {
		t.Errorf("man page does not start with .TH STORAGEGRID 8 and the package version: %.60q", page)
	}

	for path, first := range map[string]string{
		"usr/share/bash-completion/completions/storagegrid": "# bash completion for storagegrid",
		// zsh autoloads a vendor completion only with this first line.
		"usr/share/zsh/vendor-completions/_storagegrid":        "#compdef storagegrid\n",
		"usr/share/fish/vendor_completions.d/storagegrid.fish": "# fish completion for storagegrid",
	} {
		if b, _ := os.ReadFile(filepath.Join(root, path)); !bytes.HasPrefix(b, []byte(first)) {
			t.Errorf("%s does not start with %q", path, first)
		}
	}
	for shipped, source := range map[string]string{
		"lib/systemd/system/storagegrid-node@.service":        "storagegrid-node@.service",
		"lib/systemd/system/storagegrid-agent.service":        "storagegrid-agent.service",
		"lib/systemd/system/storagegrid-model.service":        "storagegrid-model.service",
		"usr/share/doc/storagegrid/examples/storagegrid.toml": "../storagegrid.toml",
	} {
		got, _ := os.ReadFile(filepath.Join(root, shipped))
		want, err := os.ReadFile(filepath.Join("../../contrib/systemd", source))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from contrib (%v)", shipped, err)
		}
		if strings.HasSuffix(shipped, ".service") {
			checkUnitRefs(t, root, shipped, string(got))
		}
	}
}

// checkAgentBuild: the agent unit's binary is the agent-only build, and
// runs the agent.
func checkAgentBuild(t *testing.T, bin string) {
	help := runOut(t, "", bin, "--help")
	if !strings.Contains(help, "agent-only build") || strings.Contains(help, "node status") {
		t.Errorf("storagegrid-agent --help is not the agent-only build's:\n%s", help)
	}
	checkNoBuildPaths(t, bin)
	if v := runOut(t, "", bin, "--version"); !strings.Contains(v, "[agent-only build]") {
		t.Errorf("storagegrid-agent --version: %q", v)
	}
	// An operator who types a full-binary command is told where it is.
	cmd := exec.Command(bin, "node", "status")
	msg, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(msg), "agent-only build; the other commands are in /usr/bin/storagegrid") {
		t.Errorf("storagegrid-agent node status: %v\n%s", err, msg)
	}
	out := runOut(t, "", bin, "--root", t.TempDir(), "agent", "once", "--host-id", "deb-test", "--enable", "memory", "-o", "ndjson")
	if !strings.Contains(out, `"host":"deb-test"`) {
		t.Errorf("storagegrid-agent agent once printed no event of host deb-test:\n%.300s", out)
	}
}

// checkUnitRefs: what a unit runs and the manual it points to are in the
// package.
func checkUnitRefs(t *testing.T, root, unit, text string) {
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "ExecStart="):
			exe := strings.Fields(strings.TrimPrefix(line, "ExecStart="))[0]
			if fi, err := os.Stat(filepath.Join(root, exe)); err != nil || fi.Mode()&0o111 == 0 {
				t.Errorf("%s: ExecStart %s is not an executable of the package", unit, exe)
			}
		case line == "Documentation=man:storagegrid(8)":
		case strings.HasPrefix(line, "Documentation=man:"):
			t.Errorf("%s: %s, but the package ships storagegrid(8)", unit, line)
		}
	}
}

// checkNoBuildPaths: -trimpath left neither the checkout nor the module
// cache in the binary.
func checkNoBuildPaths(t *testing.T, bin string) {
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	checkout, _ := filepath.Abs("../..")
	modcache := strings.TrimSpace(runOut(t, "", "go", "env", "GOMODCACHE"))
	for _, p := range []string{checkout, modcache} {
		if bytes.Contains(b, []byte(p)) {
			t.Errorf("the packaged binary contains the build path %s", p)
		}
	}
}

// checkDebScripts runs each maintainer script with a systemctl that logs
// its arguments, in a mount namespace whose /run says systemd runs or not:
// the scripts may reload systemd when it runs, and never do more.
func checkDebScripts(t *testing.T, root string) {
	for _, script := range []string{"postinst", "postrm"} {
		path := filepath.Join(root, "DEBIAN", script)
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: want mode 0755 (%v)", script, err)
		}
		runOut(t, "", "sh", "-n", path)
	}
	if os.Geteuid() != 0 {
		t.Skip("running the maintainer scripts under a private /run needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("running the maintainer scripts under a private /run needs unshare (util-linux)")
	}
	fake := t.TempDir()
	log := filepath.Join(fake, "log")
	if err := os.WriteFile(filepath.Join(fake, "systemctl"), []byte("#!/bin/sh\necho \"$*\" >>"+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fake, "deb-systemd-invoke"), []byte("#!/bin/sh\necho \"invoke $*\" >>"+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	reload := "--system daemon-reload\n"
	restart := reload + "invoke try-restart storagegrid-agent.service storagegrid-model.service\n"
	for _, c := range []struct {
		script, arg, old string
		systemd          bool
		want             string
	}{
		{"postinst", "configure", "", true, reload},       // first install: nothing starts
		{"postinst", "configure", "1.2.2", true, restart}, // upgrade: running daemons restart
		{"postinst", "configure", "1.2.2", false, ""},     // no systemd: nothing
		{"postrm", "remove", "", true, reload},
		{"postrm", "purge", "", true, reload},
		{"postrm", "remove", "", false, ""},
	} {
		os.Remove(log)
		mk := ":"
		if c.systemd {
			mk = "mkdir -p /run/systemd/system"
		}
		runOut(t, "", "unshare", "--mount", "--propagation", "private", "sh", "-ec",
			"mount -t tmpfs tmpfs /run && "+mk+` && PATH="$0:$PATH" sh "$1" "$2" "$3"`,
			fake, filepath.Join(root, "DEBIAN", c.script), c.arg, c.old)
		got, _ := os.ReadFile(log)
		if string(got) != c.want {
			t.Errorf("%s %s %s (systemd running: %v) ran %q, want %q", c.script, c.arg, c.old, c.systemd, got, c.want)
		}
	}
}

// TestDebVersion: make deb's version follows git describe and sorts as
// releases should: untagged < tag < commits after the tag.
func TestDebVersion(t *testing.T) {
	for _, tool := range []string{"git", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	script, _ := filepath.Abs("../../contrib/packaging/deb-version.sh")
	repo := t.TempDir()
	git := func(args ...string) string {
		return strings.TrimSpace(runOut(t, repo, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid"}, args...)...))
	}
	commit := func(content string) string {
		if err := os.WriteFile(filepath.Join(repo, "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "f")
		git("commit", "-q", "-m", content)
		return git("rev-parse", "--short", "HEAD")
	}
	version := func() string { return strings.TrimSpace(runOut(t, repo, "sh", script)) }

	git("init", "-q")
	untagged := "0.0.0~git" + commit("one")
	if v := version(); v != untagged {
		t.Errorf("untagged: %s, want %s", v, untagged)
	}
	git("tag", "v1.2.0")
	if v := version(); v != "1.2.0" {
		t.Errorf("on tag v1.2.0: %s", v)
	}
	after := "1.2.0+1.g" + commit("two")
	if v := version(); v != after {
		t.Errorf("one commit after v1.2.0: %s, want %s", v, after)
	}
	if err := os.WriteFile(filepath.Join(repo, "f"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != after+".dirty" {
		t.Errorf("dirty: %s, want %s.dirty", v, after)
	}
	runOut(t, "", "dpkg", "--compare-versions", untagged, "lt", "1.2.0")
	runOut(t, "", "dpkg", "--compare-versions", "1.2.0", "lt", after)
}

// checkDebInstall installs the package into an empty dpkg root (its
// maintainer scripts run outside a chroot, under a private /run that says
// systemd runs and with systemctl and deb-systemd-invoke that log), then
// installs it again (an upgrade: a running agent and model server
// restart), then removes it: the files come and go, the scripts do what
// they promise and nothing more.
func checkDebInstall(t *testing.T, deb string) {
	if os.Geteuid() != 0 {
		t.Skip("dpkg --root and a private /run need root")
	}
	inst := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(inst, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(inst, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fake := t.TempDir()
	log := filepath.Join(fake, "log")
	for _, tool := range []string{"systemctl", "deb-systemd-invoke"} {
		if err := os.WriteFile(filepath.Join(fake, tool), []byte("#!/bin/sh\necho \""+tool+" $*\" >>"+log+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dpkg := func(args ...string) string {
		t.Helper()
		os.Remove(log)
		runOut(t, "", "unshare", append([]string{"--mount", "--propagation", "private", "sh", "-ec",
			`mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && r=$1 && shift && PATH="$0:$PATH" dpkg --root="$r" --force-script-chrootless --log=/dev/null "$@"`,
			fake, inst}, args...)...)
		got, _ := os.ReadFile(log)
		return string(got)
	}
	reload := "systemctl --system daemon-reload\n"
	if got := dpkg("--install", deb); got != reload {
		t.Errorf("install ran %q, want %q", got, reload)
	}
	bin := filepath.Join(inst, "usr/bin/storagegrid")
	if v := runOut(t, "", bin, "--version"); !strings.HasPrefix(v, "storagegrid version 1.2.3~rc1") {
		t.Errorf("installed storagegrid --version: %q, want the package's version", v)
	}
	if st := runOut(t, "", "dpkg", "--root="+inst, "--status", "storagegrid"); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("dpkg --status:\n%s", st)
	}
	// The old package's postrm upgrade, then the new one's postinst.
	want := reload + reload + "deb-systemd-invoke try-restart storagegrid-agent.service storagegrid-model.service\n"
	if got := dpkg("--install", deb); got != want {
		t.Errorf("upgrade ran %q, want %q", got, want)
	}
	if got := dpkg("--remove", "storagegrid"); got != reload {
		t.Errorf("remove ran %q, want %q", got, reload)
	}
	if _, err := os.Stat(bin); !os.IsNotExist(err) {
		t.Errorf("storagegrid still there after removal: %v", err)
	}
}
