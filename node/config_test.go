package node

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

const sampleConf = `# DC1-S3 on host dc1-h2
NODE_TYPE = VM_Storage_Node

BLOCK_DEVICE_VAR_LOCAL=/dev/mapper/sgws-dc1-s3-var-local
  GRID_NETWORK_IP   =   10.1.0.7  
LOCAL_VENDOR_KEY = kept as is # not a comment
`

func parse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := ParseConfig("/etc/storagegrid/nodes/DC1-S3.conf", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigRoundTripIsExact(t *testing.T) {
	for _, text := range []string{
		sampleConf,
		"",
		"A = 1",                     // no final newline
		"A = 1\r\nB = 2\r\n",        // CRLF
		"\n\n# only comments\n\n",   // no keys
		"EMPTY =\nSPACES = a b c\n", // empty value, inner spaces
	} {
		if got := string(parse(t, text).Bytes()); got != text {
			t.Errorf("round trip of %q gave %q", text, got)
		}
	}
}

func TestConfigGetKeysLine(t *testing.T) {
	c := parse(t, sampleConf)
	want := []string{"NODE_TYPE", "BLOCK_DEVICE_VAR_LOCAL", "GRID_NETWORK_IP", "LOCAL_VENDOR_KEY"}
	if got := c.Keys(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Keys = %v, want %v", got, want)
	}
	for key, val := range map[string]string{
		"BLOCK_DEVICE_VAR_LOCAL": "/dev/mapper/sgws-dc1-s3-var-local",
		"GRID_NETWORK_IP":        "10.1.0.7",
		"LOCAL_VENDOR_KEY":       "kept as is # not a comment",
	} {
		if got, ok := c.Get(key); !ok || got != val {
			t.Errorf("Get(%s) = %q, %t; want %q", key, got, ok, val)
		}
	}
	if _, ok := c.Get("ADMIN_IP"); ok {
		t.Error("Get of an absent key reported it set")
	}
	if c.Line("GRID_NETWORK_IP") != 5 || c.Line("ADMIN_IP") != 0 {
		t.Errorf("Line = %d, %d; want 5, 0", c.Line("GRID_NETWORK_IP"), c.Line("ADMIN_IP"))
	}
}

func TestConfigSetKeepsEverythingElse(t *testing.T) {
	c := parse(t, sampleConf)
	if err := c.Set("GRID_NETWORK_IP", "10.1.0.8"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("ADMIN_IP", "10.1.0.2"); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(sampleConf, "  GRID_NETWORK_IP   =   10.1.0.7  \n", "GRID_NETWORK_IP = 10.1.0.8\n", 1) +
		"ADMIN_IP = 10.1.0.2\n"
	if got := string(c.Bytes()); got != want {
		t.Errorf("after Set:\n%s\nwant:\n%s", got, want)
	}
	again := parse(t, string(c.Bytes()))
	if v, _ := again.Get("ADMIN_IP"); v != "10.1.0.2" {
		t.Errorf("reparsed ADMIN_IP = %q", v)
	}
}

func TestConfigSetAfterMissingFinalNewline(t *testing.T) {
	c := parse(t, "A = 1")
	if err := c.Set("B", "2"); err != nil {
		t.Fatal(err)
	}
	if got := string(c.Bytes()); got != "A = 1\nB = 2\n" {
		t.Errorf("got %q", got)
	}
}

func TestConfigDelete(t *testing.T) {
	c := parse(t, "A = 1\nB = 2\nC = 3\n")
	if !c.Delete("B") || c.Delete("B") {
		t.Fatal("Delete should report true once, then false")
	}
	if err := c.Set("C", "4"); err != nil {
		t.Fatal(err)
	}
	if got := string(c.Bytes()); got != "A = 1\nC = 4\n" {
		t.Errorf("got %q", got)
	}
	if c.Line("C") != 2 {
		t.Errorf("Line(C) = %d after delete, want 2", c.Line("C"))
	}
}

func TestConfigSetRejectsUnreadableValues(t *testing.T) {
	c := NewConfig("/etc/storagegrid/nodes/X.conf")
	for _, kv := range [][2]string{
		{"A", "two\nlines"}, {"A", "cr\r"}, {"A", "nul\x00"}, {"A", " padded"},
		{"", "x"}, {"BAD KEY", "x"}, {"1ST", "x"}, {"A-B", "x"},
	} {
		if err := c.Set(kv[0], kv[1]); err == nil {
			t.Errorf("Set(%q, %q) succeeded", kv[0], kv[1])
		}
	}
	if len(c.Bytes()) != 0 {
		t.Errorf("failed Sets changed the config: %q", c.Bytes())
	}
}

func TestParseConfigErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		text string
		line int
		msg  string
	}{
		{"A = 1\nGRID_NETWORK_IP 10.1.0.7\n", 2, `the line starting "GRID_NETWORK_IP" has no '=': write KEY = VALUE`},
		{"A = 1\n\nB = 2\nA = 3\n", 4, "duplicate key A (first set on line 1)"},
		{"# c\n = value\n", 2, "missing key before '='"},
		{"GRID NETWORK = x\n", 1, `invalid key "GRID NETWORK"`},
		{"../X = x\n", 1, `invalid key "../X"`},
	} {
		_, err := ParseConfig("/etc/storagegrid/nodes/DC1-S3.conf", strings.NewReader(tc.text))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v; want line %d with %q", tc.text, err, tc.line, tc.msg)
			continue
		}
		prefix := "/etc/storagegrid/nodes/DC1-S3.conf:" + strconv.Itoa(tc.line) + ": "
		if !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("error %q does not start with %q", err, prefix)
		}
	}
}

func TestParseConfigRejectsHugeInput(t *testing.T) {
	big := strings.Repeat("# padding\n", maxConfigSize/10+1)
	if _, err := ParseConfig("x.conf", strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("error = %v", err)
	}
}

func TestValidName(t *testing.T) {
	good := []string{"DC1-S3", "a", "dc1-adm1", strings.Repeat("N", MaxNameLen)}
	bad := []string{"", "1DC", "-x", "DC1_S3", "DC1.S3", "../etc", "a/b", "..", strings.Repeat("N", MaxNameLen+1), "Ä1"}
	for _, n := range good {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidName(%q) = %v, want ErrInvalidName", n, err)
		}
	}
}
