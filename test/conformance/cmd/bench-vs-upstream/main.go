// Command bench-vs-upstream (a benchmark, not a test) drives this plugin and upstream's Go
// kubevirt-velero-plugin side by side through Velero's own plugin client (clientmgmt, process,
// framework: registry discovery, a fresh manager per backup or restore, one plugin process each),
// against one real kube-apiserver from the lab's tools cache, reached through a counting reverse proxy.
//
// For N in -sizes it generates a namespace of N running VMs, then runs interleaved (Go, TS, Go, TS …):
//   - a backup pass: every applicable BackupItemAction(V2) per item in Velero's item collector order,
//     outputs chained as Velero chains them; VmHWM of the plugin process, API requests per (verb,
//     resource, namespace), additional items;
//   - a restore pass over what that plugin's backup pass returned (metadata and status reset as Velero
//     does), every applicable RestoreItemAction(V2) in Velero's restore order.
//
// And, interleaved per plugin: exec → handshake of the bare binary, the first Execute in a new process
// (a stopped VM, then a running VM that needs the cluster), and the exit after Shutdown (go-plugin's Kill).
//
// Usage (scripts/bench-vs-upstream.sh builds both binaries and the tools):
//
//	go run ./cmd/bench-vs-upstream -tools DIR -ts dist/kubevirt-velero-plugin -go <upstream binary> \
//	  [-sizes 10,100,1000] [-reps 1] [-starts 20] [-cold 5] [-save results.json] [-reuse-go old.json]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run-plugins" {
		framework.NewServer().Serve()
		return
	}
	tools := flag.String("tools", os.Getenv("KVP_TOOLS_DIR"), "lab tools cache (bin/etcd, bin/kube-apiserver, bin/kubectl, crds/)")
	tsBin := flag.String("ts", "../../dist/kubevirt-velero-plugin", "this plugin's binary")
	goBin := flag.String("go", "", "upstream kubevirt-velero-plugin binary (go build -mod=vendor at v0.9.0)")
	sizesFlag := flag.String("sizes", "10,100,1000", "namespace sizes (running VMs)")
	reps := flag.Int("reps", 1, "repetitions of each backup and restore pass")
	starts := flag.Int("starts", 20, "exec → handshake samples per plugin")
	cold := flag.Int("cold", 5, "cold-process samples per plugin (first Execute, exit after Shutdown)")
	save := flag.String("save", "", "write the raw results as JSON here")
	reuseGo := flag.String("reuse-go", "", "take the Go plugin's backup and restore passes from this earlier -save file instead of running them again")
	label := flag.String("label", "", "a line saying which build this is (printed)")
	snapshots := flag.String("heap-snapshots", "", "write a V8 heap snapshot and smaps_rollup of the TS plugin at the end of every pass into this directory (profiling; it inflates nothing measured, the snapshot is taken after VmHWM is read)")
	report := flag.String("report", "", "print the table of earlier -save files (comma-separated; the TS figures of all, the Go passes of any) and exit")
	flag.Parse()
	if *report != "" {
		printReport(strings.Split(*report, ","))
		return
	}
	if *tools == "" || (*goBin == "" && *reuseGo == "") {
		fail("need -tools and -go (or -reuse-go); see scripts/bench-vs-upstream.sh")
	}
	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		must(err)
		sizes = append(sizes, n)
	}

	work, err := os.MkdirTemp("", "kvp-bench-vs-upstream-")
	must(err)
	logf, err := os.Create(filepath.Join(work, "velero-client.log"))
	must(err)
	logger := logrus.New()
	logger.SetLevel(logrus.InfoLevel)
	logger.SetOutput(logf)

	t0 := time.Now()
	res := &results{Date: time.Now().UTC().Format(time.RFC3339), Sizes: sizes, Reps: *reps, Label: *label}
	res.Machine = machine()
	var old *results
	if *reuseGo != "" {
		old = loadResults(callerPath(*reuseGo))
		res.GoReusedFrom = *reuseGo + " (" + old.Date + ")"
	}

	c := startCluster(*tools, work)
	defer c.stop()
	fmt.Fprintf(os.Stderr, "bench: cluster up in %.1fs (%s, work dir %s)\n", time.Since(t0).Seconds(), c.server, work)
	pluginKubeconfig := c.writeKubeconfig(filepath.Join(work, "plugin.kubeconfig"), c.proxy.server.URL, c.proxy.caPEM())
	os.Setenv("KUBECONFIG", pluginKubeconfig)
	os.Setenv("VELERO_NAMESPACE", "velero")
	c.must2xx("POST", "/api/v1/namespaces", obj{"apiVersion": "v1", "kind": "Namespace", "metadata": obj{"name": "velero"}}, "")

	// With -reuse-go the Go plugin still runs the start-up and cold-process figures (cheap, and they
	// depend most on the machine's load at the time); only its backup and restore passes are reused.
	var plugins []*plugin
	if *goBin != "" {
		plugins = append(plugins, newPlugin("go", *goBin, work, logger))
	}
	plugins = append(plugins, newPlugin("ts", *tsBin, work, logger))
	if *snapshots != "" {
		dir := callerPath(*snapshots)
		must(os.MkdirAll(dir, 0o755))
		plugins[len(plugins)-1].snapshotDir = dir
		os.Setenv("NODE_OPTIONS", strings.TrimSpace(os.Getenv("NODE_OPTIONS")+" --heapsnapshot-signal=SIGUSR2 --diagnostic-dir="+dir))
	}
	for _, p := range plugins {
		res.Binaries = append(res.Binaries, binaryInfo(p))
	}

	c.createNamespace("bvu-lat", 0, true)
	for _, n := range sizes {
		t := time.Now()
		c.createNamespace(fmt.Sprintf("bvu-%d", n), n, false)
		fmt.Fprintf(os.Stderr, "bench: namespace bvu-%d (%d VMs) created in %.1fs\n", n, n, time.Since(t).Seconds())
	}
	stopped := findItem(c.collectorOrder("bvu-lat"), "virtualmachines", "vm-stopped")
	running := findItem(c.collectorOrder(fmt.Sprintf("bvu-%d", sizes[0])), "virtualmachines", "vm-0000")

	// Start-up and cold-process figures, interleaved.
	for i := 0; i < *starts; i++ {
		for _, p := range plugins {
			ms, cpu := p.execToHandshake()
			res.add(p.name, "handshake_ms", ms)
			res.add(p.name, "handshake_cpu_ms", cpu)
		}
	}
	for i := 0; i < *cold; i++ {
		for _, p := range plugins {
			rpc, first, cpu, exit := p.coldExecute(c, stopped)
			res.add(p.name, "first_rpc_ms", rpc)
			res.add(p.name, "first_execute_stopped_ms", first)
			res.add(p.name, "first_execute_stopped_cpu_ms", cpu)
			res.add(p.name, "exit_after_shutdown_ms", exit)
			rpc, first, cpu, _ = p.coldExecute(c, running)
			res.add(p.name, "first_rpc_ms", rpc)
			res.add(p.name, "first_cluster_call_ms", first)
			res.add(p.name, "first_cluster_call_cpu_ms", cpu)
		}
	}
	fmt.Fprintf(os.Stderr, "bench: start-up figures done (%.0fs)\n", time.Since(t0).Seconds())

	for _, n := range sizes {
		ns := fmt.Sprintf("bvu-%d", n)
		items := c.collectorOrder(ns)
		for r := 0; r < *reps; r++ {
			for _, p := range plugins {
				if old != nil && p.name == "go" {
					continue
				}
				b := p.backupPass(c, ns, items)
				b.N, b.Rep = n, r+1
				res.Backups = append(res.Backups, b)
				fmt.Fprintf(os.Stderr, "bench: backup N=%d %s rep %d: %.2fs, VmHWM %.0f MiB, %d requests, %d errors\n", n, p.name, r+1, b.WallSeconds, b.HWMMiB, b.Requests, b.Errors)
				rs := p.restorePass(c, ns, b.stored)
				rs.N, rs.Rep = n, r+1
				res.Restores = append(res.Restores, rs)
				fmt.Fprintf(os.Stderr, "bench: restore N=%d %s rep %d: %.2fs, VmHWM %.0f MiB, %d calls, %d errors\n", n, p.name, r+1, rs.WallSeconds, rs.HWMMiB, rs.Calls, rs.Errors)
			}
		}
	}
	if old != nil {
		res.mergeGo(old)
	}
	res.WallSeconds = time.Since(t0).Seconds()
	res.print(os.Stdout)
	if *save != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(callerPath(*save), data, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		}
	}
	_ = os.RemoveAll(work)
}

// printReport merges saved results: TS from every file, Go passes and samples from whichever has them.
func printReport(files []string) {
	var out *results
	for _, f := range files {
		r := loadResults(callerPath(strings.TrimSpace(f)))
		if out == nil {
			out = r
			continue
		}
		out.Sizes = append(out.Sizes, r.Sizes...)
		out.Backups = append(out.Backups, r.Backups...)
		out.Restores = append(out.Restores, r.Restores...)
		out.Binaries = append(out.Binaries, r.Binaries...)
		out.Date += ", " + r.Date
		out.WallSeconds += r.WallSeconds
		for p, figs := range r.Samples {
			if out.Samples[p] == nil {
				out.Samples[p] = figs
			}
		}
	}
	// One pass per (plugin, N, rep): a file may repeat what another reused.
	dedupe := func(list []pass) []pass {
		seen := map[string]bool{}
		var kept []pass
		for _, p := range list {
			k := fmt.Sprintf("%s/%d/%d", p.Plugin, p.N, p.Rep)
			if !seen[k] {
				seen[k] = true
				kept = append(kept, p)
			}
		}
		return kept
	}
	out.Backups, out.Restores = dedupe(out.Backups), dedupe(out.Restores)
	seen := map[int]bool{}
	var sizes []int
	for _, n := range out.Sizes {
		if !seen[n] {
			seen[n] = true
			sizes = append(sizes, n)
		}
	}
	out.Sizes = sizes
	out.print(os.Stdout)
}

// callerPath resolves a relative path against the directory scripts/bench-vs-upstream.sh was called from.
func callerPath(p string) string {
	if dir := os.Getenv("KVP_BENCH_CALLER_DIR"); dir != "" && !filepath.IsAbs(p) {
		return filepath.Join(dir, p)
	}
	return p
}

func findItem(items []item, resource, name string) item {
	for _, it := range items {
		if it.resource == resource && it.name() == name {
			return it
		}
	}
	fail("no %s %s", resource, name)
	return item{}
}

func machine() string {
	load, _ := os.ReadFile("/proc/loadavg")
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, load at start %s", host, strings.Join(strings.Fields(string(load))[:3], " "))
}

func must(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "bench-vs-upstream: "+format+"\n", args...)
	os.Exit(1)
}
