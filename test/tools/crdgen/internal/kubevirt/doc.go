// Package components receives, by `go build -overlay`, two files of
// kubevirt.io/kubevirt@$KUBEVIRT_VERSION (read from GOMODCACHE, never committed):
//
//	pkg/virt-operator/resource/generate/components/crds.go
//	    (import of kubevirt.io/kubevirt/pkg/pointer rewritten to ../pointer)
//	pkg/virt-operator/resource/generate/components/validations_generated.go
//
// With the build tag kvpoverlay, register.go adds virt-operator's own New*Crd
// constructors to Generators, so the CRDs are exactly what virt-operator installs
// (names, short names, categories, printer columns, subresources, schemas).
// Without the overlay and the tag, Generators stays empty.
package components

import extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

// Generators maps a short name to one of virt-operator's CRD constructors.
var Generators = map[string]func() (*extv1.CustomResourceDefinition, error){}
