package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
)

// The name the plugin has inside the plugin directory, as `velero plugin add` leaves it.
const pluginFileName = "kubevirt-velero-plugin"

var (
	pluginDir  string
	pluginPath string
	repoRoot   string
)

// TestMain doubles as Velero's own binary: discovery first runs os.Args[0] with "run-plugins", exactly
// as the Velero server runs itself, so the test binary must answer that with an (empty) plugin server.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "run-plugins" {
		framework.NewServer().Serve()
		return
	}
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	binary := os.Getenv("KVP_PLUGIN_BINARY")
	if binary == "" {
		binary = filepath.Join(repoRoot, "dist", pluginFileName)
	}
	if _, err := os.Stat(binary); err != nil {
		panic("plugin binary not found (run npm run build or set KVP_PLUGIN_BINARY): " + err.Error())
	}
	dir, err := os.MkdirTemp("", "kvp-conformance-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	pluginDir = dir
	pluginPath = filepath.Join(dir, pluginFileName)
	// A symlink counts as executable for Velero's directory scan, and keeps the path Velero executes.
	abs, _ := filepath.Abs(binary)
	if err := os.Symlink(abs, pluginPath); err != nil {
		panic(err)
	}
	// The cluster the plugin processes read (they inherit this environment): a fake API server with the
	// objects of test/fixtures/conformance/cluster. VELERO_NAMESPACE is left unset, so the plugin looks
	// for Velero's ConfigMaps in its default namespace, "velero".
	api, err := startFakeAPIServer(filepath.Join(repoRoot, "test", "fixtures", "conformance", "cluster"))
	if err != nil {
		panic(err)
	}
	defer api.Close()
	configDir, err := os.MkdirTemp("", "kvp-conformance-kubeconfig-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(configDir)
	kubeconfig, err := api.writeKubeconfig(configDir)
	if err != nil {
		panic(err)
	}
	os.Setenv("KUBECONFIG", kubeconfig)
	os.Unsetenv("VELERO_NAMESPACE")
	code := m.Run()
	if testing.Verbose() {
		fmt.Printf("fake API server answered %d requests\n", api.requestCount())
	}
	for _, p := range api.problems() {
		fmt.Fprintf(os.Stderr, "FAIL: fake API server: %s\n", p)
		code = 1
	}
	return code
}

// logEntry is one line as it reached Velero's logger.
type logEntry struct {
	Level   logrus.Level
	Message string
	Fields  logrus.Fields
}

type capture struct {
	mu      sync.Mutex
	entries []logEntry
}

func (c *capture) Levels() []logrus.Level { return logrus.AllLevels }

func (c *capture) Fire(e *logrus.Entry) error {
	fields := logrus.Fields{}
	for k, v := range e.Data {
		fields[k] = v
	}
	c.mu.Lock()
	c.entries = append(c.entries, logEntry{Level: e.Level, Message: e.Message, Fields: fields})
	c.mu.Unlock()
	return nil
}

func (c *capture) all() []logEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logEntry(nil), c.entries...)
}

// find returns the entries whose message contains text.
func (c *capture) find(text string) []logEntry {
	var out []logEntry
	for _, e := range c.all() {
		if strings.Contains(e.Message, text) {
			out = append(out, e)
		}
	}
	return out
}

// waitFor polls until a line at level (logrus name; "warn" accepted) containing text has arrived:
// go-plugin relays stderr asynchronously, so a line may land just after the call that logged it.
func (c *capture) waitFor(level, text string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		for _, e := range c.find(text) {
			if e.Level.String() == level || (level == "warn" && e.Level == logrus.WarnLevel) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// session is one Velero "use site": a registry, a plugin manager and the logger they write to.
type session struct {
	t        *testing.T
	registry process.Registry
	manager  clientmgmt.Manager
	logs     *capture
	closed   bool
}

// newSession sets up what `velero server <serverArgs>` would: the plugin processes receive the
// server's own flags (Velero >= 1.15 passes os.Args[2:]).
func newSession(t *testing.T, serverArgs ...string) *session {
	t.Helper()
	os.Args = append([]string{os.Args[0], "server"}, serverArgs...)
	logs := &capture{}
	logger := logrus.New()
	logger.SetLevel(logrus.DebugLevel)
	logger.SetOutput(testWriter{t})
	logger.AddHook(logs)
	registry := process.NewRegistry(pluginDir, logger, logrus.DebugLevel)
	if err := registry.DiscoverPlugins(); err != nil {
		t.Fatalf("DiscoverPlugins: %v", err)
	}
	s := &session{t: t, registry: registry, manager: clientmgmt.NewManager(logger, logrus.DebugLevel, registry), logs: logs}
	t.Cleanup(func() { s.cleanup() })
	return s
}

// cleanup ends the plugin processes the way Velero does and returns how long it took.
func (s *session) cleanup() time.Duration {
	if s.closed {
		return 0
	}
	s.closed = true
	start := time.Now()
	s.manager.CleanupClients()
	return time.Since(start)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
