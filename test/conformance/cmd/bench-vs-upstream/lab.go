package main

// The cluster both plugins read: etcd and kube-apiserver from the lab's tools cache (as test/lab/lab.ts
// starts them, with a static admin token instead of client certificates), the CRDs of the tools cache,
// and a counting reverse proxy in front of the API server that the plugin processes talk to.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const adminToken = "bench-vs-upstream-admin"

type cluster struct {
	tools, work string
	server      string // https://127.0.0.1:port of kube-apiserver
	procs       []*exec.Cmd
	client      *http.Client // admin client straight to the API server (not counted)
	caPEM       []byte
	proxy       *countingProxy
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *cluster) daemon(name string, args ...string) {
	logf, err := os.Create(filepath.Join(c.work, name+".log"))
	must(err)
	cmd := exec.Command(filepath.Join(c.tools, "bin", name), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	must(cmd.Start())
	c.procs = append(c.procs, cmd)
}

func startCluster(tools, work string) *cluster {
	c := &cluster{tools: tools, work: work}
	etcdPort, peerPort, apiPort := freePort(), freePort(), freePort()
	c.daemon("etcd", "--name=bvu", "--data-dir="+filepath.Join(work, "etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", etcdPort), fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", etcdPort),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", peerPort), fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", peerPort),
		fmt.Sprintf("--initial-cluster=bvu=http://127.0.0.1:%d", peerPort), "--unsafe-no-fsync=true", "--log-level=warn")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	saKey := filepath.Join(work, "sa.key")
	must(os.WriteFile(saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	tokens := filepath.Join(work, "tokens.csv")
	must(os.WriteFile(tokens, []byte(adminToken+",bench-admin,bench-admin,system:masters\n"), 0o600))
	certDir := filepath.Join(work, "certs")
	c.server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	c.daemon("kube-apiserver", fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdPort), "--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", apiPort), "--cert-dir="+certDir,
		"--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true", "--disable-admission-plugins=ServiceAccount",
		"--authorization-mode=RBAC", "--service-account-issuer="+c.server+"/", "--service-account-key-file="+saKey,
		"--service-account-signing-key-file="+saKey, "--endpoint-reconciler-type=none", "--token-auth-file="+tokens)
	crt := filepath.Join(certDir, "apiserver.crt")
	waitUntil(60*time.Second, "kube-apiserver serving certificate", func() bool {
		b, err := os.ReadFile(crt)
		if err == nil && bytes.Contains(b, []byte("END CERTIFICATE")) {
			c.caPEM = b
			return true
		}
		return false
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	c.client = &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 32,
	}}
	waitUntil(90*time.Second, "kube-apiserver /readyz", func() bool {
		code, _ := c.do("GET", "/readyz", nil, "")
		return code == 200
	})
	kubeconfig := c.writeKubeconfig(filepath.Join(work, "admin.kubeconfig"), c.server, c.caPEM)
	kubectl := func(args ...string) {
		out, err := exec.Command(filepath.Join(tools, "bin", "kubectl"), append([]string{"--kubeconfig=" + kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			fail("kubectl %v: %v\n%s", args, err, out)
		}
	}
	kubectl("apply", "--server-side", "--field-manager=bench", "-f", filepath.Join(tools, "crds"))
	kubectl("wait", "--for=condition=Established", "--timeout=120s", "crd", "--all")
	c.proxy = newCountingProxy(c)
	return c
}

func (c *cluster) stop() {
	if c.proxy != nil {
		c.proxy.server.Close()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _, _ = p.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		}
	}
}

// writeKubeconfig writes a kubeconfig for server (CA certificate caPEM, the admin token) and returns its path.
func (c *cluster) writeKubeconfig(path, server string, caPEM []byte) string {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: bench
  user:
    token: %s
contexts:
- name: bench
  context: {cluster: bench, user: bench}
current-context: bench
`, server, base64.StdEncoding.EncodeToString(caPEM), adminToken)
	must(os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

// do sends one admin request straight to the API server; returns the status code and body.
func (c *cluster) do(method, path string, body interface{}, contentType string) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.server+path, rd)
	must(err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// must2xx sends a request, retrying on 429/5xx/connection errors, and decodes the answer.
func (c *cluster) must2xx(method, path string, body interface{}, contentType string) map[string]interface{} {
	for attempt := 1; ; attempt++ {
		code, data := c.do(method, path, body, contentType)
		if code >= 200 && code < 300 {
			var out map[string]interface{}
			must(json.Unmarshal(data, &out))
			return out
		}
		if (code != 0 && code != 429 && code < 500) || attempt >= 8 {
			fail("%s %s: HTTP %d: %.300s", method, path, code, data)
		}
		time.Sleep(time.Duration(200*attempt) * time.Millisecond)
	}
}

// ---- the counting proxy --------------------------------------------------------------------------------

type requestKey struct{ verb, resource, namespace string }

type requestCount struct {
	count int
	bytes int64
}

type countingProxy struct {
	server *httptest.Server
	mu     sync.Mutex
	counts map[requestKey]*requestCount
}

// newCountingProxy serves TLS on 127.0.0.1 and forwards every request to the API server with the admin
// token, counting requests and response bytes per (verb, resource, namespace).
func newCountingProxy(c *cluster) *countingProxy {
	p := &countingProxy{counts: map[requestKey]*requestCount{}}
	target, _ := url.Parse(c.server)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = c.client.Transport
	rp.Director = func(r *http.Request) {
		r.URL.Scheme, r.URL.Host, r.Host = target.Scheme, target.Host, target.Host
		r.Header.Set("Authorization", "Bearer "+adminToken)
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		key := classify(resp.Request)
		resp.Body = &countingBody{ReadCloser: resp.Body, done: func(n int64) {
			p.mu.Lock()
			rc := p.counts[key]
			if rc == nil {
				rc = &requestCount{}
				p.counts[key] = rc
			}
			rc.count++
			rc.bytes += n
			p.mu.Unlock()
		}}
		return nil
	}
	p.server = httptest.NewTLSServer(rp)
	return p
}

func (p *countingProxy) reset() map[requestKey]requestCount {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[requestKey]requestCount{}
	for k, v := range p.counts {
		out[k] = *v
	}
	p.counts = map[requestKey]*requestCount{}
	return out
}

func (p *countingProxy) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.server.Certificate().Raw})
}

type countingBody struct {
	io.ReadCloser
	n    int64
	done func(int64)
	once sync.Once
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countingBody) Close() error {
	b.once.Do(func() { b.done(b.n) })
	return b.ReadCloser.Close()
}

// classify names a request: verb (get/list/list-page/watch/create/...), resource (plural[.group]) and namespace.
func classify(r *http.Request) requestKey {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var group string
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		group, rest = parts[1], parts[3:]
	default:
		return requestKey{verb: strings.ToLower(r.Method), resource: r.URL.Path}
	}
	ns, name, resource := "", "", ""
	if len(rest) >= 2 && rest[0] == "namespaces" && len(rest) >= 3 {
		ns, rest = rest[1], rest[2:]
	}
	if len(rest) >= 1 {
		resource = rest[0]
	}
	if len(rest) >= 2 {
		name = rest[1]
	}
	if group != "" {
		resource += "." + group
	}
	verb := strings.ToLower(r.Method)
	if verb == "get" {
		verb = "list"
		if name != "" {
			verb = "get"
		}
		if r.URL.Query().Get("watch") == "true" {
			verb = "watch"
		}
		// A continued page of a paged LIST (limit/continue): one logical LIST is its first request and
		// these, so they are counted apart ("list-page") and LISTs per (namespace, resource) stay logical.
		if verb == "list" && r.URL.Query().Get("continue") != "" {
			verb = "list-page"
		}
	}
	return requestKey{verb: verb, resource: resource, namespace: ns}
}

func waitUntil(timeout time.Duration, what string, ok func() bool) {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			fail("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
