package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// declaredAction is one row of test/fixtures/conformance/plugins.yaml.
type declaredAction struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Selector struct {
		IncludedNamespaces []string `json:"includedNamespaces"`
		ExcludedNamespaces []string `json:"excludedNamespaces"`
		IncludedResources  []string `json:"includedResources"`
		ExcludedResources  []string `json:"excludedResources"`
		Selector           string   `json:"selector"`
	} `json:"selector"`
}

func loadDeclared(t *testing.T) []declaredAction {
	t.Helper()
	var out []declaredAction
	readYAML(t, filepath.Join(repoRoot, "test", "fixtures", "conformance", "plugins.yaml"), &out)
	if len(out) == 0 {
		t.Fatal("plugins.yaml declares no action")
	}
	return out
}

func readYAML(t *testing.T, path string, into interface{}) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

func TestDiscoveryListsEveryDeclaredActionUnderItsKind(t *testing.T) {
	s := newSession(t)
	declared := loadDeclared(t)
	for _, kind := range []common.PluginKind{common.PluginKindBackupItemActionV2, common.PluginKindRestoreItemActionV2, common.PluginKindItemBlockAction, common.PluginKindBackupItemAction, common.PluginKindRestoreItemAction, common.PluginKindDeleteItemAction, common.PluginKindObjectStore, common.PluginKindVolumeSnapshotter} {
		var want, got []string
		for _, d := range declared {
			if d.Kind == string(kind) {
				want = append(want, d.Name)
			}
		}
		for _, id := range s.registry.List(kind) {
			if !strings.HasPrefix(id.Name, "kubevirt-velero-plugin/") {
				continue // Velero's own built-in actions, discovered from os.Args[0]
			}
			got = append(got, id.Name)
			if id.Command != pluginPath {
				t.Errorf("%s %s: command %q, want the path Velero executed %q", kind, id.Name, id.Command, pluginPath)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("kind %s: listed %v, want %v", kind, got, want)
		}
	}
}

func TestAppliesToReturnsTheDeclaredSelector(t *testing.T) {
	s := newSession(t)
	for _, d := range loadDeclared(t) {
		var sel velero.ResourceSelector
		var err error
		switch d.Kind {
		case string(common.PluginKindBackupItemActionV2):
			a, gerr := s.manager.GetBackupItemActionV2(d.Name)
			if gerr != nil {
				t.Fatalf("%s: %v", d.Name, gerr)
			}
			sel, err = a.AppliesTo()
		case string(common.PluginKindRestoreItemActionV2):
			a, gerr := s.manager.GetRestoreItemActionV2(d.Name)
			if gerr != nil {
				t.Fatalf("%s: %v", d.Name, gerr)
			}
			sel, err = a.AppliesTo()
		case string(common.PluginKindItemBlockAction):
			a, gerr := s.manager.GetItemBlockAction(d.Name)
			if gerr != nil {
				t.Fatalf("%s: %v", d.Name, gerr)
			}
			sel, err = a.AppliesTo()
		default:
			t.Fatalf("unexpected kind %s in plugins.yaml", d.Kind)
		}
		if err != nil {
			t.Fatalf("%s AppliesTo: %v", d.Name, err)
		}
		want := velero.ResourceSelector{
			IncludedNamespaces: d.Selector.IncludedNamespaces,
			ExcludedNamespaces: d.Selector.ExcludedNamespaces,
			IncludedResources:  d.Selector.IncludedResources,
			ExcludedResources:  d.Selector.ExcludedResources,
			LabelSelector:      d.Selector.Selector,
		}
		if !sameSelector(sel, want) {
			t.Errorf("%s AppliesTo = %+v, want %+v", d.Name, sel, want)
		}
		if len(sel.IncludedResources) == 0 {
			t.Errorf("%s AppliesTo selects every resource: an empty selector means match-all in Velero", d.Name)
		}
	}
}

func sameSelector(a, b velero.ResourceSelector) bool {
	norm := func(x []string) []string {
		if len(x) == 0 {
			return nil
		}
		return x
	}
	return reflect.DeepEqual(norm(a.IncludedNamespaces), norm(b.IncludedNamespaces)) &&
		reflect.DeepEqual(norm(a.ExcludedNamespaces), norm(b.ExcludedNamespaces)) &&
		reflect.DeepEqual(norm(a.IncludedResources), norm(b.IncludedResources)) &&
		reflect.DeepEqual(norm(a.ExcludedResources), norm(b.ExcludedResources)) &&
		a.LabelSelector == b.LabelSelector
}

// executeCase is one file of test/fixtures/conformance/cases.
type executeCase struct {
	Name           string                 `json:"name"`
	Kind           string                 `json:"kind"`
	Plugin         string                 `json:"plugin"`
	Item           map[string]interface{} `json:"item"`
	ItemFromBackup map[string]interface{} `json:"itemFromBackup"`
	Backup         *velerov1.Backup       `json:"backup"`
	Restore        *velerov1.Restore      `json:"restore"`
	Expect         struct {
		Error             string            `json:"error"`
		SkipRestore       *bool             `json:"skipRestore"`
		ItemUnchanged     bool              `json:"itemUnchanged"`
		AdditionalItems   *[]string         `json:"additionalItems"`
		RelatedItems      *[]string         `json:"relatedItems"`
		Labels            map[string]string `json:"labels"`
		Annotations       map[string]string `json:"annotations"`
		AbsentLabels      []string          `json:"absentLabels"`
		AbsentAnnotations []string          `json:"absentAnnotations"`
		Fields            map[string]string `json:"fields"`
		AbsentFields      []string          `json:"absentFields"`
		Logs              []struct {
			Level   string `json:"level"`
			Message string `json:"message"`
		} `json:"logs"`
	} `json:"expect"`
}

// result is what one call returned, normalised across kinds.
type result struct {
	item        map[string]interface{}
	additional  []string
	skipRestore bool
	err         error
}

func loadCases(t *testing.T) []executeCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot, "test", "fixtures", "conformance", "cases", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no conformance cases found: %v", err)
	}
	sort.Strings(paths)
	var cases []executeCase
	for _, p := range paths {
		var c executeCase
		readYAML(t, p, &c)
		if c.Name == "" {
			c.Name = filepath.Base(p)
		}
		cases = append(cases, c)
	}
	return cases
}

func identifiers(ids []velero.ResourceIdentifier) []string {
	out := []string{}
	for _, id := range ids {
		out = append(out, fmt.Sprintf("%s/%s/%s", id.GroupResource.String(), id.Namespace, id.Name))
	}
	return out
}

func (s *session) run(t *testing.T, c executeCase) result {
	t.Helper()
	item := &unstructured.Unstructured{Object: deepCopy(c.Item)}
	switch c.Kind {
	case string(common.PluginKindBackupItemActionV2):
		a, err := s.manager.GetBackupItemActionV2(c.Plugin)
		if err != nil {
			t.Fatalf("GetBackupItemActionV2(%s): %v", c.Plugin, err)
		}
		backup := c.Backup
		if backup == nil {
			backup = &velerov1.Backup{}
		}
		out, extra, opID, postOps, err := a.Execute(item, backup)
		if err != nil {
			return result{err: err}
		}
		if opID != "" || len(postOps) != 0 {
			t.Errorf("%s: unexpected asynchronous operation %q %v", c.Name, opID, postOps)
		}
		return result{item: out.UnstructuredContent(), additional: identifiers(extra)}
	case string(common.PluginKindRestoreItemActionV2):
		a, err := s.manager.GetRestoreItemActionV2(c.Plugin)
		if err != nil {
			t.Fatalf("GetRestoreItemActionV2(%s): %v", c.Plugin, err)
		}
		restore := c.Restore
		if restore == nil {
			restore = &velerov1.Restore{}
		}
		fromBackup := c.ItemFromBackup
		if fromBackup == nil {
			fromBackup = c.Item
		}
		out, err := a.Execute(&velero.RestoreItemActionExecuteInput{
			Item:           item,
			ItemFromBackup: &unstructured.Unstructured{Object: deepCopy(fromBackup)},
			Restore:        restore,
		})
		if err != nil {
			return result{err: err}
		}
		return result{item: out.UpdatedItem.UnstructuredContent(), additional: identifiers(out.AdditionalItems), skipRestore: out.SkipRestore}
	case string(common.PluginKindItemBlockAction):
		a, err := s.manager.GetItemBlockAction(c.Plugin)
		if err != nil {
			t.Fatalf("GetItemBlockAction(%s): %v", c.Plugin, err)
		}
		backup := c.Backup
		if backup == nil {
			backup = &velerov1.Backup{}
		}
		related, err := a.GetRelatedItems(item, backup)
		if err != nil {
			return result{err: err}
		}
		return result{item: c.Item, additional: identifiers(related)}
	}
	t.Fatalf("%s: unknown kind %q", c.Name, c.Kind)
	return result{}
}

func deepCopy(in map[string]interface{}) map[string]interface{} {
	if in == nil {
		return nil
	}
	data, _ := json.Marshal(in)
	var out map[string]interface{}
	_ = json.Unmarshal(data, &out)
	return out
}

func stringMap(obj map[string]interface{}, field string) map[string]string {
	meta, _ := obj["metadata"].(map[string]interface{})
	raw, _ := meta[field].(map[string]interface{})
	out := map[string]string{}
	for k, v := range raw {
		out[k], _ = v.(string)
	}
	return out
}

func TestExecuteRoundTripsMatchTheCases(t *testing.T) {
	s := newSession(t, "--log-level=debug")
	for _, c := range loadCases(t) {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			r := s.run(t, c)
			checkResult(t, c, r)
			for _, want := range c.Expect.Logs {
				if !s.logs.waitFor(want.Level, want.Message, 2*time.Second) {
					t.Errorf("no %s log line containing %q reached Velero's logger", want.Level, want.Message)
				}
			}
		})
	}
}

func checkResult(t *testing.T, c executeCase, r result) {
	t.Helper()
	if c.Expect.Error != "" {
		if r.err == nil {
			t.Fatalf("expected error containing %q, got success", c.Expect.Error)
		}
		if !strings.Contains(r.err.Error(), c.Expect.Error) {
			t.Fatalf("error %q does not contain %q", r.err.Error(), c.Expect.Error)
		}
		return
	}
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	if c.Expect.SkipRestore != nil && r.skipRestore != *c.Expect.SkipRestore {
		t.Errorf("skipRestore = %v, want %v", r.skipRestore, *c.Expect.SkipRestore)
	}
	if c.Expect.ItemUnchanged && !reflect.DeepEqual(deepCopy(c.Item), deepCopy(r.item)) {
		t.Errorf("item changed:\n got %v\nwant %v", r.item, c.Item)
	}
	for _, want := range []*[]string{c.Expect.AdditionalItems, c.Expect.RelatedItems} {
		if want != nil && !reflect.DeepEqual(*want, r.additional) && !(len(*want) == 0 && len(r.additional) == 0) {
			t.Errorf("additional/related items:\n got %v\nwant %v", r.additional, *want)
		}
	}
	labels, annotations := stringMap(r.item, "labels"), stringMap(r.item, "annotations")
	for k, v := range c.Expect.Labels {
		if labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, labels[k], v)
		}
	}
	for k, v := range c.Expect.Annotations {
		if annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, annotations[k], v)
		}
	}
	for _, k := range c.Expect.AbsentLabels {
		if _, ok := labels[k]; ok {
			t.Errorf("label %s present, want absent", k)
		}
	}
	for _, k := range c.Expect.AbsentAnnotations {
		if _, ok := annotations[k]; ok {
			t.Errorf("annotation %s present, want absent", k)
		}
	}
	for path, want := range c.Expect.Fields {
		got, found := fieldAt(r.item, path)
		if !found || fmt.Sprint(got) != want {
			t.Errorf("field %s = %v (found %v), want %s", path, got, found, want)
		}
	}
	for _, path := range c.Expect.AbsentFields {
		if got, found := fieldAt(r.item, path); found {
			t.Errorf("field %s = %v, want absent", path, got)
		}
	}
}

// fieldAt follows a dotted path through maps; a numeric segment indexes a list ("spec.volumes.0.name").
func fieldAt(obj map[string]interface{}, path string) (interface{}, bool) {
	var cur interface{} = obj
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]interface{}:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []interface{}:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func TestAMalformedItemFailsOnlyThatCall(t *testing.T) {
	s := newSession(t)
	a, err := s.manager.GetBackupItemActionV2("kubevirt-velero-plugin/backup-pvc-action")
	if err != nil {
		t.Fatal(err)
	}
	bad := []map[string]interface{}{
		{},
		{"metadata": map[string]interface{}{"name": "x", "namespace": "ns"}},
		{"kind": "", "metadata": map[string]interface{}{"name": "x"}},
		{"kind": "PersistentVolumeClaim", "metadata": "not-an-object"},
	}
	for i, obj := range bad {
		_, _, _, _, err := a.Execute(&unstructured.Unstructured{Object: obj}, &velerov1.Backup{})
		if err == nil {
			t.Errorf("malformed item %d: expected an error", i)
			continue
		}
		if !strings.Contains(err.Error(), "code = Unknown") {
			t.Errorf("malformed item %d: error %q is not an UNKNOWN status", i, err)
		}
	}
	good := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]interface{}{"name": "ok", "namespace": "ns", "uid": "11111111-2222-3333-4444-555555555555"},
	}}
	if _, _, _, _, err := a.Execute(good, &velerov1.Backup{}); err != nil {
		t.Fatalf("the call after malformed items failed: %v", err)
	}
	for _, e := range s.logs.find("Plugin process exited - restarting") {
		t.Errorf("the plugin process died on a malformed item: %s", e.Message)
	}
}

// pluginPIDs finds running processes whose argv[0] is the plugin path.
func pluginPIDs() []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		argv0 := strings.SplitN(string(cmdline), "\x00", 2)[0]
		if argv0 == pluginPath {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func TestCleanupEndsThePluginProcessGracefullyWithinTwoSeconds(t *testing.T) {
	// At debug, so that the plugin's last line ("plugin exiting") is logged.
	s := newSession(t, "--log-level=debug")
	a, err := s.manager.GetRestoreItemActionV2("kubevirt-velero-plugin/restore-pod-action")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AppliesTo(); err != nil {
		t.Fatal(err)
	}
	if len(pluginPIDs()) == 0 {
		t.Fatal("no plugin process is running after a call")
	}
	took := s.cleanup()
	if took > 2*time.Second {
		t.Errorf("CleanupClients took %v, want < 2s", took)
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(pluginPIDs()) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pids := pluginPIDs(); len(pids) > 0 {
		t.Errorf("plugin processes still running after cleanup: %v", pids)
	}
	if e := s.logs.find("failed to exit gracefully"); len(e) > 0 {
		t.Errorf("go-plugin reported: %s", e[0].Message)
	}
	// The process exits without a fixed drain (decision 017): its last line still arrives (go-plugin's
	// Kill returns only after its stderr reader has finished), and the pipe readers end cleanly.
	if len(s.logs.find("plugin exiting")) == 0 {
		t.Error(`the plugin's last log line ("plugin exiting", debug) did not arrive`)
	}
	// Only our binary's readers: Velero's own in-process plugins (this test binary) have the same race on
	// stdout, which is not ours to fix.
	for _, text := range []string{"reading plugin stderr", "error encountered while scanning stdout"} {
		for _, e := range s.logs.find(text) {
			if cmd, _ := e.Fields["cmd"].(string); strings.Contains(cmd, "kubevirt-velero-plugin") {
				t.Errorf("go-plugin reported: %s %v", e.Message, e.Fields)
			}
		}
	}
	exited := s.logs.find("plugin process exited")
	if len(exited) == 0 {
		t.Fatal("go-plugin never logged the plugin's exit")
	}
	for _, e := range exited {
		if e.Level != logrus.InfoLevel {
			t.Errorf("plugin exit logged at %s (a non-zero exit or a signal): %v", e.Level, e.Fields)
		}
	}
}

func TestPluginLogLinesArriveAtTheirLevels(t *testing.T) {
	cases := []struct {
		name       string
		serverArgs []string
		message    string
		level      logrus.Level
		absent     bool
	}{
		{"debug lines pass at --log-level=debug", []string{"--log-level=debug", "--features=EnableCSI", "--restore-only", "--uploader-type", "kopia"}, "plugin serving", logrus.DebugLevel, false},
		{"logrus spelling warning is understood", []string{"--log-level", "warning"}, "unknown --log-level", logrus.WarnLevel, true},
		{"an unknown level is reported at warn", []string{"--log-level=verbose"}, "unknown --log-level", logrus.WarnLevel, false},
		{"debug lines are filtered at the default level", []string{"--default-volumes-to-fs-backup"}, "plugin serving", logrus.DebugLevel, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, tc.serverArgs...)
			a, err := s.manager.GetRestoreItemActionV2("kubevirt-velero-plugin/restore-pod-action")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.AppliesTo(); err != nil {
				t.Fatal(err)
			}
			s.cleanup()
			found := s.logs.find(tc.message)
			if tc.absent {
				if len(found) > 0 {
					t.Fatalf("line %q should not be logged, got %v", tc.message, found)
				}
				return
			}
			if len(found) == 0 {
				t.Fatalf("no line %q reached Velero's logger", tc.message)
			}
			for _, e := range found {
				if e.Level != tc.level {
					t.Errorf("line %q arrived at %s, want %s", tc.message, e.Level, tc.level)
				}
				if _, ok := e.Fields["logSource"]; !ok {
					t.Errorf("line %q lost its logSource field: %v", tc.message, e.Fields)
				}
			}
			for _, e := range s.logs.all() {
				if e.Level <= logrus.ErrorLevel && e.Fields["cmd"] == pluginPath {
					t.Errorf("unexpected error-level line from the plugin: %s %v", e.Message, e.Fields)
				}
			}
		})
	}
}

func TestParallelExecuteCallsGiveTheSerialResults(t *testing.T) {
	s := newSession(t)
	a, err := s.manager.GetBackupItemActionV2("kubevirt-velero-plugin/backup-pvc-action")
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	items := make([]*unstructured.Unstructured, n)
	for i := range items {
		items[i] = &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "v1", "kind": "PersistentVolumeClaim",
			"metadata": map[string]interface{}{"name": fmt.Sprintf("pvc-%d", i), "namespace": "ns", "uid": fmt.Sprintf("uid-%04d", i)},
		}}
	}
	serial := make([]map[string]interface{}, n)
	for i, item := range items {
		out, _, _, _, err := a.Execute(item.DeepCopy(), &velerov1.Backup{})
		if err != nil {
			t.Fatal(err)
		}
		serial[i] = out.UnstructuredContent()
	}
	parallel := make([]map[string]interface{}, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, item := range items {
		wg.Add(1)
		go func(i int, item *unstructured.Unstructured) {
			defer wg.Done()
			out, _, _, _, err := a.Execute(item.DeepCopy(), &velerov1.Backup{})
			errs[i] = err
			if err == nil {
				parallel[i] = out.UnstructuredContent()
			}
		}(i, item)
	}
	wg.Wait()
	for i := range items {
		if errs[i] != nil {
			t.Fatalf("parallel call %d: %v", i, errs[i])
		}
		if !reflect.DeepEqual(serial[i], parallel[i]) {
			t.Errorf("call %d: parallel result %v differs from serial %v", i, parallel[i], serial[i])
		}
	}
}
