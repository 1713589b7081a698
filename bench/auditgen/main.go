// Command auditgen writes synthetic audit logs for bench/audit.sh: a
// realistic mix of S3, ILM and archive messages (long CSTR attributes,
// about 2% archive retrievals of which a tenth failed, a few S3 keys that
// contain the text "ARCE"), deterministic for a given seed.
//
//	auditgen -size 1073741824 -days 1 -out DIR          # DIR/audit.log
//	auditgen -size 1073741824 -days 8 -gzip -out DIR    # DIR/yyyy-mm-dd.txt.gz x 8
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

func main() {
	size := flag.Int64("size", 1<<30, "total uncompressed bytes to write")
	days := flag.Int("days", 1, "number of daily files; 1 writes audit.log")
	gz := flag.Bool("gzip", false, "write yyyy-mm-dd.txt.gz files")
	out := flag.String("out", ".", "output directory")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make([]error, *days)
	for d := range *days {
		name := filepath.Join(*out, "audit.log")
		if *days > 1 || *gz {
			name = filepath.Join(*out, start.AddDate(0, 0, d).Format("2006-01-02")+".txt")
			if *gz {
				name += ".gz"
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[d] = writeFile(name, *gz, *size/int64(*days), start.AddDate(0, 0, d), *seed+uint64(d))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "auditgen:", err)
	os.Exit(1)
}

func writeFile(name string, gz bool, size int64, day time.Time, seed uint64) error {
	f, err := os.Create(name + ".tmp")
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: day.UnixMicro()}
	step := int64(24*time.Hour/time.Microsecond) * 400 / max(size, 1) // ~400 bytes a line spread over the day
	var line []byte
	for written := int64(0); written < size; {
		g.t += 1 + g.rng.Int64N(2*step+1)
		line = g.message(line[:0])
		n, err := bw.Write(line)
		if err != nil {
			return err
		}
		written += int64(n)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}

type gen struct {
	rng *rand.Rand
	t   int64 // microseconds since the epoch
	b   []byte
}

var (
	storageNodes = []uint32{12281045, 12281046, 12281047, 12281048}
	archiveNodes = []uint32{13959984, 13959985}
	buckets      = []string{"backups", "invoices", "media-prod", "logs-2024", "ml-datasets"}
	words        = []string{"report", "photo", "ARCELIK-export", "scan", "archive", "q3", "final", "video", "db-dump", "index"}
)

// message appends one audit line.
func (g *gen) message(b []byte) []byte {
	b = time.UnixMicro(g.t).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000")
	b = append(b, " [AUDT:"...)
	switch p := g.rng.IntN(1000); {
	case p < 200:
		b = g.s3(b, "SPUT", true)
	case p < 450:
		b = g.s3(b, "SGET", true)
	case p < 600:
		b = g.s3(b, "SHEA", false)
	case p < 650:
		b = g.s3(b, "SDEL", false)
	case p < 800:
		b = g.orlm(b)
	case p < 820:
		b = g.archive(b, "ARCB", "SUCS")
	case p < 840:
		b = g.archive(b, "ARCE", g.arceResult())
	case p < 880:
		b = g.archive(b, "ASCE", "SUCS")
	case p < 900:
		b = g.idel(b)
	default:
		b = g.cbrx(b)
	}
	return append(b, "]\n"...)
}

func (g *gen) arceResult() string {
	switch p := g.rng.IntN(100); {
	case p < 5:
		return "ARUN"
	case p < 10:
		return "GERR"
	}
	return "SUCS"
}

func (g *gen) s3(b []byte, typ string, sized bool) []byte {
	bucket := buckets[g.rng.IntN(len(buckets))]
	b = fc(b, "RSLT", "SUCS")
	b = ui(b, "CNID", "UI64", uint64(g.rng.Int64()))
	b = ui(b, "TIME", "UI64", uint64(200+g.rng.IntN(500000)))
	b = append(b, "[SAIP(IPAD):\"10.96."...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(256)), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(g.rng.IntN(256)), 10)
	b = append(b, "\"]"...)
	b = cstr(b, "S3AI", "17530064241597054718")
	b = cstr(b, "SACC", "tenant-a")
	b = cstr(b, "S3AK", "SGKH9100SCkNB8M3MTWNt-PhoTDwB9JOk7PtyLkQmA==")
	b = cstr(b, "SUSR", "urn:sgws:identity::17530064241597054718:root")
	b = cstr(b, "SBAI", "17530064241597054718")
	b = cstr(b, "SBAC", "tenant-a")
	b = cstr(b, "S3BK", bucket)
	b = g.key(b, "S3KY")
	b = ui(b, "CBID", "UI64", g.rng.Uint64())
	b = cstr(b, "UUID", "0A5AB5D3-3A5A-4D71-B81F-4DD6FF2D5A02")
	if sized {
		b = ui(b, "CSIZ", "UI64", uint64(g.rng.IntN(1<<24)))
	}
	return g.trailer(b, typ, "S3RQ", storageNodes)
}

func (g *gen) key(b []byte, name string) []byte {
	b = append(b, '[')
	b = append(b, name...)
	b = append(b, "(CSTR):\""...)
	for i := range 1 + g.rng.IntN(4) {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, words[g.rng.IntN(len(words))]...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(g.rng.IntN(100000)), 10)
	}
	return append(b, ".dat\"]"...)
}

func (g *gen) orlm(b []byte) []byte {
	b = ui(b, "CBID", "UI64", g.rng.Uint64())
	b = cstr(b, "RULE", "Make 2 Copies")
	b = cstr(b, "STAT", "DONE")
	b = g.key(b, "PATH")
	b = cstr(b, "LOCS", "CLDI 12281045 1561, CLDI 12281046 1562")
	b = ui(b, "CSIZ", "UI64", uint64(g.rng.IntN(1<<24)))
	b = fc(b, "RSLT", "SUCS")
	return g.trailer(b, "ORLM", "BCMS", storageNodes)
}

func (g *gen) archive(b []byte, typ, result string) []byte {
	b = ui(b, "CBID", "UI64", g.rng.Uint64())
	b = ui(b, "VLID", "UI64", 20091127+uint64(g.rng.IntN(30)))
	b = fc(b, "RSLT", result)
	return g.trailer(b, typ, "ARCI", archiveNodes)
}

func (g *gen) idel(b []byte) []byte {
	b = ui(b, "CBID", "UI64", g.rng.Uint64())
	b = g.key(b, "PATH")
	b = cstr(b, "RULE", "Expire after 30 days")
	b = fc(b, "RSLT", "SUCS")
	return g.trailer(b, "IDEL", "ILMX", storageNodes)
}

func (g *gen) cbrx(b []byte) []byte {
	b = ui(b, "CBID", "UI64", g.rng.Uint64())
	b = ui(b, "CSIZ", "UI64", uint64(g.rng.IntN(1<<24)))
	b = fc(b, "RSLT", "SUCS")
	return g.trailer(b, "CBRE", "CBRM", storageNodes)
}

func (g *gen) trailer(b []byte, typ, module string, nodes []uint32) []byte {
	b = ui(b, "AVER", "UI32", 10)
	b = ui(b, "ATIM", "UI64", uint64(g.t))
	b = fc(b, "ATYP", typ)
	b = ui(b, "ANID", "UI32", uint64(nodes[g.rng.IntN(len(nodes))]))
	b = fc(b, "AMID", module)
	return ui(b, "ATID", "UI64", g.rng.Uint64()>>1)
}

func ui(b []byte, name, typ string, v uint64) []byte {
	b = append(b, '[')
	b = append(b, name...)
	b = append(b, '(')
	b = append(b, typ...)
	b = append(b, "):"...)
	if name == "CBID" {
		b = append(b, "0x"...)
		b = fmt.Appendf(b, "%016X", v)
	} else {
		b = strconv.AppendUint(b, v, 10)
	}
	return append(b, ']')
}

func fc(b []byte, name, v string) []byte {
	b = append(b, '[')
	b = append(b, name...)
	b = append(b, "(FC32):"...)
	b = append(b, v...)
	return append(b, ']')
}

func cstr(b []byte, name, v string) []byte {
	b = append(b, '[')
	b = append(b, name...)
	b = append(b, "(CSTR):\""...)
	b = append(b, v...)
	return append(b, "\"]"...)
}
