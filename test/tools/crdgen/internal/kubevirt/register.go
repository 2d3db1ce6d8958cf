//go:build kvpoverlay

package components

import (
	// Packages crds.go imports; listed so that `go mod tidy` (which cannot see the
	// overlay) keeps their modules in go.mod.
	_ "k8s.io/api/scheduling/v1"
	_ "k8s.io/apimachinery/pkg/apis/meta/v1"
	_ "k8s.io/apimachinery/pkg/util/yaml"
	_ "kubevirt.io/api/backup/v1alpha1"
	_ "kubevirt.io/api/clone"
	_ "kubevirt.io/api/clone/v1alpha1"
	_ "kubevirt.io/api/clone/v1beta1"
	_ "kubevirt.io/api/core/v1"
	_ "kubevirt.io/api/export/v1alpha1"
	_ "kubevirt.io/api/export/v1beta1"
	_ "kubevirt.io/api/instancetype"
	_ "kubevirt.io/api/instancetype/v1beta1"
	_ "kubevirt.io/api/migrations"
	_ "kubevirt.io/api/migrations/v1alpha1"
	_ "kubevirt.io/api/pool/v1alpha1"
	_ "kubevirt.io/api/pool/v1beta1"
	_ "kubevirt.io/api/snapshot/v1alpha1"
	_ "kubevirt.io/api/snapshot/v1beta1"

	_ "kubevirt-velero-plugin-ts/test/tools/crdgen/internal/pointer"
)

func init() {
	Generators["virtualmachine"] = NewVirtualMachineCrd
	Generators["virtualmachineinstance"] = NewVirtualMachineInstanceCrd
	Generators["virtualmachineinstancereplicaset"] = NewReplicaSetCrd
	Generators["virtualmachinepool"] = NewVirtualMachinePoolCrd
	Generators["virtualmachineinstancetype"] = NewVirtualMachineInstancetypeCrd
	Generators["virtualmachineclusterinstancetype"] = NewVirtualMachineClusterInstancetypeCrd
	Generators["virtualmachinepreference"] = NewVirtualMachinePreferenceCrd
	Generators["virtualmachineclusterpreference"] = NewVirtualMachineClusterPreferenceCrd
}
