// Command bench measures the plugin binary through Velero's own plugin client (not a test):
//   - exec → handshake: median of 20 process starts (go-plugin's client start, timed to the first call);
//   - AppliesTo + Execute latency p50/p99 over 1,000 calls of each;
//   - the plugin process's RSS after 10,000 Execute calls.
//
// Usage: go run ./cmd/bench -plugin ../../dist/kubevirt-velero-plugin
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const action = "kubevirt-velero-plugin/backup-pvc-action"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run-plugins" {
		framework.NewServer().Serve()
		return
	}
	plugin := flag.String("plugin", "../../dist/kubevirt-velero-plugin", "plugin binary")
	starts := flag.Int("starts", 20, "process starts to time")
	calls := flag.Int("calls", 1000, "AppliesTo and Execute calls to time")
	rssCalls := flag.Int("rss-calls", 10000, "Execute calls before reading RSS")
	flag.Parse()

	dir, err := os.MkdirTemp("", "kvp-bench-")
	must(err)
	defer os.RemoveAll(dir)
	abs, _ := filepath.Abs(*plugin)
	path := filepath.Join(dir, "kubevirt-velero-plugin")
	must(os.Symlink(abs, path))

	logger := logrus.New()
	logger.SetLevel(logrus.InfoLevel)
	logger.SetOutput(os.Stderr)
	os.Args = []string{os.Args[0], "server", "--log-level=info"}
	registry := process.NewRegistry(dir, logger, logrus.InfoLevel)
	must(registry.DiscoverPlugins())

	// 1. Start-up: a fresh manager per start, timed from the first use (process exec) to the answer of
	//    a trivial call, then the raw exec → handshake line time measured by the plugin's own clock.
	var startTimes []time.Duration
	for i := 0; i < *starts; i++ {
		m := clientmgmt.NewManager(logger, logrus.InfoLevel, registry)
		t0 := time.Now()
		a, err := m.GetBackupItemActionV2(action)
		must(err)
		startTimes = append(startTimes, time.Since(t0))
		_, err = a.AppliesTo()
		must(err)
		m.CleanupClients()
	}

	m := clientmgmt.NewManager(logger, logrus.InfoLevel, registry)
	defer m.CleanupClients()
	a, err := m.GetBackupItemActionV2(action)
	must(err)
	backup := &velerov1.Backup{}
	item := func(i int) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "v1", "kind": "PersistentVolumeClaim",
			"metadata": map[string]interface{}{"name": fmt.Sprintf("pvc-%d", i), "namespace": "bench", "uid": fmt.Sprintf("uid-%d", i)},
			"spec":     map[string]interface{}{"accessModes": []interface{}{"ReadWriteOnce"}, "resources": map[string]interface{}{"requests": map[string]interface{}{"storage": "1Gi"}}},
		}}
	}

	var applies, executes []time.Duration
	for i := 0; i < *calls; i++ {
		t0 := time.Now()
		_, err := a.AppliesTo()
		must(err)
		applies = append(applies, time.Since(t0))
		t0 = time.Now()
		_, _, _, _, err = a.Execute(item(i), backup)
		must(err)
		executes = append(executes, time.Since(t0))
	}
	for i := 0; i < *rssCalls; i++ {
		_, _, _, _, err := a.Execute(item(i), backup)
		must(err)
	}
	rss := pluginRSS(path)

	fmt.Printf("plugin: %s\n", abs)
	fmt.Printf("start (exec → handshake → first dispense), %d runs: median %v, min %v, max %v\n", len(startTimes), pct(startTimes, 50), pct(startTimes, 0), pct(startTimes, 100))
	fmt.Printf("AppliesTo over %d calls: p50 %v, p99 %v\n", len(applies), pct(applies, 50), pct(applies, 99))
	fmt.Printf("Execute   over %d calls: p50 %v, p99 %v\n", len(executes), pct(executes, 50), pct(executes, 99))
	fmt.Printf("plugin RSS after %d more Execute calls: %s\n", *rssCalls, rss)
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	idx := (len(s) - 1) * p / 100
	return s[idx].Round(10 * time.Microsecond)
}

// pluginRSS reads VmRSS of the process whose argv[0] is the plugin path.
func pluginRSS(path string) string {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || strings.SplitN(string(cmdline), "\x00", 2)[0] != path {
			continue
		}
		status, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
			}
		}
	}
	return "unknown (process not found)"
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
