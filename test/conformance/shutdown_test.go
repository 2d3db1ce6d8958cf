package conformance

import (
	"fmt"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// bigVM is a VirtualMachine with n PVC volumes and disks (about 10 MB of JSON for n = 100,000).
func bigVM(n int) map[string]interface{} {
	disks := make([]interface{}, n)
	volumes := make([]interface{}, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("disk%d", i)
		disks[i] = map[string]interface{}{"name": name, "disk": map[string]interface{}{"bus": "virtio"}}
		volumes[i] = map[string]interface{}{"name": name, "persistentVolumeClaim": map[string]interface{}{"claimName": fmt.Sprintf("pvc-%d", i)}}
	}
	return map[string]interface{}{
		"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
		"metadata": map[string]interface{}{"name": "big", "namespace": "ns1"},
		"spec": map[string]interface{}{
			"runStrategy": "Halted",
			"template": map[string]interface{}{
				"spec": map[string]interface{}{
					"domain":  map[string]interface{}{"devices": map[string]interface{}{"disks": disks}},
					"volumes": volumes,
				},
			},
		},
	}
}

// Velero ends plugins with go-plugin's Kill: Shutdown, then up to 2 s for the process to exit before a
// SIGKILL. With a 100,000-volume VM being worked on, the plugin must still answer and be gone within 1 s.
func TestCleanupWithAHugeItemInFlightEndsWithinOneSecond(t *testing.T) {
	s := newSession(t)
	a, err := s.manager.GetRestoreItemActionV2("kubevirt-velero-plugin/restore-vm-action")
	if err != nil {
		t.Fatal(err)
	}
	small := bigVM(1)
	if _, err := a.Execute(&velero.RestoreItemActionExecuteInput{
		Item: &unstructured.Unstructured{Object: small}, ItemFromBackup: &unstructured.Unstructured{Object: small}, Restore: &velerov1.Restore{},
	}); err != nil {
		t.Fatalf("warm-up call: %v", err)
	}
	huge := bigVM(100000)
	done := make(chan error, 1)
	go func() {
		_, err := a.Execute(&velero.RestoreItemActionExecuteInput{
			Item: &unstructured.Unstructured{Object: huge}, ItemFromBackup: &unstructured.Unstructured{Object: huge}, Restore: &velerov1.Restore{},
		})
		done <- err
	}()
	// Let the item reach the plugin and the work begin.
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-done:
		t.Logf("the item finished before cleanup (err=%v); the test then measures an idle cleanup", err)
	default:
	}
	took := s.cleanup()
	t.Logf("CleanupClients with a 100,000-volume item in flight took %v", took)
	if took > time.Second {
		t.Errorf("CleanupClients took %v, want < 1s", took)
	}
	if pids := pluginPIDs(); len(pids) > 0 {
		t.Errorf("plugin processes still running after cleanup: %v", pids)
	}
	if e := s.logs.find("failed to exit gracefully"); len(e) > 0 {
		t.Errorf("go-plugin reported: %s", e[0].Message)
	}
}
