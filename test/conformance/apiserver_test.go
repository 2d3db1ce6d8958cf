package conformance

// A small fake Kubernetes API server for the conformance suite: the plugin processes that Velero's
// client starts read the cluster through it (KUBECONFIG points at it), so cases of actions that read
// pods, PVCs, VMIs, DataVolumes, VMs or ConfigMaps are meaningful. It serves only what the plugin
// does with a real kube-apiserver: GET of one object and LIST of a resource in one namespace or in
// all namespaces, as JSON, over HTTPS with a bearer token. It is a protocol stand-in, not a
// Kubernetes: no watches, no selectors, no writes (the real API server is exercised in the lab); LISTs
// are paged with limit/continue as the real server pages them (the token never expires here).
//
// Faithful where the plugin could notice:
//   - paths /api/v1/... and /apis/<group>/<version>/..., namespaced and cluster-scoped;
//   - LIST bodies carry kind <Kind>List, apiVersion, metadata.resourceVersion and items sorted by
//     namespace and name (etcd key order); items of built-in types carry no apiVersion/kind, items of
//     custom resources do (as the real server encodes them);
//   - errors are metav1.Status bodies as the API server writes them: 404 NotFound for a missing
//     object, 404 for a resource the server does not serve, 403 Forbidden with RBAC's message for the
//     denied reads below, 401 without the token;
//   - every object gets a resourceVersion, and a uid and creationTimestamp when the fixture has none.
//
// Anything the plugin asks for that a real server would answer differently from what the plugin
// expects (a write, a query parameter other than limit/continue, an unserved resource or version, a subresource) is recorded as
// a problem; runSuite fails the run when there is one.

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// fakeAPIToken is the bearer token of the kubeconfig the plugin gets; it opens nothing but this server.
const fakeAPIToken = "conformance-suite-token"

// fakeAPIUser is the identity named in Forbidden messages (Velero's service account in a default install).
const fakeAPIUser = "system:serviceaccount:velero:velero"

// servedResource is one resource of the fake server's discovery: what a cluster with KubeVirt, CDI,
// the snapshot CRDs and Multus serves, in the versions the plugin reads.
type servedResource struct {
	group, version, resource, kind string
	namespaced                     bool
	// builtin: items of a LIST carry no apiVersion/kind (custom resources keep theirs).
	builtin bool
}

var servedResources = []servedResource{
	{"", "v1", "pods", "Pod", true, true},
	{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, true},
	{"", "v1", "configmaps", "ConfigMap", true, true},
	{"", "v1", "secrets", "Secret", true, true},
	{"", "v1", "serviceaccounts", "ServiceAccount", true, true},
	{"", "v1", "namespaces", "Namespace", false, true},
	{"apps", "v1", "controllerrevisions", "ControllerRevision", true, true},
	{"kubevirt.io", "v1", "virtualmachines", "VirtualMachine", true, false},
	{"kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance", true, false},
	{"kubevirt.io", "v1", "virtualmachineinstancereplicasets", "VirtualMachineInstanceReplicaSet", true, false},
	{"cdi.kubevirt.io", "v1beta1", "datavolumes", "DataVolume", true, false},
	{"snapshot.storage.k8s.io", "v1", "volumesnapshots", "VolumeSnapshot", true, false},
	{"instancetype.kubevirt.io", "v1beta1", "virtualmachineinstancetypes", "VirtualMachineInstancetype", true, false},
	{"instancetype.kubevirt.io", "v1beta1", "virtualmachinepreferences", "VirtualMachinePreference", true, false},
	{"instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterinstancetypes", "VirtualMachineClusterInstancetype", false, false},
	{"instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterpreferences", "VirtualMachineClusterPreference", false, false},
	{"k8s.cni.cncf.io", "v1", "network-attachment-definitions", "NetworkAttachmentDefinition", true, false},
	{"pool.kubevirt.io", "v1beta1", "virtualmachinepools", "VirtualMachinePool", true, false},
	{"template.kubevirt.io", "v1beta1", "virtualmachinetemplates", "VirtualMachineTemplate", true, false},
}

// deniedRead is a namespace in which the plugin's identity has no grant on one resource: GET and LIST
// there answer 403 as RBAC does. Each denied namespace is used by one case only, and nothing else is
// read there, so the plugin's per-process caches cannot make results depend on case order.
type deniedRead struct {
	group, resource, namespace string
}

var deniedReads = []deniedRead{
	{"", "pods", "kvp-forbidden"},
	{"cdi.kubevirt.io", "datavolumes", "kvp-restricted"},
}

func (r servedResource) groupVersion() string {
	if r.group == "" {
		return r.version
	}
	return r.group + "/" + r.version
}

func (r servedResource) groupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.group, Resource: r.resource}
}

type fakeObject struct {
	namespace, name string
	body            map[string]interface{}
}

type fakeAPIServer struct {
	server          *httptest.Server
	resourceVersion int
	objects         map[servedResource][]fakeObject // sorted by namespace, then name

	mu       sync.Mutex
	requests int
	issues   []string
}

// startFakeAPIServer loads every multi-document YAML file of dir and serves the objects on 127.0.0.1.
func startFakeAPIServer(dir string) (*fakeAPIServer, error) {
	f := &fakeAPIServer{objects: map[servedResource][]fakeObject{}}
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no cluster fixtures in %s", dir)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := f.load(p); err != nil {
			return nil, err
		}
	}
	for r := range f.objects {
		list := f.objects[r]
		sort.Slice(list, func(i, j int) bool {
			if list[i].namespace != list[j].namespace {
				return list[i].namespace < list[j].namespace
			}
			return list[i].name < list[j].name
		})
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.server.Listener.Close()
	f.server.Listener = listener
	f.server.StartTLS()
	return f, nil
}

func (f *fakeAPIServer) Close() { f.server.Close() }

func lookupServed(apiVersion, kind string) (servedResource, bool) {
	for _, r := range servedResources {
		if r.groupVersion() == apiVersion && r.kind == kind {
			return r, true
		}
	}
	return servedResource{}, false
}

func (f *fakeAPIServer) load(path string) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	decoder := utilyaml.NewYAMLOrJSONDecoder(file, 4096)
	for doc := 1; ; doc++ {
		var obj map[string]interface{}
		if err := decoder.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s document %d: %w", path, doc, err)
		}
		if len(obj) == 0 {
			continue
		}
		apiVersion, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		r, ok := lookupServed(apiVersion, kind)
		if !ok {
			return fmt.Errorf("%s document %d: %s %s is not served by the fake API server (add it to servedResources)", path, doc, apiVersion, kind)
		}
		meta, _ := obj["metadata"].(map[string]interface{})
		name, _ := meta["name"].(string)
		namespace, _ := meta["namespace"].(string)
		if name == "" || (r.namespaced && namespace == "") || (!r.namespaced && namespace != "") {
			return fmt.Errorf("%s document %d: %s needs metadata.name%s", path, doc, kind, map[bool]string{true: " and metadata.namespace", false: " and no namespace"}[r.namespaced])
		}
		for _, o := range f.objects[r] {
			if o.namespace == namespace && o.name == name {
				return fmt.Errorf("%s document %d: duplicate %s %s/%s", path, doc, kind, namespace, name)
			}
		}
		f.resourceVersion++
		meta["resourceVersion"] = strconv.Itoa(1000 + f.resourceVersion)
		if _, ok := meta["uid"]; !ok {
			sum := sha1.Sum([]byte(r.resource + "." + r.group + "/" + namespace + "/" + name))
			h := fmt.Sprintf("%x", sum[:16])
			meta["uid"] = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
		}
		if _, ok := meta["creationTimestamp"]; !ok {
			meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
		}
		f.objects[r] = append(f.objects[r], fakeObject{namespace: namespace, name: name, body: obj})
	}
}

// writeKubeconfig writes a kubeconfig for the server (CA, bearer token) into dir and returns its path.
func (f *fakeAPIServer) writeKubeconfig(dir string) (string, error) {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.server.Certificate().Raw})
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster:
      server: %s
      certificate-authority-data: %s
users:
  - name: velero
    user:
      token: %s
contexts:
  - name: fake
    context:
      cluster: fake
      user: velero
current-context: fake
`, f.server.URL, base64.StdEncoding.EncodeToString(ca), fakeAPIToken)
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, []byte(config), 0o600)
}

func (f *fakeAPIServer) problem(format string, args ...interface{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issues = append(f.issues, fmt.Sprintf(format, args...))
}

// problems are requests a real API server would have answered differently from what the plugin expects.
func (f *fakeAPIServer) problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issues...)
}

func (f *fakeAPIServer) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func writeJSON(w http.ResponseWriter, code int, body interface{}) {
	data, err := json.Marshal(body)
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","code":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	status := err.ErrStatus
	status.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	writeJSON(w, int(status.Code), status)
}

// notServed is the API server's answer for a path no installed API serves.
func notServed(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  "the server could not find the requested resource",
		Reason:   metav1.StatusReasonNotFound,
		Details:  &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "UnexpectedServerResponse", Message: "404 page not found"}}},
		Code:     http.StatusNotFound,
	})
}

func (f *fakeAPIServer) serve(w http.ResponseWriter, req *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	what := req.Method + " " + req.URL.RequestURI()

	if req.Header.Get("Authorization") != "Bearer "+fakeAPIToken {
		f.problem("%s: no bearer token from the kubeconfig", what)
		writeStatus(w, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	if req.Method != http.MethodGet {
		f.problem("%s: the plugin only reads the cluster", what)
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{}, strings.ToLower(req.Method)))
		return
	}
	// Paging (limit, continue) is served as the real server serves it; anything else (selectors,
	// watches, ...) the real server would answer differently, so the plugin must not ask.
	query := req.URL.Query()
	limit, offset := 0, 0
	for key := range query {
		if key != "limit" && key != "continue" {
			f.problem("%s: query parameter %q is not supported by the fake API server", what, key)
		}
	}
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			f.problem("%s: limit %q is not a positive integer", what, v)
		}
		limit = n
	}
	if v := query.Get("continue"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || limit == 0 {
			f.problem("%s: continue %q is not a token this server gave (or comes without limit)", what, v)
		}
		offset = n
	}

	var group, version string
	var rest []string
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api" && parts[1] == "v1":
		group, version, rest = "", "v1", parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, version, rest = parts[1], parts[2], parts[3:]
	default:
		f.problem("%s: not an API resource path", what)
		notServed(w)
		return
	}

	var namespace, resource, name string
	switch {
	case len(rest) >= 3 && rest[0] == "namespaces":
		namespace, resource = rest[1], rest[2]
		if len(rest) >= 4 {
			name = rest[3]
		}
		if len(rest) > 4 {
			f.problem("%s: subresources are not served", what)
			notServed(w)
			return
		}
	case len(rest) <= 2:
		resource = rest[0]
		if len(rest) == 2 {
			name = rest[1]
		}
	default:
		f.problem("%s: unexpected path shape", what)
		notServed(w)
		return
	}

	var r servedResource
	found := false
	for _, candidate := range servedResources {
		if candidate.group == group && candidate.version == version && candidate.resource == resource {
			r, found = candidate, true
		}
	}
	if !found {
		f.problem("%s: group/version/resource %s/%s/%s is not served (wrong version or plural?)", what, group, version, resource)
		notServed(w)
		return
	}
	if !r.namespaced && namespace != "" {
		f.problem("%s: %s is cluster-scoped", what, r.groupResource())
		notServed(w)
		return
	}
	if r.namespaced && namespace == "" && name != "" {
		f.problem("%s: GET of a namespaced %s without a namespace", what, r.groupResource())
		notServed(w)
		return
	}

	verb := "list"
	if name != "" {
		verb = "get"
	}
	for _, d := range deniedReads {
		if d.group == r.group && d.resource == r.resource && d.namespace == namespace {
			reason := fmt.Errorf("User %q cannot %s resource %q in API group %q in the namespace %q", fakeAPIUser, verb, r.resource, r.group, namespace)
			writeStatus(w, apierrors.NewForbidden(r.groupResource(), name, reason))
			return
		}
	}

	if name != "" {
		if len(query) > 0 {
			f.problem("%s: limit/continue on a GET", what)
		}
		for _, o := range f.objects[r] {
			if o.namespace == namespace && o.name == name {
				writeJSON(w, http.StatusOK, o.body)
				return
			}
		}
		writeStatus(w, apierrors.NewNotFound(r.groupResource(), name))
		return
	}

	items := []interface{}{}
	for _, o := range f.objects[r] {
		if namespace != "" && o.namespace != namespace {
			continue
		}
		item := o.body
		if r.builtin {
			item = map[string]interface{}{}
			for k, v := range o.body {
				if k != "apiVersion" && k != "kind" {
					item[k] = v
				}
			}
		}
		items = append(items, item)
	}
	listMeta := map[string]interface{}{"resourceVersion": strconv.Itoa(1000 + f.resourceVersion)}
	if !r.builtin {
		listMeta["continue"] = ""
	}
	if limit > 0 {
		// A page of at most limit items from offset, and the token of the next page when there is one.
		if offset > len(items) {
			offset = len(items)
		}
		end := offset + limit
		if end < len(items) {
			listMeta["continue"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
			listMeta["remainingItemCount"] = len(items) - end
		} else {
			end = len(items)
		}
		items = items[offset:end]
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"apiVersion": r.groupVersion(),
		"kind":       r.kind + "List",
		"metadata":   listMeta,
		"items":      items,
	})
}

// TestFakeAPIServerAnswersAsTheAPIServerDoes checks the stand-in itself, on its own instance: the
// shapes the plugin relies on, and that a request it cannot answer faithfully is recorded.
func TestFakeAPIServerAnswersAsTheAPIServerDoes(t *testing.T) {
	api, err := startFakeAPIServer(filepath.Join(repoRoot, "test", "fixtures", "conformance", "cluster"))
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	client := api.server.Client()
	get := func(path string, token string) (int, map[string]interface{}) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, api.server.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]interface{}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: body is not JSON: %v", path, err)
		}
		return resp.StatusCode, body
	}
	cases := []struct {
		name, path, token string
		code              int
		check             func(t *testing.T, body map[string]interface{})
	}{
		{"a built-in list has its kind, resourceVersion and items without type meta", "/api/v1/namespaces/kvp-ns/persistentvolumeclaims", fakeAPIToken, 200, func(t *testing.T, b map[string]interface{}) {
			items, _ := b["items"].([]interface{})
			first, _ := items[0].(map[string]interface{})
			meta, _ := b["metadata"].(map[string]interface{})
			if b["kind"] != "PersistentVolumeClaimList" || b["apiVersion"] != "v1" || meta["resourceVersion"] == "" || len(items) != 8 || first["kind"] != nil {
				t.Errorf("unexpected list: kind %v apiVersion %v metadata %v, %d items, first kind %v", b["kind"], b["apiVersion"], meta, len(items), first["kind"])
			}
			if name, _ := first["metadata"].(map[string]interface{})["name"].(string); name != "blank-dv" {
				t.Errorf("items are not sorted by name: first is %s", name)
			}
		}},
		{"a custom-resource list across namespaces keeps the items' type meta", "/apis/kubevirt.io/v1/virtualmachines", fakeAPIToken, 200, func(t *testing.T, b map[string]interface{}) {
			items, _ := b["items"].([]interface{})
			first, _ := items[0].(map[string]interface{})
			if b["kind"] != "VirtualMachineList" || len(items) != 6 || first["kind"] != "VirtualMachine" {
				t.Errorf("unexpected list: kind %v, %d items, first kind %v", b["kind"], len(items), first["kind"])
			}
		}},
		{"a list with limit is served in pages chained by continue, the same items in the same order", "/api/v1/namespaces/kvp-ns/persistentvolumeclaims?limit=3", fakeAPIToken, 200, func(t *testing.T, b map[string]interface{}) {
			var names []string
			for page := 1; ; page++ {
				items, _ := b["items"].([]interface{})
				if len(items) > 3 {
					t.Fatalf("page %d has %d items, limit 3", page, len(items))
				}
				for _, i := range items {
					names = append(names, i.(map[string]interface{})["metadata"].(map[string]interface{})["name"].(string))
				}
				token, _ := b["metadata"].(map[string]interface{})["continue"].(string)
				if token == "" {
					break
				}
				_, b = get("/api/v1/namespaces/kvp-ns/persistentvolumeclaims?limit=3&continue="+token, fakeAPIToken)
			}
			_, whole := get("/api/v1/namespaces/kvp-ns/persistentvolumeclaims", fakeAPIToken)
			var want []string
			for _, i := range whole["items"].([]interface{}) {
				want = append(want, i.(map[string]interface{})["metadata"].(map[string]interface{})["name"].(string))
			}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("pages gave %v, the whole list %v", names, want)
			}
		}},
		{"a GET returns the object", "/apis/cdi.kubevirt.io/v1beta1/namespaces/kvp-ns/datavolumes/data-dv", fakeAPIToken, 200, func(t *testing.T, b map[string]interface{}) {
			if b["kind"] != "DataVolume" || b["metadata"].(map[string]interface{})["uid"] == nil {
				t.Errorf("unexpected object %v", b)
			}
		}},
		{"a missing object is a NotFound Status", "/api/v1/namespaces/kvp-ns/persistentvolumeclaims/nope", fakeAPIToken, 404, func(t *testing.T, b map[string]interface{}) {
			if b["kind"] != "Status" || b["reason"] != "NotFound" || b["message"] != `persistentvolumeclaims "nope" not found` {
				t.Errorf("unexpected Status %v", b)
			}
		}},
		{"a denied read is a Forbidden Status with RBAC's message", "/api/v1/namespaces/kvp-forbidden/pods", fakeAPIToken, 403, func(t *testing.T, b map[string]interface{}) {
			want := `pods is forbidden: User "system:serviceaccount:velero:velero" cannot list resource "pods" in API group "" in the namespace "kvp-forbidden"`
			if b["kind"] != "Status" || b["reason"] != "Forbidden" || b["message"] != want {
				t.Errorf("unexpected Status %v", b)
			}
		}},
		{"a request without the token is Unauthorized", "/api/v1/namespaces/kvp-ns/pods", "", 401, func(t *testing.T, b map[string]interface{}) {
			if b["reason"] != "Unauthorized" {
				t.Errorf("unexpected Status %v", b)
			}
		}},
		{"an unserved version is a 404 and a recorded problem", "/apis/cdi.kubevirt.io/v1/namespaces/kvp-ns/datavolumes", fakeAPIToken, 404, func(t *testing.T, b map[string]interface{}) {
			if b["message"] != "the server could not find the requested resource" {
				t.Errorf("unexpected Status %v", b)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := get(c.path, c.token)
			if code != c.code {
				t.Fatalf("%s: HTTP %d, want %d (%v)", c.path, code, c.code, body)
			}
			c.check(t, body)
		})
	}
	if p := api.problems(); len(p) != 2 || !strings.Contains(p[0], "no bearer token") || !strings.Contains(p[1], "cdi.kubevirt.io/v1/datavolumes is not served") {
		t.Errorf("recorded problems %q, want the missing token and the unserved version", p)
	}
}
