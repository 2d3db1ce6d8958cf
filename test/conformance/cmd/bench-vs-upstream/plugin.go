package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
	riav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/restoreitemaction/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

const pluginFile = "kubevirt-velero-plugin"

// plugin is one plugin binary in a plugin directory of its own, under the name Velero would see.
type plugin struct {
	name, binary, path string
	// snapshotDir: with it, a V8 heap snapshot of the TS plugin process is taken at the end of every pass
	// (NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>, set by main).
	snapshotDir string
	registry    process.Registry
	logger      *logrus.Logger
}

func newPlugin(name, binary, work string, logger *logrus.Logger) *plugin {
	abs, err := filepath.Abs(binary)
	must(err)
	if _, err := os.Stat(abs); err != nil {
		fail("plugin binary %s: %v", abs, err)
	}
	dir := filepath.Join(work, "plugins-"+name)
	must(os.MkdirAll(dir, 0o755))
	p := &plugin{name: name, binary: abs, path: filepath.Join(dir, pluginFile), logger: logger}
	must(os.Symlink(abs, p.path))
	os.Args = []string{os.Args[0], "server", "--log-level=info"}
	p.registry = process.NewRegistry(dir, logger, logrus.InfoLevel)
	must(p.registry.DiscoverPlugins())
	return p
}

func (p *plugin) manager() clientmgmt.Manager {
	return clientmgmt.NewManager(p.logger, logrus.InfoLevel, p.registry)
}

// execToHandshake spawns the bare binary as go-plugin does and times its first stdout line (ms).
func (p *plugin) execToHandshake() (ms, cpuMs float64) {
	cmd := exec.Command(p.path)
	cmd.Env = append(os.Environ(), "VELERO_PLUGIN=hello", "PLUGIN_PROTOCOL_VERSIONS=2", "PLUGIN_MIN_PORT=10000", "PLUGIN_MAX_PORT=25000")
	out, err := cmd.StdoutPipe()
	must(err)
	cmd.Stderr = io.Discard
	t0 := time.Now()
	must(cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	ms = float64(time.Since(t0).Microseconds()) / 1000
	cpuMs = cpuSeconds(cmd.Process.Pid) * 1000
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err != nil || !strings.HasPrefix(line, "1|2|") {
		fail("%s: unexpected handshake %q (%v)", p.name, line, err)
	}
	return ms, cpuMs
}

// coldExecute starts a new plugin process (a fresh manager), times its first RPC (exec → AppliesTo
// answered, through Velero's client: start, handshake, dial, dispense, call), times the first Execute of
// backup-virtualmachine-action on it, then times CleanupClients (go-plugin's Kill: Shutdown, wait for exit).
func (p *plugin) coldExecute(c *cluster, it item) (firstRPCMs, firstMs, firstCPUMs, exitMs float64) {
	m := p.manager()
	t0 := time.Now()
	a, err := m.GetBackupItemActionV2("kubevirt-velero-plugin/backup-virtualmachine-action")
	must(err)
	_, err = a.AppliesTo() // the process is up and answering
	must(err)
	firstRPCMs = float64(time.Since(t0).Microseconds()) / 1000
	backup := benchBackup(it.namespace())
	pid := p.pid()
	cpu0 := cpuSeconds(pid)
	t0 = time.Now()
	_, _, _, _, err = a.Execute(&unstructured.Unstructured{Object: deepCopy(it.object)}, backup)
	firstMs = float64(time.Since(t0).Microseconds()) / 1000
	firstCPUMs = (cpuSeconds(pid) - cpu0) * 1000
	if err != nil {
		fail("%s: first Execute of %s: %v", p.name, it.name(), err)
	}
	t0 = time.Now()
	m.CleanupClients()
	exitMs = float64(time.Since(t0).Microseconds()) / 1000
	c.proxy.reset()
	return firstRPCMs, firstMs, firstCPUMs, exitMs
}

func benchBackup(ns string) *velerov1.Backup {
	return &velerov1.Backup{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-" + ns, Namespace: "velero", UID: types.UID("00000000-0000-4000-8000-" + fmt.Sprintf("%012d", len(ns)))},
		Spec:       velerov1.BackupSpec{IncludedNamespaces: []string{ns}},
	}
}

// selector is one action's AppliesTo answer.
type selector struct {
	resources []string
	labels    labels.Selector
}

func toSelector(s velero.ResourceSelector) selector {
	sel := selector{resources: s.IncludedResources, labels: labels.Everything()}
	if s.LabelSelector != "" {
		parsed, err := labels.Parse(s.LabelSelector)
		must(err)
		sel.labels = parsed
	}
	return sel
}

// applies resolves resource names as Velero does for the kinds here: plural, plural.group, kind (any case).
func (s selector) applies(it item) bool {
	kind, _ := it.object["kind"].(string)
	ok := len(s.resources) == 0
	for _, r := range s.resources {
		r = strings.ToLower(r)
		if r == "*" || r == it.resource || r == it.groupResource() || r == strings.ToLower(kind) {
			ok = true
		}
	}
	if !ok {
		return false
	}
	meta, _ := it.object["metadata"].(map[string]interface{})
	set := labels.Set{}
	if l, ok := meta["labels"].(map[string]interface{}); ok {
		for k, v := range l {
			set[k], _ = v.(string)
		}
	}
	return s.labels.Matches(set)
}

func (p *plugin) names(kinds ...common.PluginKind) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range kinds {
		for _, id := range p.registry.List(k) {
			if !seen[id.Name] {
				seen[id.Name] = true
				out = append(out, id.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// pass is the outcome of one backup or restore pass.
type pass struct {
	Plugin       string          `json:"plugin"`
	N            int             `json:"n"`
	Rep          int             `json:"rep"`
	StartSeconds float64         `json:"startSeconds"`
	WallSeconds  float64         `json:"wallSeconds"`
	CPUSeconds   float64         `json:"cpuSeconds"`
	HWMMiB       float64         `json:"hwmMiB"`
	RSSMiB       float64         `json:"rssMiB"`
	Calls        int             `json:"calls"`
	Errors       int             `json:"errors"`
	FirstError   string          `json:"firstError,omitempty"`
	SkipRestore  int             `json:"skipRestore,omitempty"`
	Requests     int             `json:"requests"`
	Bytes        int64           `json:"bytes"`
	ByRequest    map[string]int  `json:"byRequest"` // "verb resource namespace" -> count
	CallsBy      map[string]int  `json:"callsBy"`
	Additional   map[string]bool `json:"-"`
	AddDigest    string          `json:"additionalDigest,omitempty"`
	AddCount     int             `json:"additionalCount"`
	ExitMs       float64         `json:"exitMs"`
	stored       map[string]item
}

type boundAction struct {
	name string
	sel  selector
	bia  biav2.BackupItemAction
	ria  riav2.RestoreItemAction
}

func (p *plugin) backupPass(c *cluster, ns string, items []item) pass {
	res := pass{Plugin: p.name, ByRequest: map[string]int{}, CallsBy: map[string]int{}, Additional: map[string]bool{}, stored: map[string]item{}}
	c.proxy.reset()
	m := p.manager()
	t0 := time.Now()
	var actions []boundAction
	for _, name := range p.names(common.PluginKindBackupItemAction, common.PluginKindBackupItemActionV2) {
		a, err := m.GetBackupItemActionV2(name)
		must(err)
		s, err := a.AppliesTo()
		must(err)
		actions = append(actions, boundAction{name: name, sel: toSelector(s), bia: a})
	}
	res.StartSeconds = time.Since(t0).Seconds()
	pid := p.pid()
	cpu0 := cpuSeconds(pid)
	backup := benchBackup(ns)
	t1 := time.Now()
	for _, it := range items {
		cur := &unstructured.Unstructured{Object: deepCopy(it.object)}
		for _, a := range actions {
			if !a.sel.applies(it) {
				continue
			}
			res.Calls++
			res.CallsBy[shortName(a.name)]++
			out, add, _, _, err := a.bia.Execute(cur, backup)
			if err != nil {
				res.Errors++
				if res.FirstError == "" {
					res.FirstError = err.Error()
				}
				continue
			}
			for _, r := range add {
				res.Additional[fmt.Sprintf("%s %s/%s -> %s %s/%s", it.groupResource(), it.namespace(), it.name(), r.GroupResource.String(), r.Namespace, r.Name)] = true
			}
			if out != nil {
				cur = &unstructured.Unstructured{Object: out.UnstructuredContent()}
			}
		}
		res.stored[it.groupResource()+"/"+it.name()] = item{resource: it.resource, group: it.group, object: cur.Object}
	}
	res.WallSeconds = time.Since(t1).Seconds()
	res.CPUSeconds = cpuSeconds(pid) - cpu0
	res.HWMMiB, res.RSSMiB = memory(pid)
	p.snapshot(pid, fmt.Sprintf("backup-%s", ns))
	t2 := time.Now()
	m.CleanupClients()
	res.ExitMs = float64(time.Since(t2).Microseconds()) / 1000
	res.countRequests(c.proxy.reset())
	keys := make([]string, 0, len(res.Additional))
	for k := range res.Additional {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	res.AddDigest, res.AddCount = fmt.Sprintf("%x", sum[:8]), len(keys)
	return res
}

// restoreOrder: Velero's default restore priorities for what is here (persistentvolumeclaims, secrets,
// pods), then the other resources by name.
var restoreOrder = []string{"persistentvolumeclaims", "secrets", "pods", "datavolumes.cdi.kubevirt.io", "virtualmachineinstances.kubevirt.io", "virtualmachines.kubevirt.io"}

func (p *plugin) restorePass(c *cluster, ns string, stored map[string]item) pass {
	res := pass{Plugin: p.name, ByRequest: map[string]int{}, CallsBy: map[string]int{}}
	var ordered []item
	for _, gr := range restoreOrder {
		var batch []item
		for _, it := range stored {
			if it.groupResource() == gr {
				batch = append(batch, it)
			}
		}
		sort.Slice(batch, func(i, j int) bool { return batch[i].name() < batch[j].name() })
		ordered = append(ordered, batch...)
	}
	restore := &velerov1.Restore{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-restore-" + ns, Namespace: "velero", UID: types.UID("00000000-0000-4000-9000-000000000001")},
		Spec:       velerov1.RestoreSpec{BackupName: "bench-" + ns, IncludedNamespaces: []string{ns}},
	}
	c.proxy.reset()
	m := p.manager()
	t0 := time.Now()
	var actions []boundAction
	for _, name := range p.names(common.PluginKindRestoreItemAction, common.PluginKindRestoreItemActionV2) {
		a, err := m.GetRestoreItemActionV2(name)
		must(err)
		s, err := a.AppliesTo()
		must(err)
		actions = append(actions, boundAction{name: name, sel: toSelector(s), ria: a})
	}
	res.StartSeconds = time.Since(t0).Seconds()
	pid := p.pid()
	cpu0 := cpuSeconds(pid)
	t1 := time.Now()
	for _, it := range ordered {
		fromBackup := &unstructured.Unstructured{Object: deepCopy(it.object)}
		cur := &unstructured.Unstructured{Object: resetForRestore(it.object)}
		for _, a := range actions {
			if !a.sel.applies(it) {
				continue
			}
			res.Calls++
			res.CallsBy[shortName(a.name)]++
			out, err := a.ria.Execute(&velero.RestoreItemActionExecuteInput{Item: cur, ItemFromBackup: fromBackup, Restore: restore})
			if err != nil {
				res.Errors++
				if res.FirstError == "" {
					res.FirstError = err.Error()
				}
				continue
			}
			if out.SkipRestore {
				res.SkipRestore++
				break
			}
			if out.UpdatedItem != nil {
				cur = &unstructured.Unstructured{Object: out.UpdatedItem.UnstructuredContent()}
			}
		}
	}
	res.WallSeconds = time.Since(t1).Seconds()
	res.CPUSeconds = cpuSeconds(pid) - cpu0
	res.HWMMiB, res.RSSMiB = memory(pid)
	p.snapshot(pid, fmt.Sprintf("restore-%s", ns))
	t2 := time.Now()
	m.CleanupClients()
	res.ExitMs = float64(time.Since(t2).Microseconds()) / 1000
	res.countRequests(c.proxy.reset())
	return res
}

func (r *pass) countRequests(counts map[requestKey]requestCount) {
	for k, v := range counts {
		r.Requests += v.count
		r.Bytes += v.bytes
		r.ByRequest[k.verb+" "+k.resource+" "+k.namespace] += v.count
	}
}

// resetForRestore keeps what Velero's resetMetadataAndStatus keeps: name, namespace, labels, annotations;
// no status.
func resetForRestore(o map[string]interface{}) map[string]interface{} {
	out := deepCopy(o)
	meta, _ := out["metadata"].(map[string]interface{})
	kept := map[string]interface{}{}
	for _, k := range []string{"name", "namespace", "labels", "annotations"} {
		if v, ok := meta[k]; ok {
			kept[k] = v
		}
	}
	out["metadata"] = kept
	delete(out, "status")
	return out
}

func shortName(n string) string { return strings.TrimPrefix(n, "kubevirt-velero-plugin/") }

func deepCopy(o map[string]interface{}) map[string]interface{} {
	data, err := json.Marshal(o)
	must(err)
	var out map[string]interface{}
	must(json.Unmarshal(data, &out))
	return out
}

// pid finds the running plugin process: a child of this process whose argv[0] is the plugin path.
func (p *plugin) pid() int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || strings.SplitN(string(cmdline), "\x00", 2)[0] != p.path {
			continue
		}
		if statusField(pid, "PPid:") == float64(os.Getpid()) {
			return pid
		}
	}
	fail("%s: plugin process not found", p.name)
	return 0
}

func statusField(pid int, field string) float64 {
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(strings.TrimPrefix(line, field))
			if len(f) > 0 {
				v, _ := strconv.ParseFloat(f[0], 64)
				return v
			}
		}
	}
	return -1
}

// memory returns VmHWM and VmRSS in MiB.
func memory(pid int) (float64, float64) {
	return statusField(pid, "VmHWM:") / 1024, statusField(pid, "VmRSS:") / 1024
}

// cpuSeconds is utime+stime of a process (clock ticks of 100 Hz).
func cpuSeconds(pid int) float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

func binaryInfo(p *plugin) string {
	st, err := os.Stat(p.binary)
	must(err)
	return fmt.Sprintf("%s: %s (%.1f MiB)", p.name, p.binary, float64(st.Size())/(1<<20))
}

// snapshot asks a Node plugin process for a heap snapshot (SIGUSR2) and waits until it is written, then
// renames it after the pass and records the process's smaps_rollup next to it.
func (p *plugin) snapshot(pid int, pass string) {
	if p.snapshotDir == "" || p.name != "ts" {
		return
	}
	rollup, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(os.WriteFile(filepath.Join(p.snapshotDir, pass+".smaps"), append(rollup, status...), 0o644))
	before, _ := filepath.Glob(filepath.Join(p.snapshotDir, "*.heapsnapshot"))
	must(syscall.Kill(pid, syscall.SIGUSR2))
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		after, _ := filepath.Glob(filepath.Join(p.snapshotDir, "*.heapsnapshot"))
		if len(after) <= len(before) {
			continue
		}
		for _, f := range after {
			if !contains(before, f) {
				st1, _ := os.Stat(f)
				time.Sleep(1 * time.Second)
				st2, _ := os.Stat(f)
				if st1 != nil && st2 != nil && st1.Size() == st2.Size() && st2.Size() > 0 {
					must(os.Rename(f, filepath.Join(p.snapshotDir, pass+".heapsnapshot.json")))
					return
				}
			}
		}
	}
	fmt.Fprintf(os.Stderr, "bench: no heap snapshot from pid %d after %s\n", pid, pass)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
