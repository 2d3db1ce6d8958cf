package main

// The generated namespaces: N running VMs, each with a DataVolume template (owned by the VM) and a
// standalone DataVolume, their Bound PVCs, a cloud-init Secret, the VMI and a Running virt-launcher pod
// (the shapes of test/lab/bench/graph-bench.ts). Created through the API with many requests in flight;
// statuses are merge-patched through /status as the controllers would have written them.

import (
	"encoding/base64"
	"fmt"
	"sync"
)

type obj = map[string]interface{}

const (
	storageClass = "bvu-sc"
	csiDriver    = "bvu.csi.example.com"
	stamp        = "2026-05-04T09:14:05Z"
)

func vmName(i int) string { return fmt.Sprintf("vm-%04d", i) }

func ownerRef(o obj) obj {
	m := o["metadata"].(obj)
	return obj{"apiVersion": o["apiVersion"], "kind": o["kind"], "name": m["name"], "uid": m["uid"], "controller": true, "blockOwnerDeletion": true}
}

func vmiSpec(name string) obj {
	return obj{
		"domain": obj{
			"devices": obj{
				"disks": []interface{}{
					obj{"name": "rootdisk", "disk": obj{"bus": "virtio"}},
					obj{"name": "datadisk", "disk": obj{"bus": "virtio"}},
					obj{"name": "cloudinitdisk", "disk": obj{"bus": "virtio"}},
				},
				"interfaces": []interface{}{obj{"name": "default", "masquerade": obj{}}},
			},
			"resources": obj{"requests": obj{"memory": "1Gi"}},
		},
		"networks": []interface{}{obj{"name": "default", "pod": obj{}}},
		"volumes": []interface{}{
			obj{"name": "rootdisk", "dataVolume": obj{"name": name + "-root"}},
			obj{"name": "datadisk", "dataVolume": obj{"name": name + "-data"}},
			obj{"name": "cloudinitdisk", "cloudInitNoCloud": obj{"secretRef": obj{"name": name + "-cloudinit"}}},
		},
	}
}

func dvSpec() obj {
	return obj{
		"source":  obj{"registry": obj{"url": "docker://quay.io/containerdisks/fedora:41", "pullMethod": "node"}},
		"storage": obj{"resources": obj{"requests": obj{"storage": "10Gi"}}, "storageClassName": storageClass},
	}
}

func vmObject(ns, name, runStrategy string) obj {
	return obj{
		"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
		"metadata": obj{"name": name, "namespace": ns, "labels": obj{"app": "bvu"}},
		"spec": obj{
			"runStrategy":         runStrategy,
			"dataVolumeTemplates": []interface{}{obj{"metadata": obj{"name": name + "-root"}, "spec": dvSpec()}},
			"template":            obj{"metadata": obj{"labels": obj{"kubevirt.io/domain": name}}, "spec": vmiSpec(name)},
		},
	}
}

func dvObject(ns, name string, owners []interface{}) obj {
	meta := obj{"name": name, "namespace": ns}
	if len(owners) > 0 {
		meta["ownerReferences"] = owners
	}
	return obj{"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": meta, "spec": dvSpec()}
}

func pvcObject(ns string, dv obj) obj {
	m := dv["metadata"].(obj)
	name := m["name"].(string)
	return obj{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": obj{
			"name": name, "namespace": ns,
			"labels": obj{"app": "containerized-data-importer", "app.kubernetes.io/managed-by": "cdi-controller"},
			"annotations": obj{
				"cdi.kubevirt.io/createdForDataVolume":     m["uid"],
				"cdi.kubevirt.io/storage.pod.phase":        "Succeeded",
				"pv.kubernetes.io/bind-completed":          "yes",
				"volume.kubernetes.io/storage-provisioner": csiDriver,
			},
			"ownerReferences": []interface{}{ownerRef(dv)},
		},
		"spec": obj{
			"accessModes": []interface{}{"ReadWriteOnce"}, "resources": obj{"requests": obj{"storage": "10Gi"}},
			"storageClassName": storageClass, "volumeMode": "Filesystem", "volumeName": "pv-" + ns + "-" + name,
		},
	}
}

func vmiObject(ns string, vm obj) obj {
	name := vm["metadata"].(obj)["name"].(string)
	return obj{
		"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
		"metadata": obj{
			"name": name, "namespace": ns,
			"labels":          obj{"kubevirt.io/domain": name, "kubevirt.io/nodeName": "node01"},
			"annotations":     obj{"kubevirt.io/vm-generation": "1"},
			"ownerReferences": []interface{}{ownerRef(vm)},
		},
		"spec": vmiSpec(name),
		"status": obj{
			"phase": "Running", "nodeName": "node01",
			"conditions": []interface{}{
				obj{"type": "Ready", "status": "True", "lastProbeTime": nil, "lastTransitionTime": stamp},
				obj{"type": "AgentConnected", "status": "True", "lastProbeTime": nil, "lastTransitionTime": stamp},
			},
		},
	}
}

func podName(name string, i int) string { return fmt.Sprintf("virt-launcher-%s-%05x", name, i) }

func podObject(ns string, vmi obj, i int) obj {
	m := vmi["metadata"].(obj)
	name := m["name"].(string)
	hook := func(what string) string {
		return fmt.Sprintf(`["/usr/bin/virt-freezer","%s","--name","%s","--namespace","%s"]`, what, name, ns)
	}
	return obj{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": obj{
			"name": podName(name, i), "namespace": ns,
			"labels": obj{"kubevirt.io": "virt-launcher", "kubevirt.io/created-by": m["uid"], "vm.kubevirt.io/name": name, "kubevirt.io/domain": name},
			"annotations": obj{
				"kubevirt.io/domain":                   name,
				"pre.hook.backup.velero.io/command":    hook("--freeze"),
				"pre.hook.backup.velero.io/container":  "compute",
				"pre.hook.backup.velero.io/timeout":    "60s",
				"post.hook.backup.velero.io/command":   hook("--unfreeze"),
				"post.hook.backup.velero.io/container": "compute",
			},
			"ownerReferences": []interface{}{ownerRef(vmi)},
		},
		"spec": obj{
			"nodeName": "node01", "restartPolicy": "Never", "automountServiceAccountToken": false,
			"containers": []interface{}{obj{"name": "compute", "image": "quay.io/kubevirt/virt-launcher:v1.7.1", "command": []interface{}{"/usr/bin/virt-launcher-monitor"}}},
			"volumes": []interface{}{
				obj{"name": "rootdisk", "persistentVolumeClaim": obj{"claimName": name + "-root"}},
				obj{"name": "datadisk", "persistentVolumeClaim": obj{"claimName": name + "-data"}},
			},
		},
	}
}

func pool(n, limit int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < limit; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

func paths(ns string) map[string]string {
	return map[string]string{
		"secrets": "/api/v1/namespaces/" + ns + "/secrets",
		"pods":    "/api/v1/namespaces/" + ns + "/pods",
		"pvcs":    "/api/v1/namespaces/" + ns + "/persistentvolumeclaims",
		"vms":     "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines",
		"vmis":    "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachineinstances",
		"dvs":     "/apis/cdi.kubevirt.io/v1beta1/namespaces/" + ns + "/datavolumes",
	}
}

const mergePatch = "application/merge-patch+json"

// createNamespace creates ns with n running VMs (and, with stopped, one stopped VM "vm-stopped" with its
// DataVolume and PVC instead).
func (c *cluster) createNamespace(ns string, n int, stopped bool) {
	c.must2xx("POST", "/api/v1/namespaces", obj{"apiVersion": "v1", "kind": "Namespace", "metadata": obj{"name": ns}}, "")
	p := paths(ns)
	const conc = 16
	if stopped {
		name := "vm-stopped"
		vm := c.must2xx("POST", p["vms"], vmObject(ns, name, "Halted"), "")
		c.must2xx("POST", p["secrets"], obj{"apiVersion": "v1", "kind": "Secret", "metadata": obj{"name": name + "-cloudinit", "namespace": ns}, "type": "Opaque"}, "")
		for _, dv := range []obj{dvObject(ns, name+"-root", []interface{}{ownerRef(vm)}), dvObject(ns, name+"-data", nil)} {
			created := c.must2xx("POST", p["dvs"], dv, "")
			dvName := created["metadata"].(obj)["name"].(string)
			c.must2xx("POST", p["pvcs"], pvcObject(ns, created), "")
			c.must2xx("PATCH", p["dvs"]+"/"+dvName+"/status", obj{"status": dvStatus(dvName)}, mergePatch)
			c.must2xx("PATCH", p["pvcs"]+"/"+dvName+"/status", obj{"status": pvcStatus}, mergePatch)
		}
		c.must2xx("PATCH", p["vms"]+"/"+name+"/status", obj{"status": obj{"printableStatus": "Stopped", "runStrategy": "Halted"}}, mergePatch)
		return
	}
	vms := make([]obj, n)
	vmis := make([]obj, n)
	dvs := make([]obj, 2*n)
	pool(n, conc, func(i int) {
		name := vmName(i)
		c.must2xx("POST", p["secrets"], obj{
			"apiVersion": "v1", "kind": "Secret", "metadata": obj{"name": name + "-cloudinit", "namespace": ns}, "type": "Opaque",
			"data": obj{"userdata": base64.StdEncoding.EncodeToString([]byte("#cloud-config\nhostname: " + name + "\n"))},
		}, "")
		vms[i] = c.must2xx("POST", p["vms"], vmObject(ns, name, "Always"), "")
		dvs[2*i+1] = c.must2xx("POST", p["dvs"], dvObject(ns, name+"-data", nil), "")
	})
	pool(n, conc, func(i int) {
		name := vmName(i)
		dvs[2*i] = c.must2xx("POST", p["dvs"], dvObject(ns, name+"-root", []interface{}{ownerRef(vms[i])}), "")
		vmis[i] = c.must2xx("POST", p["vmis"], vmiObject(ns, vms[i]), "")
	})
	pool(2*n, conc, func(i int) { c.must2xx("POST", p["pvcs"], pvcObject(ns, dvs[i]), "") })
	pool(n, conc, func(i int) { c.must2xx("POST", p["pods"], podObject(ns, vmis[i], i), "") })
	pool(n, conc, func(i int) {
		c.must2xx("PATCH", p["vms"]+"/"+vmName(i)+"/status", obj{"status": vmStatus}, mergePatch)
		c.must2xx("PATCH", p["pods"]+"/"+podName(vmName(i), i)+"/status", obj{"status": podStatus}, mergePatch)
	})
	pool(2*n, conc, func(i int) {
		name := dvs[i]["metadata"].(obj)["name"].(string)
		c.must2xx("PATCH", p["dvs"]+"/"+name+"/status", obj{"status": dvStatus(name)}, mergePatch)
		c.must2xx("PATCH", p["pvcs"]+"/"+name+"/status", obj{"status": pvcStatus}, mergePatch)
	})
}

var vmStatus = obj{
	"created": true, "ready": true, "printableStatus": "Running", "runStrategy": "Always",
	"conditions": []interface{}{obj{"type": "Ready", "status": "True", "lastProbeTime": nil, "lastTransitionTime": stamp}},
}

func dvStatus(name string) obj {
	return obj{
		"phase": "Succeeded", "progress": "100.0%", "claimName": name,
		"conditions": []interface{}{obj{"type": "Bound", "status": "True", "reason": "Bound", "message": "PVC " + name + " Bound", "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}},
	}
}

var pvcStatus = obj{"phase": "Bound", "accessModes": []interface{}{"ReadWriteOnce"}, "capacity": obj{"storage": "10Gi"}}
var podStatus = obj{"phase": "Running", "conditions": []interface{}{obj{"type": "Ready", "status": "True", "lastProbeTime": nil, "lastTransitionTime": stamp}}}

// collectorOrder lists a namespace's items in the order Velero 1.18's item collector produces for a
// namespace backup (core group first: pods, persistentvolumeclaims, secrets; then the API groups by
// name: cdi.kubevirt.io, kubevirt.io), with apiVersion and kind set as Velero sends them.
func (c *cluster) collectorOrder(ns string) []item {
	var out []item
	for _, r := range []struct{ path, resource, group string }{
		{"/api/v1/namespaces/" + ns + "/pods", "pods", ""},
		{"/api/v1/namespaces/" + ns + "/persistentvolumeclaims", "persistentvolumeclaims", ""},
		{"/api/v1/namespaces/" + ns + "/secrets", "secrets", ""},
		{"/apis/cdi.kubevirt.io/v1beta1/namespaces/" + ns + "/datavolumes", "datavolumes", "cdi.kubevirt.io"},
		{"/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachineinstances", "virtualmachineinstances", "kubevirt.io"},
		{"/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines", "virtualmachines", "kubevirt.io"},
	} {
		list := c.must2xx("GET", r.path, nil, "")
		kind := list["kind"].(string)
		kind = kind[:len(kind)-len("List")]
		items, _ := list["items"].([]interface{})
		for _, it := range items {
			o := it.(map[string]interface{})
			o["apiVersion"], o["kind"] = list["apiVersion"], kind
			out = append(out, item{resource: r.resource, group: r.group, object: o})
		}
	}
	return out
}

type item struct {
	resource, group string
	object          map[string]interface{}
}

func (i item) groupResource() string {
	if i.group == "" {
		return i.resource
	}
	return i.resource + "." + i.group
}

func (i item) name() string {
	return i.object["metadata"].(map[string]interface{})["name"].(string)
}

func (i item) namespace() string {
	ns, _ := i.object["metadata"].(map[string]interface{})["namespace"].(string)
	return ns
}
