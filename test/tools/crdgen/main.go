// Command crdgen writes every CRD the local test lab needs into one directory,
// one file per CRD named <metadata.name>.yaml. It is run by
// scripts/build-go-tools.sh, which builds it with
//
//	go build -tags kvpoverlay -overlay <cache>/work/overlay.json
//
// so that the KubeVirt and CDI packages under internal/ contain the upstream
// generator sources (see internal/kubevirt/doc.go and internal/cdi/doc.go).
//
// Sources:
//   - Velero: config/crd/v1/bases/*.yaml and config/crd/v2alpha1/bases/*.yaml of
//     the github.com/vmware-tanzu/velero module (-velero-dir), copied verbatim.
//   - CDI DataVolume, DataSource: CDICRDs["datavolume"|"datasource"] from
//     kubevirt.io/containerized-data-importer pkg/operator/resources/crds_generated.go,
//     verbatim.
//   - KubeVirt VM, VMI, VMIRS, VirtualMachinePool, (Cluster)Instancetype, (Cluster)Preference:
//     virt-operator's components.New*Crd() constructors, marshalled.
//   - VolumeSnapshot, VolumeSnapshotContent, VolumeSnapshotClass:
//     config/crd/snapshot.storage.k8s.io_*.yaml of the
//     github.com/kubernetes-csi/external-snapshotter/client/v8 module (-snapshotter-dir), verbatim.
//   - NetworkAttachmentDefinition: artifacts/networks-crd.yaml of the
//     github.com/k8snetworkplumbingwg/network-attachment-definition-client module (-nad-dir), verbatim.
//   - VirtualMachineTemplate, VirtualMachineTemplateRequest (template.kubevirt.io): vendored/virt-template/*.yaml,
//     embedded (the Go module proxy does not serve kubevirt.io/virt-template; see vendored/virt-template/README.md).
//
// Every document is decoded strictly as apiextensions.k8s.io/v1 CustomResourceDefinition
// before it is written.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	resources "kubevirt-velero-plugin-ts/test/tools/crdgen/internal/cdi"
	components "kubevirt-velero-plugin-ts/test/tools/crdgen/internal/kubevirt"
)

var (
	outDir         = flag.String("out", "", "output directory (created; existing *.yaml files are removed)")
	veleroDir      = flag.String("velero-dir", "", "directory of the github.com/vmware-tanzu/velero module")
	snapshotterDir = flag.String("snapshotter-dir", "", "directory of the github.com/kubernetes-csi/external-snapshotter/client/v8 module")
	nadDir         = flag.String("nad-dir", "", "directory of the github.com/k8snetworkplumbingwg/network-attachment-definition-client module")
)

// wanted KubeVirt CRDs (keys of components.Generators) and CDI CRDs (keys of CDICRDs).
var (
	kubevirtCRDs = []string{
		"virtualmachine", "virtualmachineinstance", "virtualmachineinstancereplicaset", "virtualmachinepool",
		"virtualmachineinstancetype", "virtualmachineclusterinstancetype",
		"virtualmachinepreference", "virtualmachineclusterpreference",
	}
	cdiCRDs         = []string{"datavolume", "datasource"}
	snapshotterCRDs = []string{
		"snapshot.storage.k8s.io_volumesnapshots.yaml",
		"snapshot.storage.k8s.io_volumesnapshotcontents.yaml",
		"snapshot.storage.k8s.io_volumesnapshotclasses.yaml",
		// VolumeGroupSnapshot* (Velero 1.18 lists them at restore; snapshot-controller watches them).
		"groupsnapshot.storage.k8s.io_volumegroupsnapshots.yaml",
		"groupsnapshot.storage.k8s.io_volumegroupsnapshotcontents.yaml",
		"groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses.yaml",
	}
)

type generator struct {
	written map[string]string // CRD name -> source
}

func main() {
	flag.Parse()
	if *outDir == "" || *veleroDir == "" || *snapshotterDir == "" || *nadDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "crdgen:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(components.Generators) == 0 || resources.CRDs() == nil {
		return errors.New("built without the KubeVirt/CDI overlay: build with -tags kvpoverlay -overlay (see scripts/build-go-tools.sh)")
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(*outDir, "*.yaml"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	g := &generator{written: map[string]string{}}

	// Velero v1 + v2alpha1 bases.
	for _, sub := range []string{"config/crd/v1/bases", "config/crd/v2alpha1/bases"} {
		files, err := filepath.Glob(filepath.Join(*veleroDir, sub, "*.yaml"))
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("no CRDs under %s/%s", *veleroDir, sub)
		}
		for _, f := range files {
			if err := g.file(f, "velero "+sub); err != nil {
				return err
			}
		}
	}

	// CDI.
	for _, key := range cdiCRDs {
		doc, ok := resources.CRDs()[key]
		if !ok {
			return fmt.Errorf("CDICRDs has no key %q", key)
		}
		if err := g.doc([]byte(doc), "cdi crds_generated.go:"+key); err != nil {
			return err
		}
	}

	// KubeVirt.
	for _, key := range kubevirtCRDs {
		gen, ok := components.Generators[key]
		if !ok {
			return fmt.Errorf("no KubeVirt generator %q", key)
		}
		crd, err := gen()
		if err != nil {
			return fmt.Errorf("kubevirt %s: %w", key, err)
		}
		b, err := marshalCRD(crd)
		if err != nil {
			return err
		}
		if err := g.doc(b, "kubevirt components.New*Crd:"+key); err != nil {
			return err
		}
	}

	// VolumeSnapshot*.
	for _, name := range snapshotterCRDs {
		if err := g.file(filepath.Join(*snapshotterDir, "config", "crd", name), "external-snapshotter client/config/crd"); err != nil {
			return err
		}
	}

	// NetworkAttachmentDefinition.
	if err := g.file(filepath.Join(*nadDir, "artifacts", "networks-crd.yaml"), "network-attachment-definition-client artifacts"); err != nil {
		return err
	}

	// Vendored (embedded) CRDs.
	vendored, err := fs.Glob(vendoredCRDs, "vendored/*/*.yaml")
	if err != nil {
		return err
	}
	if len(vendored) == 0 {
		return errors.New("no vendored CRDs embedded")
	}
	for _, name := range vendored {
		b, err := vendoredCRDs.ReadFile(name)
		if err != nil {
			return err
		}
		if err := g.bytes(b, name, "vendored "+path.Dir(name)); err != nil {
			return err
		}
	}

	names := make([]string, 0, len(g.written))
	for n := range g.written {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "crdgen: %-58s <- %s\n", n, g.written[n])
	}
	fmt.Fprintf(os.Stderr, "crdgen: wrote %d CRDs to %s\n", len(names), *outDir)
	return nil
}

// file writes every CRD document of a (possibly multi-document) YAML file.
func (g *generator) file(path, source string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return g.bytes(b, path, source)
}

// bytes writes every CRD document of (possibly multi-document) YAML read from path.
func (g *generator) bytes(b []byte, path, source string) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	n := 0
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if isEmptyYAML(doc) {
			continue
		}
		if err := g.doc(doc, source+"/"+filepath.Base(path)); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: no YAML documents", path)
	}
	return nil
}

// doc validates one CRD document and writes it verbatim as <name>.yaml.
func (g *generator) doc(doc []byte, source string) error {
	var crd extv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(doc, &crd); err != nil {
		return fmt.Errorf("%s: not a valid CustomResourceDefinition: %w", source, err)
	}
	if crd.APIVersion != "apiextensions.k8s.io/v1" || crd.Kind != "CustomResourceDefinition" {
		return fmt.Errorf("%s: apiVersion/kind %s/%s, want apiextensions.k8s.io/v1 CustomResourceDefinition", source, crd.APIVersion, crd.Kind)
	}
	if crd.Name == "" || crd.Name != crd.Spec.Names.Plural+"."+crd.Spec.Group {
		return fmt.Errorf("%s: metadata.name %q does not match <plural>.<group>", source, crd.Name)
	}
	if prev, dup := g.written[crd.Name]; dup {
		return fmt.Errorf("%s: CRD %s already written from %s", source, crd.Name, prev)
	}
	out := doc
	if !bytes.HasPrefix(bytes.TrimSpace(doc), []byte("---")) {
		out = append([]byte("---\n"), doc...)
	}
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	if err := os.WriteFile(filepath.Join(*outDir, crd.Name+".yaml"), out, 0o644); err != nil {
		return err
	}
	g.written[crd.Name] = source
	return nil
}

// marshalCRD renders a CRD built in Go without the empty status and
// creationTimestamp that the typed struct would otherwise carry.
func marshalCRD(crd *extv1.CustomResourceDefinition) ([]byte, error) {
	b, err := yaml.Marshal(crd)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}

func isEmptyYAML(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}
